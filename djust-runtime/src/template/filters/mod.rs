//! Filters for dynamic values in URL and `style` attributes: each returns the
//! value unchanged (borrowed, no allocation) when it is already safe, and a
//! neutralised form otherwise.
//!
//! - [`filter_url`] for `href`, `src` and the other [`is_url_attribute`]
//!   names: an allowlisted scheme or no scheme, else [`BLOCKED_URL`];
//! - [`filter_srcset`] for `srcset`: the same check per image candidate;
//! - [`filter_url_list`] for `ping`: the same check per space-separated URL;
//! - [`filter_style`] for `style`: a safe subset of CSS declarations, or
//!   `None` to drop the attribute.

mod srcset;
mod style;
mod url;
mod url_list;

pub use srcset::filter_srcset;
pub use style::{filter_style, ALLOWED_FUNCTIONS, ALLOWED_PROPERTIES};
pub use url::{filter_url, is_safe_url, is_url_attribute, BLOCKED_URL, MAX_DECODE_ROUNDS};
pub use url_list::filter_url_list;
