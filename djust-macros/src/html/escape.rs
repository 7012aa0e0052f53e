//! Compile-time copy of the runtime escaper (`djust_runtime::template::escape`).
//!
//! KEEP IN SYNC with `djust-runtime/src/template/escape.rs`: the proc-macro
//! crate cannot call the runtime, so literals are escaped here with the same
//! five replacements. `tests/escape_sync.rs` renders every character through
//! both and fails if they ever disagree.

/// Appends `text` to `out` with `& < > " '` (and CR, NUL) replaced.
pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' => out.push_str("&#13;"),
            '\0' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
}
