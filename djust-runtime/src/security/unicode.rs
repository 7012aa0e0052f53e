//! Unicode classes the security layers need, from the Unicode tables of a
//! maintained crate (`unicode-properties`), not hand-written ranges.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// `true` for format characters (general category Cf): zero-width space
/// and joiners, BOM, soft hyphen, word joiner, and the bidi controls
/// (U+202A..U+202E, U+2066..U+2069, U+200E/F, U+061C) that make text read
/// in another order than it is stored.
pub fn is_format_char(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
}

#[cfg(test)]
mod tests {
    use super::is_format_char;

    #[test]
    fn bidi_zero_width_and_bom_are_format_characters() {
        for c in [
            '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}',
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{00ad}',
        ] {
            assert!(is_format_char(c), "{:04x}", c as u32);
        }
        for c in ['a', 'é', 'ש', 'ع', '漢', ' ', '\n', '😀'] {
            assert!(!is_format_char(c), "{c}");
        }
    }
}
