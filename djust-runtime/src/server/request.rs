//! One request between hyper and the routes: the checks that run before
//! any route does and need no route to know them.
//!
//! * the connection's peer address is handed to the routes (the
//!   `PeerAddr` extension; `warp::addr::remote()` does not work here);
//! * behind trusted proxies, the per-address cap counts requests in
//!   progress per forwarded client address (429 beyond it);
//! * with tenancy, the tenant is resolved before anything else (404
//!   without a known one); under a path prefix the URI loses it before
//!   routing and the response's `Location` and cookies get it back
//!   (`path_prefix.rs`);
//! * a declared body above `DJUST_HTTP_MAX_BODY_BYTES` is refused (413)
//!   before a byte of it is read; every body is cut at that size and at
//!   `DJUST_HTTP_BODY_TIMEOUT_SECS` after the request started, answered 413
//!   or 408 whatever the route made of the error;
//! * an urlencoded form with an unsafe method and no `X-CSRF-Token` header
//!   is read (at most `DJUST_HTTP_MAX_FORM_BYTES`) so the CSRF guard of
//!   `App::route` routes can check its `csrf_token` field; the route still
//!   receives the whole body;
//! * a `101 Switching Protocols` answer hands the connection to the
//!   WebSocket: from then on no HTTP deadline applies to it;
//! * the request counts as in progress until hyper has written the
//!   response, which is what the idle timeout and eviction look at.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use tokio::time::Instant;
use tower_service::Service as _;
use warp::filters::BoxedFilter;
use warp::http::{header, HeaderValue, Method, Request, Response, StatusCode};

use super::body::{AnyBody, Bounded, BoxError, Cut, CutFlag, Tracked};
use super::conn_table::Requests;
use super::extensions::{FormCsrfToken, PeerAddr};
use super::{path_prefix, AppInner};
use crate::auth::csrf;
use crate::limits::{client_ip, IpTracker};

/// The routes as one warp filter.
pub(crate) type Routes = BoxedFilter<(warp::reply::Response,)>;

/// The service of one connection.
pub(crate) struct RequestService {
    pub(crate) app: Arc<AppInner>,
    pub(crate) routes: Routes,
    pub(crate) requests: Requests,
    pub(crate) peer: SocketAddr,
    /// The per-address request cap behind trusted proxies (`None` without
    /// proxies: the connection cap counts the peer instead).
    pub(crate) forwarded: Option<IpTracker>,
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<Tracked>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for RequestService {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let guard = self.requests.start();
        let app = Arc::clone(&self.app);
        let routes = self.routes.clone();
        let requests = self.requests.clone();
        let peer = self.peer;
        let forwarded = self.forwarded.clone();
        Box::pin(async move {
            let response = handle(&app, routes, &requests, peer, forwarded, request).await;
            Ok(response.map(|body| Tracked::new(body, Some(guard))))
        })
    }
}

async fn handle(
    app: &AppInner,
    routes: Routes,
    requests: &Requests,
    peer: SocketAddr,
    forwarded: Option<IpTracker>,
    mut request: Request<Incoming>,
) -> Response<AnyBody> {
    let started = Instant::now();
    let config = &app.config;
    request.extensions_mut().insert(PeerAddr(peer));
    let _forwarded_slot = match &forwarded {
        Some(tracker) => {
            let joined = joined_header(request.headers(), "x-forwarded-for");
            let ip = client_ip(peer, joined.as_deref(), config.trusted_proxies);
            match tracker.try_acquire(ip) {
                Ok(slot) => Some(slot),
                Err(_) => {
                    tracing::debug!(%ip, "HTTP request refused: per-address limit (forwarded)");
                    return refusal(app, Refusal::TooManyRequests);
                }
            }
        }
        None => None,
    };
    // The tenant first: a request for no known site gets nothing else.
    let tenant = match &app.tenancy {
        Some(tenancy) => {
            let headers = request.headers();
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok());
            let lookup = |name: &str| joined_header(headers, name);
            let path = request.uri().path();
            let (tenant, app_path) = match tenancy.resolve_request(host, path, &lookup) {
                Ok(resolved) => (resolved.tenant, resolved.app_path.map(str::to_owned)),
                Err(error) => {
                    tracing::debug!(reason = %error, "HTTP request refused: tenant");
                    return refusal(app, Refusal::UnknownTenant);
                }
            };
            if let Some(base) = tenant.base_path() {
                // The app sees its own paths: the prefix is put back on
                // the way out (`path_prefix.rs`).
                let Some(app_path) = app_path else {
                    let to = path_prefix::slash_redirect_target(base, request.uri().query());
                    return boxed(path_prefix::slash_redirect(&to));
                };
                if !path_prefix::strip(&mut request, &app_path) {
                    return refusal(app, Refusal::BadBody);
                }
            }
            Some(tenant)
        }
        None => None,
    };
    let base = tenant
        .as_ref()
        .and_then(|tenant| tenant.base_path().map(str::to_owned));
    let mut response =
        crate::tenant::scope(tenant, route(app, routes, requests, started, request)).await;
    if let Some(base) = base {
        path_prefix::to_browser(&mut response, &base);
    }
    response
}

/// A small reply as the body type of the routes.
fn boxed(response: Response<String>) -> Response<AnyBody> {
    let mut response = response.map(|body| {
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed()
    });
    response
        .headers_mut()
        .extend(super::page::security_headers());
    response
}

