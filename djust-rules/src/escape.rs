//! HTML escaping for text and quoted attribute values.
//!
//! One escaper serves both contexts: `& < > " '` become entities, so a value
//! can never open a tag, close an attribute or start an entity. Two more
//! replacements make the browser read back exactly the string we wrote: a
//! carriage return becomes `&#13;` (the HTML parser would turn a raw CR into
//! LF), and NUL, which HTML cannot carry at all (the parser drops or replaces
//! it), is written as U+FFFD so every parser sees the same character.
//!
//! The `html!` macro escapes string literals with this function at compile
//! time and the runtime escapes every dynamic value with it, so static and
//! dynamic text are escaped identically by construction.

/// Bytes that [`escape_into`] replaces.
///
/// A `const`, not a `static`: every crate that inlines the scan gets its
/// own copy addressed relative to its code, where a `static` of this crate
/// is reached through the global offset table, and the table's address was
/// loaded again for every byte scanned.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\'' as usize] = true;
    table[b'\r' as usize] = true;
    table[0] = true;
    table
};

/// The replacement for a byte that must be escaped, or `None`.
#[inline]
fn entity(byte: u8) -> Option<&'static str> {
    match byte {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'"' => Some("&quot;"),
        b'\'' => Some("&#39;"),
        b'\r' => Some("&#13;"),
        b'\0' => Some("\u{FFFD}"),
        _ => None,
    }
}

/// Appends `text` to `out` with `& < > " '` (and CR, NUL) replaced.
///
/// The common case, nothing to replace, is one scan (eight bytes at a
/// time) and one copy.
#[inline]
pub fn escape_into(text: &str, out: &mut String) {
    if !may_need_escaping(text.as_bytes()) {
        out.push_str(text);
        return;
    }
    match text
        .bytes()
        .position(|byte| NEEDS_ESCAPE[usize::from(byte)])
    {
        None => out.push_str(text),
        Some(first) => escape_from(text, first, out),
    }
}

/// `1` in every byte of a word.
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
/// The high bit of every byte of a word.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// `true` if some byte of `bytes` is one [`escape_into`] replaces.
///
/// Eight bytes are tested at once as a `u64`; a string of 4 to 7 bytes is
/// one word of two overlapping halves, and the last partial word of a
/// longer one overlaps the previous word, so only strings under 4 bytes
/// are scanned a byte at a time. Short dynamic strings (names, labels,
/// attribute values) are most of what a template escapes.
#[inline(always)]
fn may_need_escaping(bytes: &[u8]) -> bool {
    let len = bytes.len();
    if len >= 8 {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            if word_may_need_escaping(word(chunk)) {
                return true;
            }
        }
        !chunks.remainder().is_empty() && word_may_need_escaping(word(&bytes[len - 8..]))
    } else if len >= 4 {
        let low = u64::from(half(&bytes[..4]));
        let high = u64::from(half(&bytes[len - 4..]));
        word_may_need_escaping(low | (high << 32))
    } else {
        bytes.iter().any(|&byte| NEEDS_ESCAPE[usize::from(byte)])
    }
}

/// Eight bytes as a word (callers pass exactly eight; anything else reads
/// as NUL bytes, which only sends `escape_into` to its byte scan).
#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_ne_bytes)
}

/// Four bytes as a half word (see [`word`]).
#[inline(always)]
fn half(bytes: &[u8]) -> u32 {
    <[u8; 4]>::try_from(bytes).map_or(0, u32::from_ne_bytes)
}

