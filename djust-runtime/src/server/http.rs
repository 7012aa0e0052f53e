//! HTTP routes: the client script, live view pages (first paint), the CSRF
//! guard for unsafe methods, and error pages. Login and logout are in
//! `login.rs`.

use std::sync::Arc;

use warp::http::{header, Response, StatusCode};
use warp::path::FullPath;
use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection};

use super::extensions::form_csrf_token;
use super::flash::clear_flash_cookie;
use super::page::LivePage;
use super::reply::{html_response, now_unix, redirect};
use super::AppInner;
use crate::auth::{csrf, login_redirect_target, MountToken};
use crate::live::flash::{flash_link, open_flash_cookie, FLASH_COOKIE};
use crate::live::{render_page, MountRefusal, MountRequest};
use crate::security::sanitize_for_log;
use crate::view::flash::push_flash;
use crate::view::{Ctx, Params};

/// The embedded client (no build step).
pub const DJUST_JS: &str = include_str!("../../static/djust.js");

pub(crate) fn with_inner(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (Arc<AppInner>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || inner.clone())
}

/// `GET /djust/djust.js`.
pub(crate) fn djust_js() -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    warp::path!("djust" / "djust.js").and(warp::get()).map(|| {
        let mut response = Response::new(DJUST_JS.into());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("public, max-age=300"),
        );
        response
    })
}

/// `GET <path>` of every live view: the full server-rendered page.
pub(crate) fn live_pages(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    warp::get()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::optional::<String>("cookie"))
        .and(with_inner(inner))
        .and_then(live_page)
}

async fn live_page(
    path: FullPath,
    query: String,
    cookie: Option<String>,
    inner: Arc<AppInner>,
) -> Result<WarpResponse, Rejection> {
    let url = if query.is_empty() {
        path.as_str().to_owned()
    } else {
        format!("{}?{}", path.as_str(), query)
    };
    let routes = inner.live.routes();
    let Ok(resolved) = routes.resolve(&url) else {
        return Err(warp::reject::not_found());
    };
    let factory = resolved.route.view;
    let meta = factory.meta();
    let (mut session, identity) = inner.resolve(cookie.as_deref()).await;
    let offline_handlers: Vec<&str> = meta.offline_handlers().map(|h| h.name).collect();
    // Offline actions are bound to a session (their owner tag, idempotency
    // keys, the sync endpoint's CSRF token): a visitor without one gets one.
    let mut new_session_cookie = None;
    if session.is_none() && !offline_handlers.is_empty() {
        match inner.sessions.create().await {
            Ok(created) => {
                new_session_cookie = inner.session_cookie(&created.id);
                session = Some(created);
            }
            Err(error) => {
                tracing::error!(error = %error, "session store unavailable; the page cannot queue offline actions");
            }
        }
    }
    let session_id = session.as_ref().map(|s| s.id.clone());
    let user_id = identity.user_id().map(str::to_owned);
    let ctx = Arc::new(
        Ctx::new(
            identity,
            session_id.clone(),
            url.clone(),
            None,
            inner.state.clone(),
            inner.config.debug,
        )
        .with_csrf_token(session.as_ref().map(|s| s.csrf_token.clone()))
        .with_tenant(crate::tenant::current()),
    );
    // Flash messages carried across the last full page load.
    let carried = cookie
        .as_deref()
        .and_then(|header| crate::session::cookie_value(header, FLASH_COOKIE))
        .map(|value| open_flash_cookie(&inner.signer(), value, now_unix()));
    let request = MountRequest {
        factory,
        ctx: ctx.clone(),
        params: Params::new(),
        url_params: resolved.params,
        group: Some(routes.group_of(resolved.route)),
        default_login_url: &inner.config.login_url,
    };
    let refusal = match render_page(request, inner.live.limiter.clone()).await {
        Ok(page) => {
            let mut flash = carried.clone().unwrap_or_default();
            for message in page.flash {
                push_flash(&mut flash, message);
            }
            // `mount` or `handle_params` asked to go elsewhere: a redirect.
            if let Some(navigation) = page.navigation {
                let to = flash_link(
                    &inner.signer(),
                    navigation.url(),
                    &flash,
                    session_id.as_deref(),
                    now_unix(),
                );
                let clear = carried
                    .is_some()
                    .then(|| clear_flash_cookie(&inner))
                    .flatten();
                return Ok(redirect(&to, clear));
            }
            let handlers = offline_handlers.join(" ");
            let owner = session_id
                .as_deref()
                .map(|id| crate::offline::owner_tag(&inner.signer(), id, user_id.as_deref()));
            let csrf_token = session.as_ref().map(|s| s.csrf_token.as_str());
            let offline = match (owner.as_deref(), csrf_token) {
                (Some(owner), Some(csrf_token)) if !handlers.is_empty() => {
                    Some(super::layout::OfflineRoot {
                        handlers: &handlers,
                        owner,
                        csrf_token,
                    })
                }
                _ => None,
            };
            let token = MountToken::new(
                meta.name,
                session_id.clone().unwrap_or_default(),
                user_id.clone(),
                now_unix(),
            )
            .encode(&inner.signer());
            let live_page = LivePage {
                view_title: &page.title,
                view: meta.name,
                token: &token,
                view_html: &page.html,
                flash: &flash,
                ctx: &ctx,
                offline,
            };
            match inner.layout.live_page(live_page) {
                Ok(body) => {
                    let mut response = html_response(StatusCode::OK, body);
                    let clear = carried
                        .is_some()
                        .then(|| clear_flash_cookie(&inner))
                        .flatten();
                    for value in [clear, new_session_cookie]
                        .into_iter()
                        .flatten()
                        .filter_map(|c| header::HeaderValue::from_str(&c).ok())
                    {
                        response.headers_mut().append(header::SET_COOKIE, value);
                    }
                    return Ok(response);
                }
                Err(panic) => {
                    tracing::error!(view = meta.name, panic = %sanitize_for_log(&panic), "the root layout panicked");
                    MountRefusal::Failed(crate::security::SafeError::RenderFailed)
                }
            }
        }
        Err(refusal) => refusal,
    };
    Ok(refused_page(&inner, refusal, &url))
}

