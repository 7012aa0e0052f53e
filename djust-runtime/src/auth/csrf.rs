//! CSRF tokens: one random token per session, checked on every state-changing
//! HTTP request (POST forms); WebSocket frames are protected by the Origin
//! check and the mount token instead.

use super::{constant_time_eq, generate_token};

/// Name of the hidden form field carrying the token.
pub const FORM_FIELD: &str = "csrf_token";

/// Name of the request header carrying the token (for `fetch` clients).
pub const HEADER: &str = "x-csrf-token";

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
