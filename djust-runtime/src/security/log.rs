//! Log sanitisation: turns a client-derived value into text that cannot forge
//! log lines, drive a terminal, reorder text or leak secrets, and is short.
//!
//! [`sanitize_for_log`] works in three steps:
//!
//! 1. **Controls.** ANSI escape sequences are removed entirely: CSI
//!    (`ESC [` parameters, intermediates, final byte; also the one-byte C1
//!    CSI U+009B), string sequences (OSC `ESC ]`, DCS `ESC P`, SOS, PM, APC,
//!    up to BEL or ST; an unterminated one swallows the rest of the value) and
//!    any other `ESC` sequence. Bidi and invisible format characters (U+061C,
//!    U+200B–U+200F, U+202A–U+202E, U+2060, U+2066–U+2069, U+FEFF) are
//!    removed. Every other control character (C0 including TAB, CR and LF,
//!    DEL, C1) and U+2028/U+2029 is replaced by a space, one space per run,
//!    so words stay apart but a value is always one line.
//! 2. **Secrets.** `key=value`, `key: value` and JSON `"key": "value"` where
//!    the key contains (case-insensitively) `password`, `passwd`, `secret`,
//!    `token`, `api_key`, `apikey`, `authorization`, `cookie`, `session` or
//!    `csrf` get the value replaced by [`REDACTED`] (quotes kept); `Bearer x`
//!    becomes `Bearer [REDACTED]`.
//! 3. **Length.** At most [`MAX_LOG_CHARS`] characters are kept (never
//!    splitting a character); if anything was cut, [`TRUNCATION_MARKER`] is
//!    appended.

use std::borrow::Cow;
use std::iter::Peekable;
use std::str::Chars;

use once_cell::sync::Lazy;
use regex::{Captures, Regex};

/// Most characters of the value kept in a log line (the marker comes on top).
pub const MAX_LOG_CHARS: usize = 500;

/// Appended when a value was cut to [`MAX_LOG_CHARS`].
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// What a redacted secret becomes.
pub const REDACTED: &str = "[REDACTED]";

/// Characters of cleaned text that reach the redaction step; bounds the work
/// on huge inputs while leaving room for redaction to shrink the text.
const WORK_LIMIT_CHARS: usize = 4 * MAX_LOG_CHARS;

/// `key=value`, `key: value`, `"key": "value"` with a sensitive key. Group 1
/// is everything up to the value, group 2 the value.
static KEY_VALUE: Lazy<Option<Regex>> = Lazy::new(|| {
    Regex::new(concat!(
        r#"(?i)([a-z0-9_.\-]*(?:password|passwd|secret|token|api_key|apikey|authorization|cookie|session|csrf)[a-z0-9_.\-]*"?\s*[:=]\s*)"#,
        r#"(\[REDACTED\]|(?:bearer|basic|digest|token)\s+[^\s"',;&}\]]+|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^\s"',;&}\]]+)"#,
    ))
    .ok()
});

/// `Bearer <token>`; group 1 keeps the word's spelling.
static BEARER: Lazy<Option<Regex>> =
    Lazy::new(|| Regex::new(r"(?i)(?-u:\b)(bearer)\s+[A-Za-z0-9\-._~+/]+=*").ok());

/// Returns `value` made safe to put into a log line (see the module docs):
/// no control, ANSI, line-separator or bidi characters, secrets redacted, at
/// most [`MAX_LOG_CHARS`] characters plus [`TRUNCATION_MARKER`].
pub fn sanitize_for_log(value: &str) -> String {
    let (clean, cut) = strip_controls(value);
    let redacted = redact(&clean);
    truncate(redacted, cut)
}

