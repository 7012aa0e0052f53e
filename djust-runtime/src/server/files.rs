//! Serving files the application stored (uploads), so that a stored file
//! can never act as a page of the site: `GET /<prefix>/<id>` behind the
//! app's login and an optional permission, answered with
//!
//! - `Content-Type` as the file's bytes proved it (active content such as
//!   SVG or HTML is always served as an opaque download);
//! - `X-Content-Type-Options: nosniff`, so no browser guesses another type;
//! - `Content-Disposition: inline` for passive types (images, PDF, audio,
//!   video, text), `attachment` for the rest, with a safe file name;
//! - `Content-Security-Policy: sandbox; default-src 'none'; …`: even a file
//!   a browser renders as a document runs no script and reaches nothing.

use std::sync::Arc;

use warp::http::header::{self, HeaderValue};
use warp::http::{Response, StatusCode};
use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection};

use super::AppInner;
use crate::upload::types::{by_mime, essence};

/// The policy of a served file: a sandbox, nothing loads, nothing runs.
pub const FILE_CONTENT_SECURITY_POLICY: &str =
    "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'";

/// A file the application stored, to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its MIME type (as the upload's bytes proved it: `UploadedFile::mime`).
    pub mime: String,
    /// A name for the download (the client's name is fine: it is made safe).
    pub name: String,
}

/// Loads the stored file with id `id` (`None`: there is none, 404).
pub type FileLoader = Arc<dyn Fn(&str) -> Option<StoredFile> + Send + Sync>;

/// `[A-Za-z0-9._-]{1,128}`, not `.` or `..`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

/// The name in `Content-Disposition`: printable ASCII without quotes,
/// backslashes or separators (the rest becomes `_`), at most 100 bytes.
fn disposition_name(name: &str) -> String {
    let safe: String = crate::upload::client_name(name)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '/' | ';' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if safe.trim().is_empty() {
        "file".to_owned()
    } else {
        safe
    }
}

/// The response for `file` (see the module docs).
pub fn file_response(file: StoredFile) -> WarpResponse {
    let known = by_mime(&file.mime);
    let passive = known.is_some_and(|file_type| !file_type.active);
    let content_type = if passive {
        essence(&file.mime)
    } else {
        "application/octet-stream".to_owned()
    };
    let disposition = format!(
        "{}; filename=\"{}\"",
        if passive { "inline" } else { "attachment" },
        disposition_name(&file.name)
    );
    let mut response = Response::new(file.bytes.into());
    let headers = response.headers_mut();
    let pairs = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, disposition),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (
            header::CONTENT_SECURITY_POLICY,
            FILE_CONTENT_SECURITY_POLICY.to_owned(),
        ),
        (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn status(status: StatusCode) -> WarpResponse {
    let mut response = Response::new(warp::hyper::body::Bytes::new().into());
    *response.status_mut() = status;
    response
}

/// `GET /<prefix>/<id>`: the file `loader` finds, for a logged-in user
/// holding `permission` (anyone when `permission` is `None` and
/// `login_required` is false).
pub(crate) fn route(
    inner: Arc<AppInner>,
    prefix: String,
    login_required: bool,
    permission: Option<&'static str>,
    loader: FileLoader,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    warp::get()
        .and(warp::path(prefix))
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::header::optional::<String>("cookie"))
        .and(warp::any().map(move || (inner.clone(), loader.clone())))
        .then(
            move |id: String,
                  cookie: Option<String>,
                  (inner, loader): (Arc<AppInner>, FileLoader)| async move {
                if !valid_id(&id) {
                    return status(StatusCode::NOT_FOUND);
                }
                let (_, identity) = inner.resolve(cookie.as_deref()).await;
                let needs_login = login_required || permission.is_some();
                if needs_login && !identity.is_authenticated() {
                    return status(StatusCode::UNAUTHORIZED);
                }
                if permission.is_some_and(|permission| !identity.has_perm(permission)) {
                    return status(StatusCode::FORBIDDEN);
                }
                let found = tokio::task::spawn_blocking(move || loader(&id)).await;
                match found {
                    Ok(Some(file)) => file_response(file),
                    Ok(None) => status(StatusCode::NOT_FOUND),
                    Err(_) => status(StatusCode::INTERNAL_SERVER_ERROR),
                }
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(file: StoredFile) -> Vec<(String, String)> {
        let response = file_response(file);
        response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
            .collect()
    }

    fn get(pairs: &[(String, String)], name: &str) -> String {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    #[test]
    fn images_inline_active_content_as_an_opaque_download() {
        let png = headers(StoredFile {
            bytes: vec![1],
            mime: "image/png".into(),
            name: "me.png".into(),
        });
        assert_eq!(get(&png, "content-type"), "image/png");
        assert_eq!(
            get(&png, "content-disposition"),
            "inline; filename=\"me.png\""
        );
        assert_eq!(get(&png, "x-content-type-options"), "nosniff");
        assert!(get(&png, "content-security-policy").starts_with("sandbox;"));
        for mime in [
            "image/svg+xml",
            "text/html",
            "application/x-unknown",
            "image/SVG+xml; charset=utf-8",
        ] {
            let active = headers(StoredFile {
                bytes: vec![1],
                mime: mime.into(),
                name: "x.svg".into(),
            });
            assert_eq!(
                get(&active, "content-type"),
                "application/octet-stream",
                "{mime}"
            );
            assert!(
                get(&active, "content-disposition").starts_with("attachment;"),
                "{mime}"
            );
        }
    }

    #[test]
    fn hostile_names_and_ids() {
        let hostile = headers(StoredFile {
            bytes: vec![1],
            mime: "image/png".into(),
            name: "a\"; filename=evil.html\r\nX-Injected: 1\\..\\\u{202e}gnp.png".into(),
        });
        let disposition = get(&hostile, "content-disposition");
        assert!(
            !disposition.contains("\r") && !disposition.contains('\n'),
            "{disposition}"
        );
        assert_eq!(disposition.matches('"').count(), 2, "{disposition}");
        for id in ["", ".", "..", "a/b", "a%2Fb", "x y", &"a".repeat(129), "é"] {
            assert!(!valid_id(id), "{id:?}");
        }
        assert!(valid_id("42") && valid_id("photo-1.png"));
    }
}
