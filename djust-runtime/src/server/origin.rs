//! The WebSocket Origin check, run before the upgrade.
//!
//! The whole origin must match (scheme, host and port): one of the
//! configured `allowed_origins`, or by default the server's own origin as
//! the browser addressed it: the `Host` header with `https` when the app is
//! configured for TLS (`secure_cookies`), `http` otherwise. `null` is always
//! refused; a missing `Origin` is refused unless `allow_missing_origin` is
//! set for non-browser clients (browsers always send it on WebSockets).

use warp::http::HeaderMap;

use crate::config::Config;

/// Why a socket's origin was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginRefusal {
    /// No `Origin` header.
    Missing,
    /// `Origin: null` (sandboxed frames, `file:` pages, redirects).
    Null,
    /// Another origin.
    Foreign,
}

/// Checks the `Origin` of an upgrade request.
pub fn check_origin(headers: &HeaderMap, config: &Config) -> Result<(), OriginRefusal> {
    let Some(origin) = headers.get("origin") else {
        return if config.allow_missing_origin {
            Ok(())
        } else {
            Err(OriginRefusal::Missing)
        };
    };
    let Ok(origin) = origin.to_str() else {
        return Err(OriginRefusal::Foreign);
    };
    let origin = origin.trim();
    if origin.eq_ignore_ascii_case("null") {
        return Err(OriginRefusal::Null);
    }
    if !config.allowed_origins.is_empty() {
        return if config
            .allowed_origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
        {
            Ok(())
        } else {
            Err(OriginRefusal::Foreign)
        };
    }
    let host = headers
        .get("host")
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default()
        .trim();
    if host.is_empty() {
        return Err(OriginRefusal::Foreign);
    }
    let scheme = if config.secure_cookies {
        "https://"
    } else {
        "http://"
    };
    let same = origin.len() == scheme.len() + host.len()
        && origin
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        && origin
            .get(scheme.len()..)
            .is_some_and(|h| h.eq_ignore_ascii_case(host));
    if same {
        Ok(())
    } else {
        Err(OriginRefusal::Foreign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = value.parse() {
                map.insert(*name, value);
            }
        }
        map
    }

    #[test]
    fn same_host_is_the_default() {
        let config = Config::default();
        assert_eq!(
            check_origin(
                &headers(&[
                    ("host", "127.0.0.1:8000"),
                    ("origin", "http://127.0.0.1:8000")
                ]),
                &config
            ),
            Ok(())
        );
        for evil in [
            "http://127.0.0.1:8001",
            "http://evil.com",
            "http://127.0.0.1:8000.evil.com",
            "http://127.0.0.1",
            "null",
        ] {
            assert!(
                check_origin(
                    &headers(&[("host", "127.0.0.1:8000"), ("origin", evil)]),
                    &config
                )
                .is_err(),
                "{evil}"
            );
        }
        assert_eq!(
            check_origin(&headers(&[("host", "127.0.0.1:8000")]), &config),
            Err(OriginRefusal::Missing)
        );
    }

    #[test]
    fn configured_origins_must_match_exactly() {
        let config = Config {
            allowed_origins: vec!["https://app.example.com".into()],
            ..Config::default()
        };
        assert_eq!(
            check_origin(
                &headers(&[("host", "x"), ("origin", "https://app.example.com")]),
                &config
            ),
            Ok(())
        );
        assert!(check_origin(
            &headers(&[("host", "x"), ("origin", "http://app.example.com")]),
            &config
        )
        .is_err());
        assert!(check_origin(
            &headers(&[("host", "x"), ("origin", "https://app.example.com:444")]),
            &config
        )
        .is_err());
    }
}
