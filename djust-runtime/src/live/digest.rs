//! The digest of a first render: the page carries it, the client sends it
//! back in `mount`, and when the socket's render is the same the `mount`
//! frame leaves the HTML out (the client keeps the DOM the page built).
//!
//! The digest is a hint, not a check: a client that sends a wrong one only
//! keeps a wrong DOM of its own, which its next patch finds out (the
//! version or a path does not match) and repairs with `request_html`.

use sha2::{Digest as _, Sha256};

/// Longest digest accepted from a client (the digest is 32 hex digits).
pub const MAX_DIGEST_LEN: usize = 64;

/// The digest of a view's rendered HTML: the first 128 bits of its
/// SHA-256, in lower-case hex.
pub fn html_digest(html: &str) -> String {
    let hash = Sha256::digest(html.as_bytes());
    hash.iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `client` (from a `mount` frame) names `html`.
pub fn same_render(client: Option<&str>, html: &str) -> bool {
    client.is_some_and(|digest| digest.len() <= MAX_DIGEST_LEN && digest == html_digest(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_name_exactly_one_render() {
        let digest = html_digest("<p>1</p>");
        assert_eq!(digest.len(), 32);
        assert!(same_render(Some(&digest), "<p>1</p>"));
        assert!(!same_render(Some(&digest), "<p>2</p>"));
        assert!(!same_render(None, "<p>1</p>"));
        assert!(!same_render(Some(""), ""));
        assert!(!same_render(Some(&"a".repeat(10_000)), "<p>1</p>"));
    }
}
