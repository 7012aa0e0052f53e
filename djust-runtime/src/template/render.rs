//! How values render into a template, by context.
//!
//! The `html!` macro decides the context of every splice at compile time and
//! calls the generated-code entry points of `djust::__private` for it; the
//! value's type decides the output at run time through these traits:
//!
//! | context | trait | escaping |
//! | --- | --- | --- |
//! | element content `{x}` | [`Render`] | text escaped; [`Html`](super::Html) (a component) written as markup |
//! | attribute value `name={x}` | [`AttrValue`] | always escaped, even a component's markup (markup never splices into an attribute) |
//! | URL attribute `href={x}` | [`UrlValue`] | scheme allowlist, then escaped; only string types are accepted |
//! | markup attribute `srcdoc={x}` | [`MarkupValue`](super::safe::MarkupValue) | only [`SafeHtml`](super::SafeHtml), escaped into the attribute (the browser unescapes and parses it) |
//! | trusted markup `{x\|safe}` | — | only [`SafeHtml`](super::SafeHtml), written raw |
//!
//! **Sealed escaping.** [`Render`] and [`AttrValue`] have one writing
//! method each, and it receives a [`TextWriter`]: an implementation can
//! only write text, which the writer escapes for where it lands. The
//! escaping itself is in the writer and in the generated-code entry points
//! (`render_text`, `write_attr_escaped`, ...), which user code cannot
//! override or call except through the hidden `djust::__private` module.
//! `SafeHtml` deliberately implements neither trait, so trusted markup is
//! always the visible `{x|safe}` the audit counts.
//!
//! Integers are formatted with `itoa`, floats with `ryu`; neither can contain
//! a character that needs escaping, so they skip the escaper.

use std::borrow::Cow;

pub use super::writer::TextWriter;
use crate::vdom::VBuilder;

/// A value that can be spliced into element content with `{value}`.
///
/// Implemented for strings, numbers, `bool`, `char`, `Option<T>` (renders
/// nothing for `None`), references and [`Html`](super::Html) components.
/// Implement it for your own types by writing their text to the
/// [`TextWriter`]; the escaping is done for you and cannot be skipped. To
/// render markup, return an `Html` from `html!` and write that
/// (`html.render(out)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be rendered in a template",
    note = "`{{value}}` in `html!` needs `djust::Render`: implemented for strings, numbers, bool, char, Option<T> and Html",
    note = "trusted markup (`SafeHtml`) is written with `{{value|safe}}`, which the audit counts",
    note = "render a field of it, or implement `Render` for `{Self}` (write its text to the `TextWriter`)"
)]
pub trait Render {
    /// Writes the value's text to `out`, which escapes it.
    fn render(&self, out: &mut TextWriter<'_>);
}

/// A value that can be the value of an ordinary attribute: `name={value}`.
///
/// `bool` makes a boolean attribute (present when `true`), `Option<T>` omits
/// the attribute when `None`; strings, numbers and `char` are written as
/// escaped text. Implement it for your own types by writing their text to
/// the [`TextWriter`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as an attribute value",
    note = "attribute values must be strings, numbers, bool (boolean attribute) or Option<T> (omitted when None)"
)]
pub trait AttrValue {
    /// `false` when the attribute must be left out.
    #[inline]
    fn is_present(&self) -> bool {
        true
    }

    /// Writes the value's text to `out`, which escapes it.
    fn write_attr(&self, out: &mut TextWriter<'_>);
}

/// A value that can be the value of a URL attribute (`href`, `src`, `action`,
/// `formaction`, `poster`, `cite`, `data`, `background`, `srcset`,
/// `xlink:href`, `ping`).
///
/// Only string types qualify: a URL is text the scheme filter can inspect.
/// `None` omits the attribute. The text is filtered and escaped whatever an
/// implementation returns.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a URL attribute value",
    note = "URL attributes (href, src, action, ...) take `String`, `&str`, `Cow<str>` or `Option` of those, so the scheme allowlist can check them",
    note = "format the URL first, e.g. `href={{format!(\"/contacts/{{}}\", id)}}`"
)]
pub trait UrlValue {
    /// The URL text, or `None` to omit the attribute.
    fn url_text(&self) -> Option<&str>;
}

// ----- generated-code entry points (re-exported by `crate::__private`) -----

/// `{value}` in element content, server-side rendering.
#[inline(always)]
pub(crate) fn render_text<T: Render + ?Sized>(value: &T, out: &mut String) {
    value.render(&mut TextWriter::content(out));
}

/// `{value}` in element content, VDOM.
#[inline]
pub(crate) fn render_vdom<T: Render + ?Sized>(value: &T, builder: &mut VBuilder) {
    value.render(&mut TextWriter::nodes(builder));
}