/// The answer to a page whose view refused to mount.
fn refused_page(inner: &AppInner, refusal: MountRefusal, url: &str) -> WarpResponse {
    let (status, title, message) = match refusal {
        MountRefusal::LoginRequired { login_url } => {
            return redirect(&login_redirect_target(&login_url, url), None);
        }
        MountRefusal::PermissionDenied => (
            StatusCode::FORBIDDEN,
            "Permission denied",
            "You do not have permission to view this page.".to_owned(),
        ),
        MountRefusal::BadRequest(error) => {
            (StatusCode::BAD_REQUEST, "Bad request", format!("{error}."))
        }
        MountRefusal::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing at this address.".to_owned(),
        ),
        MountRefusal::Failed(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The page could not be rendered. Please try again.".to_owned(),
        ),
    };
    html_response(status, inner.layout.message_page(title, &message))
}

/// Refused by the CSRF guard.
#[derive(Debug)]
pub(crate) struct CsrfRejected;
impl warp::reject::Reject for CsrfRejected {}

/// Login/logout need an auth backend.
#[derive(Debug)]
pub(crate) struct AuthDisabled;
impl warp::reject::Reject for AuthDisabled {}

/// Before user routes: unsafe methods need the session's CSRF token, in
/// the `X-CSRF-Token` header or in the `csrf_token` field of an urlencoded
/// form (read, bounded, by the accept loop).
pub(crate) fn csrf_guard(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::method()
        .and(warp::header::optional::<String>(csrf::HEADER))
        .and(form_csrf_token())
        .and(warp::header::optional::<String>("cookie"))
        .and(with_inner(inner))
        .and_then(
            |method: warp::http::Method,
             header: Option<String>,
             field: Option<String>,
             cookie: Option<String>,
             inner: Arc<AppInner>| async move {
                if method.is_safe() {
                    return Ok(());
                }
                let token = header.or(field);
                let (session, _) = inner.resolve(cookie.as_deref()).await;
                match session {
                    Some(session) if csrf::verify(&session.csrf_token, token.as_deref()) => Ok(()),
                    _ => Err(warp::reject::custom(CsrfRejected)),
                }
            },
        )
        .untuple_one()
}

pub(crate) fn csrf_failure(inner: &AppInner) -> WarpResponse {
    html_response(StatusCode::FORBIDDEN, inner.layout.message_page("Forbidden (CSRF check failed)", "The form was not submitted from this site or your session expired. Go back, reload the page and try again."))
}

/// Error pages for rejections.
pub(crate) async fn recover(
    inner: Arc<AppInner>,
    rejection: Rejection,
) -> Result<WarpResponse, std::convert::Infallible> {
    let (status, title, message) = if rejection.is_not_found()
        || rejection.find::<AuthDisabled>().is_some()
    {
        (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing at this address.",
        )
    } else if rejection.find::<CsrfRejected>().is_some() {
        return Ok(csrf_failure(&inner));
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The request body is too large.",
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        (
            StatusCode::LENGTH_REQUIRED,
            "Length required",
            "The request needs a Content-Length header.",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "This address does not accept that method.",
        )
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
        || rejection.find::<warp::reject::InvalidQuery>().is_some()
        || rejection.find::<warp::reject::InvalidHeader>().is_some()
        || rejection.find::<warp::reject::MissingHeader>().is_some()
    {
        (
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The request could not be understood.",
        )
    } else {
        tracing::warn!(rejection = %sanitize_for_log(&format!("{rejection:?}")), "unhandled rejection");
        (
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The request could not be understood.",
        )
    };
    Ok(html_response(
        status,
        inner.layout.message_page(title, message),
    ))
}
