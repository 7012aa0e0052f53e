//! HTML escaping for text and quoted attribute values.
//!
//! The escaper is the shared rule of `djust-rules` (one copy for the `html!`
//! macro, which escapes string literals with it at compile time, and for the
//! runtime, which escapes every dynamic value with it): `& < > " '` become
//! entities, CR becomes `&#13;` and NUL becomes U+FFFD.

pub use djust_rules::escape::{escape, escape_into, needs_no_escaping};