/// The request's body limits, its form token, then the routes.
async fn route(
    app: &AppInner,
    routes: Routes,
    requests: &Requests,
    started: Instant,
    request: Request<Incoming>,
) -> Response<AnyBody> {
    let config = &app.config;
    let declared = declared_length(request.headers());
    if declared.is_some_and(|length| length > config.http_max_body_bytes as u64) {
        return refusal(app, Refusal::TooLarge);
    }
    let cut = Arc::new(CutFlag::default());
    let deadline = started + std::time::Duration::from_secs(config.http_body_timeout_secs);
    let (mut parts, body) = request.into_parts();
    let body = Bounded::new(body, config.http_max_body_bytes, deadline, Arc::clone(&cut))
        .reporting_to(requests.clone());
    let body: AnyBody = if carries_form_token(&parts.method, &parts.headers) {
        if declared.is_some_and(|length| length > config.http_max_form_bytes as u64) {
            return refusal(app, Refusal::TooLarge);
        }
        let form_cut = Arc::new(CutFlag::default());
        let limited = Bounded::new(
            body,
            config.http_max_form_bytes,
            deadline,
            Arc::clone(&form_cut),
        );
        let bytes = match limited.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return match form_cut.get().or(cut.get()) {
                    Some(Cut::Timeout) => refusal(app, Refusal::BodyTimeout),
                    Some(Cut::TooLarge) => refusal(app, Refusal::TooLarge),
                    None => refusal(app, Refusal::BadBody),
                }
            }
        };
        if let Some(token) = form_field(&bytes, csrf::FORM_FIELD) {
            parts.extensions.insert(FormCsrfToken(token));
        }
        Full::new(bytes)
            .map_err(|never: Infallible| match never {})
            .boxed()
    } else {
        body.boxed()
    };
    let request = Request::from_parts(parts, body);
    let response = match warp::service(routes).call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    match cut.get() {
        Some(Cut::TooLarge) => return refusal(app, Refusal::TooLarge),
        Some(Cut::Timeout) => return refusal(app, Refusal::BodyTimeout),
        None => {}
    }
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        requests.upgraded();
    }
    response.map(|body| body.map_err(|error| Box::new(error) as BoxError).boxed())
}

/// Answers given before (or instead of) the routes.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    TooLarge,
    BodyTimeout,
    BadBody,
    TooManyRequests,
    UnknownTenant,
}

fn refusal(app: &AppInner, refusal: Refusal) -> Response<AnyBody> {
    let (status, title, message) = match refusal {
        Refusal::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The request body is too large.",
        ),
        Refusal::BodyTimeout => (
            StatusCode::REQUEST_TIMEOUT,
            "Request timeout",
            "The request body did not arrive in time.",
        ),
        Refusal::BadBody => (
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The request could not be understood.",
        ),
        Refusal::TooManyRequests => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Too many requests from your address at once. Please try again.",
        ),
        Refusal::UnknownTenant => (StatusCode::NOT_FOUND, "Not found", "There is no such site."),
    };
    let page = super::reply::html_response(status, app.layout.message_page(title, message));
    let mut response = page.map(|body| body.map_err(|error| Box::new(error) as BoxError).boxed());
    let headers = response.headers_mut();
    headers.extend(super::page::security_headers());
    match refusal {
        Refusal::TooManyRequests => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        Refusal::UnknownTenant => {}
        // The body was not (fully) read: the connection cannot carry
        // another request.
        Refusal::TooLarge | Refusal::BodyTimeout | Refusal::BadBody => {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    response
}

/// The declared `Content-Length`, if one valid value is given.
fn declared_length(headers: &header::HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()?.trim().parse().ok()
}

/// Whether the request is a form whose `csrf_token` field the CSRF guard
/// may need: an unsafe method, an urlencoded body, no `X-CSRF-Token`.
fn carries_form_token(method: &Method, headers: &header::HeaderMap) -> bool {
    if method.is_safe() || headers.contains_key(csrf::HEADER) {
        return false;
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The first value of field `name` in an urlencoded body.
fn form_field(body: &Bytes, name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Every value of header `name`, joined with `,` in order.
fn joined_header(headers: &header::HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unsafe_urlencoded_forms_without_the_header_are_read() {
        let mut form = header::HeaderMap::new();
        form.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=utf-8"),
        );
        assert!(carries_form_token(&Method::POST, &form));
        assert!(carries_form_token(&Method::DELETE, &form));
        assert!(!carries_form_token(&Method::GET, &form));
        let mut with_header = form.clone();
        with_header.insert(csrf::HEADER, HeaderValue::from_static("token"));
        assert!(!carries_form_token(&Method::POST, &with_header));
        let mut json = header::HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!carries_form_token(&Method::POST, &json));
        assert!(!carries_form_token(
            &Method::POST,
            &header::HeaderMap::new()
        ));
    }

    #[test]
    fn form_fields_and_lengths_are_read_strictly() {
        let body = Bytes::from_static(b"a=1&csrf_token=first%2Bone&csrf_token=second");
        assert_eq!(
            form_field(&body, "csrf_token").as_deref(),
            Some("first+one")
        );
        assert_eq!(
            form_field(&Bytes::from_static(b"%ff%fe=\x00"), "csrf_token"),
            None
        );
        let mut headers = header::HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static(" 42 "));
        assert_eq!(declared_length(&headers), Some(42));
        headers.append(header::CONTENT_LENGTH, HeaderValue::from_static("42"));
        assert_eq!(
            declared_length(&headers),
            None,
            "two values: hyper refuses those"
        );
        for bad in ["-1", "1e3", "abc", "18446744073709551616"] {
            let mut headers = header::HeaderMap::new();
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static(bad));
            assert_eq!(declared_length(&headers), None, "{bad}");
        }
    }
}
