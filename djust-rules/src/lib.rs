//! The rules `djust-macros` (at compile time) and `djust-runtime` (at run
//! time) must agree on, kept in one place so the two can never drift apart:
//!
//! - [`escape`](mod@escape): the HTML escaper for text and quoted attribute values; the
//!   macro escapes string literals with it, the runtime escapes values;
//! - [`events`]: what an event name may look like on the wire, with its
//!   length limit; the macro refuses handler and `dj-*` names the runtime
//!   would refuse before dispatch;
//! - [`elements`]: void elements (no closing tag) and the elements whose
//!   content the browser's parser reads as raw text;
//! - [`attributes`]: attributes whose value is a URL, and the sink table
//!   saying how the browser reads each attribute (text, URL, markup, CSS,
//!   script, or a page-wide directive that only a literal may set).
//!
//! The crate has no dependencies and does no I/O: every item is a pure
//! function or a table.
#![forbid(unsafe_code)]

pub mod attributes;
pub mod elements;
pub mod escape;
pub mod events;

pub use attributes::{attribute_sink, is_url_attribute, AttrSink, Directive, Sibling};
pub use elements::{is_raw_text_element, is_void_element};
pub use escape::{escape, escape_into, needs_no_escaping};
pub use events::{check_event_name, is_safe_event_name, EventNameProblem, MAX_EVENT_NAME_LEN};
