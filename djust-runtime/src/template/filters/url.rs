//! URL filter: decides whether a dynamic value may be rendered into a URL
//! attribute (`href`, `src`, ...) or must be replaced by [`BLOCKED_URL`].
//!
//! Two checks, both must pass:
//!
//! 1. **What the browser sees.** The scheme is found exactly as the WHATWG URL
//!    parser finds it: leading C0 controls and spaces are stripped, ASCII tab,
//!    LF and CR are removed anywhere, and the scheme is a leading
//!    `[A-Za-z][A-Za-z0-9+.-]*` followed by `:`. A URL with a scheme passes only
//!    if the scheme is `http`, `https`, `mailto` or `tel` (ASCII
//!    case-insensitive); a URL without one (relative path, query, fragment,
//!    scheme-relative `//host`) goes on to check 2.
//! 2. **Defence in depth.** Values that only *become* a scheme after some other
//!    layer decodes them are blocked too: HTML character references (named,
//!    decimal, hex, with or without `;`) and percent-escapes are decoded
//!    (repeatedly, at most [`MAX_DECODE_ROUNDS`] rounds), fullwidth ASCII is
//!    folded, and control, whitespace and invisible characters are removed. If
//!    the result starts with a scheme that is not on the allowlist
//!    (`javascript:`, `data:`, `vbscript:`, `file:`, anything unknown), the URL
//!    is blocked. Text that still changes after the last round is blocked.
//!
//! The common case (a URL whose first characters are plain ASCII up to `/`,
//! `?`, `#` or a scheme's `:`) is decided in one pass without allocating; the
//! decoding in check 2 only runs when a `&`, `%` or fullwidth character occurs
//! before the point where a scheme could no longer start.

use std::borrow::Cow;

/// What a blocked URL is rendered as: a fragment link that goes nowhere.
pub const BLOCKED_URL: &str = "#blocked";

/// Schemes a URL may carry (compared ASCII case-insensitively).
const ALLOWED_SCHEMES: [&str; 4] = ["http", "https", "mailto", "tel"];

/// How many decoding rounds check 2 performs before giving up (and blocking).
pub const MAX_DECODE_ROUNDS: usize = 5;

/// `true` for attributes whose value is a URL: `href src action formaction
/// poster cite data background srcset xlink:href` (ASCII case-insensitive).
/// The table is `djust-rules`' one, shared with the `html!` macro.
///
/// `srcset` holds a list of URLs; render it with
/// [`filter_srcset`](super::filter_srcset), every other one with
/// [`filter_url`].
pub use djust_rules::attributes::is_url_attribute;

/// Returns `url` unchanged when it is safe to render into a URL attribute,
/// otherwise [`BLOCKED_URL`]. Never allocates.
#[inline]
pub fn filter_url(url: &str) -> Cow<'_, str> {
    if is_safe_url(url) {
        Cow::Borrowed(url)
    } else {
        Cow::Borrowed(BLOCKED_URL)
    }
}

/// `true` when `url` has an allowlisted scheme (`http https mailto tel`) or no
/// scheme at all, both as the browser parses it and after decoding entities,
/// percent-escapes and removing invisible characters (see the module docs).
pub fn is_safe_url(url: &str) -> bool {
    match browser_scheme(url) {
        Some(scheme) => is_allowed_scheme(scheme),
        None => !decodes_to_forbidden_scheme(url),
    }
}

/// `true` for a scheme on the allowlist; `scheme` may contain ASCII tab, LF
/// and CR, which the browser removes.
fn is_allowed_scheme(scheme: &str) -> bool {
    ALLOWED_SCHEMES
        .iter()
        .any(|allowed| eq_ignoring_tab_newline(scheme, allowed))
}

/// ASCII case-insensitive comparison of `text` with tab, LF and CR removed
/// against `expected` (lowercase).
fn eq_ignoring_tab_newline(text: &str, expected: &str) -> bool {
    let mut significant = text
        .bytes()
        .filter(|byte| !matches!(byte, b'\t' | b'\n' | b'\r'));
    let mut expected = expected.bytes();
    loop {
        match (significant.next(), expected.next()) {
            (None, None) => return true,
            (Some(found), Some(wanted)) if found.eq_ignore_ascii_case(&wanted) => {}
            _ => return false,
        }
    }
}

