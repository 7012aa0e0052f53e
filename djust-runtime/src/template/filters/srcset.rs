//! `srcset` filter: runs every image candidate's URL through
//! [`filter_url`](super::filter_url), keeping descriptors and separators.
//!
//! Candidates are split the way the HTML standard's "parse a srcset
//! attribute" algorithm splits them, so the URLs checked here are the URLs the
//! browser will fetch: skip ASCII whitespace and commas; the URL is the
//! following run of non-whitespace (trailing commas belong to the separator);
//! descriptors run to the next comma outside parentheses.

use std::borrow::Cow;

use super::url::{is_safe_url, BLOCKED_URL};

/// ASCII whitespace as the HTML standard defines it.
fn is_html_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0C' | b'\r')
}

/// Returns `value` unchanged when every candidate URL is safe; otherwise a
/// copy in which each unsafe candidate's URL is replaced by `#blocked` and
/// everything else (descriptors, separators, whitespace) is kept.
pub fn filter_srcset(value: &str) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    let mut out: Option<String> = None;
    // End of the text already copied into `out`.
    let mut copied = 0;
    let mut index = 0;
    loop {
        // Skip whitespace and commas between candidates.
        while bytes
            .get(index)
            .is_some_and(|&byte| is_html_space(byte) || byte == b',')
        {
            index += 1;
        }
        if index >= bytes.len() {
            break;
        }
        let url_start = index;
        while bytes.get(index).is_some_and(|&byte| !is_html_space(byte)) {
            index += 1;
        }
        let mut url_end = index;
        let ends_with_comma = bytes.get(url_end - 1) == Some(&b',');
        while url_end > url_start && bytes.get(url_end - 1) == Some(&b',') {
            url_end -= 1;
        }
        if !ends_with_comma {
            index = skip_descriptors(bytes, index);
        }
        // Both ends sit next to ASCII whitespace or commas, so they are
        // character boundaries; should that ever fail, block (fail closed).
        if !value.get(url_start..url_end).is_some_and(is_safe_url) {
            let buffer = out.get_or_insert_with(|| String::with_capacity(value.len()));
            buffer.push_str(value.get(copied..url_start).unwrap_or_default());
            buffer.push_str(BLOCKED_URL);
            copied = url_end;
        }
    }
    match out {
        None => Cow::Borrowed(value),
        Some(mut buffer) => {
            buffer.push_str(value.get(copied..).unwrap_or_default());
            Cow::Owned(buffer)
        }
    }
}

/// Index just past the descriptors that start at `index`: the next comma
/// outside parentheses (consumed), or the end.
fn skip_descriptors(bytes: &[u8], mut index: usize) -> usize {
    let mut in_parens = false;
    while let Some(&byte) = bytes.get(index) {
        index += 1;
        match byte {
            b'(' => in_parens = true,
            b')' => in_parens = false,
            b',' if !in_parens => break,
            _ => {}
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_safe_candidates_borrowed() {
        let value = "a.png 1x, b.png 2x";
        assert!(matches!(filter_srcset(value), Cow::Borrowed(v) if v == value));
    }

    #[test]
    fn blocks_only_the_bad_url() {
        assert_eq!(
            filter_srcset("a.png 1x,javascript:alert(1) 2x , c.png"),
            "a.png 1x,#blocked 2x , c.png"
        );
    }

    #[test]
    fn trailing_commas_are_separators() {
        assert_eq!(filter_srcset("data:x,,, b.png"), "#blocked,,, b.png");
    }
}
