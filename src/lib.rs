//! # djust
//!
//! Server-rendered reactive views for Rust, in the style of Phoenix LiveView
//! and Django's djust, where the compiler enforces the security model.
//!
//! ```
//! use djust::prelude::*;
//!
//! let name = "<script>alert(1)</script>";
//! let items = vec![(1, "one"), (2, "two")];
//! let page = html! {
//!     <h1 class="title">"Hello, " {name} "!"</h1>
//!     <ul>
//!         for (id, label) in &items key = id {
//!             <li><a href={format!("/items/{id}")}>{label}</a></li>
//!         }
//!     </ul>
//!     if items.is_empty() { <p>"Nothing yet."</p> }
//! };
//! assert_eq!(
//!     page.into_string(),
//!     "<h1 class=\"title\">Hello, &lt;script&gt;alert(1)&lt;/script&gt;!</h1>\
//!      <ul><li><a href=\"/items/1\">one</a></li><li><a href=\"/items/2\">two</a></li></ul>"
//! );
//! ```
//!
//! * [`html!`]: templates with context-aware escaping decided at compile time.
//!   See `docs/templates.md` in the repository for the full syntax and the
//!   list of compile errors.
//! * [`SafeHtml`]: the only markup written raw; no `From<String>`.
//! * [`format_html!`]: `format!` for markup, escaping every argument.
#![forbid(unsafe_code)]

/// Writes HTML with compile-time, context-aware escaping.
///
/// ```
/// # use djust::prelude::*;
/// let url = "javascript:alert(1)";
/// let busy = true;
/// let html = html! { <a href={url}>"x"</a><button disabled={busy}>"Go"</button> };
/// assert_eq!(html.into_string(), "<a href=\"#blocked\">x</a><button disabled=\"\">Go</button>");
/// ```
///
/// Syntax: elements (`<div class="x">..</div>`, `<br>`, `<div/>`), text as
/// string literals (`"Delete"`), values in braces (`{self.count}`),
/// attributes `name="literal"`, `name={expr}` or bare `disabled`,
/// `if`/`else if`/`else`, `if let`, `match x { Pat => { .. } }`,
/// `for pat in iter key = expr { .. }`, components (`{header}` where
/// `header: Html`) and trusted markup `{x|safe}` (`x: SafeHtml`).
///
/// Compile errors: `on*` attributes, dynamic content or attributes in
/// `<script>`/`<style>`, dynamic attribute names, unbalanced tags, bad or
/// non-literal `dj-*` event names, duplicate attributes, literal
/// `javascript:` URLs, reads of `_private` fields, `|safe` on anything but
/// `SafeHtml`, and non-string values in URL attributes.
pub use djust_macros::html;

/// Builds [`SafeHtml`] from a format string, escaping every argument.
///
/// ```
/// # use djust::prelude::*;
/// let link = format_html!("<a href=\"/u/{}\">{}</a>", 7, "<b>Ann</b>");
/// assert_eq!(link.as_str(), "<a href=\"/u/7\">&lt;b&gt;Ann&lt;/b&gt;</a>");
/// ```
///
/// Only `{}` and `{0}` placeholders are accepted: inline captures such as
/// `{name}` would skip the escaping and are a compile error.
pub use djust_macros::format_html;

pub use djust_runtime as runtime;
pub use djust_runtime::template::{AttrValue, Html, Render, SafeHtml, UrlValue};

/// The names most views need: `use djust::prelude::*;`.
pub mod prelude {
    pub use crate::{format_html, html, Html, Render, SafeHtml};
}

/// Items used by macro-generated code. Not public API: no stability guarantees.
#[doc(hidden)]
pub mod __private {
    pub use djust_runtime::template::escape::escape_into;
    pub use djust_runtime::template::filters::{filter_srcset, filter_url};
    pub use djust_runtime::template::mode::vdom_mode;
    pub use djust_runtime::template::render::{
        attr_plain, key_string, srcset_attr, style_attr, url_attr, AttrValue, Render, UrlValue,
    };
    pub use djust_runtime::template::safe::{render_safe, render_safe_vdom, EscapeDisplay};
    pub use djust_runtime::vdom::{ElementTemplate, StaticNode, TAttr, VBuilder};
}
