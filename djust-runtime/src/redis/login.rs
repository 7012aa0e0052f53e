//! [`RedisLoginThrottle`]: login attempt budgets (per client address, per
//! user name) shared by every process, so guessing passwords against
//! several processes costs as much as against one.

use std::time::Duration;

use super::{OutageLog, Redis};
use crate::limits::{per_minute_rate, BoxFuture, LoginThrottle, ThrottleRefusal};

/// Key prefix of login budgets: `djust:login:ip:{ip}`,
/// `djust:login:user:{sha256 of the user name}`.
pub const LOGIN_PREFIX: &str = "djust:login:";

/// The token bucket of `redis/rate.rs`, answering how long until the next
/// token when it is empty.
///
/// KEYS[1] = bucket, ARGV[1] = rate (tokens/s), ARGV[2] = burst.
/// Returns 0 (allowed) or the wait in milliseconds (at least 1).
const TAKE_OR_WAIT: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 't', 'v')
local last = tonumber(state[1])
local tokens = tonumber(state[2])
if last == nil or tokens == nil then
  last = now
  tokens = burst
end
local elapsed = now - last
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate * 1000))
end
redis.call('HSET', KEYS[1], 't', string.format('%.6f', now), 'v', string.format('%.6f', tokens))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return wait
";

/// [`LoginThrottle`] in Redis: one `EVALSHA` per check, buckets under
/// [`LOGIN_PREFIX`] expiring once full again.
///
/// Fails closed: while Redis cannot be reached, logins are refused (503
/// with `Retry-After`), and an error is logged at most once a second.
#[derive(Debug)]
pub struct RedisLoginThrottle {
    redis: Redis,
    script: ::redis::Script,
    outage: OutageLog,
}

impl RedisLoginThrottle {
    /// Budgets on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            script: ::redis::Script::new(TAKE_OR_WAIT),
            outage: OutageLog::default(),
        }
    }

    /// Takes one attempt from `key`'s budget: `Ok(None)` when allowed,
    /// `Ok(Some(wait))` when spent, `Err` when Redis is unavailable.
    pub async fn try_attempt(
        &self,
        key: &str,
        per_minute: u32,
    ) -> Result<Option<Duration>, crate::session::StoreError> {
        if per_minute == 0 {
            return Ok(Some(Duration::MAX));
        }
        let mut invocation = self.script.key(format!("{LOGIN_PREFIX}{key}"));
        invocation.arg(per_minute_rate(per_minute)).arg(per_minute);
        let wait_ms: u64 = self.redis.invoke(&invocation).await?;
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
    }
}

impl LoginThrottle for RedisLoginThrottle {
    fn attempt<'a>(
        &'a self,
        key: &'a str,
        per_minute: u32,
    ) -> BoxFuture<'a, Result<(), ThrottleRefusal>> {
        Box::pin(async move {
            match self.try_attempt(key, per_minute).await {
                Ok(None) => Ok(()),
                Ok(Some(retry_after)) => Err(ThrottleRefusal::Limited { retry_after }),
                Err(error) => {
                    if let Some(suppressed) = self.outage.should_log() {
                        tracing::error!(
                            error = %crate::security::sanitize_for_log(&error.to_string()),
                            suppressed,
                            "login throttle unavailable (Redis); refusing the login (fail closed)"
                        );
                    }
                    Err(ThrottleRefusal::Unavailable)
                }
            }
        })
    }
}
