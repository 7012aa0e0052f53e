//! [`SafeHtml`]: markup that is trusted to be written without escaping.
//!
//! The only ways to get one are the trust hatches the audit can list:
//! a string literal ([`SafeHtml::from_static`]), the output of `html!`
//! (`From<Html>`), `format_html!` (which escapes every argument) and
//! [`SafeHtml::sanitize`] (ammonia's allowlist sanitizer); plus
//! [`SafeHtml::escape`], which turns text into the markup showing it. There
//! is deliberately no `From<String>`: a runtime string is text, not markup,
//! and the constructor `format_html!` expands to is reachable only through
//! the hidden `djust::__private` module.
//!
//! A `SafeHtml` reaches a page only where a template says so: `{value|safe}`
//! in content or `srcdoc={value}`. It does not implement `Render` (a plain
//! `{value}` is a compile error) and cannot be turned into an `Html`, so
//! every trusted value in a page is one of those two visible forms, which
//! the `#[live_view]` macro counts for the audit and every `html!` records
//! in the program-wide list of [`trusted_sites`](super::trusted::trusted_sites).

use std::borrow::Cow;
use std::fmt;

use super::escape::escape_into;
use super::html::Html;
use crate::vdom::VBuilder;

/// Trusted markup, written raw by `{value|safe}` (and escaped into `srcdoc={value}`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SafeHtml(Cow<'static, str>);

impl SafeHtml {
    /// Markup from a string literal written by the developer.
    pub const fn from_static(markup: &'static str) -> Self {
        SafeHtml(Cow::Borrowed(markup))
    }

    /// Cleans untrusted HTML with ammonia's default allowlist: scripts,
    /// `on*` attributes, `javascript:` URLs and unknown tags are removed.
    pub fn sanitize(untrusted: &str) -> Self {
        SafeHtml(Cow::Owned(ammonia::clean(untrusted)))
    }

    /// Escapes plain text into markup (the text renders verbatim).
    pub fn escape(text: &str) -> Self {
        let mut out = String::with_capacity(text.len());
        escape_into(text, &mut out);
        SafeHtml(Cow::Owned(out))
    }

    /// Markup this crate built and escaped itself (`format_html!`'s output
    /// through `djust::__private`, the CSRF field).
    #[inline]
    pub(crate) fn from_trusted(markup: String) -> Self {
        SafeHtml(Cow::Owned(markup))
    }

    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Html> for SafeHtml {
    fn from(html: Html) -> Self {
        SafeHtml(Cow::Owned(html.into_string()))
    }
}

impl fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SafeHtml").field(&self.0).finish()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::SafeHtml {}
    impl<T: Sealed + ?Sized> Sealed for &T {}
    impl<T: Sealed> Sealed for Option<T> {}

    pub trait SealedSink {}
    impl SealedSink for String {}
    impl SealedSink for crate::vdom::VBuilder {}
}

/// A value for an attribute the browser parses as a whole HTML document:
/// `srcdoc={value}`. Only trusted markup qualifies, so the trait is sealed:
/// it is implemented for [`SafeHtml`], `Option<SafeHtml>` (omitted when
/// `None`) and references to them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value of `srcdoc`: the browser parses it as an HTML document",
    note = "`srcdoc` takes trusted markup: a `SafeHtml` (or `Option<SafeHtml>`)",
    note = "for untrusted HTML use `SafeHtml::sanitize(&text)`; to build markup with values use `format_html!` or `html!`"
)]
pub trait MarkupValue: sealed::Sealed {
    /// The markup, or `None` to omit the attribute.
    fn markup_text(&self) -> Option<&str>;
}

impl MarkupValue for SafeHtml {
    #[inline]
    fn markup_text(&self) -> Option<&str> {
        Some(&self.0)
    }
}

impl<T: MarkupValue + ?Sized> MarkupValue for &T {
    #[inline]
    fn markup_text(&self) -> Option<&str> {
        (**self).markup_text()
    }
}

impl<T: MarkupValue> MarkupValue for Option<T> {
    #[inline]
    fn markup_text(&self) -> Option<&str> {
        self.as_ref().and_then(MarkupValue::markup_text)
    }
}

/// The value of a dynamic `srcdoc` attribute for the VDOM (raw markup; the
/// serialiser escapes it into the attribute).
pub(crate) fn markup_attr<T: MarkupValue + ?Sized>(value: &T) -> Option<String> {
    value.markup_text().map(str::to_owned)
}

/// Where `{value|safe}` writes: the SSR buffer or a VDOM builder. Sealed:
/// implemented for those two only.
#[doc(hidden)]
pub trait MarkupSink: sealed::SealedSink {
    /// Appends trusted markup.
    #[doc(hidden)]
    fn push_trusted(&mut self, markup: &str);
}

impl MarkupSink for String {
    #[inline]
    fn push_trusted(&mut self, markup: &str) {
        self.push_str(markup);
    }
}

impl MarkupSink for VBuilder {
    fn push_trusted(&mut self, markup: &str) {
        self.push_raw_html(markup);
    }
}

/// Writes trusted markup for `{value|safe}`. Only [`SafeHtml`] is accepted,
/// so `|safe` on a `String` is a type error naming `SafeHtml`. Both backends
/// call this one function, so that error is reported once.
#[inline]
pub(crate) fn render_safe<S: MarkupSink>(value: &SafeHtml, out: &mut S) {
    out.push_trusted(&value.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_removes_script_and_handlers() {
        let safe = SafeHtml::sanitize(
            r#"<b onclick="x()">hi</b><script>alert(1)</script><a href="javascript:alert(1)">y</a>"#,
        );
        let text = safe.as_str();
        assert!(text.contains("<b>hi</b>"), "{text}");
        assert!(!text.contains("script"), "{text}");
        assert!(!text.contains("onclick"), "{text}");
        assert!(!text.contains("javascript"), "{text}");
    }
}
