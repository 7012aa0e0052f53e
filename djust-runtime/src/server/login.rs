//! `GET /login`, `POST /login` and `POST /logout`.
//!
//! Showing the login form stores nothing on the server: a visitor without a
//! session gets a stateless double-submit CSRF token (a signed random value
//! in an `HttpOnly` cookie, its keyed hash in the form); a session is
//! created only when a login succeeds, with a fresh id (an existing session
//! is rotated, never reused).
//!
//! A login attempt meets, in order, before any password is hashed: the
//! CSRF check (403); the process-wide attempt budget
//! (`DJUST_LOGIN_PER_MINUTE`, 503); the budget of the client address
//! (`DJUST_LOGIN_PER_IP_PER_MINUTE`, 429) and of the user name
//! (`DJUST_LOGIN_PER_USER_PER_MINUTE`, 429), both shared through Redis when
//! it is configured; admission to hashing (`DJUST_LOGIN_CONCURRENCY` at
//! once, `DJUST_LOGIN_QUEUE` waiting, 503 beyond). Every refusal carries
//! `Retry-After`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection};

use super::extensions::remote;
use super::http::{csrf_failure, with_inner, AuthDisabled};
use super::page::{login_form_html, LoginForm};
use super::reply::{html_response, redirect};
use super::AppInner;
use crate::auth::csrf::{self, DoubleSubmit};
use crate::auth::safe_next_path;
use crate::limits::{client_ip, login_ip_key, login_user_key, LogThrottle, ThrottleRefusal};
use crate::security::sanitize_for_log;
use crate::session::cookie_value;

type Form = HashMap<String, String>;

/// Longest `Retry-After` sent, in seconds.
const MAX_RETRY_AFTER_SECS: u64 = 3600;

/// One log line a second for refused logins.
static REFUSED: LogThrottle = LogThrottle::new(Duration::from_secs(1));

/// `GET /login`, `POST /login`, `POST /logout`.
pub(crate) fn auth_routes(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    let form_limit = u64::try_from(inner.config.http_max_form_bytes).unwrap_or(u64::MAX);
    let login_page = warp::path!("login")
        .and(warp::get())
        .and(
            warp::query::<HashMap<String, String>>()
                .or(warp::any().map(HashMap::new))
                .unify(),
        )
        .and(warp::header::optional::<String>("cookie"))
        .and(with_inner(inner.clone()))
        .and_then(
            |query: HashMap<String, String>, cookie: Option<String>, inner: Arc<AppInner>| async move {
                let next = query.get("next").map(String::as_str).unwrap_or("/");
                show_login(&inner, cookie.as_deref(), next, Shown::Form).await
            },
        );
    let login_post = warp::path!("login")
        .and(warp::post())
        .and(warp::body::content_length_limit(form_limit))
        .and(warp::body::form::<Form>())
        .and(warp::header::optional::<String>("cookie"))
        .and(remote())
        .and(warp::header::optional::<String>("x-forwarded-for"))
        .and(with_inner(inner.clone()))
        .and_then(login_submit);
    let logout_post = warp::path!("logout")
        .and(warp::post())
        .and(warp::body::content_length_limit(form_limit))
        .and(warp::body::form::<Form>())
        .and(warp::header::optional::<String>("cookie"))
        .and(with_inner(inner))
        .and_then(logout_submit);
    login_page.or(login_post).unify().or(logout_post).unify()
}

/// What the login page shows besides the form.
enum Shown {
    /// The empty form (200).
    Form,
    /// The form with an error (`status`), and `Retry-After` when set.
    Error {
        status: StatusCode,
        message: String,
        username: String,
        retry_after: Option<Duration>,
    },
}

/// The name of the double-submit cookie on this site. A `__Host-` cookie
/// must have `Path=/`, so under a path-prefix tenant (several tenants on
/// one host) it cannot be scoped by path: it is named per tenant instead
/// (`__Host-djust_csrf-acme`), so one tenant's login page does not replace
/// another's cookie. Its value is signed with the tenant's key either way.
fn csrf_cookie_name(inner: &AppInner) -> std::borrow::Cow<'static, str> {
    if !inner.cookie.secure {
        return csrf::COOKIE.into();
    }
    match crate::tenant::current() {
        Some(tenant) if tenant.base_path().is_some() => {
            format!("{}-{}", csrf::SECURE_COOKIE, tenant.id()).into()
        }
        _ => csrf::SECURE_COOKIE.into(),
    }
}

