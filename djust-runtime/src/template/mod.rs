//! Templates: the [`Html`] value, escaping by context, URL/style filters and
//! trusted markup.
//!
//! `html!` (in `djust-macros`) decides each splice's context at compile
//! time; the traits in [`render`] decide the output by type at run time,
//! and a value writes only text, through a [`TextWriter`] that escapes it.
//! The generated code's entry points (the only ones turning strings into
//! [`Html`] or [`SafeHtml`] unescaped) live in the hidden `__private`
//! module at the crate root, re-exported only as `djust::__private`.

pub mod escape;
pub mod filters;
pub mod html;
pub mod js;
pub mod mode;
pub mod private;
pub mod render;
pub mod safe;
pub mod sink;
pub mod trusted;
mod writer;

pub use html::Html;
pub use js::{JsChain, JS};
pub use private::Private;
pub use render::{AttrValue, Render, TextWriter, UrlValue};
pub use safe::{MarkupValue, SafeHtml};
pub use trusted::{trusted_sites, TrustedKind, TrustedSite};
