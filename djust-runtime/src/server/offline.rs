//! Offline over HTTP: `POST /djust/offline/sync`, where a service worker's
//! Background Sync (which cannot open a socket) delivers the actions the
//! page queued, and the static files of an installable app: the service
//! worker, the web app manifest, the offline page and the icon.
//!
//! The sync endpoint is the socket's replay behind an HTTP front: the
//! session cookie names the session, the `X-CSRF-Token` header must be the
//! session's token, the body is bounded (`DJUST_OFFLINE_MAX_BODY_BYTES`),
//! must be JSON no deeper than `DJUST_MAX_JSON_DEPTH` and decode into
//! [`SyncBatch`] (a typed list, unknown fields refused) of at most
//! `DJUST_OFFLINE_MAX_ACTIONS` actions. The page's view is then mounted
//! with the same checks as a page load (login, permission, `mount`,
//! `check_permissions`) and each action goes through
//! [`check_action`](crate::offline::check_action), the shared idempotency
//! keys and [`LiveSession::replay_event`]: the same dispatch as a live
//! event. The answer lists one result per action, in order.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use warp::http::{header, Response, StatusCode};
use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection};

use super::extensions::remote;
use super::http::with_inner;
use super::AppInner;
use crate::auth::csrf;
use crate::live::{json_depth_exceeds, LiveSession, MountRefusal, MountRequest};
use crate::offline::{
    check_action, duplicate, forget, record, scope, unix_ms, ActionLimits, ActionResult,
    ActionStatus, Claim, OfflineStamp, SyncBatch, STORE_UNAVAILABLE,
};
use crate::security::sanitize_for_log;
use crate::view::{Ctx, Params};

/// `Retry-After` of a batch refused because the idempotency store did not
/// answer (seconds).
const RETRY_AFTER_SECS: &str = "5";

/// The service worker (no build step): app shell cache, offline page,
/// Background Sync of the queued actions.
pub const SERVICE_WORKER_JS: &str = include_str!("../../static/djust-sw.js");
/// The page shown for a navigation while offline with no cached copy.
pub const OFFLINE_HTML: &str = include_str!("../../static/djust-offline.html");
/// The app icon of the default manifest.
pub const ICON_SVG: &str = include_str!("../../static/djust-icon.svg");

/// What the web app manifest says (see [`App::pwa`](super::App::pwa)).
#[derive(Debug, Clone)]
pub struct Pwa {
    pub(crate) name: String,
    pub(crate) short_name: String,
    pub(crate) start_url: String,
    pub(crate) theme_color: String,
    pub(crate) background_color: String,
}

impl Pwa {
    /// An installable app called `name`, starting at `/`.
    pub fn new(name: &str) -> Self {
        Pwa {
            name: name.to_owned(),
            short_name: name.chars().take(12).collect(),
            start_url: "/".to_owned(),
            theme_color: "#1f6feb".to_owned(),
            background_color: "#ffffff".to_owned(),
        }
    }

    /// The name under the icon (default: the first 12 characters of the name).
    pub fn short_name(mut self, short_name: &str) -> Self {
        self.short_name = short_name.to_owned();
        self
    }

    /// The page the installed app opens (a same-origin path; default `/`).
    pub fn start_url(mut self, path: &str) -> Self {
        self.start_url = crate::auth::safe_next_path(path);
        self
    }

    /// The theme colour (a CSS hex colour such as `#1f6feb`; others are ignored).
    pub fn theme_color(mut self, color: &str) -> Self {
        if is_hex_color(color) {
            self.theme_color = color.to_owned();
        }
        self
    }

    /// The manifest's JSON (serialised, so no value can break out of it),
    /// its URLs under `base` for a path-prefix tenant (`/t/acme`): each
    /// tenant installs as its own app.
    fn manifest(&self, base: Option<&str>) -> String {
        let url = |path: &str| crate::tenant::prefixed(base, path);
        json!({
            "name": self.name,
            "short_name": self.short_name,
            "start_url": url(&self.start_url),
            "scope": url("/"),
            "display": "standalone",
            "theme_color": self.theme_color,
            "background_color": self.background_color,
            "icons": [
                { "src": url("/djust/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any" },
            ],
        })
        .to_string()
    }
}

/// The request's path-prefix tenant's base path (`/t/acme`), if any.
fn current_base() -> Option<String> {
    crate::tenant::current().and_then(|tenant| tenant.base_path().map(str::to_owned))
}

fn is_hex_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn static_file(
    body: &'static str,
    content_type: &'static str,
    cache: &'static str,
) -> WarpResponse {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(cache),
    );
    response
}