/// `false` when an ordinary attribute must be left out.
#[inline]
pub(crate) fn attr_is_present<T: AttrValue + ?Sized>(value: &T) -> bool {
    value.is_present()
}

/// `name={value}`, server-side rendering: the value escaped.
#[inline]
pub(crate) fn write_attr_escaped<T: AttrValue + ?Sized>(value: &T, out: &mut String) {
    value.write_attr(&mut TextWriter::attribute(out));
}

/// The plain text of an ordinary attribute value, written into `out` (a
/// buffer escaped when serialised).
#[inline]
pub(crate) fn write_attr_raw<T: AttrValue + ?Sized>(value: &T, out: &mut String) {
    value.write_attr(&mut TextWriter::raw(out));
}

/// The plain text of a rendered value, written into `out` (loop keys).
#[inline]
pub(crate) fn write_text_raw<T: Render + ?Sized>(value: &T, out: &mut String) {
    value.render(&mut TextWriter::raw(out));
}

/// The raw value of an ordinary dynamic attribute for the VDOM, or `None`
/// when it must be left out (`false`, `None`).
pub(crate) fn attr_plain<T: AttrValue + ?Sized>(value: &T) -> Option<String> {
    if !value.is_present() {
        return None;
    }
    let mut plain = String::new();
    write_attr_raw(value, &mut plain);
    Some(plain)
}

/// The filtered value of a dynamic URL attribute for the VDOM.
pub(crate) fn url_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    value
        .url_text()
        .map(|url| super::filters::filter_url(url).into_owned())
}

/// The filtered value of a dynamic `srcset` attribute for the VDOM.
pub(crate) fn srcset_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    value
        .url_text()
        .map(|srcset| super::filters::filter_srcset(srcset).into_owned())
}

/// The filtered value of a dynamic `ping` attribute for the VDOM.
pub(crate) fn url_list_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    value
        .url_text()
        .map(|list| super::filters::filter_url_list(list).into_owned())
}

/// The key of a keyed loop item, as text.
pub(crate) fn key_string<T: Render + ?Sized>(key: &T) -> String {
    let mut out = String::new();
    write_text_raw(key, &mut out);
    out
}

/// The filtered value of a dynamic `style` attribute, or `None` to omit it
/// (absent value, or nothing left after the safe-CSS filter).
pub(crate) fn style_attr<T: AttrValue + ?Sized>(value: &T) -> Option<String> {
    if !value.is_present() {
        return None;
    }
    let mut plain = String::new();
    write_attr_raw(value, &mut plain);
    super::filters::filter_style(&plain).map(Cow::into_owned)
}

// ----- strings -----

impl Render for str {
    #[inline]
    fn render(&self, out: &mut TextWriter<'_>) {
        out.push_str(self);
    }
}

impl AttrValue for str {
    #[inline]
    fn write_attr(&self, out: &mut TextWriter<'_>) {
        out.push_str(self);
    }
}

impl UrlValue for str {
    #[inline]
    fn url_text(&self) -> Option<&str> {
        Some(self)
    }
}

