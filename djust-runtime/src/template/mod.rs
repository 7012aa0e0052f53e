//! Templates: the [`Html`] value, escaping by context, URL/style filters and
//! trusted markup.
//!
//! `html!` (in `djust-macros`) decides each splice's context at compile
//! time; the traits in [`render`] decide the output by type at run time.

pub mod escape;
pub mod filters;
pub mod html;
pub mod mode;
pub mod render;
pub mod safe;

pub use html::Html;
pub use render::{AttrValue, Render, UrlValue};
pub use safe::SafeHtml;
