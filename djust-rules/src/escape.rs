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
static NEEDS_ESCAPE: [bool; 256] = {
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
/// The common case, nothing to replace, is one table scan and one copy.
#[inline]
pub fn escape_into(text: &str, out: &mut String) {
    match text
        .bytes()
        .position(|byte| NEEDS_ESCAPE[usize::from(byte)])
    {
        None => out.push_str(text),
        Some(first) => escape_from(text, first, out),
    }
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
