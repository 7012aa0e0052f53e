//! How values render into a template, by context.
//!
//! The `html!` macro decides the context of every splice at compile time and
//! calls one of these traits; the value's type decides the output at run time:
//!
//! | context | trait | escaping |
//! | --- | --- | --- |
//! | element content `{x}` | [`Render`] | `& < > " '` escaped; [`Html`](super::Html) and [`SafeHtml`](super::SafeHtml) written as markup |
//! | attribute value `name={x}` | [`AttrValue`] | always escaped, even for `Html`/`SafeHtml` (markup never splices into an attribute) |
//! | URL attribute `href={x}` | [`UrlValue`] | scheme allowlist, then escaped; only string types are accepted |
//! | markup attribute `srcdoc={x}` | [`MarkupValue`](super::safe::MarkupValue) | only [`SafeHtml`](super::SafeHtml), escaped into the attribute (the browser unescapes and parses it) |
//!
//! Integers are formatted with `itoa`, floats with `ryu`; neither can contain
//! a character that needs escaping, so they skip the escaper.

use std::borrow::Cow;

use super::escape::escape_into;
use crate::vdom::VBuilder;

/// A value that can be spliced into element content with `{value}`.
///
/// Implemented for strings, numbers, `bool`, `char`, `Option<T>` (renders
/// nothing for `None`), references and the markup types. Implement it for
/// your own types by writing their plain text in [`Render::write_plain`]; the
/// escaping is done for you.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be rendered in a template",
    note = "`{{value}}` in `html!` needs `djust::Render`: implemented for strings, numbers, bool, char, Option<T> and Html",
    note = "render a field of it, or implement `Render` for `{Self}` (write its plain text in `write_plain`)"
)]
pub trait Render {
    /// Writes the value's plain, unescaped text.
    fn write_plain(&self, out: &mut String);

    /// Writes the value into element content, escaped.
    #[inline]
    fn render_text(&self, out: &mut String) {
        let mut plain = String::new();
        self.write_plain(&mut plain);
        escape_into(&plain, out);
    }

    /// Adds the value to a VDOM being built: as text unless it is markup.
    #[inline]
    fn render_vdom(&self, builder: &mut VBuilder) {
        self.write_plain(builder.text_buffer());
    }
}

/// A value that can be the value of an ordinary attribute: `name={value}`.
///
/// `bool` makes a boolean attribute (present when `true`), `Option<T>` omits
/// the attribute when `None`; everything that implements [`Render`] as text
/// is written escaped.
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

    /// Writes the plain, unescaped value.
    fn write_attr_plain(&self, out: &mut String);

    /// Writes the value escaped for a double-quoted attribute.
    #[inline]
    fn write_attr_escaped(&self, out: &mut String) {
        let mut plain = String::new();
        self.write_attr_plain(&mut plain);
        escape_into(&plain, out);
    }
}

/// A value that can be the value of a URL attribute (`href`, `src`, `action`,
/// `formaction`, `poster`, `cite`, `data`, `background`, `srcset`, `xlink:href`).
///
/// Only string types qualify: a URL is text the scheme filter can inspect.
/// `None` omits the attribute.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a URL attribute value",
    note = "URL attributes (href, src, action, ...) take `String`, `&str`, `Cow<str>` or `Option` of those, so the scheme allowlist can check them",
    note = "format the URL first, e.g. `href={{format!(\"/contacts/{{}}\", id)}}`"
)]
pub trait UrlValue {
    /// The URL text, or `None` to omit the attribute.
    fn url_text(&self) -> Option<&str>;
}

/// The raw value of an ordinary dynamic attribute for the VDOM, or `None`
/// when it must be left out (`false`, `None`).
#[doc(hidden)]
pub fn attr_plain<T: AttrValue + ?Sized>(value: &T) -> Option<String> {
    if !value.is_present() {
        return None;
    }
    let mut plain = String::new();
    value.write_attr_plain(&mut plain);
    Some(plain)
}

/// The filtered value of a dynamic URL attribute for the VDOM.
#[doc(hidden)]
pub fn url_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    value
        .url_text()
        .map(|url| super::filters::filter_url(url).into_owned())
}

/// The filtered value of a dynamic `srcset` attribute for the VDOM.
#[doc(hidden)]
pub fn srcset_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    value
        .url_text()
        .map(|srcset| super::filters::filter_srcset(srcset).into_owned())
}

/// The filtered value of a dynamic `ping` attribute for the VDOM.
#[doc(hidden)]
pub fn url_list_attr<T: UrlValue + ?Sized>(value: &T) -> Option<String> {
    value
        .url_text()
        .map(|list| super::filters::filter_url_list(list).into_owned())
}

/// The key of a keyed loop item, as text.
#[doc(hidden)]
pub fn key_string<T: Render + ?Sized>(key: &T) -> String {
    let mut out = String::new();
    key.write_plain(&mut out);
    out
}

/// The filtered value of a dynamic `style` attribute, or `None` to omit it
/// (absent value, or nothing left after the safe-CSS filter).
#[doc(hidden)]
pub fn style_attr<T: AttrValue + ?Sized>(value: &T) -> Option<String> {
    if !value.is_present() {
        return None;
    }
    let mut plain = String::new();
    value.write_attr_plain(&mut plain);
    super::filters::filter_style(&plain).map(Cow::into_owned)
}