/// The login page. Its CSRF token is the session's when the visitor has
/// one, else the double-submit token of the visitor's cookie (a new
/// cookie when it has none); nothing is stored either way.
async fn show_login(
    inner: &AppInner,
    cookie: Option<&str>,
    next: &str,
    shown: Shown,
) -> Result<WarpResponse, Rejection> {
    if inner.auth.is_none() {
        return Err(warp::reject::custom(AuthDisabled));
    }
    let (session, _) = inner.resolve(cookie).await;
    let mut new_cookie = None;
    let csrf_token = match session {
        Some(session) => session.csrf_token,
        None => {
            let existing = cookie
                .and_then(|header| cookie_value(header, &csrf_cookie_name(inner)))
                .and_then(|value| DoubleSubmit::token_for(&inner.signer(), value));
            match existing {
                Some(token) => token,
                None => {
                    let (value, token) = DoubleSubmit::issue(&inner.signer());
                    let options = crate::session::CookieOptions {
                        name: csrf_cookie_name(inner).into_owned(),
                        ..inner.cookie.clone()
                    };
                    new_cookie = crate::session::set_cookie_header(&options, &value).ok();
                    token
                }
            }
        }
    };
    let (status, error, username, retry_after) = match shown {
        Shown::Form => (StatusCode::OK, None, String::new(), None),
        Shown::Error {
            status,
            message,
            username,
            retry_after,
        } => (status, Some(message), username, retry_after),
    };
    let form = LoginForm {
        csrf_token,
        next: safe_next_path(next),
        username,
        error,
        note_html: inner.login_note_html.clone(),
    };
    let mut response = html_response(status, inner.layout.page("Log in", &login_form_html(&form)));
    if let Some(value) = new_cookie.and_then(|cookie| HeaderValue::from_str(&cookie).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    if let Some(wait) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after_value(wait));
    }
    Ok(response)
}

/// Whole seconds, rounded up, between 1 and [`MAX_RETRY_AFTER_SECS`].
fn retry_after_value(wait: Duration) -> HeaderValue {
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .clamp(1, MAX_RETRY_AFTER_SECS);
    HeaderValue::from(secs)
}

/// Why a login was refused before hashing.
enum Refused {
    /// A budget (of the address or the user name) is spent: 429.
    Throttled(Duration),
    /// The process is busy or its shared store unreachable: 503.
    Busy(Duration),
}

impl Refused {
    fn from_throttle(refusal: ThrottleRefusal) -> Self {
        match refusal {
            ThrottleRefusal::Limited { retry_after } => Self::Throttled(retry_after),
            ThrottleRefusal::Unavailable => Self::Busy(Duration::from_secs(1)),
        }
    }
}

/// Every check a login passes before its password is hashed.
async fn admit_login(
    inner: &AppInner,
    ip: std::net::IpAddr,
    username: &str,
) -> Result<crate::limits::LoginTicket, Refused> {
    let config = &inner.config;
    if let Err(refusal) = inner
        .login_global
        .attempt_now("global", config.login_per_minute)
    {
        return Err(match refusal {
            ThrottleRefusal::Limited { retry_after } => Refused::Busy(retry_after),
            ThrottleRefusal::Unavailable => Refused::Busy(Duration::from_secs(1)),
        });
    }
    inner
        .login_throttle
        .attempt(&login_ip_key(ip), config.login_per_ip_per_minute)
        .await
        .map_err(Refused::from_throttle)?;
    inner
        .login_throttle
        .attempt(&login_user_key(username), config.login_per_user_per_minute)
        .await
        .map_err(Refused::from_throttle)?;
    inner
        .login_gate
        .try_enter()
        .ok_or(Refused::Busy(Duration::from_secs(1)))
}

