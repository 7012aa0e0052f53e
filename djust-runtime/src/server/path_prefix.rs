//! Path-prefix tenancy at the HTTP boundary
//! ([`TenantResolver::path_prefix`](crate::tenant::TenantResolver::path_prefix)):
//! the app and the framework speak the app's own paths (`/notes`), the
//! browser speaks the tenant's (`/t/acme/notes`). This module maps between
//! them where a request comes in and its response goes out:
//!
//! * the request's URI loses the prefix before routing, so routes are
//!   declared once;
//! * a `Location` that is an absolute path of the site gets the prefix
//!   back (every redirect: login, logout, flash links, `App::route`s);
//! * a cookie's `Path` is put under the prefix, so the browser sends one
//!   tenant's cookies to that tenant only. A `__Host-` cookie must keep
//!   `Path=/`: it is left alone, and the framework's own `__Host-` cookie
//!   (the login CSRF cookie) is named per tenant instead; every token in
//!   it is signed with the tenant's key anyway.
//!
//! URLs in pages are written with the prefix where they are made
//! ([`Tenant::path`](crate::tenant::Tenant::path)); djust.js reads the
//! prefix from the page and maps the URLs of the socket protocol.

use warp::http::uri::PathAndQuery;
use warp::http::{header, HeaderValue, Request, Response, StatusCode, Uri};

use crate::tenant::is_app_path;

/// The name prefix browsers hold to `Path=/`.
const HOST_PREFIX: &str = "__Host-";

/// Makes `request` ask for `app_path` (the query is kept). `false` when
/// the new URI is not valid (it always is for a path hyper accepted).
pub(crate) fn strip<B>(request: &mut Request<B>, app_path: &str) -> bool {
    let target = match request.uri().query() {
        Some(query) => format!("{app_path}?{query}"),
        None => app_path.to_owned(),
    };
    match PathAndQuery::try_from(target) {
        Ok(path_and_query) => {
            let mut parts = Uri::from(path_and_query).into_parts();
            parts.scheme = None;
            parts.authority = None;
            match Uri::from_parts(parts) {
                Ok(uri) => {
                    *request.uri_mut() = uri;
                    true
                }
                Err(_) => false,
            }
        }
        Err(_) => false,
    }
}

/// Where `/t/acme` (the prefix alone) is sent: `/t/acme/`, with its query.
pub(crate) fn slash_redirect_target(base: &str, query: Option<&str>) -> String {
    match query {
        Some(query) => format!("{base}/?{query}"),
        None => format!("{base}/"),
    }
}

/// Puts `response`'s `Location` and cookies under `base` (`/t/acme`).
pub(crate) fn to_browser<B>(response: &mut Response<B>, base: &str) {
    let headers = response.headers_mut();
    if let Some(location) = headers
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .filter(|location| is_app_path(location))
        .and_then(|location| HeaderValue::from_str(&format!("{base}{location}")).ok())
    {
        headers.insert(header::LOCATION, location);
    }
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| {
            value
                .to_str()
                .ok()
                .map(|cookie| scope_cookie(cookie, base))
                .and_then(|cookie| HeaderValue::from_str(&cookie).ok())
                .unwrap_or_else(|| value.clone())
        })
        .collect();
    if !cookies.is_empty() {
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
}

/// A `Set-Cookie` value with its `Path` under `base`: `Path=/` (or none)
/// becomes `Path=/t/acme`, `Path=/x` becomes `Path=/t/acme/x`. `__Host-`
/// cookies are returned unchanged (browsers refuse them with another path).
pub(crate) fn scope_cookie(cookie: &str, base: &str) -> String {
    let mut parts = cookie.split(';');
    let pair = parts.next().unwrap_or_default();
    if pair.trim_start().starts_with(HOST_PREFIX) {
        return cookie.to_owned();
    }
    let mut path = None;
    let mut attributes = Vec::new();
    for attribute in parts {
        let trimmed = attribute.trim();
        let is_path = trimmed
            .get(..5)
            .is_some_and(|name| name.eq_ignore_ascii_case("path="));
        if is_path {
            path = Some(trimmed[5..].trim());
        } else if !trimmed.is_empty() {
            attributes.push(trimmed);
        }
    }
    let scoped = match path {
        Some(path) if path != "/" && is_app_path(path) => format!("{base}{path}"),
        _ => base.to_owned(),
    };
    let mut out = format!("{}; Path={scoped}", pair.trim());
    for attribute in attributes {
        out.push_str("; ");
        out.push_str(attribute);
    }
    out
}

/// A `308` to the prefix with its trailing slash (`/t/acme` → `/t/acme/`).
pub(crate) fn slash_redirect(location: &str) -> Response<String> {
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_put_under_the_prefix_except_host_cookies() {
        let base = "/t/acme";
        assert_eq!(
            scope_cookie("djust_session=v; Path=/; HttpOnly; SameSite=Lax", base),
            "djust_session=v; Path=/t/acme; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            scope_cookie("a=b; path=/files; Secure", base),
            "a=b; Path=/t/acme/files; Secure"
        );
        assert_eq!(scope_cookie("a=b", base), "a=b; Path=/t/acme");
        assert_eq!(
            scope_cookie("a=b; Path=//evil; Max-Age=0", base),
            "a=b; Path=/t/acme; Max-Age=0"
        );
        assert_eq!(
            scope_cookie("a=b; Path=/x; Path=/", base),
            "a=b; Path=/t/acme",
            "the last Path wins, as in browsers"
        );
        let host = "__Host-djust_csrf-acme=v; Path=/; HttpOnly; Secure";
        assert_eq!(scope_cookie(host, base), host);
    }

    #[test]
    fn locations_of_the_site_get_the_prefix_and_others_do_not() {
        for (location, expected) in [
            ("/", "/t/acme/"),
            ("/login?next=%2Fnotes", "/t/acme/login?next=%2Fnotes"),
            ("//evil.net/", "//evil.net/"),
            ("https://example.com/", "https://example.com/"),
            ("/\\evil.net", "/\\evil.net"),
        ] {
            let mut response = Response::new(());
            response
                .headers_mut()
                .insert(header::LOCATION, HeaderValue::from_static(location));
            response
                .headers_mut()
                .append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
            response.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static("b=2; Path=/; HttpOnly"),
            );
            to_browser(&mut response, "/t/acme");
            assert_eq!(response.headers()[header::LOCATION], expected, "{location}");
            let cookies: Vec<_> = response
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .map(|value| value.to_str().unwrap_or_default().to_owned())
                .collect();
            assert_eq!(
                cookies,
                ["a=1; Path=/t/acme", "b=2; Path=/t/acme; HttpOnly"]
            );
        }
    }

    #[test]
    fn the_uri_loses_the_prefix_and_keeps_the_query() {
        let mut request = Request::new(());
        *request.uri_mut() = Uri::from_static("/t/acme/notes?x=1&y=%2F");
        assert!(strip(&mut request, "/notes"));
        assert_eq!(request.uri(), "/notes?x=1&y=%2F");
        let mut absolute = Request::new(());
        *absolute.uri_mut() = Uri::from_static("http://h.test/t/acme/a");
        assert!(strip(&mut absolute, "/a"));
        assert_eq!(absolute.uri(), "/a");
        assert_eq!(
            slash_redirect_target("/t/acme", Some("a=1")),
            "/t/acme/?a=1"
        );
        assert_eq!(slash_redirect_target("/t/acme", None), "/t/acme/");
    }
}
