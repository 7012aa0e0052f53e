//! HTTP routes: the client script, live view pages (first paint), login and
//! logout, the CSRF guard for unsafe methods, and error pages.

use std::collections::HashMap;
use std::sync::Arc;

use warp::http::{header, Response, StatusCode};
use warp::path::FullPath;
use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection};

use super::flash::clear_flash_cookie;
use super::page::{login_form_html, LivePage, LoginForm};
use super::reply::{html_response, now_unix, redirect};
use super::AppInner;
use crate::auth::{csrf, login_redirect_target, safe_next_path, MountToken};
use crate::live::flash::{flash_link, open_flash_cookie, FLASH_COOKIE};
use crate::live::{render_page, MountRefusal, MountRequest};
use crate::security::sanitize_for_log;
use crate::view::flash::push_flash;
use crate::view::{Ctx, Params};

/// The embedded client (no build step).
pub const DJUST_JS: &str = include_str!("../../static/djust.js");

/// Largest accepted form body (login, logout).
const MAX_FORM_BYTES: u64 = 16 * 1024;

fn with_inner(
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
    // Flash messages carried across the last full page load.
    let carried = cookie
        .as_deref()
        .and_then(|header| crate::session::cookie_value(header, FLASH_COOKIE))
        .map(|value| open_flash_cookie(&inner.signer, value, now_unix()));
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
                    &inner.signer,
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
            let token = MountToken::new(
                meta.name,
                session_id.unwrap_or_default(),
                user_id,
                now_unix(),
            )
            .encode(&inner.signer);
            let live_page = LivePage {
                view_title: &page.title,
                view: meta.name,
                token: &token,
                view_html: &page.html,
                flash: &flash,
                ctx: &ctx,
            };
            match inner.layout.live_page(live_page) {
                Ok(body) => {
                    let mut response = html_response(StatusCode::OK, body);
                    let clear = carried
                        .is_some()
                        .then(|| clear_flash_cookie(&inner))
                        .flatten();
                    if let Some(value) = clear.and_then(|c| header::HeaderValue::from_str(&c).ok())
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
struct AuthDisabled;
impl warp::reject::Reject for AuthDisabled {}

/// Before user routes: unsafe methods need the session's CSRF token in `X-CSRF-Token`.
pub(crate) fn csrf_guard(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::method()
        .and(warp::header::optional::<String>(csrf::HEADER))
        .and(warp::header::optional::<String>("cookie"))
        .and(with_inner(inner))
        .and_then(
            |method: warp::http::Method,
             token: Option<String>,
             cookie: Option<String>,
             inner: Arc<AppInner>| async move {
                if method.is_safe() {
                    return Ok(());
                }
                let (session, _) = inner.resolve(cookie.as_deref()).await;
                match session {
                    Some(session) if csrf::verify(&session.csrf_token, token.as_deref()) => Ok(()),
                    _ => Err(warp::reject::custom(CsrfRejected)),
                }
            },
        )
        .untuple_one()
}

type Form = HashMap<String, String>;

/// `GET /login`, `POST /login`, `POST /logout`.
pub(crate) fn auth_routes(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    let login_page = warp::path!("login")
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>().or(warp::any().map(HashMap::new)).unify())
        .and(warp::header::optional::<String>("cookie"))
        .and(with_inner(inner.clone()))
        .and_then(|query: HashMap<String, String>, cookie: Option<String>, inner: Arc<AppInner>| async move {
            show_login(inner, cookie, query.get("next").map(String::as_str).unwrap_or("/"), None, String::new()).await
        });
    let form = warp::body::content_length_limit(MAX_FORM_BYTES).and(warp::body::form::<Form>());
    let login_post = warp::path!("login")
        .and(warp::post())
        .and(form)
        .and(warp::header::optional::<String>("cookie"))
        .and(with_inner(inner.clone()))
        .and_then(login_submit);
    let form = warp::body::content_length_limit(MAX_FORM_BYTES).and(warp::body::form::<Form>());
    let logout_post = warp::path!("logout")
        .and(warp::post())
        .and(form)
        .and(warp::header::optional::<String>("cookie"))
        .and(with_inner(inner))
        .and_then(logout_submit);
    login_page.or(login_post).unify().or(logout_post).unify()
}

async fn show_login(
    inner: Arc<AppInner>,
    cookie: Option<String>,
    next: &str,
    error: Option<String>,
    username: String,
) -> Result<WarpResponse, Rejection> {
    if inner.auth.is_none() {
        return Err(warp::reject::custom(AuthDisabled));
    }
    let (session, _) = inner.resolve(cookie.as_deref()).await;
    let (session, new_cookie) = match session {
        Some(session) => (session, None),
        None => match inner.sessions.create().await {
            Ok(session) => {
                let cookie = inner.session_cookie(&session.id);
                (session, cookie)
            }
            Err(store_error) => {
                tracing::error!(error = %store_error, "cannot create a session for the login page");
                return Ok(html_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    inner.layout.message_page(
                        "Unavailable",
                        "Logging in is not possible right now. Please try again.",
                    ),
                ));
            }
        },
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let form = LoginForm {
        csrf_token: session.csrf_token.clone(),
        next: safe_next_path(next),
        username,
        error,
        note_html: inner.login_note_html.clone(),
    };
    let mut response = html_response(status, inner.layout.page("Log in", &login_form_html(&form)));
    if let Some(value) = new_cookie.and_then(|cookie| header::HeaderValue::from_str(&cookie).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

fn csrf_failure(inner: &AppInner) -> WarpResponse {
    html_response(StatusCode::FORBIDDEN, inner.layout.message_page("Forbidden (CSRF check failed)", "The form was not submitted from this site or your session expired. Go back, reload the page and try again."))
}

async fn login_submit(
    form: Form,
    cookie: Option<String>,
    inner: Arc<AppInner>,
) -> Result<WarpResponse, Rejection> {
    let Some(auth) = inner.auth.clone() else {
        return Err(warp::reject::custom(AuthDisabled));
    };
    let (session, _) = inner.resolve(cookie.as_deref()).await;
    let Some(session) = session.filter(|session| {
        csrf::verify(
            &session.csrf_token,
            form.get(csrf::FORM_FIELD).map(String::as_str),
        )
    }) else {
        tracing::warn!("login refused: CSRF token missing or wrong");
        return Ok(csrf_failure(&inner));
    };
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next_path(form.get("next").map(String::as_str).unwrap_or("/"));
    match auth.authenticate(&username, &password).await {
        Some(user) => {
            match crate::session::login(inner.sessions.as_ref(), Some(&session.id), &user).await {
                Ok(new_session) => {
                    tracing::info!(user = %sanitize_for_log(&user.username), "login");
                    Ok(redirect(&next, inner.session_cookie(&new_session.id)))
                }
                Err(error) => {
                    tracing::warn!(error = %error, "login failed in the session store");
                    show_login(
                        inner,
                        cookie,
                        &next,
                        Some("Logging in is not possible right now. Please try again.".into()),
                        username,
                    )
                    .await
                }
            }
        }
        None => {
            tracing::info!(user = %sanitize_for_log(&username), "login refused: bad credentials");
            show_login(
                inner,
                cookie,
                &next,
                Some("Invalid username or password.".into()),
                username,
            )
            .await
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
