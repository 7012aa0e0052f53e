//! [`RedisIpLimiter`]: per-IP connection counts and cooldowns shared by
//! every process.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{OutageLog, Redis};
use crate::limits::SharedIpLimiter;
use crate::limits::{BoxFuture, IpRefusal};

/// Key prefix of connection counts: `djust:ip:{ip}`.
pub const IP_PREFIX: &str = "djust:ip:";
/// Key prefix of cooldowns: `djust:cooldown:{ip}`.
pub const COOLDOWN_PREFIX: &str = "djust:cooldown:";

/// Default lifetime of a count without any connect or disconnect of that IP.
pub const DEFAULT_COUNT_TTL: Duration = Duration::from_secs(60 * 60);

/// KEYS[1] = count, KEYS[2] = cooldown; ARGV[1] = max, ARGV[2] = TTL (s).
/// Returns the new count, -1 cooling down, -2 full.
const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return -2 end
n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return n
";

/// KEYS[1] = count; ARGV[1] = TTL (s). Returns the new count.
const RELEASE: &str = r"
local n = redis.call('DECR', KEYS[1])
if n <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
";

/// [`SharedIpLimiter`] in Redis: `INCR`/`DECR` of `djust:ip:{ip}` by Lua
/// scripts (one round trip each), cooldowns as `djust:cooldown:{ip}` keys.
///
/// Trade-offs (see `docs/deploy.md`): a slot is released by a task spawned
/// from the guard's `Drop`, so a process that crashes (or a release made
/// while Redis is down) leaves its count behind until the key's TTL
/// ([`DEFAULT_COUNT_TTL`], renewed on every connect and disconnect of that
/// IP) expires; and an IP holding connections with no connect/disconnect
/// for longer than the TTL has its count reset (it can then open up to
/// `max` more). Acquiring fails closed while Redis is unreachable.
/// IPv6 addresses are counted per /64, like the local tracker.
#[derive(Debug, Clone)]
pub struct RedisIpLimiter {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    redis: Redis,
    acquire: ::redis::Script,
    release: ::redis::Script,
    count_ttl: Duration,
    outage: OutageLog,
    /// Slots handed out whose release has not reached Redis yet (held, or
    /// dropped with the release in flight).
    outstanding: AtomicUsize,
    /// Notified when `outstanding` drops to zero.
    released: tokio::sync::Notify,
}

impl RedisIpLimiter {
    /// Counts on `redis` with [`DEFAULT_COUNT_TTL`].
    pub fn new(redis: Redis) -> Self {
        Self::with_ttl(redis, DEFAULT_COUNT_TTL)
    }

    /// Counts on `redis` expiring after `count_ttl` without activity.
    pub fn with_ttl(redis: Redis, count_ttl: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                redis,
                acquire: ::redis::Script::new(ACQUIRE),
                release: ::redis::Script::new(RELEASE),
                count_ttl,
                outage: OutageLog::default(),
                outstanding: AtomicUsize::new(0),
                released: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Takes a slot for `ip` unless it holds `max` or is cooling down.
    pub async fn try_acquire(&self, ip: IpAddr, max: u32) -> Result<RedisIpSlot, IpRefusal> {
        let key = normalise(ip);
        let mut invocation = self.shared.acquire.key(format!("{IP_PREFIX}{key}"));
        invocation
            .key(format!("{COOLDOWN_PREFIX}{key}"))
            .arg(max)
            .arg(super::ttl_secs(self.shared.count_ttl));
        match self.shared.redis.invoke::<i64>(&invocation).await {
            Ok(-1) => Err(IpRefusal::CoolingDown),
            Ok(n) if n < 0 => Err(IpRefusal::TooManyConnections),
            Ok(_) => {
                self.shared.outstanding.fetch_add(1, Ordering::AcqRel);
                Ok(RedisIpSlot {
                    shared: Some(Arc::clone(&self.shared)),
                    key,
                })
            }
            Err(error) => {
                if let Some(suppressed) = self.shared.outage.should_log() {
                    tracing::error!(
                        error = %crate::security::sanitize_for_log(&error.to_string()),
                        suppressed,
                        "per-IP limiter unavailable (Redis); refusing the connection (fail closed)"
                    );
                }
                Err(IpRefusal::TooManyConnections)
            }
        }
    }

    /// Open connections counted for `ip` across processes (`None` if Redis
    /// cannot be reached).
    pub async fn connections(&self, ip: IpAddr) -> Option<u32> {
        let key = format!("{IP_PREFIX}{}", normalise(ip));
        let count: Option<u32> = self
            .shared
            .redis
            .query(::redis::cmd("GET").arg(key))
            .await
            .ok()?;
        Some(count.unwrap_or(0))
    }

    /// Refuses new connections from `ip` on every process for `duration`.
    pub async fn cooldown(&self, ip: IpAddr, duration: Duration) {
        let key = format!("{COOLDOWN_PREFIX}{}", normalise(ip));
        let millis = u64::try_from(duration.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let result: Result<(), _> = self
            .shared
            .redis
            .query(::redis::cmd("SET").arg(key).arg(1).arg("PX").arg(millis))
            .await;
        if let Err(error) = result {
            tracing::warn!(
                error = %crate::security::sanitize_for_log(&error.to_string()),
                "shared IP cooldown not recorded (Redis unavailable); the local cooldown still applies"
            );
        }
    }
}

/// IPv4-mapped IPv6 as IPv4, other IPv6 by /64.
fn normalise(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64_u32))),
    }
}

/// One connection slot counted in Redis; dropping it releases the slot in
/// a spawned task (best effort: see [`RedisIpLimiter`]).
#[derive(Debug)]
#[must_use = "dropping the slot releases it; keep it for the connection's lifetime"]
pub struct RedisIpSlot {
    shared: Option<Arc<Shared>>,
    key: IpAddr,
}

impl Drop for RedisIpSlot {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("IP slot dropped outside a runtime; its Redis count expires by TTL");
            shared.settled();
            return;
        };
        let key = self.key;
        runtime.spawn(async move {
            let mut invocation = shared.release.key(format!("{IP_PREFIX}{key}"));
            invocation.arg(super::ttl_secs(shared.count_ttl));
            if let Err(error) = shared.redis.invoke::<i64>(&invocation).await {
                tracing::warn!(
                    error = %crate::security::sanitize_for_log(&error.to_string()),
                    "IP slot not released in Redis; its count expires by TTL"
                );
            }
            shared.settled();
        });
    }
}

impl Shared {
    /// One slot is released (or given up on): wakes `drain` at zero.
    fn settled(&self) {
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.released.notify_waiters();
        }
    }
}

impl SharedIpLimiter for RedisIpLimiter {
    fn acquire(
        &self,
        ip: IpAddr,
        max: u32,
    ) -> BoxFuture<'_, Result<Box<dyn std::any::Any + Send>, IpRefusal>> {
        Box::pin(async move {
            self.try_acquire(ip, max)
                .await
                .map(|slot| Box::new(slot) as Box<dyn std::any::Any + Send>)
        })
    }

    fn start_cooldown(&self, ip: IpAddr, duration: Duration) -> BoxFuture<'_, ()> {
        Box::pin(self.cooldown(ip, duration))
    }

    /// Waits until every slot handed out is released in Redis: slots still
    /// held (sockets not closed yet) and releases in flight (each bounded
    /// by the Redis handle's timeouts). The caller bounds the wait.
    fn drain(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            loop {
                let released = self.shared.released.notified();
                if self.shared.outstanding.load(Ordering::Acquire) == 0 {
                    return;
                }
                released.await;
            }
        })
    }
}
