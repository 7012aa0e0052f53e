//! Free text made safe to show to other people: [`display_text`] (one
//! line) and [`display_multiline`] (keeps line breaks).

use std::borrow::Cow;

use super::class::{classify, CharClass};

/// Combining marks (Mn, Me) kept on one character; more are dropped
/// (display) or refused (identifiers). Enough for real text — Vietnamese
/// stacks two, pointed Hebrew with cantillation and Tibetan stacks three
/// or four — while "Zalgo" text piles dozens on one letter to draw over
/// the lines around it.
pub const MAX_COMBINING_MARKS: usize = 4;

/// `text` fit to show on one line to other people.
///
/// - bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)
///   are removed: they reorder what is shown (`"\u{202E}gnp.exe"` would
///   read as "exe.png");
/// - every other format character (general category Cf: zero-width space,
///   joiner and non-joiner, word joiner, BOM, soft hyphen, tag
///   characters…) is removed: invisible characters make two texts look
///   the same while they differ;
/// - control characters (NUL, BEL, ESC, DEL, C1…) are removed;
/// - a run of line breaks and tabs (`\n`, `\r`, `\t`, U+2028…) becomes
///   one space, so words on two lines stay apart;
/// - combining marks beyond [`MAX_COMBINING_MARKS`] on one character are
///   dropped.
///
/// Everything else is kept as it is: letters of every script (Arabic and
/// Hebrew text is still shown right to left, by the characters' own
/// direction), emoji, punctuation, spaces. Text that needs no change is
/// returned borrowed. Emoji sequences joined by U+200D (ZERO WIDTH JOINER)
/// fall apart into their parts (👨‍👩‍👧 shows as 👨👩👧): the joiner is a
/// format character like the others.
///
/// This is about what people see, not about markup: the result still has
/// to be escaped, which `html!` does.
///
/// ```
/// use djust_runtime::security::display::display_text;
///
/// assert_eq!(display_text("\u{202E}gnp.exe"), "gnp.exe");
/// assert_eq!(display_text("ring\u{7} the bell\u{1B}[2J"), "ring the bell[2J");
/// assert_eq!(display_text("two\r\nlines"), "two lines");
/// assert_eq!(display_text("שלום, عالم 👋"), "שלום, عالم 👋");
/// ```
pub fn display_text(text: &str) -> Cow<'_, str> {
    clean(text, Lines::One)
}

/// Like [`display_text`], but line breaks are kept, as `\n`: `\r\n`, a lone
/// `\r`, VT, FF, NEL, U+2028 and U+2029 each become one `\n`. Tabs become a
/// space; other control characters, format characters and bidi controls are
/// removed, and combining marks are capped, as in [`display_text`].
///
/// ```
/// use djust_runtime::security::display::display_multiline;
///
/// assert_eq!(display_multiline("one\r\ntwo\u{2028}three\u{7}"), "one\ntwo\nthree");
/// ```
pub fn display_multiline(text: &str) -> Cow<'_, str> {
    clean(text, Lines::Keep)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Keep,
}

fn clean(text: &str, lines: Lines) -> Cow<'_, str> {
    if is_clean(text, lines) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut marks = 0_usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match classify(c) {
            CharClass::Plain => {
                marks = 0;
                out.push(c);
            }
            CharClass::Mark => {
                marks += 1;
                if marks <= MAX_COMBINING_MARKS {
                    out.push(c);
                }
            }
            CharClass::Bidi | CharClass::Format | CharClass::Control => {}
            CharClass::Tab => {
                marks = 0;
                if lines == Lines::Keep || !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            CharClass::LineBreak => {
                marks = 0;
                match lines {
                    Lines::Keep => {
                        // `\r\n` is one break.
                        if c == '\r' && chars.peek() == Some(&'\n') {
                            chars.next();
                        }
                        out.push('\n');
                    }
                    Lines::One => {
                        if !out.ends_with(' ') {
                            out.push(' ');
                        }
                    }
                }
            }
        }
    }
    Cow::Owned(out)
}

