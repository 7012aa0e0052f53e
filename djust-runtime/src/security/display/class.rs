//! What a character is, for display purposes: the one place that decides
//! which characters are line breaks, controls, bidi controls, invisible
//! format characters or combining marks. The general category comes from
//! `unicode-properties` (Unicode 18 tables), never from a table of ours.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// How display-safe text treats one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CharClass {
    /// `\n`, `\r`, VT, FF, NEL, U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR.
    LineBreak,
    /// `\t`.
    Tab,
    /// Any other control character (general category Cc): NUL, BEL, ESC, DEL, C1 controls.
    Control,
    /// One of the twelve Bidi_Control characters (UAX #9): they reorder
    /// how the text around them is displayed (`gnp.exe` shown as `exe.png`).
    Bidi,
    /// Any other format character (general category Cf): zero-width space,
    /// joiner and non-joiner, word joiner, BOM, soft hyphen, invisible
    /// operators, interlinear annotation, tag characters…
    Format,
    /// A nonspacing or enclosing combining mark (Mn, Me): it stacks on the
    /// character before it.
    Mark,
    /// Everything else: letters, digits, punctuation, symbols, emoji, spaces.
    Plain,
}

/// The class of `c`.
pub(super) fn classify(c: char) -> CharClass {
    match c {
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
            CharClass::LineBreak
        }
        '\t' => CharClass::Tab,
        _ if is_bidi_control(c) => CharClass::Bidi,
        _ => match c.general_category() {
            GeneralCategory::Control => CharClass::Control,
            GeneralCategory::Format => CharClass::Format,
            GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark => CharClass::Mark,
            _ => CharClass::Plain,
        },
    }
}

/// The Bidi_Control property (UAX #9, a closed set): ALM, LRM, RLM, the
/// embeddings and overrides LRE RLE PDF LRO RLO, and the isolates LRI RLI
/// FSI PDI. All are also general category Cf.
pub(super) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Private use (Co) or unassigned (Cn, which includes the noncharacters).
pub(super) fn is_private_or_unassigned(c: char) -> Option<GeneralCategory> {
    match c.general_category() {
        category @ (GeneralCategory::PrivateUse | GeneralCategory::Unassigned) => Some(category),
        _ => None,
    }
}

/// `U+202E`: how a character is named in messages (never the character
/// itself, which may be invisible or reorder the message).
pub(super) fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bidi_control_is_a_format_character_too() {
        for c in ['\u{061C}', '\u{200E}', '\u{200F}']
            .into_iter()
            .chain('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
        {
            assert_eq!(classify(c), CharClass::Bidi, "{}", code_point(c));
            assert_eq!(c.general_category(), GeneralCategory::Format);
        }
    }

    #[test]
    fn invisible_characters_are_format() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2062}',
            '\u{180E}',
            '\u{FFF9}',
            '\u{E0041}',
            '\u{E0001}',
        ] {
            assert_eq!(classify(c), CharClass::Format, "{}", code_point(c));
        }
    }

    #[test]
    fn controls_breaks_marks_and_plain() {
        for c in ['\0', '\u{07}', '\u{1B}', '\u{7F}', '\u{9B}'] {
            assert_eq!(classify(c), CharClass::Control, "{}", code_point(c));
        }
        for c in [
            '\n', '\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}',
        ] {
            assert_eq!(classify(c), CharClass::LineBreak, "{}", code_point(c));
        }
        assert_eq!(classify('\t'), CharClass::Tab);
        for c in ['\u{0301}', '\u{20DD}', '\u{FE0F}', '\u{05B8}'] {
            assert_eq!(classify(c), CharClass::Mark, "{}", code_point(c));
        }
        for c in ['a', ' ', '\u{A0}', 'ש', 'ع', '😀', '字', '\u{0903}'] {
            assert_eq!(classify(c), CharClass::Plain, "{}", code_point(c));
        }
    }

    #[test]
    fn code_points_are_named_not_shown() {
        assert_eq!(code_point('\u{202E}'), "U+202E");
        assert_eq!(code_point('\u{7}'), "U+0007");
        assert_eq!(code_point('\u{E0041}'), "U+E0041");
    }
}
