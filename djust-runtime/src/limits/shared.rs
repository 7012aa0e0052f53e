//! [`SharedIpLimiter`]: a per-IP connection limit shared by several
//! processes, on top of the per-process [`IpTracker`](super::IpTracker).
//! The Redis implementation is `redis::RedisIpLimiter`.

#[cfg(doc)]
use super::IpTracker;
use super::{BoxFuture, IpRefusal};

/// A per-IP connection limit shared by several processes (the local
/// [`IpTracker`] still applies too). Set with `App::shared_ip_limiter`;
/// the Redis implementation is `djust::runtime::redis::RedisIpLimiter`.
pub trait SharedIpLimiter: Send + Sync {
    /// Takes a slot for `ip` (implementations group addresses like [`IpTracker`]),
    /// refusing when `ip` holds `max` slots across all processes or is
    /// cooling down. The slot is released when the returned guard drops.
    /// Implementations that cannot reach their backend refuse.
    fn acquire(
        &self,
        ip: std::net::IpAddr,
        max: u32,
    ) -> BoxFuture<'_, std::result::Result<Box<dyn std::any::Any + Send>, IpRefusal>>;

    /// Refuses new connections from `ip` on every process for `duration`.
    fn start_cooldown(
        &self,
        ip: std::net::IpAddr,
        duration: std::time::Duration,
    ) -> BoxFuture<'_, ()>;

    /// Waits until every slot handed out is released in the backend (held
    /// slots included). `Server::shutdown` calls it, with a time limit,
    /// after telling every socket to close, so a stopped process leaves no
    /// slot counted.
    fn drain(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}