/// `GET /djust/sw.js`, `/djust/offline.html`, `/djust/icon.svg` and, when
/// the app is installable, `/djust/manifest.webmanifest`.
pub(crate) fn files(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    let sw = warp::path!("djust" / "sw.js").and(warp::get()).map(|| {
        // Served from /djust/ but controls the whole origin (the pages).
        let mut response = static_file(
            SERVICE_WORKER_JS,
            "text/javascript; charset=utf-8",
            "no-cache",
        );
        response.headers_mut().insert(
            "service-worker-allowed",
            header::HeaderValue::from_static("/"),
        );
        response
    });
    let offline =
        warp::path!("djust" / "offline.html")
            .and(warp::get())
            .map(|| match current_base() {
                // Its links ("Try again", the icon) under the tenant's prefix
                // (a validated `/segment/id`, nothing to escape).
                Some(base) => {
                    let mut response = static_file("", "text/html; charset=utf-8", "no-cache");
                    *response.body_mut() = OFFLINE_HTML
                        .replace("href=\"/", &format!("href=\"{base}/"))
                        .into();
                    response
                }
                None => static_file(OFFLINE_HTML, "text/html; charset=utf-8", "no-cache"),
            });
    let icon = warp::path!("djust" / "icon.svg")
        .and(warp::get())
        .map(|| static_file(ICON_SVG, "image/svg+xml", "public, max-age=86400"));
    let manifest = warp::path!("djust" / "manifest.webmanifest")
        .and(warp::get())
        .and(with_inner(inner))
        .and_then(|inner: Arc<AppInner>| async move {
            let Some(pwa) = &inner.pwa else {
                return Err(warp::reject::not_found());
            };
            let mut response = Response::new(pwa.manifest(current_base().as_deref()).into());
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/manifest+json"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-cache"),
            );
            Ok::<_, Rejection>(response)
        });
    sw.or(offline).unify().or(icon).unify().or(manifest).unify()
}

/// `POST /djust/offline/sync`.
pub(crate) fn sync_route(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    let limit = u64::try_from(inner.config.offline_max_body_bytes).unwrap_or(u64::MAX);
    warp::path!("djust" / "offline" / "sync")
        .and(warp::post())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::header::optional::<String>(csrf::HEADER))
        .and(warp::header::optional::<String>("cookie"))
        .and(remote())
        .and(warp::header::optional::<String>("x-forwarded-for"))
        .and(warp::body::content_length_limit(limit))
        .and(warp::body::bytes())
        .and(with_inner(inner))
        .and_then(
            |content_type: Option<String>,
             token: Option<String>,
             cookie: Option<String>,
             peer: Option<SocketAddr>,
             forwarded_for: Option<String>,
             body: bytes::Bytes,
             inner: Arc<AppInner>| async move {
                let request = SyncRequest {
                    content_type,
                    token,
                    cookie,
                    peer,
                    forwarded_for,
                };
                Ok::<_, Rejection>(sync(&inner, request, &body).await)
            },
        )
}

struct SyncRequest {
    content_type: Option<String>,
    token: Option<String>,
    cookie: Option<String>,
    peer: Option<SocketAddr>,
    forwarded_for: Option<String>,
}

