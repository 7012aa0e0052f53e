//! Rate and connection limits: the counters the server consults before it
//! does any work for a client.
//!
//! * [`TokenBucket`]: one continuous-refill bucket (the per-connection global
//!   rate: 100 events/s, burst 20 by default).
//! * [`HandlerRateLimiter`] / [`MemoryRateLimiter`]: `#[rate_limit]` buckets
//!   keyed by user, session or IP and shared by every connection of that key,
//!   held in a bounded LRU.
//! * [`IpTracker`]: per-IP connection slots (RAII [`IpSlot`] guards) and the
//!   reconnect cooldown; [`client_ip`] picks the address to track.
//! * [`RateWarnings`]: "3 rate-limit warnings → close 4429 + IP cooldown".
//! * [`Clock`]: injectable time, so every limit is testable without sleeps.
//! * [`LoginThrottle`] / [`MemoryLoginThrottle`] and [`LoginGate`]: login
//!   attempt budgets and admission to password hashing.
//! * [`LogThrottle`]: one log line per interval for a repeating event.
//! * `DEFAULT_HTTP_*`: the bounds of the plain HTTP path.
//!
//! Stores that may later live in Redis ([`HandlerRateLimiter`]) are
//! object-safe traits returning boxed futures; the per-IP tracker is a
//! concrete per-process type on purpose (see [`IpTracker`]).

mod bucket;
mod clock;
mod handler;
mod http;
mod ip;
mod log_throttle;
mod login;
mod shared;
mod warnings;

pub use bucket::{
    RateLimit, TokenBucket, DEFAULT_BURST, DEFAULT_NAVIGATIONS_PER_SECOND,
    DEFAULT_NAVIGATION_BURST, DEFAULT_RATE_PER_SECOND,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use handler::{
    handler_key, HandlerRateLimiter, MemoryRateLimiter, RateSubject, DEFAULT_LIMITER_CAPACITY,
};
pub use http::{
    DEFAULT_HTTP_BODY_TIMEOUT, DEFAULT_HTTP_HEADER_TIMEOUT, DEFAULT_HTTP_IDLE_TIMEOUT,
    DEFAULT_HTTP_MAX_BODY_BYTES, DEFAULT_HTTP_MAX_CONNECTIONS, DEFAULT_HTTP_MAX_CONNECTIONS_PER_IP,
    DEFAULT_HTTP_MAX_FORM_BYTES, DEFAULT_HTTP_MAX_HEADER_BYTES,
};
pub use ip::{
    address_group, client_ip, IpRefusal, IpSlot, IpTracker, IpTrackerConfig, DEFAULT_IP_COOLDOWN,
    DEFAULT_MAX_CONNECTIONS_PER_IP, DEFAULT_REFUSALS_BEFORE_COOLDOWN,
};
pub use log_throttle::LogThrottle;
pub use login::{
    default_login_concurrency, default_login_queue, login_ip_key, login_user_key, per_minute_rate,
    LoginGate, LoginPermit, LoginThrottle, LoginTicket, MemoryLoginThrottle, ThrottleRefusal,
    DEFAULT_LOGIN_PER_IP_PER_MINUTE, DEFAULT_LOGIN_PER_MINUTE, DEFAULT_LOGIN_PER_USER_PER_MINUTE,
    DEFAULT_LOGIN_THROTTLE_CAPACITY,
};
pub use shared::SharedIpLimiter;
pub use warnings::{RateWarnings, WarningOutcome, CLOSE_RATE_LIMITED, DEFAULT_MAX_WARNINGS};

/// Largest accepted WebSocket message, in bytes (`DJUST_MAX_MESSAGE_BYTES`).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Deepest accepted JSON nesting of a frame (`DJUST_MAX_JSON_DEPTH`).
pub const DEFAULT_MAX_JSON_DEPTH: usize = 32;

/// Sockets per process (`DJUST_MAX_LIVE_CONNECTIONS`).
pub const DEFAULT_MAX_LIVE_CONNECTIONS: usize = 10_000;

/// A boxed, `Send` future: the return type of store methods that may need
/// network I/O once the store lives in Redis or another shared backend.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