macro_rules! via_str {
    ($($ty:ty),*) => {$(
        impl Render for $ty {
            #[inline]
            fn render(&self, out: &mut TextWriter<'_>) { out.push_str(self); }
        }
        impl AttrValue for $ty {
            #[inline]
            fn write_attr(&self, out: &mut TextWriter<'_>) { out.push_str(self); }
        }
        impl UrlValue for $ty {
            #[inline]
            fn url_text(&self) -> Option<&str> { Some(self) }
        }
    )*};
}
via_str!(
    String,
    Cow<'_, str>,
    Box<str>,
    std::rc::Rc<str>,
    std::sync::Arc<str>
);

// ----- numbers, bool, char -----

/// "00" to "99", for writing two digits with one fixed-size copy.
const DIGIT_PAIRS: &str = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// The two digits of `pair` (< 100).
#[inline(always)]
fn pair(pair: u64) -> &'static str {
    let index = (pair as usize % 100) * 2;
    DIGIT_PAIRS.get(index..index + 2).unwrap_or("00")
}

/// Appends the decimal digits of `value`. Numbers below 10,000 (the common
/// case in templates) are written as one or two fixed-size copies from a
/// digit-pair table, with no loop, call or `memcpy`; larger ones go through
/// `itoa`.
#[inline(always)]
fn push_u64(out: &mut String, value: u64) {
    if value < 10 {
        out.push_str(&pair(value)[1..]);
    } else if value < 100 {
        out.push_str(pair(value));
    } else if value < 1_000 {
        out.push_str(&pair(value / 100)[1..]);
        out.push_str(pair(value % 100));
    } else if value < 10_000 {
        out.push_str(pair(value / 100));
        out.push_str(pair(value % 100));
    } else {
        push_large(out, value);
    }
}

#[inline(never)]
fn push_large(out: &mut String, value: u64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Integers that convert losslessly to `u64`/`i64` use [`push_u64`].
trait SmallInteger: Copy {
    fn write_decimal(self, out: &mut String);
}

macro_rules! small_unsigned {
    ($($ty:ty),*) => {$(
        impl SmallInteger for $ty {
            #[inline(always)]
            fn write_decimal(self, out: &mut String) { push_u64(out, u64::from(self)); }
        }
    )*};
}
small_unsigned!(u8, u16, u32, u64);

macro_rules! small_signed {
    ($($ty:ty),*) => {$(
        impl SmallInteger for $ty {
            #[inline]
            fn write_decimal(self, out: &mut String) {
                let wide = i64::from(self);
                if wide < 0 {
                    out.push('-');
                }
                push_u64(out, wide.unsigned_abs());
            }
        }
    )*};
}
small_signed!(i8, i16, i32, i64);

impl SmallInteger for usize {
    #[inline(always)]
    fn write_decimal(self, out: &mut String) {
        match u64::try_from(self) {
            Ok(value) => push_u64(out, value),
            Err(_) => out.push_str(itoa::Buffer::new().format(self)),
        }
    }
}

impl SmallInteger for isize {
    #[inline]
    fn write_decimal(self, out: &mut String) {
        match i64::try_from(self) {
            Ok(value) => value.write_decimal(out),
            Err(_) => out.push_str(itoa::Buffer::new().format(self)),
        }
    }
}

impl SmallInteger for i128 {
    #[inline]
    fn write_decimal(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self));
    }
}

impl SmallInteger for u128 {
    #[inline]
    fn write_decimal(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self));
    }
}

// `inline(always)`: at a template's call site the writer's target is
// known, so the digits go straight into the page buffer; as an out-of-line
// call (what `#[inline]` got from LLVM for the big table's cells) the
// target is matched again at run time and the page buffer's length lives
// in memory across the call.
macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl Render for $ty {
            #[inline(always)]
            fn render(&self, out: &mut TextWriter<'_>) {
                SmallInteger::write_decimal(*self, out.escape_free_buffer());
            }
        }
        impl AttrValue for $ty {
            #[inline(always)]
            fn write_attr(&self, out: &mut TextWriter<'_>) {
                SmallInteger::write_decimal(*self, out.escape_free_buffer());
            }
        }
    )*};
}
integers!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! floats {
    ($($ty:ty),*) => {$(
        impl Render for $ty {
            #[inline]
            fn render(&self, out: &mut TextWriter<'_>) {
                // Digits, `.`, `e`, `-`, `NaN`, `inf`: nothing to escape.
                let out = out.escape_free_buffer();
                if self.is_finite() {
                    out.push_str(ryu::Buffer::new().format_finite(*self));
                } else if self.is_nan() {
                    out.push_str("NaN");
                } else if *self > 0.0 {
                    out.push_str("inf");
                } else {
                    out.push_str("-inf");
                }
            }
        }
        impl AttrValue for $ty {
            #[inline]
            fn write_attr(&self, out: &mut TextWriter<'_>) {
                Render::render(self, out);
            }
        }
    )*};
}
floats!(f32, f64);

impl Render for bool {
    #[inline]
    fn render(&self, out: &mut TextWriter<'_>) {
        out.escape_free_buffer()
            .push_str(if *self { "true" } else { "false" });
    }
}

