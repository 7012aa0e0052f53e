//! `ping` filter: runs each URL of a space-separated list through
//! [`filter_url`](super::filter_url).
//!
//! The browser splits `ping` on ASCII whitespace and sends a request to
//! every URL; one unsafe URL is replaced by `#blocked` and the others are
//! kept, with their separators.

use std::borrow::Cow;

use super::url::{is_safe_url, BLOCKED_URL};

/// Returns `value` unchanged when every URL in it is safe; otherwise a copy
/// in which each unsafe URL is replaced by `#blocked`.
pub fn filter_url_list(value: &str) -> Cow<'_, str> {
    if djust_rules::attributes::url_list(value).all(is_safe_url) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while !rest.is_empty() {
        let word_start = rest
            .find(|c: char| !c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&rest[..word_start]);
        rest = &rest[word_start..];
        let word_end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let url = &rest[..word_end];
        out.push_str(if is_safe_url(url) { url } else { BLOCKED_URL });
        rest = &rest[word_end..];
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_lists_are_borrowed() {
        for value in ["", "/a", "/a https://b.example/c", "  /a\t/b\n"] {
            assert!(matches!(filter_url_list(value), Cow::Borrowed(v) if v == value));
        }
    }

    #[test]
    fn each_unsafe_url_is_blocked_and_the_rest_kept() {
        assert_eq!(
            filter_url_list("/a javascript:alert(1)\thttps://b JAVA\u{0}SCRIPT:x"),
            "/a #blocked\thttps://b #blocked"
        );
        assert_eq!(filter_url_list(" data:text/html,x "), " #blocked ");
        // Non-ASCII whitespace does not split (the browser would not either).
        assert_eq!(filter_url_list("javascript:a\u{a0}/b"), "#blocked");
    }
}
