//! What the accept loop learns about a request before the routes see it,
//! handed to them as request extensions: the peer address of the
//! connection and the `csrf_token` field of an urlencoded form.

use std::net::SocketAddr;

use warp::Filter;

/// The TCP peer of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddr(pub(crate) SocketAddr);

/// The `csrf_token` field of an `application/x-www-form-urlencoded` body,
/// read (bounded) before routing so the CSRF guard of `App::route` routes
/// can accept it as well as the `X-CSRF-Token` header; the body itself is
/// handed on unchanged.
#[derive(Debug, Clone)]
pub(crate) struct FormCsrfToken(pub(crate) String);

/// The peer address of the request's connection (`None` only for
/// requests that did not come through the accept loop).
pub(crate) fn remote(
) -> impl Filter<Extract = (Option<SocketAddr>,), Error = std::convert::Infallible> + Copy {
    warp::ext::optional::<PeerAddr>().map(|peer: Option<PeerAddr>| peer.map(|peer| peer.0))
}

/// The form's `csrf_token` field, if the accept loop found one.
pub(crate) fn form_csrf_token(
) -> impl Filter<Extract = (Option<String>,), Error = std::convert::Infallible> + Copy {
    warp::ext::optional::<FormCsrfToken>().map(|token: Option<FormCsrfToken>| token.map(|t| t.0))
}