/// Whether `clean` would return `text` unchanged.
fn is_clean(text: &str, lines: Lines) -> bool {
    let mut marks = 0_usize;
    for c in text.chars() {
        match classify(c) {
            CharClass::Plain => marks = 0,
            CharClass::Mark => {
                marks += 1;
                if marks > MAX_COMBINING_MARKS {
                    return false;
                }
            }
            CharClass::LineBreak if lines == Lines::Keep && c == '\n' => marks = 0,
            CharClass::LineBreak
            | CharClass::Tab
            | CharClass::Bidi
            | CharClass::Format
            | CharClass::Control => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::class::code_point;
    use super::*;
    use proptest::prelude::*;

    fn bidi_controls() -> Vec<char> {
        ['\u{061C}', '\u{200E}', '\u{200F}']
            .into_iter()
            .chain('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
            .collect()
    }

    /// No character of `text` is one `display_text` removes or rewrites.
    fn assert_display_safe(text: &str, lines: Lines) {
        let mut marks = 0;
        for c in text.chars() {
            let class = classify(c);
            assert!(
                !matches!(
                    class,
                    CharClass::Bidi | CharClass::Format | CharClass::Control | CharClass::Tab
                ),
                "{} left in {text:?}",
                code_point(c)
            );
            match class {
                CharClass::LineBreak => {
                    assert!(
                        lines == Lines::Keep && c == '\n',
                        "{} left in {text:?}",
                        code_point(c)
                    );
                    marks = 0;
                }
                CharClass::Mark => {
                    marks += 1;
                    assert!(marks <= MAX_COMBINING_MARKS, "mark run in {text:?}");
                }
                _ => marks = 0,
            }
        }
    }

    #[test]
    fn every_bidi_control_is_removed() {
        for control in bidi_controls() {
            let text = format!("a{control}b");
            assert_eq!(display_text(&text), "ab", "{}", code_point(control));
            assert_eq!(display_multiline(&text), "ab", "{}", code_point(control));
        }
    }

    #[test]
    fn right_to_left_override_cannot_flip_a_file_name() {
        let shown = display_text("invoice_\u{202E}gnp.exe");
        assert_eq!(shown, "invoice_gnp.exe");
        assert!(shown.ends_with(".exe"));
        // Isolates and embeddings, nested and unbalanced.
        assert_eq!(
            display_text("\u{2067}\u{202B}abc\u{202C}\u{2069}\u{2069}\u{202C}"),
            "abc"
        );
    }

    #[test]
    fn invisible_characters_are_removed() {
        for (name, c) in [
            ("zero-width space", '\u{200B}'),
            ("zero-width non-joiner", '\u{200C}'),
            ("zero-width joiner", '\u{200D}'),
            ("word joiner", '\u{2060}'),
            ("byte order mark", '\u{FEFF}'),
            ("soft hyphen", '\u{00AD}'),
            ("invisible times", '\u{2062}'),
            ("Mongolian vowel separator", '\u{180E}'),
            ("tag latin small a", '\u{E0061}'),
            ("interlinear annotation anchor", '\u{FFF9}'),
        ] {
            let text = format!("A{c}n{c}n{c}");
            assert_eq!(display_text(&text), "Ann", "{name}");
        }
    }

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(display_text("ding\u{7}dong"), "dingdong");
        assert_eq!(
            display_text("\u{1B}[31mred\u{1B}[0m\u{1B}]0;title\u{7}"),
            "[31mred[0m]0;title"
        );
        assert_eq!(display_text("nul\0byte"), "nulbyte");
        assert_eq!(display_text("del\u{7F}\u{9B}31m"), "del31m");
        let all_controls: String = ('\0'..='\u{1F}').chain('\u{7F}'..='\u{9F}').collect();
        assert_display_safe(&display_text(&all_controls), Lines::One);
        assert_display_safe(&display_multiline(&all_controls), Lines::Keep);
    }

    #[test]
    fn line_breaks_become_one_space_on_one_line() {
        assert_eq!(display_text("a\nb"), "a b");
        assert_eq!(display_text("a\r\n\r\n\tb"), "a b");
        assert_eq!(display_text("a \nb"), "a b");
        assert_eq!(display_text("a\u{2028}b\u{2029}c\u{85}d"), "a b c d");
        assert_eq!(display_text("tab\there"), "tab here");
    }

    #[test]
    fn multiline_keeps_each_line_break_as_newline() {
        assert_eq!(display_multiline("a\nb"), "a\nb");
        assert!(matches!(display_multiline("a\nb"), Cow::Borrowed(_)));
        assert_eq!(display_multiline("a\r\nb\rc"), "a\nb\nc");
        assert_eq!(display_multiline("a\n\n\nb"), "a\n\n\nb");
        assert_eq!(display_multiline("a\u{2028}b\u{2029}c"), "a\nb\nc");
        assert_eq!(display_multiline("a\tb\u{7}"), "a b");
        assert_eq!(display_multiline("x\u{202E}\ny"), "x\ny");
    }

    #[test]
    fn legitimate_right_to_left_text_survives() {
        for text in [
            "שלום עולם",
            "مرحبا بالعالم",
            "سلام دنیا",
            "עִבְרִית",    // Hebrew with points (combining marks)
            "بِسْمِ ٱللَّٰهِ", // Arabic with harakat
            "ܫܠܡܐ",     // Syriac
            "Hello שלום مرحبا 123",
        ] {
            assert_eq!(display_text(text), text);
            assert!(matches!(display_text(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn other_scripts_emoji_and_full_width_forms_survive() {
        for text in [
            "Grüße, Ærøskøbing",
            "Tiếng Việt",
            "日本語のテキスト",
            "한국어",
            "हिन्दी",
            "བོད་ཡིག",
            "ＡＮＮ ｆｕｌｌ ｗｉｄｔｈ",
            "😀 👍🏽 ❤️ 1️⃣ 🇫🇷",
            "a < b & c > \"d\"",
            "",
        ] {
            assert_eq!(display_text(text), text);
        }
        // The zero-width joiner is a format character: sequences fall apart.
        assert_eq!(display_text("👨\u{200D}👩\u{200D}👧"), "👨👩👧");
    }

    #[test]
    fn combining_marks_are_capped_per_character() {
        assert_eq!(display_text("e\u{301}"), "e\u{301}");
        let zalgo = format!("Z{}a{}", "\u{300}".repeat(40), "\u{20DD}".repeat(9));
        let shown = display_text(&zalgo);
        assert_eq!(
            shown,
            format!(
                "Z{}a{}",
                "\u{300}".repeat(MAX_COMBINING_MARKS),
                "\u{20DD}".repeat(MAX_COMBINING_MARKS)
            )
        );
        // A removed invisible character does not reset the count.
        let hidden_reset = format!("a{}\u{200B}{}", "\u{301}".repeat(3), "\u{301}".repeat(3));
        assert_eq!(
            display_text(&hidden_reset),
            format!("a{}", "\u{301}".repeat(MAX_COMBINING_MARKS))
        );
        // Marks with no base character at all are capped too.
        assert_eq!(
            display_text(&"\u{301}".repeat(10)),
            "\u{301}".repeat(MAX_COMBINING_MARKS)
        );
    }

    #[test]
    fn ten_kilobyte_inputs() {
        let clean = "abc שלום 😀 ".repeat(600);
        assert!(clean.len() > 10_000);
        assert!(matches!(display_text(&clean), Cow::Borrowed(_)));
        let hostile: String = "a\u{202E}\u{200B}\u{7}\u{1B}\u{FEFF}\u{AD}\n"
            .repeat(1_300)
            .chars()
            .collect();
        assert!(hostile.len() > 10_000);
        let shown = display_text(&hostile);
        assert_eq!(shown, "a ".repeat(1_300));
        assert_display_safe(&shown, Lines::One);
        let only_invisible = "\u{200B}".repeat(4_000);
        assert_eq!(display_text(&only_invisible), "");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn output_never_holds_a_format_bidi_or_control_character(text in any::<String>()) {
            assert_display_safe(&display_text(&text), Lines::One);
            assert_display_safe(&display_multiline(&text), Lines::Keep);
        }

        #[test]
        fn hostile_mixes_are_cleaned(
            parts in prop::collection::vec(
                prop_oneof![
                    Just("\u{202E}".to_owned()), Just("\u{2066}".to_owned()),
                    Just("\u{200B}".to_owned()), Just("\u{200D}".to_owned()),
                    Just("\u{FEFF}".to_owned()), Just("\u{AD}".to_owned()),
                    Just("\u{7}".to_owned()), Just("\u{1B}".to_owned()),
                    Just("\0".to_owned()), Just("\r\n".to_owned()),
                    Just("\u{301}".to_owned()), Just("ש".to_owned()),
                    "[a-z]{0,3}",
                ],
                0..64,
            )
        ) {
            let text = parts.concat();
            let shown = display_text(&text);
            assert_display_safe(&shown, Lines::One);
            // Idempotent: clean text is returned as it is.
            prop_assert!(matches!(display_text(&shown), Cow::Borrowed(_)));
            let kept = display_multiline(&text);
            assert_display_safe(&kept, Lines::Keep);
            prop_assert!(matches!(display_multiline(&kept), Cow::Borrowed(_)));
        }
    }
}