/// The scheme the WHATWG URL parser finds in `url` (a slice of `url`, still
/// containing any tab/LF/CR the parser would skip), or `None` for a URL
/// without a scheme.
fn browser_scheme(url: &str) -> Option<&str> {
    let bytes = url.as_bytes();
    // Leading C0 controls and spaces are stripped.
    let start = bytes.iter().position(|&byte| byte > b' ')?;
    let mut seen_first = false;
    for (offset, &byte) in bytes[start..].iter().enumerate() {
        match byte {
            b'\t' | b'\n' | b'\r' => {}
            b':' if seen_first => return Some(&url[start..start + offset]),
            _ if !seen_first => {
                if !byte.is_ascii_alphabetic() {
                    return None;
                }
                seen_first = true;
            }
            b'+' | b'-' | b'.' => {}
            _ if byte.is_ascii_alphanumeric() => {}
            _ => return None,
        }
    }
    None
}

/// How check 2 treats one character of the raw text.
enum Class {
    /// Could be part of a scheme name (`[A-Za-z0-9+.-]`).
    SchemeChar,
    /// The `:` that ends a scheme.
    Colon,
    /// Removed by normalisation (controls, whitespace, invisible characters).
    Removed,
    /// Might decode into something else (`&`, `%`, fullwidth ASCII).
    Decodable,
    /// Anything else: nothing before it can become a scheme.
    Terminator,
}

fn classify(character: char) -> Class {
    match character {
        'a'..='z' | 'A'..='Z' | '0'..='9' | '+' | '-' | '.' => Class::SchemeChar,
        ':' => Class::Colon,
        '&' | '%' => Class::Decodable,
        '\u{FF01}'..='\u{FF5E}' => Class::Decodable,
        _ if is_removed(character) => Class::Removed,
        _ => Class::Terminator,
    }
}

/// Characters removed before the defence-in-depth scheme check: controls (C0,
/// DEL, C1, null), Unicode whitespace, zero-width and other invisible or
/// bidi-control characters.
fn is_removed(character: char) -> bool {
    character.is_control()
        || character.is_whitespace()
        || matches!(
            character,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Outcome of scanning text for a leading scheme.
enum Scan {
    /// The text starts with this scheme name (removed characters skipped).
    Scheme(bool),
    /// The text cannot start with a scheme.
    NoScheme,
    /// A decodable character occurs before the answer is known.
    NeedsDecoding,
}

/// Scans `text` for a leading `scheme:` after removing [`is_removed`]
/// characters. `Scheme(true)` means the scheme is allowlisted.
fn scan_scheme(text: &str) -> Scan {
    // Scheme names we care about are short; keep the lowercase name on the
    // stack and treat anything longer than the longest allowlisted name as
    // "not allowlisted".
    let mut name = [0u8; 8];
    let mut length = 0usize;
    for character in text.chars() {
        match classify(character) {
            Class::Removed => {}
            Class::Decodable => return Scan::NeedsDecoding,
            Class::Terminator => return Scan::NoScheme,
            Class::Colon => {
                if length == 0 {
                    return Scan::NoScheme;
                }
                let allowed = length <= name.len()
                    && name
                        .get(..length)
                        .and_then(|name| std::str::from_utf8(name).ok())
                        .is_some_and(|name| ALLOWED_SCHEMES.contains(&name));
                return Scan::Scheme(allowed);
            }
            Class::SchemeChar => {
                if length == 0 && !character.is_ascii_alphabetic() {
                    return Scan::NoScheme;
                }
                if let Some(slot) = name.get_mut(length) {
                    *slot = character.to_ascii_lowercase() as u8;
                }
                length += 1;
            }
        }
    }
    Scan::NoScheme
}

/// Check 2: `true` when `url`, once decoded and normalised, starts with a
/// scheme that is not allowlisted (or does not settle within
/// [`MAX_DECODE_ROUNDS`] rounds).
fn decodes_to_forbidden_scheme(url: &str) -> bool {
    match scan_scheme(url) {
        Scan::Scheme(allowed) => return !allowed,
        Scan::NoScheme => return false,
        Scan::NeedsDecoding => {}
    }
    let mut text = url.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        let decoded = normalise(&percent_decode(&decode_entities(&text)));
        if decoded == text {
            return matches!(scan_scheme_decoded(&text), Some(false));
        }
        text = decoded;
    }
    // Still changing: someone stacked encodings on purpose.
    true
}

/// [`scan_scheme`] on fully decoded text: `Some(allowed)` for a scheme,
/// `None` without one. Remaining `&`/`%` are literal here.
fn scan_scheme_decoded(text: &str) -> Option<bool> {
    let end = text.find(|character: char| {
        !(character.is_ascii_alphanumeric() || matches!(character, '+' | '-' | '.'))
    })?;
    let (name, rest) = text.split_at(end);
    if !rest.starts_with(':') || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(
        ALLOWED_SCHEMES
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(name)),
    )
}

