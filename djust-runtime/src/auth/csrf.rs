//! CSRF tokens, checked on every state-changing HTTP request (POST forms);
//! WebSocket frames are protected by the Origin check and the mount token
//! instead.
//!
//! Two kinds, so that showing a form never stores anything on the server:
//!
//! * a session's token ([`generate`], kept in `Session::csrf_token`) for
//!   visitors who have a session (they are logged in);
//! * a stateless double-submit token ([`DoubleSubmit`]) for visitors who
//!   have none (the login form): a signed random value travels in an
//!   `HttpOnly` cookie, the form carries a keyed hash of it, and a
//!   submission is accepted only when both arrive and agree. A cross-site
//!   page can neither read the cookie nor forge a value this key signed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;

use super::{constant_time_eq, generate_token, Signer};

/// Name of the hidden form field carrying the token.
pub const FORM_FIELD: &str = "csrf_token";

/// Name of the request header carrying the token (for `fetch` clients).
pub const HEADER: &str = "x-csrf-token";

/// Name of the double-submit cookie on plain-HTTP sites.
pub const COOKIE: &str = "djust_csrf";

/// Name of the double-submit cookie on TLS sites (`DJUST_SECURE_COOKIES`):
/// the `__Host-` prefix makes browsers refuse it unless it is `Secure`,
/// has `Path=/` and no `Domain`, so a sibling subdomain cannot plant one.
pub const SECURE_COOKIE: &str = "__Host-djust_csrf";

/// Signing purpose of the cookie value.
const COOKIE_PURPOSE: &str = "csrf-cookie";

/// Key purpose of the form token derived from the cookie value.
const TOKEN_PURPOSE: &str = "csrf-form-token";

/// Bytes of randomness in a double-submit cookie.
const NONCE_BYTES: usize = 32;

/// A fresh token to store in the session (`Session::csrf_token`).
pub fn generate() -> String {
    generate_token()
}

/// Whether `submitted` is the session's token.
///
/// Constant time; `false` when nothing was submitted, when the session has no
/// token (an empty expected token never matches, not even an empty
/// submission), and for tokens of another session or of the wrong length.
pub fn verify(session_token: &str, submitted: Option<&str>) -> bool {
    let Some(submitted) = submitted else {
        return false;
    };
    let matches = constant_time_eq(session_token, submitted);
    matches && !session_token.is_empty()
}

/// The stateless CSRF token of visitors without a session.
#[derive(Debug, Clone, Copy)]
pub struct DoubleSubmit;

impl DoubleSubmit {
    /// A new random value: `(cookie value, form token)`.
    pub fn issue(signer: &Signer) -> (String, String) {
        let mut nonce = [0_u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let cookie = signer.derive(COOKIE_PURPOSE).sign(&nonce);
        let token = Self::token_of(signer, &nonce);
        (cookie, token)
    }

    /// The form token of a cookie value this key signed, or `None` for any
    /// other value (forged, another purpose's token, another key's).
    pub fn token_for(signer: &Signer, cookie_value: &str) -> Option<String> {
        let nonce = signer.derive(COOKIE_PURPOSE).verify(cookie_value)?;
        (nonce.len() == NONCE_BYTES).then(|| Self::token_of(signer, &nonce))
    }

    /// Whether `submitted` is the form token of `cookie_value` (constant
    /// time; `false` when either is missing or the cookie is not genuine).
    pub fn verify(signer: &Signer, cookie_value: Option<&str>, submitted: Option<&str>) -> bool {
        let expected = cookie_value.and_then(|value| Self::token_for(signer, value));
        match (expected, submitted) {
            (Some(expected), Some(submitted)) => verify(&expected, Some(submitted)),
            _ => false,
        }
    }

    fn token_of(signer: &Signer, nonce: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(signer.derive(TOKEN_PURPOSE).keyed_hash(nonce))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(b"a test key that is at least thirty-two bytes").expect("key")
    }

    #[test]
    fn double_submit_accepts_only_its_own_pair() {
        let signer = signer();
        let (cookie, token) = DoubleSubmit::issue(&signer);
        assert_ne!(cookie, token, "the form never shows the cookie value");
        assert!(!cookie.contains(&token));
        assert_eq!(
            DoubleSubmit::token_for(&signer, &cookie),
            Some(token.clone())
        );
        assert!(DoubleSubmit::verify(&signer, Some(&cookie), Some(&token)));
        let (other_cookie, other_token) = DoubleSubmit::issue(&signer);
        assert!(!DoubleSubmit::verify(
            &signer,
            Some(&cookie),
            Some(&other_token)
        ));
        assert!(!DoubleSubmit::verify(
            &signer,
            Some(&other_cookie),
            Some(&token)
        ));
        assert!(!DoubleSubmit::verify(&signer, None, Some(&token)));
        assert!(!DoubleSubmit::verify(&signer, Some(&cookie), None));
        assert!(!DoubleSubmit::verify(&signer, Some(&cookie), Some("")));
        // Another key, another purpose's token, and hostile values.
        let other_key = Signer::new(b"another key, also thirty-two bytes long!").expect("key");
        assert!(!DoubleSubmit::verify(
            &other_key,
            Some(&cookie),
            Some(&token)
        ));
        let session_cookie = crate::session::SessionCookie::encode(&signer, "sessionid");
        assert_eq!(DoubleSubmit::token_for(&signer, &session_cookie), None);
        let short = signer.derive(COOKIE_PURPOSE).sign(b"short");
        assert_eq!(DoubleSubmit::token_for(&signer, &short), None);
        for hostile in ["", ".", "a.b", &"A".repeat(100_000), "\u{0}\r\n", "'; DROP"] {
            assert_eq!(
                DoubleSubmit::token_for(&signer, hostile),
                None,
                "{hostile:?}"
            );
            assert!(!DoubleSubmit::verify(&signer, Some(hostile), Some(hostile)));
        }
    }
}
