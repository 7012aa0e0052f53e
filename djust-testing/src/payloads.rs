//! Attack-payload corpora for fuzzing djust views, templates and event handlers.
//!
//! The corpora live in `djust-testing/payloads/` and are compiled into the crate
//! with [`include_str!`]; nothing is read from disk at run time. Each corpus is
//! parsed once, on first use, and cached in a [`OnceLock`].
//!
//! | function                 | file                      | contents                                         |
//! |--------------------------|---------------------------|--------------------------------------------------|
//! | [`xss`]                  | `xss.txt`                 | HTML / attribute / URL / CSS / mutation XSS      |
//! | [`template_injection`]   | `template_injection.txt`  | `{{7*7}}`, `${7*7}`, Jinja, Twig, Angular, ...   |
//! | [`sql`]                  | `sql.txt`                 | SQL metacharacters and injection strings         |
//! | [`path_traversal`]       | `path_traversal.txt`      | `../../etc/passwd` and encoded variants          |
//! | [`unicode`]              | `unicode.txt`             | bidi, zero-width, homoglyphs, surrogates, ANSI   |
//! | [`type_confusion`]       | `type_confusion.json`     | wrong-type / boundary JSON values per kind       |
//!
//! # Text corpus format
//!
//! Every `*.txt` corpus uses one format, also described at the top of each file:
//!
//! * UTF-8, one payload per line.
//! * A line whose first non-blank character is `#` is a comment; blank lines are
//!   ignored.
//! * Every other line is exactly one JSON string literal (RFC 8259), surrounded
//!   by optional whitespace: `"<script>alert(1)</script>"`. This makes payloads
//!   that start with `#`, contain newlines, NUL (`"\u0000"`), other control
//!   characters, invisible characters or lone UTF-16 surrogates (`"\ud800"`)
//!   unambiguous and reviewable.
//!
//! # Lone surrogates
//!
//! A Rust [`String`] cannot hold a lone surrogate, and `serde_json` refuses to
//! decode one into a `String`. The decoded payloads (the `&[String]` accessors)
//! therefore contain U+FFFD REPLACEMENT CHARACTER wherever the file has an
//! unpaired `\uD800`-`\uDFFF` escape. [`raw_json_strings`] returns the exact
//! JSON text of every line instead (valid JSON text even with lone surrogates),
//! for harnesses that put payloads on the wire as raw JSON.
//!
//! # Malformed lines
//!
//! Parsing never panics: a malformed line is skipped and counted
//! ([`malformed_line_count`]). The crate's unit tests parse every file strictly
//! and fail naming the file and line, so a shipped build has no skipped lines.
//!
//! # Type confusion
//!
//! `type_confusion.json` maps each [`ParamKind`] name to an array of JSON
//! values that are the wrong type or a boundary value for that kind. Values too
//! large to keep in a file are generated in code by [`type_confusion`]: a
//! [`LONG_STRING_LEN`]-character string and arrays and objects nested
//! [`NESTING_DEPTH`] deep. JSON cannot express `NaN`, infinities or numbers
//! beyond the `f64` range, so those appear as strings; integers beyond
//! `i64`/`u64` parse into [`Value`] as `f64`, and their exact wire text is in
//! [`raw_json_numbers`].

use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

const XSS_SRC: &str = include_str!("../payloads/xss.txt");
const TEMPLATE_SRC: &str = include_str!("../payloads/template_injection.txt");
const SQL_SRC: &str = include_str!("../payloads/sql.txt");
const PATH_SRC: &str = include_str!("../payloads/path_traversal.txt");
const UNICODE_SRC: &str = include_str!("../payloads/unicode.txt");
const TYPE_CONFUSION_SRC: &str = include_str!("../payloads/type_confusion.json");

/// Every text corpus as `(file name, contents)`, in the order [`all_strings`] uses.
const TEXT_FILES: [(&str, &str); 5] = [
    ("xss.txt", XSS_SRC),
    ("template_injection.txt", TEMPLATE_SRC),
    ("sql.txt", SQL_SRC),
    ("path_traversal.txt", PATH_SRC),
    ("unicode.txt", UNICODE_SRC),
];

/// Length, in characters, of the oversized string [`type_confusion`] appends.
pub const LONG_STRING_LEN: usize = 10_000;