/// `true` if some byte of `word` is one of `& < > " '`, CR or NUL.
#[inline(always)]
fn word_may_need_escaping(word: u64) -> bool {
    // All seven are below 0x40: a word whose every byte has bit 6 or bit 7
    // set (letters, most punctuation above `?`, every byte of non-ASCII
    // UTF-8) needs nothing.
    if (word | (word << 1)) & HIGHS == HIGHS {
        return false;
    }
    // Nonzero if some byte equals `value` once the bits of `ignore` are
    // masked out of both (the zero-byte test: exact for "any byte").
    let matches = |value: u8, ignore: u8| {
        let x = (word ^ (ONES * u64::from(value))) & !(ONES * u64::from(ignore));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    // `&` and `'` (0x26, 0x27) differ in bit 0, `<` and `>` (0x3C, 0x3E)
    // in bit 1.
    (matches(0x00, 0) | matches(b'\r', 0) | matches(b'"', 0) | matches(b'&', 1) | matches(b'<', 2))
        != 0
}

#[cold]
#[inline(never)]
fn escape_from(text: &str, first: usize, out: &mut String) {
    out.reserve(text.len() + 16);
    out.push_str(&text[..first]);
    let mut start = first;
    for (index, byte) in text.bytes().enumerate().skip(first) {
        if let Some(replacement) = entity(byte) {
            out.push_str(&text[start..index]);
            out.push_str(replacement);
            start = index + 1;
        }
    }
    out.push_str(&text[start..]);
}

/// Returns `text` escaped as a new `String`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    escape_into(text, &mut out);
    out
}

/// `true` when `text` contains nothing that [`escape_into`] would change.
#[inline]
pub fn needs_no_escaping(text: &str) -> bool {
    !text.bytes().any(|byte| NEEDS_ESCAPE[usize::from(byte)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn leaves_other_text_alone() {
        assert_eq!(escape("héllo wörld ✓ \u{202e}"), "héllo wörld ✓ \u{202e}");
        assert_eq!(escape("a\r\nb\0"), "a&#13;\nb\u{FFFD}");
        assert!(needs_no_escaping("plain"));
        assert!(!needs_no_escaping("a&b"));
    }

    /// The word-at-a-time test agrees with the byte table exactly: every
    /// length from 0 to 24, every byte value at every position, around
    /// letters, digits, spaces and non-ASCII text (either side of the fast
    /// path's 0x40 threshold, and every neighbour of the seven).
    #[test]
    fn the_word_scan_agrees_with_the_table_for_every_byte_at_every_position() {
        let fillers: [&[u8]; 5] = [b"a", b"7", b" ", "\u{e9}".as_bytes(), b"%"];
        for filler in fillers {
            for len in 0..=24 {
                let plain: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
                assert!(!may_need_escaping(&plain), "{plain:?}");
                for position in 0..len {
                    for byte in 0..=u8::MAX {
                        let mut text = plain.clone();
                        text[position] = byte;
                        assert_eq!(
                            may_need_escaping(&text),
                            NEEDS_ESCAPE[usize::from(byte)],
                            "{text:?}"
                        );
                    }
                }
            }
        }
    }

    /// Plain text of letters and non-ASCII takes the word path's fast exit.
    #[test]
    fn letters_and_non_ascii_pass_the_word_scan() {
        for text in [
            "Shandong",
            "Jiangsu",
            "abcd",
            "SHANGHAI shenhua",
            "żółć",
            "日本語のテキスト",
        ] {
            let without_spaces: Vec<u8> = text.bytes().filter(|&b| b != b' ').collect();
            assert!(!may_need_escaping(&without_spaces), "{text}");
        }
    }

    /// Every character (every byte of UTF-8, multi-byte ones included) is
    /// either one of the seven replaced or copied unchanged, alone and
    /// between other text: the table and the replacement agree.
    #[test]
    fn every_character_is_replaced_or_copied() {
        for code in (0u32..0x800).chain([0xFFFD, 0x1F600, 0x10FFFF]) {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let text = c.to_string();
            let expected = match c {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '"' => "&quot;".to_owned(),
                '\'' => "&#39;".to_owned(),
                '\r' => "&#13;".to_owned(),
                '\0' => "\u{FFFD}".to_owned(),
                other => other.to_string(),
            };
            assert_eq!(escape(&text), expected, "U+{code:04X}");
            assert_eq!(escape(&format!("a{text}b")), format!("a{expected}b"));
            assert_eq!(needs_no_escaping(&text), expected == text, "U+{code:04X}");
        }
    }
}