/// `bool` is a boolean attribute: `disabled={busy}` writes `disabled=""` or nothing.
impl AttrValue for bool {
    #[inline]
    fn is_present(&self) -> bool {
        *self
    }
    #[inline]
    fn write_attr(&self, _out: &mut TextWriter<'_>) {}
}

impl Render for char {
    #[inline]
    fn render(&self, out: &mut TextWriter<'_>) {
        out.push(*self);
    }
}

impl AttrValue for char {
    #[inline]
    fn write_attr(&self, out: &mut TextWriter<'_>) {
        out.push(*self);
    }
}

// ----- wrappers -----

impl<T: Render + ?Sized> Render for &T {
    #[inline(always)]
    fn render(&self, out: &mut TextWriter<'_>) {
        (**self).render(out);
    }
}

impl<T: AttrValue + ?Sized> AttrValue for &T {
    #[inline]
    fn is_present(&self) -> bool {
        (**self).is_present()
    }
    #[inline]
    fn write_attr(&self, out: &mut TextWriter<'_>) {
        (**self).write_attr(out);
    }
}

impl<T: UrlValue + ?Sized> UrlValue for &T {
    #[inline]
    fn url_text(&self) -> Option<&str> {
        (**self).url_text()
    }
}

impl<T: Render> Render for Option<T> {
    #[inline]
    fn render(&self, out: &mut TextWriter<'_>) {
        if let Some(value) = self {
            value.render(out);
        }
    }
}

impl<T: AttrValue> AttrValue for Option<T> {
    #[inline]
    fn is_present(&self) -> bool {
        self.as_ref().is_some_and(AttrValue::is_present)
    }
    #[inline]
    fn write_attr(&self, out: &mut TextWriter<'_>) {
        if let Some(value) = self {
            value.write_attr(out);
        }
    }
}

impl<T: UrlValue> UrlValue for Option<T> {
    #[inline]
    fn url_text(&self) -> Option<&str> {
        self.as_ref().and_then(UrlValue::url_text)
    }
}

/// A component: its markup is spliced into element content (and escaped
/// like any text in an attribute).
impl Render for super::Html {
    #[inline]
    fn render(&self, out: &mut TextWriter<'_>) {
        out.push_component(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<T: Render + ?Sized>(value: &T) -> String {
        let mut out = String::new();
        render_text(value, &mut out);
        out
    }

    fn attr<T: AttrValue + ?Sized>(value: &T) -> String {
        let mut out = String::new();
        write_attr_escaped(value, &mut out);
        out
    }

    #[test]
    fn strings_are_escaped_numbers_are_not_touched() {
        assert_eq!(text("<b>&'\""), "&lt;b&gt;&amp;&#39;&quot;");
        assert_eq!(text(&String::from("a<b")), "a&lt;b");
        assert_eq!(text(&-42i64), "-42");
        assert_eq!(text(&u128::MAX), u128::MAX.to_string());
        for value in [
            0i64,
            7,
            9,
            10,
            99,
            100,
            9_999,
            10_000,
            123_456,
            i64::MAX,
            i64::MIN,
            -1,
            -10_000,
        ] {
            assert_eq!(text(&value), value.to_string());
        }
        assert_eq!(text(&u64::MAX), u64::MAX.to_string());
        assert_eq!(text(&isize::MIN), isize::MIN.to_string());
        assert_eq!(text(&i8::MIN), i8::MIN.to_string());
        assert_eq!(text(&1.5f64), "1.5");
        assert_eq!(text(&f64::NAN), "NaN");
        assert_eq!(text(&f64::INFINITY), "inf");
        assert_eq!(text(&f32::NEG_INFINITY), "-inf");
        assert_eq!(text(&'<'), "&lt;");
        assert_eq!(text(&true), "true");
        assert_eq!(attr("\"><x>"), "&quot;&gt;&lt;x&gt;");
        assert_eq!(attr(&'"'), "&quot;");
        assert_eq!(attr(&-2.5f32), "-2.5");
    }

    #[test]
    fn options_render_nothing_for_none() {
        assert_eq!(text(&None::<String>), "");
        assert_eq!(text(&Some("<x>")), "&lt;x&gt;");
        assert!(!AttrValue::is_present(&None::<&str>));
        assert!(!AttrValue::is_present(&Some(false)));
        assert!(AttrValue::is_present(&Some(true)));
        assert_eq!(UrlValue::url_text(&Some(String::from("/a"))), Some("/a"));
    }

    /// A type implementing the traits can only write text: whatever it
    /// writes is escaped in content and in attributes, and kept as text in
    /// the raw buffers (which the serialiser escapes).
    #[test]
    fn user_implementations_write_escaped_text() {
        struct Sneaky;
        impl Render for Sneaky {
            fn render(&self, out: &mut TextWriter<'_>) {
                out.push_str("<script>x()</script>");
                out.push('"');
                out.push_display(&"<b>");
                std::fmt::Write::write_str(out, "'&").unwrap_or_default();
            }
        }
        impl AttrValue for Sneaky {
            fn write_attr(&self, out: &mut TextWriter<'_>) {
                self.render(out);
            }
        }
        let escaped = "&lt;script&gt;x()&lt;/script&gt;&quot;&lt;b&gt;&#39;&amp;";
        assert_eq!(text(&Sneaky), escaped);
        assert_eq!(attr(&Sneaky), escaped);
        assert_eq!(key_string(&Sneaky), "<script>x()</script>\"<b>'&");
        assert_eq!(
            attr_plain(&Sneaky).as_deref(),
            Some("<script>x()</script>\"<b>'&")
        );
    }
}