/// Nesting depth of the generated arrays and objects [`type_confusion`] appends.
pub const NESTING_DEPTH: usize = 1_000;

/// One parsed text corpus.
struct Corpus {
    /// The exact JSON string literal of each good data line (trimmed).
    raw: Vec<&'static str>,
    /// The decoded payload of each good data line, parallel to `raw`.
    values: Vec<String>,
    /// Data lines that failed to parse.
    malformed: usize,
}

fn parse_corpus(src: &'static str) -> Corpus {
    let mut corpus = Corpus {
        raw: Vec::new(),
        values: Vec::new(),
        malformed: 0,
    };
    for line in src.lines() {
        let Some(literal) = data_line(line) else {
            continue;
        };
        match decode_json_string(literal) {
            Ok(decoded) => {
                corpus.raw.push(literal);
                corpus.values.push(decoded.value);
            }
            Err(_) => corpus.malformed += 1,
        }
    }
    corpus
}

/// The trimmed JSON literal of a data line, or `None` for blank and comment lines.
fn data_line(line: &str) -> Option<&str> {
    let trimmed = line.trim_matches(is_json_whitespace);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        None
    } else {
        Some(trimmed)
    }
}

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// A decoded JSON string literal.
#[derive(Debug)]
struct Decoded {
    /// The string, with lone surrogates replaced by U+FFFD.
    value: String,
    /// Whether any lone surrogate was replaced (the strict test checks it
    /// against serde_json, which rejects exactly those lines).
    #[cfg_attr(not(test), allow(dead_code))]
    lossy: bool,
}

/// Why a data line is not a single JSON string literal.
#[derive(Debug, PartialEq, Eq)]
enum DecodeError {
    /// The line does not start with `"`.
    NotQuoted,
    /// The closing `"` is missing.
    Unterminated,
    /// Something follows the closing `"`.
    TrailingCharacters,
    /// A raw control character (below U+0020) that JSON requires to be escaped.
    ControlCharacter(char),
    /// A backslash followed by a character JSON does not allow there.
    BadEscape(char),
    /// `\u` not followed by four hex digits.
    BadUnicodeEscape,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotQuoted => f.write_str("not a JSON string literal (must start with '\"')"),
            Self::Unterminated => f.write_str("missing closing '\"'"),
            Self::TrailingCharacters => f.write_str("characters after the closing '\"'"),
            Self::ControlCharacter(c) => {
                write!(
                    f,
                    "raw control character U+{:04X} must be escaped",
                    *c as u32
                )
            }
            Self::BadEscape(c) => write!(f, "invalid escape '\\{c}'"),
            Self::BadUnicodeEscape => f.write_str("'\\u' must be followed by four hex digits"),
        }
    }
}

/// Decodes exactly one JSON string literal (RFC 8259). Lone surrogate escapes
/// become U+FFFD (and set `lossy`); everything else follows JSON strictly.
fn decode_json_string(literal: &str) -> Result<Decoded, DecodeError> {
    let mut chars = literal.chars();
    if chars.next() != Some('"') {
        return Err(DecodeError::NotQuoted);
    }
    let mut value = String::with_capacity(literal.len());
    let mut lossy = false;
    loop {
        let c = chars.next().ok_or(DecodeError::Unterminated)?;
        match c {
            '"' => {
                return if chars.as_str().is_empty() {
                    Ok(Decoded { value, lossy })
                } else {
                    Err(DecodeError::TrailingCharacters)
                };
            }
            '\\' => {
                let e = chars.next().ok_or(DecodeError::Unterminated)?;
                match e {
                    '"' | '\\' | '/' => value.push(e),
                    'b' => value.push('\u{8}'),
                    'f' => value.push('\u{c}'),
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    'u' => {
                        let unit = hex4(&mut chars).ok_or(DecodeError::BadUnicodeEscape)?;
                        let decoded = match unit {
                            0xD800..=0xDBFF => {
                                // A high surrogate: pair it with an immediately
                                // following low-surrogate escape if there is one.
                                let mut look = chars.clone();
                                let low = match (look.next(), look.next()) {
                                    (Some('\\'), Some('u')) => {
                                        hex4(&mut look).filter(|lo| (0xDC00..=0xDFFF).contains(lo))
                                    }
                                    _ => None,
                                };
                                match low {
                                    Some(lo) => {
                                        chars = look;
                                        let scalar = 0x10000
                                            + ((u32::from(unit) - 0xD800) << 10)
                                            + (u32::from(lo) - 0xDC00);
                                        char::from_u32(scalar)
                                    }
                                    None => None,
                                }
                            }
                            0xDC00..=0xDFFF => None,
                            _ => char::from_u32(u32::from(unit)),
                        };
                        match decoded {
                            Some(ch) => value.push(ch),
                            None => {
                                lossy = true;
                                value.push(char::REPLACEMENT_CHARACTER);
                            }
                        }
                    }
                    other => return Err(DecodeError::BadEscape(other)),
                }
            }
            c if c < '\u{20}' => return Err(DecodeError::ControlCharacter(c)),
            c => value.push(c),
        }
    }
}

