//! Element tables from the WHATWG HTML parsing rules.
//!
//! - Void elements have no content and no closing tag: the macro refuses
//!   `</br>` and closes them itself, the VDOM serialiser writes no end tag.
//! - Raw-text elements: the parser reads their content as text up to the
//!   matching end tag, without decoding entities or building elements. The
//!   macro allows only literal text in them (written unescaped, since the
//!   browser would not decode an entity), and the VDOM serialiser writes
//!   their text unescaped when it came from trusted raw HTML.
//! - Escapable raw-text elements (`textarea`, `title`): entities are
//!   decoded but tags are not; the macro refuses child elements there.
//!
//! Names are compared ASCII case-insensitively.

/// HTML void elements: no children, no closing tag.
pub const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose content the parser reads as raw text (no entity decoding,
/// no elements). `noscript` is one when scripting is enabled, as it is for
/// every page with a live view.
pub const RAW_TEXT_ELEMENTS: &[&str] = &[
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "script",
    "style",
    "xmp",
];

/// Elements whose content is text with entities decoded but no elements.
pub const ESCAPABLE_RAW_TEXT_ELEMENTS: &[&str] = &["textarea", "title"];

fn contains(table: &[&str], tag: &str) -> bool {
    table.iter().any(|name| name.eq_ignore_ascii_case(tag))
}

/// `true` when `tag` is a void element.
#[inline]
pub fn is_void_element(tag: &str) -> bool {
    contains(VOID_ELEMENTS, tag)
}

/// `true` when the parser reads the content of `tag` as raw text.
#[inline]
pub fn is_raw_text_element(tag: &str) -> bool {
    contains(RAW_TEXT_ELEMENTS, tag)
}

/// `true` for `textarea` and `title`: text only, entities decoded.
#[inline]
pub fn is_escapable_raw_text_element(tag: &str) -> bool {
    contains(ESCAPABLE_RAW_TEXT_ELEMENTS, tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_lower_case_and_disjoint() {
        for table in [
            VOID_ELEMENTS,
            RAW_TEXT_ELEMENTS,
            ESCAPABLE_RAW_TEXT_ELEMENTS,
        ] {
            for name in table {
                assert_eq!(*name, name.to_ascii_lowercase());
            }
        }
        for name in VOID_ELEMENTS {
            assert!(!is_raw_text_element(name) && !is_escapable_raw_text_element(name));
        }
        for name in RAW_TEXT_ELEMENTS {
            assert!(!is_escapable_raw_text_element(name));
        }
    }

    #[test]
    fn lookups_ignore_ascii_case_only() {
        assert!(is_void_element("BR") && is_void_element("Img") && is_void_element("param"));
        assert!(!is_void_element("div") && !is_void_element("b\u{0433}"));
        assert!(is_raw_text_element("SCRIPT") && is_raw_text_element("xmp"));
        assert!(!is_raw_text_element("textarea"));
        assert!(is_escapable_raw_text_element("TITLE"));
        // The Kelvin sign lower-cases to `k` in Unicode, not in ASCII.
        assert!(!is_void_element("\u{212A}eygen"));
    }
}
