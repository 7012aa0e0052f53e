//! Small HTTP replies shared by the routes: an HTML page, a 303, the clock.

use warp::http::{header, Response, StatusCode};
use warp::reply::Response as WarpResponse;

use crate::auth::safe_next_path;

/// An HTML page with `status`, never cached.
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

/// A 303 to `to` (made a safe same-origin path), optionally setting a cookie.
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

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
