//! HTTP routes: the client script, live view pages (first paint), the CSRF
//! guard for unsafe methods, and error pages. Login and logout are in
//! `login.rs`.

use std::sync::Arc;

use warp::http::{header, Response, StatusCode};
use warp::path::FullPath;
use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection};

use super::extensions::form_csrf_token;
use super::AppInner;
use crate::auth::{csrf, safe_next_path, MountToken};
use crate::live::{render_page, MountRefusal};
use crate::security::sanitize_for_log;
use crate::view::Ctx;

/// The embedded client (no build step).
pub const DJUST_JS: &str = include_str!("../../static/djust.js");

pub(crate) fn html_response(status: StatusCode, body: String) -> WarpResponse {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

pub(crate) fn redirect(to: &str, cookie: Option<String>) -> WarpResponse {
    let mut response = Response::new(warp::hyper::body::Bytes::new().into());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let location = header::HeaderValue::from_str(&safe_next_path(to))
        .unwrap_or(header::HeaderValue::from_static("/"));
    response.headers_mut().insert(header::LOCATION, location);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if let Some(value) = cookie.and_then(|cookie| header::HeaderValue::from_str(&cookie).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `login_url?next=<path>`.
pub(crate) fn login_redirect_target(login_url: &str, next: &str) -> String {
    let next = safe_next_path(next);
    let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{login_url}?next={encoded}")
}

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
    let Some(factory) = inner.pages.get(path.as_str()).copied() else {
        return Err(warp::reject::not_found());
    };
    let meta = factory.meta();
    let url = if query.is_empty() {
        path.as_str().to_owned()
    } else {
        format!("{}?{}", path.as_str(), query)
    };
    let (session, identity) = inner.resolve(cookie.as_deref()).await;
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
        .with_csrf_token(session.as_ref().map(|s| s.csrf_token.clone())),
    );
    match render_page(factory, ctx, &inner.config.login_url).await {
        Ok(view_html) => {
            let token = MountToken::new(
                meta.name,
                session_id.unwrap_or_default(),
                user_id,
                now_unix(),
            )
            .encode(&inner.signer);
            let title = meta.type_name;
            Ok(html_response(
                StatusCode::OK,
                inner.layout.live_page(title, meta.name, &token, &view_html),
            ))
        }
        Err(MountRefusal::LoginRequired { login_url }) => {
            Ok(redirect(&login_redirect_target(&login_url, &url), None))
        }
        Err(MountRefusal::PermissionDenied) => Ok(html_response(
            StatusCode::FORBIDDEN,
            inner.layout.message_page(
                "Permission denied",
                "You do not have permission to view this page.",
            ),
        )),
        Err(MountRefusal::Failed(_)) => Ok(html_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            inner.layout.message_page(
                "Something went wrong",
                "The page could not be rendered. Please try again.",
            ),
        )),
    }
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
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

impl super::AppInner {
    /// Used by the socket when mount needs a login: `login_url?next=...`.
    pub(crate) fn login_target(&self, login_url: &str, next: &str) -> String {
        login_redirect_target(login_url, next)
    }
}
