//! Flash messages across a full page load.
//!
//! A socket cannot set a cookie, so a view that puts a flash and then
//! redirects (or navigates to another live session) sends the browser to
//! [`FLASH_PATH`] with a signed, short-lived link naming the messages and
//! the page to go to. That HTTP route checks the link, sets the signed,
//! HttpOnly flash cookie and redirects (303) to the page, whose first paint
//! shows the messages and clears the cookie: shown once.
//!
//! A link is bound to the session it was made for (no one can send another
//! user a link that shows them a message) by a keyed hash of the session
//! id, never the id itself: a link is a URL, kept in history and logs. It
//! lives [`FLASH_LINK_TTL_SECS`]; the cookie lives [`FLASH_COOKIE_TTL_SECS`].
//! Both are signed with keys derived for these purposes only.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::auth::{constant_time_eq, Signer, CLOCK_SKEW_SECS};
use crate::view::flash::{Flash, MAX_FLASH_MESSAGES};

/// The route that turns a flash link into the flash cookie.
pub const FLASH_PATH: &str = "/djust/flash";

/// The flash cookie's name.
pub const FLASH_COOKIE: &str = "djust_flash";

/// How long a flash link is accepted.
pub const FLASH_LINK_TTL_SECS: u64 = 60;

/// How long the flash cookie is kept (and accepted).
pub const FLASH_COOKIE_TTL_SECS: u64 = 120;

const LINK_PURPOSE: &str = "flash-link";
const COOKIE_PURPOSE: &str = "flash-cookie";
const BINDING_PURPOSE: &str = "flash-link-session";

/// The keyed hash of `session_id` (`None`: no session) a link carries.
fn session_binding(signer: &Signer, session_id: Option<&str>) -> String {
    let input = match session_id {
        Some(id) => format!("1:{id}"),
        None => "0:".to_owned(),
    };
    let full = signer.derive(BINDING_PURPOSE).keyed_hash(input.as_bytes());
    URL_SAFE_NO_PAD.encode(&full[..16])
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkPayload {
    /// Where to go.
    n: String,
    /// The messages.
    f: Vec<Flash>,
    /// The session it is for, as a keyed hash (base64url of 16 bytes;
    /// the link is a URL, which lands in history and logs, so it never
    /// carries the session id itself).
    s: String,
    /// Unix seconds when it was made.
    t: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CookiePayload {
    f: Vec<Flash>,
    t: u64,
}

fn fresh(issued_at: u64, now_unix: u64, ttl: u64) -> bool {
    issued_at <= now_unix.saturating_add(CLOCK_SKEW_SECS)
        && now_unix.saturating_sub(issued_at) <= ttl
}

/// Where to send the browser for a full load of `next` that shows `flash`:
/// `next` itself without messages, else a signed link to [`FLASH_PATH`].
pub fn flash_link(
    signer: &Signer,
    next: &str,
    flash: &[Flash],
    session_id: Option<&str>,
    now_unix: u64,
) -> String {
    if flash.is_empty() {
        return next.to_owned();
    }
    let payload = LinkPayload {
        n: next.to_owned(),
        f: flash.iter().take(MAX_FLASH_MESSAGES).cloned().collect(),
        s: session_binding(signer, session_id),
        t: now_unix,
    };
    // Serialising strings cannot fail; an empty token fails to open.
    let bytes = serde_json::to_vec(&payload).unwrap_or_default();
    let token = signer.derive(LINK_PURPOSE).sign(&bytes);
    format!("{FLASH_PATH}?t={token}")
}

/// The page and the messages of a flash link presented by `session_id`;
/// `None` when forged, expired, or made for another session.
pub fn open_flash_link(
    signer: &Signer,
    token: &str,
    session_id: Option<&str>,
    now_unix: u64,
) -> Option<(String, Vec<Flash>)> {
    let bytes = signer.derive(LINK_PURPOSE).open(token).ok()?;
    let payload: LinkPayload = serde_json::from_slice(&bytes).ok()?;
    let expected = session_binding(signer, session_id);
    let same_session = constant_time_eq(&payload.s, &expected);
    (same_session && fresh(payload.t, now_unix, FLASH_LINK_TTL_SECS))
        .then_some((payload.n, payload.f))
}

/// The flash cookie's value for `flash`.
pub fn flash_cookie_value(signer: &Signer, flash: &[Flash], now_unix: u64) -> String {
    let payload = CookiePayload {
        f: flash.iter().take(MAX_FLASH_MESSAGES).cloned().collect(),
        t: now_unix,
    };
    let bytes = serde_json::to_vec(&payload).unwrap_or_default();
    signer.derive(COOKIE_PURPOSE).sign(&bytes)
}

/// The messages of a flash cookie; empty when forged or expired.
pub fn open_flash_cookie(signer: &Signer, value: &str, now_unix: u64) -> Vec<Flash> {
    signer
        .derive(COOKIE_PURPOSE)
        .open(value)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<CookiePayload>(&bytes).ok())
        .filter(|payload| fresh(payload.t, now_unix, FLASH_COOKIE_TTL_SECS))
        .map(|payload| {
            payload
                .f
                .into_iter()
                .take(MAX_FLASH_MESSAGES)
                .map(|flash| Flash::new(flash.kind, &flash.message))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SecretKey;
    use crate::view::FlashKind;

    #[test]
    fn links_are_bound_to_their_session_and_time() {
        let signer = Signer::from_key(&SecretKey::generate());
        let flash = vec![Flash::new(FlashKind::Success, "Saved.")];
        assert_eq!(flash_link(&signer, "/a", &[], Some("s1"), 100), "/a");
        let link = flash_link(&signer, "/a?b=1", &flash, Some("s1"), 100);
        let token = link.strip_prefix("/djust/flash?t=").expect("link");
        assert_eq!(
            open_flash_link(&signer, token, Some("s1"), 110),
            Some(("/a?b=1".to_owned(), flash.clone()))
        );
        assert_eq!(open_flash_link(&signer, token, Some("s2"), 110), None);
        assert_eq!(open_flash_link(&signer, token, None, 110), None);
        assert_eq!(open_flash_link(&signer, token, Some("s1"), 1_000), None);
        let other = Signer::from_key(&SecretKey::generate());
        assert_eq!(open_flash_link(&other, token, Some("s1"), 110), None);
        // A cookie value is not a link, and the reverse.
        let cookie = flash_cookie_value(&signer, &flash, 100);
        assert_eq!(open_flash_link(&signer, &cookie, Some("s1"), 110), None);
        assert!(open_flash_cookie(&signer, token, 110).is_empty());
        assert_eq!(open_flash_cookie(&signer, &cookie, 110), flash);
        assert!(open_flash_cookie(&signer, &cookie, 1_000).is_empty());
        for junk in ["", "x", "a.b", &"z".repeat(10_000)] {
            assert!(open_flash_cookie(&signer, junk, 110).is_empty());
        }
    }
}
