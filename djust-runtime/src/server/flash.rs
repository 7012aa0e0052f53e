//! `GET /djust/flash?t=<link>`: turns a signed flash link (see
//! [`crate::live::flash`]) into the flash cookie and redirects to the page
//! it names, whose first paint shows the messages and clears the cookie.

use std::sync::Arc;

use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection};

use super::reply::{now_unix, redirect};
use super::AppInner;
use crate::auth::safe_next_path;
use crate::live::flash::{
    flash_cookie_value, open_flash_link, FLASH_COOKIE, FLASH_COOKIE_TTL_SECS,
};
use crate::session::{clear_cookie_header, set_cookie_header, CookieOptions};
use crate::view::Flash;

/// The cookie options of the flash cookie (the session cookie's `Secure`).
fn flash_cookie_options(inner: &AppInner, max_age: u64) -> CookieOptions {
    CookieOptions {
        name: FLASH_COOKIE.to_owned(),
        secure: inner.cookie.secure,
        max_age: Some(max_age),
    }
}

/// `Set-Cookie` carrying `flash` to the next page.
pub(crate) fn set_flash_cookie(inner: &AppInner, flash: &[Flash]) -> Option<String> {
    let value = flash_cookie_value(&inner.signer(), flash, now_unix());
    set_cookie_header(&flash_cookie_options(inner, FLASH_COOKIE_TTL_SECS), &value).ok()
}

/// `Set-Cookie` deleting the flash cookie (it was read).
pub(crate) fn clear_flash_cookie(inner: &AppInner) -> Option<String> {
    clear_cookie_header(&flash_cookie_options(inner, 0)).ok()
}

/// The route.
pub(crate) fn route(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    warp::path!("djust" / "flash")
        .and(warp::get())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::optional::<String>("cookie"))
        .and(warp::any().map(move || inner.clone()))
        .then(
            |query: String, cookie: Option<String>, inner: Arc<AppInner>| async move {
                let token = form_urlencoded::parse(query.as_bytes())
                    .find(|(key, _)| key == "t")
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default();
                let (session, _) = inner.resolve(cookie.as_deref()).await;
                let session_id = session.as_ref().map(|s| s.id.as_str());
                let opened = open_flash_link(&inner.signer(), &token, session_id, now_unix());
                let (next, cookie) = match opened {
                    Some((next, flash)) => {
                        (safe_next_path(&next), set_flash_cookie(&inner, &flash))
                    }
                    None => {
                        tracing::info!("flash link refused (forged, expired or another session's)");
                        ("/".to_owned(), None)
                    }
                };
                redirect(&next, cookie)
            },
        )
}
