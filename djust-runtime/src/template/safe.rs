//! [`SafeHtml`]: markup that is trusted to be written without escaping.
//!
//! The only ways to get one are the trust hatches the audit can list:
//! a string literal ([`SafeHtml::from_static`]), the output of `html!`
//! (`From<Html>`), `format_html!` (which escapes every argument) and
//! [`SafeHtml::sanitize`] (ammonia's allowlist sanitizer). There is
//! deliberately no `From<String>`: a runtime string is text, not markup.

use std::borrow::Cow;
use std::fmt;

use super::escape::escape_into;
use super::html::Html;
use super::render::Render;
use crate::vdom::VBuilder;

/// Trusted markup, written raw by `{value|safe}` or `{value}`.
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

    /// Used by `format_html!` after escaping every argument.
    #[doc(hidden)]
    pub fn __from_escaped_format(markup: String) -> Self {
        SafeHtml(Cow::Owned(markup))
    }

    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Converts into [`Html`] for use where a component is expected.
    pub fn into_html(self) -> Html {
        Html::from_trusted(self.0.into_owned())
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

impl Render for SafeHtml {
    #[inline]
    fn write_plain(&self, out: &mut String) {
        out.push_str(&self.0);
    }
    #[inline]
    fn render_text(&self, out: &mut String) {
        out.push_str(&self.0);
    }
    fn render_vdom(&self, builder: &mut VBuilder) {
        builder.push_raw_html(&self.0);
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::SafeHtml {}
    impl<T: Sealed + ?Sized> Sealed for &T {}
    impl<T: Sealed> Sealed for Option<T> {}
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
#[doc(hidden)]
pub fn markup_attr<T: MarkupValue + ?Sized>(value: &T) -> Option<String> {
    value.markup_text().map(str::to_owned)
}

/// Where `{value|safe}` writes: the SSR buffer or a VDOM builder.
#[doc(hidden)]
pub trait MarkupSink {
    /// Appends trusted markup.
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
#[doc(hidden)]
#[inline]
pub fn render_safe<S: MarkupSink>(value: &SafeHtml, out: &mut S) {
    out.push_trusted(&value.0);
}

/// Display adapter that escapes everything its inner value prints; used by
/// `format_html!` for each argument.
#[doc(hidden)]
pub struct EscapeDisplay<'a, T: fmt::Display + ?Sized>(pub &'a T);

impl<T: fmt::Display + ?Sized> fmt::Display for EscapeDisplay<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Escaper<'b, 'c>(&'b mut fmt::Formatter<'c>);
        impl fmt::Write for Escaper<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                let mut escaped = String::with_capacity(s.len());
                escape_into(s, &mut escaped);
                self.0.write_str(&escaped)
            }
        }
        fmt::write(&mut Escaper(f), format_args!("{}", self.0))
    }
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

    #[test]
    fn escape_display_escapes_every_write() {
        assert_eq!(
            format!("{}", EscapeDisplay(&"<a href='x'>")),
            "&lt;a href=&#39;x&#39;&gt;"
        );
    }
}