/// Reads four hex digits as one UTF-16 code unit.
fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u16> {
    let mut unit: u16 = 0;
    for _ in 0..4 {
        let digit = chars.next()?.to_digit(16)?;
        unit = (unit << 4) | u16::try_from(digit).ok()?;
    }
    Some(unit)
}

fn corpora() -> &'static [Corpus; 5] {
    static CORPORA: OnceLock<[Corpus; 5]> = OnceLock::new();
    CORPORA.get_or_init(|| TEXT_FILES.map(|(_, src)| parse_corpus(src)))
}

/// Cross-site-scripting payloads (`xss.txt`): script tags, event handlers on
/// many elements, attribute and unquoted-attribute breakouts, `javascript:` /
/// `data:` / `vbscript:` URLs, `srcset` and CSS payloads, mutation-XSS
/// classics, raw-text-element closers, polyglots and encoding tricks.
pub fn xss() -> &'static [String] {
    &corpora()[0].values
}

/// Template and expression injection probes (`template_injection.txt`):
/// `${7*7}`, `{{7*7}}`, `{% ... %}`, `#{7*7}`, `<%= 7*7 %>`, Jinja2, Twig,
/// Handlebars, AngularJS, FreeMarker, Velocity, ERB ...
pub fn template_injection() -> &'static [String] {
    &corpora()[1].values
}

/// SQL metacharacter and injection payloads (`sql.txt`): quote breakouts,
/// stacked queries, `UNION`, time-based probes, `LIKE` wildcards, backslash
/// escapes, unicode quotes and NUL bytes.
pub fn sql() -> &'static [String] {
    &corpora()[2].values
}

/// Path-traversal payloads (`path_traversal.txt`): `../../etc/passwd` with
/// percent-encoded, double-encoded, overlong-UTF-8, backslash, UNC, unicode
/// look-alike and NUL-byte variants.
pub fn path_traversal() -> &'static [String] {
    &corpora()[3].values
}

/// Unicode edge cases (`unicode.txt`): bidi overrides (U+202E ...),
/// zero-width characters, combining-mark stacks, Cyrillic homoglyphs, lone
/// surrogates (decoded as U+FFFD, see the module docs), NUL, noncharacters,
/// 4-byte emoji, very long grapheme clusters, line/paragraph separators,
/// C0/C1 controls and ANSI escape sequences.
pub fn unicode() -> &'static [String] {
    &corpora()[4].values
}

/// Every string payload of every text corpus, deduplicated, in corpus order
/// (xss, template injection, sql, path traversal, unicode).
pub fn all_strings() -> &'static [String] {
    static ALL: OnceLock<Vec<String>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut seen = HashSet::new();
        corpora()
            .iter()
            .flat_map(|c| c.values.iter())
            .filter(|v| seen.insert(v.as_str()))
            .cloned()
            .collect()
    })
}

/// The exact JSON string literal of every text-corpus line, deduplicated, in
/// the same corpus order as [`all_strings`].
///
/// Each entry is valid JSON text (a JSON string, quotes included), even when
/// it contains lone surrogate escapes such as `"\ud800"` that no Rust `String`
/// can hold. Send these verbatim to exercise a JSON decoder.
pub fn raw_json_strings() -> &'static [&'static str] {
    static RAW: OnceLock<Vec<&'static str>> = OnceLock::new();
    RAW.get_or_init(|| {
        let mut seen = HashSet::new();
        corpora()
            .iter()
            .flat_map(|c| c.raw.iter().copied())
            .filter(|raw| seen.insert(*raw))
            .collect()
    })
}