// ----- strings -----

impl Render for str {
    #[inline]
    fn write_plain(&self, out: &mut String) {
        out.push_str(self);
    }
    #[inline]
    fn render_text(&self, out: &mut String) {
        escape_into(self, out);
    }
}

impl AttrValue for str {
    #[inline]
    fn write_attr_plain(&self, out: &mut String) {
        out.push_str(self);
    }
    #[inline]
    fn write_attr_escaped(&self, out: &mut String) {
        escape_into(self, out);
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
            fn write_plain(&self, out: &mut String) { out.push_str(self); }
            #[inline]
            fn render_text(&self, out: &mut String) { escape_into(self, out); }
        }
        impl AttrValue for $ty {
            #[inline]
            fn write_attr_plain(&self, out: &mut String) { out.push_str(self); }
            #[inline]
            fn write_attr_escaped(&self, out: &mut String) { escape_into(self, out); }
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
            #[inline]
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
    #[inline]
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

macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl Render for $ty {
            #[inline]
            fn write_plain(&self, out: &mut String) {
                SmallInteger::write_decimal(*self, out);
            }
            #[inline]
            fn render_text(&self, out: &mut String) { self.write_plain(out); }
        }
        impl AttrValue for $ty {
            #[inline]
            fn write_attr_plain(&self, out: &mut String) { Render::write_plain(self, out); }
            #[inline]
            fn write_attr_escaped(&self, out: &mut String) { Render::write_plain(self, out); }
        }
    )*};
}
integers!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! floats {
    ($($ty:ty),*) => {$(
        impl Render for $ty {
            #[inline]
            fn write_plain(&self, out: &mut String) {
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
            #[inline]
            fn render_text(&self, out: &mut String) { self.write_plain(out); }
        }
        impl AttrValue for $ty {
            #[inline]
            fn write_attr_plain(&self, out: &mut String) { Render::write_plain(self, out); }
            #[inline]
            fn write_attr_escaped(&self, out: &mut String) { Render::write_plain(self, out); }
        }
    )*};
}
floats!(f32, f64);

impl Render for bool {
    #[inline]
    fn write_plain(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
    #[inline]
    fn render_text(&self, out: &mut String) {
        self.write_plain(out);
    }
}

/// `bool` is a boolean attribute: `disabled={busy}` writes `disabled=""` or nothing.
impl AttrValue for bool {
    #[inline]
    fn is_present(&self) -> bool {
        *self
    }
    #[inline]
    fn write_attr_plain(&self, _out: &mut String) {}
    #[inline]
    fn write_attr_escaped(&self, _out: &mut String) {}
}

impl Render for char {
    #[inline]
    fn write_plain(&self, out: &mut String) {
        out.push(*self);
    }
    #[inline]
    fn render_text(&self, out: &mut String) {
        let mut buf = [0u8; 4];
        escape_into(self.encode_utf8(&mut buf), out);
    }
}

impl AttrValue for char {
    #[inline]
    fn write_attr_plain(&self, out: &mut String) {
        out.push(*self);
    }
}

// ----- wrappers -----

impl<T: Render + ?Sized> Render for &T {
    #[inline]
    fn write_plain(&self, out: &mut String) {
        (**self).write_plain(out);
    }
    #[inline]
    fn render_text(&self, out: &mut String) {
        (**self).render_text(out);
    }
    #[inline]
    fn render_vdom(&self, builder: &mut VBuilder) {
        (**self).render_vdom(builder);
    }
}

impl<T: AttrValue + ?Sized> AttrValue for &T {
    #[inline]
    fn is_present(&self) -> bool {
        (**self).is_present()
    }
    #[inline]
    fn write_attr_plain(&self, out: &mut String) {
        (**self).write_attr_plain(out);
    }
    #[inline]
    fn write_attr_escaped(&self, out: &mut String) {
        (**self).write_attr_escaped(out);
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
    fn write_plain(&self, out: &mut String) {
        if let Some(value) = self {
            value.write_plain(out);
        }
    }
    #[inline]
    fn render_text(&self, out: &mut String) {
        if let Some(value) = self {
            value.render_text(out);
        }
    }
    #[inline]
    fn render_vdom(&self, builder: &mut VBuilder) {
        if let Some(value) = self {
            value.render_vdom(builder);
        }
    }
}

impl<T: AttrValue> AttrValue for Option<T> {
    #[inline]
    fn is_present(&self) -> bool {
        self.as_ref().is_some_and(AttrValue::is_present)
    }
    #[inline]
    fn write_attr_plain(&self, out: &mut String) {
        if let Some(value) = self {
            value.write_attr_plain(out);
        }
    }
    #[inline]
    fn write_attr_escaped(&self, out: &mut String) {
        if let Some(value) = self {
            value.write_attr_escaped(out);
        }
    }
}

impl<T: UrlValue> UrlValue for Option<T> {
    #[inline]
    fn url_text(&self) -> Option<&str> {
        self.as_ref().and_then(UrlValue::url_text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<T: Render + ?Sized>(value: &T) -> String {
        let mut out = String::new();
        value.render_text(&mut out);
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
        assert_eq!(text(&f32::NEG_INFINITY), "-inf");
        assert_eq!(text(&'<'), "&lt;");
        assert_eq!(text(&true), "true");
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
}
