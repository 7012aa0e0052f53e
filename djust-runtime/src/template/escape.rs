//! HTML escaping for text and quoted attribute values.
//!
//! One escaper serves both contexts: `& < > " '` become entities, so a value
//! can never open a tag, close an attribute or start an entity. The `html!`
//! macro escapes string literals at compile time with a copy of this function
//! (`djust-macros/src/html/escape.rs`); `tests/escape_sync.rs` checks that the
//! two agree.

/// The entity for a byte that must be escaped, or `None`.
#[inline]
fn entity(byte: u8) -> Option<&'static str> {
    match byte {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'"' => Some("&quot;"),
        b'\'' => Some("&#39;"),
        _ => None,
    }
}

/// Appends `text` to `out` with `& < > " '` replaced by entities.
#[inline]
pub fn escape_into(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
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
    text.bytes().all(|byte| entity(byte).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn leaves_other_text_alone() {
        assert_eq!(escape("héllo wörld ✓ \u{202e}"), "héllo wörld ✓ \u{202e}");
        assert!(needs_no_escaping("plain"));
        assert!(!needs_no_escaping("a&b"));
    }
}
