//! Names people pick and others see: nicks, handles, display names.
//! [`identifier`] normalises one (NFKC), refuses what can hide or disguise
//! it, and gives it a comparison key under which look-alikes are equal.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::GeneralCategory;
use unicode_security::general_security_profile::IdentifierType;
use unicode_security::GeneralSecurityProfile;

use super::class::{classify, code_point, is_private_or_unassigned, CharClass};
use super::text::MAX_COMBINING_MARKS;

/// Longest name [`identifier`] accepts, in characters (after normalising).
pub const DEFAULT_MAX_IDENTIFIER_CHARS: usize = 64;

/// Input bytes read per allowed character before anything is normalised:
/// longer input is refused as too long without further work. Generous
/// (four UTF-8 bytes, times the few characters that compose into one).
const INPUT_BYTES_PER_CHAR: usize = 24;

/// A name that is safe to show and compare: NFKC-normalised, without
/// control, format, bidi-control, private-use or unassigned characters,
/// trimmed, with each run of spaces made one space.
///
/// Two names that look alike have the same [`Identifier::key`]: it folds
/// case and maps each character to its UTS #39 confusable prototype
/// (`ＡＮＮ`, `ann` and `Ann` share one key, and so do the Latin `Ann` and
/// `Аnn` with a Cyrillic `А`). Compare keys to decide whether a name is
/// taken; show [`Identifier::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identifier {
    text: String,
    key: String,
}

impl Identifier {
    /// The normalised name, to show.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The comparison key: equal for names that look alike.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether `self` and `other` look alike (their keys are equal).
    pub fn looks_like(&self, other: &Identifier) -> bool {
        self.key == other.key
    }