/// Number of data lines skipped because they were not a valid JSON string
/// literal. Always zero in a correct build; the unit tests enforce it.
pub fn malformed_line_count() -> usize {
    corpora().iter().map(|c| c.malformed).sum()
}

/// JSON number texts that `serde_json::Value` cannot represent exactly or at
/// all: integers beyond `i64`/`u64`, numbers beyond the `f64` range, underflow,
/// negative zero and long mantissas. All are valid JSON number syntax; send
/// them verbatim where a number is expected.
pub fn raw_json_numbers() -> &'static [&'static str] {
    &[
        "-9223372036854775809",
        "18446744073709551616",
        "123456789012345678901234567890",
        "1e309",
        "-1e309",
        "1e400",
        "1E+999999999",
        "1e-400",
        "-0",
        "-0.0",
        "0.30000000000000000000000000000000000001",
        "9007199254740993",
        "2147483648",
    ]
}

/// The kind of value an event-handler parameter expects; selects a
/// [`type_confusion`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A string parameter.
    String,
    /// An integer parameter.
    Integer,
    /// A floating-point parameter.
    Float,
    /// A boolean parameter.
    Bool,
    /// A list / array parameter.
    List,
    /// An object / map parameter.
    Object,
    /// A parameter that accepts any JSON value (boundary values of every kind).
    Any,
}

impl ParamKind {
    /// Every kind, in declaration order.
    pub const ALL: [ParamKind; 7] = [
        Self::String,
        Self::Integer,
        Self::Float,
        Self::Bool,
        Self::List,
        Self::Object,
        Self::Any,
    ];

    /// The kind's key in `type_confusion.json` (`"string"`, `"integer"`, ...).
    pub const fn key(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::List => "list",
            Self::Object => "object",
            Self::Any => "any",
        }
    }
}

fn type_confusion_table() -> Option<&'static Map<String, Value>> {
    static TABLE: OnceLock<Option<Map<String, Value>>> = OnceLock::new();
    TABLE
        .get_or_init(|| match serde_json::from_str::<Value>(TYPE_CONFUSION_SRC) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        })
        .as_ref()
}

/// The values `type_confusion.json` lists for one kind (empty if missing).
fn file_values(kind: ParamKind) -> &'static [Value] {
    type_confusion_table()
        .and_then(|table| table.get(kind.key()))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Wrong-type and boundary values for a parameter of `kind`.
///
/// Returns the kind's list from `type_confusion.json` (for [`ParamKind::Any`],
/// that list plus every other kind's, deduplicated), followed by three
/// generated values: a [`LONG_STRING_LEN`]-character string, arrays nested
/// [`NESTING_DEPTH`] deep and objects nested [`NESTING_DEPTH`] deep.
pub fn type_confusion(kind: ParamKind) -> Vec<Value> {
    let mut out: Vec<Value> = file_values(kind).to_vec();
    if kind == ParamKind::Any {
        let mut seen: HashSet<String> = out.iter().map(Value::to_string).collect();
        for other in ParamKind::ALL {
            for value in file_values(other) {
                if seen.insert(value.to_string()) {
                    out.push(value.clone());
                }
            }
        }
    }
    out.push(Value::String(long_string(LONG_STRING_LEN)));
    out.push(nested_arrays(NESTING_DEPTH));
    out.push(nested_objects(NESTING_DEPTH));
    out
}

/// A string of `len` ASCII `'A'` characters.
pub fn long_string(len: usize) -> String {
    "A".repeat(len)
}

/// `depth` nested JSON arrays, innermost empty: depth 3 is `[[[]]]`.
/// A depth of 0 is treated as 1. Built iteratively, so any depth is safe to build.
pub fn nested_arrays(depth: usize) -> Value {
    let mut value = Value::Array(Vec::new());
    for _ in 1..depth {
        value = Value::Array(vec![value]);
    }
    value
}

/// `depth` nested JSON objects under the key `"a"`, innermost empty: depth 3
/// is `{"a":{"a":{}}}`. A depth of 0 is treated as 1.
pub fn nested_objects(depth: usize) -> Value {
    let mut value = Value::Object(Map::new());
    for _ in 1..depth {
        let mut map = Map::new();
        map.insert("a".to_owned(), value);
        value = Value::Object(map);
    }
    value
}