/// A JSON answer: `{"error": code, "message": ..}` or the results.
fn json_response(status: StatusCode, body: serde_json::Value) -> WarpResponse {
    let mut response = Response::new(body.to_string().into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn refusal(status: StatusCode, code: &str, message: &str) -> WarpResponse {
    json_response(status, json!({ "error": code, "message": message }))
}

async fn sync(inner: &AppInner, request: SyncRequest, body: &[u8]) -> WarpResponse {
    let is_json = request.content_type.as_deref().is_some_and(|value| {
        value
            .split(';')
            .next()
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The body must be application/json",
        );
    }
    let (session, identity) = inner.resolve(request.cookie.as_deref()).await;
    let Some(session) = session else {
        return refusal(
            StatusCode::UNAUTHORIZED,
            "no_session",
            "No session: reload the page",
        );
    };
    if !csrf::verify(&session.csrf_token, request.token.as_deref()) {
        tracing::warn!("offline sync refused: CSRF token missing or wrong");
        return refusal(
            StatusCode::FORBIDDEN,
            "csrf",
            "CSRF check failed: reload the page",
        );
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "malformed",
            "The body is not UTF-8",
        );
    };
    if json_depth_exceeds(text, inner.config.max_json_depth) {
        return refusal(
            StatusCode::BAD_REQUEST,
            "malformed",
            "The JSON is nested too deeply",
        );
    }
    let batch: SyncBatch = match serde_json::from_str(text) {
        Ok(batch) => batch,
        Err(error) => {
            tracing::info!(error = %sanitize_for_log(&error.to_string()), "offline sync: malformed batch");
            return refusal(
                StatusCode::BAD_REQUEST,
                "malformed",
                "The body must be {\"url\": string, \"actions\": [{\"event\", \"params\", \"key\", \"at\", \"owner\"}]}",
            );
        }
    };
    if batch.actions.len() > inner.config.offline_max_actions {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_actions",
            &format!(
                "At most {} actions per request",
                inner.config.offline_max_actions
            ),
        );
    }
    let routes = inner.live.routes();
    let Ok(resolved) = routes.resolve(&batch.url) else {
        return refusal(
            StatusCode::NOT_FOUND,
            "no_live_route",
            "No live view is served at this path",
        );
    };
    let factory = resolved.route.view;
    let meta = factory.meta();
    let tenant = crate::tenant::current();
    let ip = request.peer.map(|peer| {
        crate::limits::client_ip(
            peer,
            request.forwarded_for.as_deref(),
            inner.config.trusted_proxies,
        )
    });
    let user_id = identity.user_id().map(str::to_owned);
    let ctx = Arc::new(
        Ctx::new(
            identity,
            Some(session.id.clone()),
            batch.url.clone(),
            ip,
            inner.state.clone(),
            inner.config.debug,
        )
        .with_csrf_token(Some(session.csrf_token.clone()))
        .with_tenant(tenant.clone()),
    );
    let mount = MountRequest {
        factory,
        ctx,
        params: Params::new(),
        url_params: resolved.params,
        group: Some(routes.group_of(resolved.route)),
        default_login_url: &inner.config.login_url,
    };
    let mut live = match LiveSession::mount(mount, inner.live.limiter.clone()).await {
        Ok(mounted) => mounted.session,
        Err(refused) => {
            let (status, code) = match refused {
                MountRefusal::LoginRequired { .. } => (StatusCode::UNAUTHORIZED, "login_required"),
                MountRefusal::PermissionDenied => (StatusCode::FORBIDDEN, "permission_denied"),
                MountRefusal::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
                MountRefusal::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                MountRefusal::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            };
            return refusal(status, code, "The page's view could not be opened");
        }
    };
    let signer = inner.signer();
    let keys = inner.live.offline_keys.clone();
    let scope = scope(tenant.as_ref(), &session.id);
    let max_age_ms = inner.config.offline_max_age_secs.saturating_mul(1000);
    // First every action's checks and claim, so that an idempotency store
    // that does not answer refuses the whole batch before anything applies.
    let mut planned: Vec<Result<OfflineStamp, ActionResult>> =
        Vec::with_capacity(batch.actions.len());
    let mut claimed: Vec<&str> = Vec::new();
    for action in &batch.actions {
        let limits = ActionLimits {
            max_age_ms,
            now_ms: unix_ms(),
        };
        let stamp = match check_action(
            meta,
            action,
            &signer,
            Some(&session.id),
            user_id.as_deref(),
            limits,
        ) {
            Ok(stamp) => stamp,
            Err(result) => {
                tracing::info!(view = meta.name, event = %sanitize_for_log(&action.event), code = ?result.code, "offline sync: action refused");
                planned.push(Err(result));
                continue;
            }
        };
        match keys.claim(&scope, &action.key).await {
            Ok(Claim::New) => {
                claimed.push(&action.key);
                planned.push(Ok(stamp));
            }
            Ok(Claim::Seen(first)) => planned.push(Err(duplicate(&action.key, first))),
            Err(error) => {
                tracing::warn!(view = meta.name, %error, "offline sync refused: idempotency store unavailable");
                for key in claimed {
                    forget(keys.as_ref(), &scope, key).await;
                }
                let mut response = refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    STORE_UNAVAILABLE,
                    "Offline changes cannot be applied right now: none was applied; retry later",
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from_static(RETRY_AFTER_SECS),
                );
                return response;
            }
        }
    }
    let mut results = Vec::with_capacity(batch.actions.len());
    let mut broken = false;
    for (action, plan) in batch.actions.iter().zip(planned) {
        let stamp = match plan {
            Ok(stamp) => stamp,
            Err(result) => {
                results.push(result);
                continue;
            }
        };
        if broken {
            // A handler panicked: the view can no longer be trusted; the
            // rest stays queued.
            forget(keys.as_ref(), &scope, &action.key).await;
            results.push(crate::offline::refused(
                &action.key,
                ActionStatus::Retry,
                "not_attempted",
                "Not attempted: an earlier action failed",
            ));
            continue;
        }
        let (outcome, result) = live
            .replay_event(&action.event, &action.params, stamp, None)
            .await;
        record(keys.as_ref(), &scope, &action.key, result.status).await;
        broken = outcome.close;
        results.push(result);
    }
    json_response(StatusCode::OK, json!({ "results": results }))
}