/// Step 1. Returns the cleaned text and whether input was left unread
/// because the text reached [`WORK_LIMIT_CHARS`].
fn strip_controls(value: &str) -> (String, bool) {
    let mut out = String::with_capacity(value.len().min(WORK_LIMIT_CHARS * 2));
    let mut count = 0usize;
    let mut after_replacement = false;
    let mut chars = value.chars().peekable();
    while let Some(character) = chars.next() {
        if count >= WORK_LIMIT_CHARS {
            return (out, true);
        }
        match character {
            '\u{1B}' => skip_escape(&mut chars),
            '\u{9B}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9D}' | '\u{9E}' | '\u{9F}' => skip_string(&mut chars),
            _ if is_invisible_format(character) => {}
            _ if character.is_control() || matches!(character, '\u{2028}' | '\u{2029}') => {
                if !after_replacement {
                    out.push(' ');
                    count += 1;
                    after_replacement = true;
                }
            }
            _ => {
                out.push(character);
                count += 1;
                after_replacement = false;
            }
        }
    }
    (out, false)
}

/// Bidi controls and invisible format characters, removed without a trace.
fn is_invisible_format(character: char) -> bool {
    matches!(
        character,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

fn in_range(character: char, low: char, high: char) -> bool {
    (low..=high).contains(&character)
}

/// Skips what follows an `ESC`.
fn skip_escape(chars: &mut Peekable<Chars<'_>>) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        Some(next) if in_range(next, ' ', '/') => {
            // nF: intermediate bytes, then one final byte.
            while chars.next_if(|&c| in_range(c, ' ', '/')).is_some() {}
            chars.next_if(|&c| in_range(c, '0', '~'));
        }
        Some(next) if in_range(next, '0', '~') => {
            chars.next();
        }
        // A lone ESC: dropped, the next character is handled normally.
        _ => {}
    }
}

/// Skips a CSI body: parameter and intermediate bytes, then the final byte.
fn skip_csi(chars: &mut Peekable<Chars<'_>>) {
    while chars.next_if(|&c| in_range(c, ' ', '?')).is_some() {}
    chars.next_if(|&c| in_range(c, '@', '~'));
}

/// Skips a control string up to and including BEL, ST (`ESC \` or U+009C).
fn skip_string(chars: &mut Peekable<Chars<'_>>) {
    while let Some(character) = chars.next() {
        match character {
            '\u{07}' | '\u{9C}' => return,
            '\u{1B}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

/// Step 2. If a pattern failed to build (it cannot: they are constants
/// covered by tests) the whole value is redacted rather than logged unchecked.
fn redact(text: &str) -> Cow<'_, str> {
    let (Some(key_value), Some(bearer)) = (KEY_VALUE.as_ref(), BEARER.as_ref()) else {
        return Cow::Borrowed(REDACTED);
    };
    let text = key_value.replace_all(text, |captures: &Captures<'_>| {
        let prefix = captures.get(1).map_or("", |m| m.as_str());
        let value = captures.get(2).map_or("", |m| m.as_str());
        match value.chars().next() {
            Some(quote @ ('"' | '\'')) => format!("{prefix}{quote}{REDACTED}{quote}"),
            _ => format!("{prefix}{REDACTED}"),
        }
    });
    let replaced = match bearer.replace_all(&text, "${1} [REDACTED]") {
        Cow::Borrowed(_) => None,
        Cow::Owned(replaced) => Some(replaced),
    };
    replaced.map_or(text, Cow::Owned)
}

/// Step 3.
fn truncate(text: Cow<'_, str>, cut: bool) -> String {
    match text.char_indices().nth(MAX_LOG_CHARS) {
        Some((end, _)) => {
            let mut out = String::with_capacity(end + TRUNCATION_MARKER.len());
            out.push_str(text.get(..end).unwrap_or_default());
            out.push_str(TRUNCATION_MARKER);
            out
        }
        None if cut => {
            let mut out = text.into_owned();
            out.push_str(TRUNCATION_MARKER);
            out
        }
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(KEY_VALUE.is_some());
        assert!(BEARER.is_some());
    }

    #[test]
    fn redaction_is_idempotent() {
        let once = sanitize_for_log(r#"token=abc "password": "x" Authorization: Bearer q"#);
        assert_eq!(sanitize_for_log(&once), once);
    }

    #[test]
    fn work_limit_still_marks_truncation() {
        // Redaction shrinks this below MAX_LOG_CHARS, but input was cut.
        let value = format!("token={}", "a".repeat(10 * WORK_LIMIT_CHARS));
        assert_eq!(
            sanitize_for_log(&value),
            format!("token={REDACTED}{TRUNCATION_MARKER}")
        );
    }
}