pub use crate::upload_corpus::{upload_corpus, UploadPayload};

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses every text corpus strictly and reports each bad line by file and
    /// line number.
    #[test]
    fn every_text_corpus_line_is_one_json_string_literal() {
        let mut errors = Vec::new();
        let mut data_lines = 0;
        for (file, src) in TEXT_FILES {
            for (index, line) in src.lines().enumerate() {
                let Some(literal) = data_line(line) else {
                    continue;
                };
                data_lines += 1;
                match decode_json_string(literal) {
                    Err(e) => errors.push(format!("{file}:{}: {e}: {line}", index + 1)),
                    Ok(decoded) => {
                        // Cross-check against serde_json: identical for every
                        // line without lone surrogates, which serde_json rejects.
                        let serde = serde_json::from_str::<String>(literal);
                        match (&serde, decoded.lossy) {
                            (Ok(s), false) if *s == decoded.value => {}
                            (Err(_), true) => {}
                            _ => errors.push(format!(
                                "{file}:{}: decoder disagrees with serde_json ({serde:?}): {line}",
                                index + 1
                            )),
                        }
                    }
                }
            }
        }
        assert!(
            errors.is_empty(),
            "malformed corpus lines:\n{}",
            errors.join("\n")
        );
        assert!(data_lines > 0);
        assert_eq!(malformed_line_count(), 0);
    }

    #[test]
    fn every_text_corpus_documents_its_format() {
        for (file, src) in TEXT_FILES {
            assert!(
                src.starts_with('#'),
                "{file} must start with a comment header"
            );
            assert!(
                src.contains("JSON string literal"),
                "{file} header must describe the format"
            );
        }
    }

    #[test]
    fn type_confusion_file_parses_with_exactly_the_known_keys() {
        let table = type_confusion_table().expect("type_confusion.json must be a JSON object");
        let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected: Vec<&str> = ParamKind::ALL.iter().map(|k| k.key()).collect();
        expected.push("$comment");
        expected.sort_unstable();
        assert_eq!(keys, expected);
        for kind in ParamKind::ALL {
            assert!(!file_values(kind).is_empty(), "no values for {kind:?}");
        }
    }

    #[test]
    fn decoder_edge_cases() {
        let ok = |s: &str| decode_json_string(s).map(|d| (d.value, d.lossy));
        assert_eq!(ok(r#""a\"b""#), Ok(("a\"b".to_owned(), false)));
        assert_eq!(ok(r#""\ud83d\ude00""#), Ok(("\u{1F600}".to_owned(), false)));
        assert_eq!(ok(r#""\ud800""#), Ok(("\u{FFFD}".to_owned(), true)));
        assert_eq!(
            ok(r#""\udc00\ud800x""#),
            Ok(("\u{FFFD}\u{FFFD}x".to_owned(), true))
        );
        assert_eq!(ok(r#""\ud800\u0041""#), Ok(("\u{FFFD}A".to_owned(), true)));
        assert_eq!(ok(r#""\u0000\/""#), Ok(("\0/".to_owned(), false)));
        assert_eq!(ok("x"), Err(DecodeError::NotQuoted));
        assert_eq!(ok(r#""abc"#), Err(DecodeError::Unterminated));
        assert_eq!(ok(r#""abc\"#), Err(DecodeError::Unterminated));
        assert_eq!(ok(r#""a" x"#), Err(DecodeError::TrailingCharacters));
        assert_eq!(ok("\"a\tb\""), Err(DecodeError::ControlCharacter('\t')));
        assert_eq!(ok(r#""\x41""#), Err(DecodeError::BadEscape('x')));
        assert_eq!(ok(r#""\u12""#), Err(DecodeError::BadUnicodeEscape));
        assert_eq!(ok(r#""\u12g4""#), Err(DecodeError::BadUnicodeEscape));
    }

    #[test]
    fn malformed_lines_are_skipped_and_counted() {
        let corpus = parse_corpus("# comment\n\n\"good\"\nbad\n\"also good\"\r\n  \"x\" y\n");
        assert_eq!(corpus.values, ["good", "also good"]);
        assert_eq!(corpus.raw, ["\"good\"", "\"also good\""]);
        assert_eq!(corpus.malformed, 2);
    }
}