async fn login_submit(
    form: Form,
    cookie: Option<String>,
    peer: Option<SocketAddr>,
    forwarded_for: Option<String>,
    inner: Arc<AppInner>,
) -> Result<WarpResponse, Rejection> {
    let Some(auth) = inner.auth.clone() else {
        return Err(warp::reject::custom(AuthDisabled));
    };
    let (session, _) = inner.resolve(cookie.as_deref()).await;
    let submitted = form.get(csrf::FORM_FIELD).map(String::as_str);
    let csrf_ok = match &session {
        Some(session) => csrf::verify(&session.csrf_token, submitted),
        None => DoubleSubmit::verify(
            &inner.signer(),
            cookie
                .as_deref()
                .and_then(|header| cookie_value(header, &csrf_cookie_name(&inner))),
            submitted,
        ),
    };
    if !csrf_ok {
        tracing::warn!("login refused: CSRF token missing or wrong");
        return Ok(csrf_failure(&inner));
    }
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next_path(form.get("next").map(String::as_str).unwrap_or("/"));
    let peer = peer.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let ip = client_ip(peer, forwarded_for.as_deref(), inner.config.trusted_proxies);
    let ticket = match admit_login(&inner, ip, &username).await {
        Ok(ticket) => ticket,
        Err(refused) => {
            let (status, message, wait) = match refused {
                Refused::Throttled(wait) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many login attempts. Please wait before trying again.",
                    wait,
                ),
                Refused::Busy(wait) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Logging in is busy right now. Please try again in a moment.",
                    wait,
                ),
            };
            if let Some(suppressed) = REFUSED.should_log() {
                tracing::warn!(%ip, user = %sanitize_for_log(&username), status = status.as_u16(), suppressed, "login refused before hashing");
            }
            let shown = Shown::Error {
                status,
                message: message.to_owned(),
                username,
                retry_after: Some(wait),
            };
            return show_login(&inner, cookie.as_deref(), &next, shown).await;
        }
    };
    let permit = ticket.ready().await;
    let user = auth.authenticate(&username, &password).await;
    drop(permit);
    let failed = |message: &str| Shown::Error {
        status: StatusCode::UNAUTHORIZED,
        message: message.to_owned(),
        username: username.clone(),
        retry_after: None,
    };
    match user {
        Some(user) => {
            let old_session = session.as_ref().map(|session| session.id.as_str());
            match crate::session::login(inner.sessions.as_ref(), old_session, &user).await {
                Ok(new_session) => {
                    tracing::info!(user = %sanitize_for_log(&user.username), "login");
                    Ok(redirect(&next, inner.session_cookie(&new_session.id)))
                }
                Err(error) => {
                    tracing::warn!(error = %error, "login failed in the session store");
                    let shown = failed("Logging in is not possible right now. Please try again.");
                    show_login(&inner, cookie.as_deref(), &next, shown).await
                }
            }
        }
        None => {
            tracing::info!(user = %sanitize_for_log(&username), "login refused: bad credentials");
            let shown = failed("Invalid username or password.");
            show_login(&inner, cookie.as_deref(), &next, shown).await
        }
    }
}

async fn logout_submit(
    form: Form,
    cookie: Option<String>,
    inner: Arc<AppInner>,
) -> Result<WarpResponse, Rejection> {
    let (session, _) = inner.resolve(cookie.as_deref()).await;
    let Some(session) = session.filter(|session| {
        csrf::verify(
            &session.csrf_token,
            form.get(csrf::FORM_FIELD).map(String::as_str),
        )
    }) else {
        return Ok(csrf_failure(&inner));
    };
    match crate::session::logout(inner.sessions.as_ref(), &session.id).await {
        Ok(user) => tracing::info!(user = ?user.map(|u| sanitize_for_log(&u)), "logout"),
        Err(error) => tracing::error!(error = %error, "logout could not reach the session store"),
    }
    inner.revoke(&session.id).await;
    let clear = crate::session::clear_cookie_header(&inner.cookie).ok();
    Ok(redirect(&inner.config.login_url, clear))
}

#[cfg(test)]
mod tests {
    use super::retry_after_value;
    use std::time::Duration;

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_bounded() {
        for (wait, expected) in [
            (Duration::ZERO, "1"),
            (Duration::from_millis(1), "1"),
            (Duration::from_millis(1500), "2"),
            (Duration::from_secs(12), "12"),
            (Duration::MAX, "3600"),
        ] {
            assert_eq!(retry_after_value(wait), expected, "{wait:?}");
        }
    }
}
