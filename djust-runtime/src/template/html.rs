//! [`Html`]: the value an `html!` template evaluates to.

use std::fmt;

use super::render::Render;

/// Rendered markup produced by `html!`.
///
/// Every dynamic value in it was escaped for its context when the template
/// ran, so an `Html` can be spliced into another template as a component
/// (`{header}`) without being escaped again. It cannot be built from a plain
/// `String`: use `html!`, [`SafeHtml`](super::SafeHtml) or `format_html!`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Html {
    markup: String,
}

impl Html {
    /// Wraps markup written by the `html!` macro's generated code.
    #[doc(hidden)]
    #[inline]
    pub fn __from_generated_markup(markup: String) -> Self {
        Html { markup }
    }

    /// Markup that is already trusted (from [`SafeHtml`](super::SafeHtml)).
    #[inline]
    pub(crate) fn from_trusted(markup: String) -> Self {
        Html { markup }
    }

    /// The markup as a string slice.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.markup
    }

    /// The markup as an owned `String`, without copying.
    #[inline]
    pub fn into_string(self) -> String {
        self.markup
    }

    /// Length of the markup in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.markup.len()
    }

    /// `true` for an empty template.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.markup.is_empty()
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.markup)
    }
}

impl fmt::Debug for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Html").field(&self.markup).finish()
    }
}

/// A component: its markup is written as is.
impl Render for Html {
    #[inline]
    fn write_plain(&self, out: &mut String) {
        out.push_str(&self.markup);
    }
    #[inline]
    fn render_text(&self, out: &mut String) {
        out.push_str(&self.markup);
    }
}

impl From<Html> for String {
    fn from(html: Html) -> String {
        html.markup
    }
}