/// Removes [`is_removed`] characters and folds fullwidth ASCII (U+FF01–U+FF5E)
/// to ASCII.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|&character| !is_removed(character))
        .map(|character| match character {
            '\u{FF01}'..='\u{FF5E}' => {
                char::from_u32(u32::from(character) - 0xFEE0).unwrap_or(character)
            }
            _ => character,
        })
        .collect()
}

/// Decodes `%XX` escapes; invalid UTF-8 becomes U+FFFD.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let high = bytes.get(index + 1).and_then(|&b| hex_value(b));
            let low = bytes.get(index + 2).and_then(|&b| hex_value(b));
            if let (Some(high), Some(low)) = (high, low) {
                out.push(high << 4 | low);
                index += 3;
                continue;
            }
        }
        out.push(byte);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Named character references that can matter for a scheme check: they
/// produce scheme characters, `:`, the encoders' own `&`/`%`/`#`/`;`, or
/// characters that normalisation removes. Matched case-sensitively, like HTML.
const NAMED_ENTITIES: &[(&str, char)] = &[
    ("colon", ':'),
    ("Tab", '\t'),
    ("NewLine", '\n'),
    ("nbsp", '\u{00A0}'),
    ("NonBreakingSpace", '\u{00A0}'),
    ("amp", '&'),
    ("AMP", '&'),
    ("percnt", '%'),
    ("num", '#'),
    ("semi", ';'),
    ("period", '.'),
    ("plus", '+'),
    ("hyphen", '\u{2010}'),
    ("dash", '\u{2010}'),
    ("minus", '\u{2212}'),
    ("sol", '/'),
    ("quest", '?'),
    ("lt", '<'),
    ("LT", '<'),
    ("gt", '>'),
    ("GT", '>'),
    ("quot", '"'),
    ("QUOT", '"'),
    ("apos", '\''),
    ("lpar", '('),
    ("rpar", ')'),
    ("excl", '!'),
    ("shy", '\u{00AD}'),
    ("zwnj", '\u{200C}'),
    ("zwj", '\u{200D}'),
    ("lrm", '\u{200E}'),
    ("rlm", '\u{200F}'),
    ("ZeroWidthSpace", '\u{200B}'),
    ("NegativeVeryThinSpace", '\u{200B}'),
    ("NegativeThinSpace", '\u{200B}'),
    ("NegativeMediumSpace", '\u{200B}'),
    ("NegativeThickSpace", '\u{200B}'),
    ("NoBreak", '\u{2060}'),
    ("ApplyFunction", '\u{2061}'),
    ("af", '\u{2061}'),
    ("InvisibleTimes", '\u{2062}'),
    ("it", '\u{2062}'),
    ("InvisibleComma", '\u{2063}'),
    ("ic", '\u{2063}'),
    ("ThinSpace", '\u{2009}'),
    ("thinsp", '\u{2009}'),
    ("ensp", '\u{2002}'),
    ("emsp", '\u{2003}'),
    ("MediumSpace", '\u{205F}'),
    ("VeryThinSpace", '\u{200A}'),
    ("hairsp", '\u{200A}'),
];

/// Longest entity name we look for.
const MAX_ENTITY_NAME: usize = 24;

