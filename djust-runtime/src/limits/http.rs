//! Default bounds of the plain HTTP path (before any view runs): how long
//! a connection may take to send a request, how large a request may be,
//! and how many connections are served at once. The server's accept loop
//! enforces them; [`crate::config::Config`] reads its defaults from here.

use std::time::Duration;

/// A request head (request line and headers) must be complete this long
/// after the server starts waiting for it: after accepting the connection,
/// or after the previous response on a kept-alive one
/// (`DJUST_HTTP_HEADER_TIMEOUT_SECS`).
pub const DEFAULT_HTTP_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A kept-alive connection on which no byte of a next request arrives for
/// this long is closed (`DJUST_HTTP_IDLE_TIMEOUT_SECS`).
pub const DEFAULT_HTTP_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// A request body must be complete this long after its head
/// (`DJUST_HTTP_BODY_TIMEOUT_SECS`).
pub const DEFAULT_HTTP_BODY_TIMEOUT: Duration = Duration::from_secs(15);

/// Largest request head, in bytes; a larger one is answered 431
/// (`DJUST_HTTP_MAX_HEADER_BYTES`).
pub const DEFAULT_HTTP_MAX_HEADER_BYTES: usize = 16 * 1024;

/// Largest request body any route may receive, in bytes; routes set lower
/// limits of their own (`DJUST_HTTP_MAX_BODY_BYTES`).
pub const DEFAULT_HTTP_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Largest `application/x-www-form-urlencoded` body the server parses
/// itself: the login and logout forms, and the `csrf_token` field of forms
/// posted to application routes (`DJUST_HTTP_MAX_FORM_BYTES`).
pub const DEFAULT_HTTP_MAX_FORM_BYTES: usize = 16 * 1024;

/// Open HTTP connections per process, WebSockets not counted once upgraded
/// (`DJUST_HTTP_MAX_CONNECTIONS`). Keep it under the process's open-file
/// limit (`ulimit -n`), which also has to hold the WebSockets.
pub const DEFAULT_HTTP_MAX_CONNECTIONS: usize = 1000;

/// Open HTTP connections per client address (`DJUST_HTTP_MAX_CONNECTIONS_PER_IP`).
/// Browsers open at most 6 per site; the rest is room for several people
/// behind one NAT address.
pub const DEFAULT_HTTP_MAX_CONNECTIONS_PER_IP: u32 = 32;
