//! Entry points for the code the `html!` and `format_html!` macros
//! generate. Not public API: the facade re-exports this module as the
//! hidden `djust::__private`, and nothing else re-exports it.
//!
//! These are the only functions that turn strings into [`Html`] or
//! [`SafeHtml`] without escaping (`html_from_markup`, `html_from_nodes`,
//! `safe_html_from_format`) and the only ones that apply the escaping of
//! [`Render`] and [`AttrValue`] values (which user types implement by
//! writing text to a [`TextWriter`](crate::template::TextWriter)). Code
//! that calls them by hand opts out of the compiler's checks as plainly as
//! `unsafe` would, and can be found by searching for `__private`.

use std::fmt;

use crate::template::escape::escape_into;
use crate::template::render::{self, AttrValue, Render, UrlValue};
use crate::template::safe::{self, MarkupSink, MarkupValue};
use crate::template::{Html, SafeHtml};
use crate::vdom::{VBuilder, VTree};

pub use crate::template::js::js_command;
pub use crate::template::private::PrivateField;
pub use crate::template::sink::{Op, Segment, Sink};
pub use crate::template::trusted::{TrustedKind, TrustedSite};

/// `#[live_view]`'s check that a `_` field it sees used is a `Private<_>`.
#[inline]
pub fn assert_private<T: PrivateField + ?Sized>(field: &T) {
    crate::template::private::assert_private(field);
}

/// The markup an `html!` expansion wrote (every value in it escaped).
#[inline]
pub fn html_from_markup(markup: String) -> Html {
    Html::from_generated_markup(markup)
}

/// The nodes an `html!` expansion built.
#[inline]
pub fn html_from_nodes(nodes: VTree) -> Html {
    Html::from_generated_nodes(nodes)
}

/// `format_html!`'s output: its format string with every argument escaped
/// by [`EscapeDisplay`].
#[inline]
pub fn safe_html_from_format(markup: String) -> SafeHtml {
    SafeHtml::from_trusted(markup)
}

/// `{value}` in element content, server-side rendering.
#[inline]
pub fn render_text<T: Render + ?Sized>(value: &T, out: &mut String) {
    render::render_text(value, out);
}

/// `{value}` in element content, VDOM.
#[inline]
pub fn render_vdom<T: Render + ?Sized>(value: &T, builder: &mut VBuilder) {
    render::render_vdom(value, builder);
}

/// `{value|safe}`: trusted markup, written raw (only `SafeHtml` accepted).
#[inline]
pub fn render_safe<S: MarkupSink>(value: &SafeHtml, out: &mut S) {
    safe::render_safe(value, out);
}

/// `false` when an ordinary attribute must be left out.
#[inline]
pub fn attr_is_present<T: AttrValue + ?Sized>(value: &T) -> bool {
    render::attr_is_present(value)
}

/// `name={value}`, server-side rendering: the value escaped.
#[inline]
pub fn write_attr_escaped<T: AttrValue + ?Sized>(value: &T, out: &mut String) {
    render::write_attr_escaped(value, out);
}

/// The raw value of an ordinary dynamic attribute for the VDOM.
pub fn attr_plain<T: AttrValue + ?Sized>(value: &T) -> Option<String> {
    render::attr_plain(value)
}

/// The filtered value of a dynamic URL attribute for the VDOM.
pub fn url_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    render::url_attr(value)
}

/// The filtered value of a dynamic `srcset` attribute for the VDOM.
pub fn srcset_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    render::srcset_attr(value)
}

/// The filtered value of a dynamic `ping` attribute for the VDOM.
pub fn url_list_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    render::url_list_attr(value)
}

/// The filtered value of a dynamic `style` attribute, or `None` to omit it.
pub fn style_attr<T: AttrValue + ?Sized>(value: &T) -> Option<String> {
    render::style_attr(value)
}

/// The value of a dynamic `srcdoc` attribute for the VDOM.
pub fn markup_attr<T: MarkupValue + ?Sized>(value: &T) -> Option<String> {
    safe::markup_attr(value)
}

/// The key of a keyed loop item, as text.
pub fn key_string<T: Render + ?Sized>(key: &T) -> String {
    render::key_string(key)
}

/// `escape_into` for values the generated code filtered first.
#[inline]
pub fn escape_text_into(text: &str, out: &mut String) {
    escape_into(text, out);
}

/// Display adapter that escapes everything its inner value prints; used by
/// `format_html!` for each argument.
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
    fn escape_display_escapes_every_write() {
        assert_eq!(
            format!("{}", EscapeDisplay(&"<a href='x'>")),
            "&lt;a href=&#39;x&#39;&gt;"
        );
    }
}