/// Decodes HTML character references: `&name;`, `&#106;`, `&#x6A;`, each with
/// or without the `;`, with any number of leading zeros. `&#0;` decodes to a
/// null (which normalisation then removes); invalid code points to U+FFFD.
/// Unknown references are kept as they are.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('&') {
        out.push_str(&rest[..position]);
        let after = &rest[position + 1..];
        match decode_reference(after) {
            Some((character, consumed)) => {
                out.push(character);
                rest = &after[consumed..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the reference after a `&`: the character and how many bytes of
/// `after` it used (including an optional `;`).
fn decode_reference(after: &str) -> Option<(char, usize)> {
    let bytes = after.as_bytes();
    let with_semicolon = |character: char, used: usize| {
        let used = if bytes.get(used) == Some(&b';') {
            used + 1
        } else {
            used
        };
        Some((character, used))
    };
    if bytes.first() == Some(&b'#') {
        let (radix, digits_start) = match bytes.get(1) {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        let digits = bytes
            .get(digits_start..)?
            .iter()
            .take_while(|&&byte| {
                if radix == 16 {
                    byte.is_ascii_hexdigit()
                } else {
                    byte.is_ascii_digit()
                }
            })
            .count();
        if digits == 0 {
            return None;
        }
        let value =
            bytes[digits_start..digits_start + digits]
                .iter()
                .try_fold(0u32, |value, &byte| {
                    let digit = u32::from(hex_value(byte)?);
                    Some(value.saturating_mul(radix).saturating_add(digit))
                })?;
        let character = char::from_u32(value).unwrap_or('\u{FFFD}');
        return with_semicolon(character, digits_start + digits);
    }
    let name_length = bytes
        .iter()
        .take(MAX_ENTITY_NAME)
        .take_while(|byte| byte.is_ascii_alphanumeric())
        .count();
    // Longest known name that prefixes the run (HTML's legacy rule for
    // references without `;`).
    NAMED_ENTITIES
        .iter()
        .filter(|(name, _)| name.len() <= name_length && after.starts_with(name))
        .max_by_key(|(name, _)| name.len())
        .and_then(|&(name, character)| with_semicolon(character, name.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_scheme_follows_whatwg() {
        assert_eq!(browser_scheme(" \u{1}java\tscript:x"), Some("java\tscript"));
        assert_eq!(browser_scheme("/a:b"), None);
        assert_eq!(browser_scheme("1a:b"), None);
        assert_eq!(browser_scheme("a b:c"), None);
        assert_eq!(browser_scheme("HTTP:"), Some("HTTP"));
    }

    #[test]
    fn entities_decode_with_and_without_semicolons() {
        assert_eq!(
            decode_entities("&#106;&#x61&#0000118;&colon&Tab;"),
            "jav:\t"
        );
        assert_eq!(decode_entities("a&b&unknown;&#;"), "a&b&unknown;&#;");
        assert_eq!(decode_entities("&#0;"), "\0");
        assert_eq!(decode_entities("&#99999999999;"), "\u{FFFD}");
    }

    #[test]
    fn percent_decoding_is_one_round() {
        assert_eq!(percent_decode("%256A%6a%zz%"), "%6Aj%zz%");
    }

    #[test]
    fn fast_path_decides_plain_urls() {
        assert!(matches!(scan_scheme("/path?q=a:b"), Scan::NoScheme));
        assert!(matches!(
            scan_scheme("java\u{200B}script:"),
            Scan::Scheme(false)
        ));
        assert!(matches!(scan_scheme("ht\u{200B}tp:"), Scan::Scheme(true)));
        assert!(matches!(scan_scheme("a%6A:"), Scan::NeedsDecoding));
    }

    #[test]
    fn stacked_encodings_beyond_the_bound_are_blocked() {
        // A harmless relative path, percent-encoded once per level.
        let encoded = |levels: usize| format!("%{}61bc", "25".repeat(levels - 1));
        assert!(is_safe_url(&encoded(MAX_DECODE_ROUNDS - 1)));
        assert!(!is_safe_url(&encoded(MAX_DECODE_ROUNDS + 1)));
    }
}