    /// The normalised name.
    pub fn into_string(self) -> String {
        self.text
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for Identifier {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// Why a name was refused. The messages are written for the person who
/// typed it, and name a character by its code point (`U+200B`), never by
/// the character itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentifierError {
    /// Nothing visible is left (empty, or only spaces).
    Empty,
    /// Longer than the limit, in characters after normalising.
    TooLong {
        /// The limit.
        max_chars: usize,
    },
    /// A control character or a line break inside the name.
    Control {
        /// The character.
        character: char,
    },
    /// A bidirectional control character: it reorders how the text around
    /// it is displayed.
    Bidi {
        /// The character.
        character: char,
    },
    /// An invisible character: a format character (zero-width space or
    /// joiner, BOM, soft hyphen…) or another default-ignorable one
    /// (Hangul filler, combining grapheme joiner…).
    Invisible {
        /// The character.
        character: char,
    },
    /// A private-use character: no agreed meaning or look.
    PrivateUse {
        /// The character.
        character: char,
    },
    /// A code point Unicode has not assigned (or a noncharacter).
    Unassigned {
        /// The character.
        character: char,
    },
    /// More than [`MAX_COMBINING_MARKS`] combining marks on one character.
    TooManyMarks {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentifierError::Empty => f.write_str(
                "the name is empty: pick one with at least one visible character",
            ),
            IdentifierError::TooLong { max_chars } => {
                write!(f, "the name is longer than {max_chars} characters")
            }
            IdentifierError::Control { character } => write!(
                f,
                "the name contains a control character or line break ({}): use letters, digits, spaces, punctuation or emoji",
                code_point(*character)
            ),
            IdentifierError::Bidi { character } => write!(
                f,
                "the name contains a bidirectional control character ({}), which changes how the text around it is displayed",
                code_point(*character)
            ),
            IdentifierError::Invisible { character } => write!(
                f,
                "the name contains an invisible character ({})",
                code_point(*character)
            ),
            IdentifierError::PrivateUse { character } => write!(
                f,
                "the name contains a private-use character ({}), which has no agreed meaning or look",
                code_point(*character)
            ),
            IdentifierError::Unassigned { character } => write!(
                f,
                "the name contains a character Unicode has not assigned ({})",
                code_point(*character)
            ),
            IdentifierError::TooManyMarks { max } => write!(
                f,
                "the name stacks more than {max} combining marks on one character"
            ),
        }
    }
}

impl std::error::Error for IdentifierError {}

/// A name of at most [`DEFAULT_MAX_IDENTIFIER_CHARS`] characters; see
/// [`identifier_with_max`].
///
/// ```
/// use djust_runtime::security::display::{identifier, IdentifierError};
///
/// let ann = identifier("  Ann ").unwrap();
/// assert_eq!(ann.as_str(), "Ann");
/// assert!(identifier("ＡＮＮ").unwrap().looks_like(&ann)); // full-width
/// assert!(identifier("ann").unwrap().looks_like(&ann));
/// assert_eq!(
///     identifier("Ann\u{200B}"),
///     Err(IdentifierError::Invisible { character: '\u{200B}' })
/// );
/// assert_eq!(
///     identifier("\u{202E}nnA").unwrap_err().to_string(),
///     "the name contains a bidirectional control character (U+202E), which changes how the text around it is displayed"
/// );
/// ```
pub fn identifier(input: &str) -> Result<Identifier, IdentifierError> {
    identifier_with_max(input, DEFAULT_MAX_IDENTIFIER_CHARS)
}

/// A name of at most `max_chars` characters, normalised and checked:
///
/// 1. input longer than `max_chars` × 24 bytes is refused at once
///    ([`IdentifierError::TooLong`]), so a huge input costs nothing;
/// 2. NFKC: compatibility forms become their plain letters (`ＡＮＮ` →
///    `ANN`, `ﬁ` → `fi`, `²` → `2`, no-break and ideographic spaces → space);
/// 3. leading and trailing whitespace is trimmed, and each run of spaces
///    inside becomes one space;
/// 4. variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF, the Mongolian
///    ones) are removed: they only pick a glyph style;
/// 5. refused: control characters and line breaks, bidi controls, every
///    other format (Cf) or default-ignorable character, private-use and
///    unassigned code points, more than [`MAX_COMBINING_MARKS`] combining
///    marks on one character, and a name left empty or longer than
///    `max_chars`.
///
/// The key ([`Identifier::key`]) is the UTS #39 skeleton of the case-folded
/// NFKC name (`unicode-security`, `caseless`).
pub fn identifier_with_max(input: &str, max_chars: usize) -> Result<Identifier, IdentifierError> {
    if input.len() > max_chars.saturating_mul(INPUT_BYTES_PER_CHAR) {
        return Err(IdentifierError::TooLong { max_chars });
    }
    let normalized: String = input.nfkc().collect();
    let mut text = String::with_capacity(normalized.len());
    let mut chars = 0_usize;
    let mut marks = 0_usize;
    let mut space = false;
    for c in normalized.trim().chars() {
        match classify(c) {
            CharClass::Bidi => return Err(IdentifierError::Bidi { character: c }),
            CharClass::Format => return Err(IdentifierError::Invisible { character: c }),
            CharClass::Control | CharClass::LineBreak | CharClass::Tab => {
                return Err(IdentifierError::Control { character: c })
            }
            CharClass::Mark if is_variation_selector(c) => continue,
            CharClass::Mark => {
                check_visible(c)?;
                marks += 1;
                if marks > MAX_COMBINING_MARKS {
                    return Err(IdentifierError::TooManyMarks {
                        max: MAX_COMBINING_MARKS,
                    });
                }
            }
            CharClass::Plain if c.is_whitespace() => {
                space = true;
                marks = 0;
                continue;
            }
            CharClass::Plain => {
                check_visible(c)?;
                marks = 0;
            }
        }
        if std::mem::take(&mut space) {
            text.push(' ');
            chars += 1;
        }
        text.push(c);
        chars += 1;
        if chars > max_chars {
            return Err(IdentifierError::TooLong { max_chars });
        }
    }
    if text.is_empty() {
        return Err(IdentifierError::Empty);
    }
    let key = comparison_key(&text);
    Ok(Identifier { text, key })
}

/// Refuses default-ignorable (invisible), private-use and unassigned characters.
fn check_visible(c: char) -> Result<(), IdentifierError> {
    if c.identifier_type() == Some(IdentifierType::Default_Ignorable) {
        return Err(IdentifierError::Invisible { character: c });
    }
    match is_private_or_unassigned(c) {
        Some(GeneralCategory::PrivateUse) => Err(IdentifierError::PrivateUse { character: c }),
        Some(_) => Err(IdentifierError::Unassigned { character: c }),
        None => Ok(()),
    }
}

/// The Variation_Selector property (a closed set).
fn is_variation_selector(c: char) -> bool {
    matches!(
        c,
        '\u{180B}'..='\u{180D}' | '\u{180F}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}'
    )
}

/// UTS #39 skeleton of the case-folded, NFKC-normalised `text`.
fn comparison_key(text: &str) -> String {
    let folded: String = caseless::default_case_fold_str(text).nfkc().collect();
    unicode_security::skeleton(&folded).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(name: &str) -> String {
        identifier(name).expect(name).key().to_owned()
    }

    #[test]
    fn normalises_trims_and_collapses_spaces() {
        assert_eq!(identifier("  Ann  ").unwrap().as_str(), "Ann");
        assert_eq!(identifier("Ann   Lee").unwrap().as_str(), "Ann Lee");
        assert_eq!(
            identifier("Ann\u{A0}\u{3000}Lee").unwrap().as_str(),
            "Ann Lee"
        );
        assert_eq!(identifier("ＡＮＮ").unwrap().as_str(), "ANN");
        assert_eq!(identifier("ﬁsh²").unwrap().as_str(), "fish2");
        // NFKC composes: e + U+0301 is é.
        assert_eq!(identifier("Rene\u{301}").unwrap().as_str(), "René");
        assert_eq!(identifier("\n Ann \t").unwrap().as_str(), "Ann");
    }

    #[test]
    fn look_alikes_share_a_key() {
        let ann = key("Ann");
        for look_alike in [
            "ann",
            "ANN",
            "ＡＮＮ",
            "Ａnn",
            "\u{410}nn",
            "Ann\u{FE0F}",
            " Ann ",
        ] {
            assert_eq!(key(look_alike), ann, "{look_alike:?}");
        }
        assert_eq!(key("Straße"), key("STRASSE"));
        assert_eq!(key("paypal"), key("paypa1"));
        assert_ne!(key("Ann"), key("Anne"));
        assert_ne!(key("Ann"), key("Ann Lee"));
        assert!(identifier("ＡＮＮ")
            .unwrap()
            .looks_like(&identifier("ann").unwrap()));
    }

    #[test]
    fn every_bidi_control_is_refused() {
        for c in ['\u{061C}', '\u{200E}', '\u{200F}']
            .into_iter()
            .chain('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
        {
            for name in [format!("{c}Ann"), format!("A{c}nn"), format!("Ann{c}")] {
                assert_eq!(
                    identifier(&name),
                    Err(IdentifierError::Bidi { character: c }),
                    "{}",
                    code_point(c)
                );
            }
        }
    }

    #[test]
    fn invisible_characters_are_refused() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2063}',
            '\u{180E}',
            '\u{E0041}', // format (Cf)
            '\u{3164}',
            '\u{FFA0}',
            '\u{115F}',
            '\u{034F}',
            '\u{17B4}', // default-ignorable
        ] {
            let refused = identifier(&format!("An{c}n")).unwrap_err();
            assert!(
                matches!(refused, IdentifierError::Invisible { .. }),
                "{}: {refused:?}",
                code_point(c)
            );
        }
        // A name made only of a Hangul filler looks empty but is not.
        assert!(matches!(
            identifier("\u{3164}"),
            Err(IdentifierError::Invisible { .. })
        ));
    }

    #[test]
    fn controls_and_line_breaks_are_refused() {
        for c in [
            '\0', '\u{7}', '\u{1B}', '\u{7F}', '\u{85}', '\n', '\r', '\t', '\u{2028}',
        ] {
            assert_eq!(
                identifier(&format!("A{c}nn")),
                Err(IdentifierError::Control { character: c }),
                "{}",
                code_point(c)
            );
        }
    }

    #[test]
    fn empty_whitespace_only_private_and_unassigned() {
        for blank in ["", " ", "\u{3000}\u{A0}", "\n\t", "\u{FE0F}"] {
            assert_eq!(identifier(blank), Err(IdentifierError::Empty), "{blank:?}");
        }
        assert_eq!(
            identifier("A\u{E000}"),
            Err(IdentifierError::PrivateUse {
                character: '\u{E000}'
            })
        );
        assert_eq!(
            identifier("A\u{FFFF}"),
            Err(IdentifierError::Unassigned {
                character: '\u{FFFF}'
            })
        );
        assert!(matches!(
            identifier("A\u{10FFFD}"),
            Err(IdentifierError::PrivateUse { .. })
        ));
    }

    #[test]
    fn combining_marks_emoji_and_scripts() {
        assert_eq!(identifier("Tiếng").unwrap().as_str(), "Tiếng");
        assert_eq!(
            identifier(&format!("Z{}", "\u{300}".repeat(12))),
            Err(IdentifierError::TooManyMarks {
                max: MAX_COMBINING_MARKS
            })
        );
        for name in [
            "שלום",
            "مريم",
            "日本",
            "हिन्दी",
            "Ann 😀",
            "👍🏽",
            "O'Brien-Smith",
        ] {
            let parsed = identifier(name).expect(name);
            assert_eq!(parsed.as_str(), name.nfkc().collect::<String>());
        }
        // Emoji joined by U+200D are refused: the joiner is invisible.
        assert!(identifier("👨\u{200D}👩").is_err());
    }

    #[test]
    fn length_is_counted_after_normalising() {
        let max = "a".repeat(DEFAULT_MAX_IDENTIFIER_CHARS);
        assert!(identifier(&max).is_ok());
        assert_eq!(
            identifier(&format!("{max}a")),
            Err(IdentifierError::TooLong {
                max_chars: DEFAULT_MAX_IDENTIFIER_CHARS
            })
        );
        assert_eq!(
            identifier_with_max("Annabel", 3),
            Err(IdentifierError::TooLong { max_chars: 3 })
        );
        // ﷺ is one character that NFKC expands to eighteen.
        assert!(identifier_with_max("\u{FDFA}", 10).is_err());
        assert!(identifier_with_max("ＡＮＮ", 3).is_ok());
    }

    #[test]
    fn ten_kilobyte_inputs_are_refused_quickly() {
        for huge in [
            "a".repeat(10_240),
            "\u{200B}".repeat(4_000),
            " ".repeat(10_240),
            "\u{FDFA}".repeat(4_000),
        ] {
            assert_eq!(
                identifier(&huge),
                Err(IdentifierError::TooLong {
                    max_chars: DEFAULT_MAX_IDENTIFIER_CHARS
                })
            );
        }
    }

    #[test]
    fn messages_name_the_code_point_not_the_character() {
        let message = identifier("A\u{202E}").unwrap_err().to_string();
        assert!(message.contains("U+202E"), "{message}");
        assert!(!message.contains('\u{202E}'));
        for error in [
            IdentifierError::Empty,
            IdentifierError::TooLong { max_chars: 24 },
            IdentifierError::Control { character: '\u{7}' },
            IdentifierError::Invisible {
                character: '\u{200B}',
            },
            IdentifierError::PrivateUse {
                character: '\u{E000}',
            },
            IdentifierError::Unassigned {
                character: '\u{FFFF}',
            },
            IdentifierError::TooManyMarks { max: 4 },
        ] {
            let message = error.to_string();
            assert!(message.starts_with("the name "), "{message}");
            assert!(
                message.chars().all(|c| classify(c) == CharClass::Plain),
                "{message:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn accepted_names_hold_nothing_hidden(input in any::<String>()) {
            if let Ok(name) = identifier(&input) {
                let text = name.as_str();
                prop_assert!(!text.is_empty());
                prop_assert_eq!(text.trim(), text);
                prop_assert!(!text.contains("  "));
                for c in text.chars() {
                    prop_assert!(
                        matches!(classify(c), CharClass::Plain | CharClass::Mark),
                        "{} in {:?}", code_point(c), text
                    );
                    prop_assert!(check_visible(c).is_ok());
                    prop_assert!(!is_variation_selector(c));
                }
                // Normalising again changes nothing.
                let again = identifier(text).expect("a normalised name is accepted");
                prop_assert_eq!(again.as_str(), text);
                prop_assert_eq!(again.key(), name.key());
            }
        }

        #[test]
        fn mixed_names_are_accepted_only_when_clean(
            parts in prop::collection::vec(
                prop_oneof![
                    "[A-Za-z0-9 ]{1,4}",
                    Just("ＡＢ".to_owned()), Just("שלום".to_owned()), Just("عالم".to_owned()),
                    Just("\u{301}".to_owned()), Just("😀".to_owned()), Just("\u{FE0F}".to_owned()),
                    Just("\u{A0}".to_owned()), Just("ﬁ".to_owned()),
                    Just("\u{200B}".to_owned()), Just("\u{202E}".to_owned()),
                    Just("\u{7}".to_owned()), Just("\u{3164}".to_owned()),
                ],
                1..8,
            )
        ) {
            let input = parts.concat();
            let hidden = ['\u{200B}', '\u{202E}', '\u{7}', '\u{3164}'];
            match identifier(&input) {
                Ok(name) => {
                    prop_assert!(!input.contains(hidden));
                    for c in name.as_str().chars() {
                        prop_assert!(matches!(classify(c), CharClass::Plain | CharClass::Mark));
                        prop_assert!(!is_variation_selector(c));
                    }
                }
                Err(IdentifierError::Empty) => {
                    let blank = input.replace(['\u{A0}', '\u{FE0F}'], "").trim().is_empty();
                    prop_assert!(blank);
                }
                Err(IdentifierError::TooManyMarks { .. }) => {
                    let stacked = input.contains("\u{301}\u{301}");
                    prop_assert!(stacked);
                }
                Err(_) => {
                    let has_hidden = input.contains(hidden);
                    prop_assert!(has_hidden);
                }
            }
        }

        #[test]
        fn hidden_characters_never_make_a_new_name(
            name in "[A-Za-z]{1,10}",
            hidden in prop::sample::select(vec![
                '\u{200B}', '\u{200C}', '\u{200D}', '\u{FEFF}', '\u{AD}', '\u{2060}',
                '\u{202E}', '\u{2066}', '\u{200F}', '\u{7}', '\u{1B}', '\0', '\u{3164}',
            ]),
            at in 0_usize..10,
        ) {
            let at = at.min(name.len());
            let spoof = format!("{}{hidden}{}", &name[..at], &name[at..]);
            prop_assert!(identifier(&spoof).is_err(), "{:?} accepted", spoof);
        }

        #[test]
        fn full_width_and_case_variants_share_the_key(name in "[A-Za-z0-9]{1,10}") {
            let full_width: String = name
                .chars()
                .map(|c| char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap_or(c))
                .collect();
            let plain = identifier(&name).expect("ascii");
            let full_width = identifier(&full_width).expect("full width");
            prop_assert_eq!(full_width.key(), plain.key());
            let upper = identifier(&name.to_uppercase()).expect("upper");
            prop_assert_eq!(upper.key(), plain.key());
        }
    }
}
