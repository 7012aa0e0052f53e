//! The signed session cookie: its value, and the `Set-Cookie` header.

use crate::auth::Signer;

/// Default session cookie name.
pub const DEFAULT_COOKIE_NAME: &str = "djust_session";

/// Signing purpose, so no other token signed with the same key is accepted.
const PURPOSE: &str = "session-cookie";

/// Longest session id a cookie may carry.
const MAX_SESSION_ID_LEN: usize = 128;

/// Encoding and decoding of the signed session cookie value.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookie;

impl SessionCookie {
    /// The cookie value for `session_id` (base64url and `.`, cookie-safe).
    pub fn encode(signer: &Signer, session_id: &str) -> String {
        signer.derive(PURPOSE).sign(session_id.as_bytes())
    }

    /// The session id in a cookie value, or `None` if the value is not one
    /// this key signed for a session cookie (or the id is implausible).
    pub fn decode(signer: &Signer, value: &str) -> Option<String> {
        let payload = signer.derive(PURPOSE).verify(value)?;
        let id = String::from_utf8(payload).ok()?;
        let plausible = !id.is_empty()
            && id.len() <= MAX_SESSION_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plausible.then_some(id)
    }
}

/// Attributes of the session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    /// Cookie name (an RFC 7230 token). Default `djust_session`.
    pub name: String,
    /// Add `Secure` (set when the site is served over TLS).
    pub secure: bool,
    /// `Max-Age` in seconds; `None` makes a browser-session cookie.
    pub max_age: Option<u64>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        Self {
            name: DEFAULT_COOKIE_NAME.to_owned(),
            secure: false,
            max_age: None,
        }
    }
}

/// A cookie header could not be built without allowing header injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieError {
    /// The name is empty or not an RFC 7230 token.
    InvalidName,
    /// The value holds characters outside RFC 6265 `cookie-octet`.
    InvalidValue,
}

impl std::fmt::Display for CookieError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InvalidName => "invalid cookie name",
            Self::InvalidValue => "invalid cookie value",
        })
    }
}

impl std::error::Error for CookieError {}

/// The `Set-Cookie` header value for `value`:
/// `name=value; Path=/; HttpOnly; SameSite=Lax[; Secure][; Max-Age=n]`.
pub fn set_cookie_header(options: &CookieOptions, value: &str) -> Result<String, CookieError> {
    if !is_token(&options.name) {
        return Err(CookieError::InvalidName);
    }
    if !value.bytes().all(is_cookie_octet) {
        return Err(CookieError::InvalidValue);
    }
    let mut header = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax", options.name);
    if options.secure {
        header.push_str("; Secure");
    }
    if let Some(max_age) = options.max_age {
        header.push_str("; Max-Age=");
        header.push_str(&max_age.to_string());
    }
    Ok(header)
}

/// The `Set-Cookie` header value that deletes the cookie (logout).
pub fn clear_cookie_header(options: &CookieOptions) -> Result<String, CookieError> {
    set_cookie_header(
        &CookieOptions {
            max_age: Some(0),
            ..options.clone()
        },
        "",
    )
}

/// The value of cookie `name` in a `Cookie` request header, if present.
/// With duplicates the first is returned (browsers send the most specific
/// path first); the signature and session lookup decide whether it is any good.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim())
    })
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}
