//! [`RedisRateLimiter`]: `#[rate_limit]` buckets shared by every process.

use super::{OutageLog, Redis};
use crate::limits::{BoxFuture, HandlerRateLimiter};

/// Key prefix of buckets: `djust:rate:{view}:{handler}:{kind}:{id}`.
pub const RATE_PREFIX: &str = "djust:rate:";

/// Continuous-refill token bucket, taken atomically in one round trip
/// (shared by the login budgets of `redis/login.rs`).
///
/// KEYS[1] = bucket, ARGV[1] = rate (tokens/s), ARGV[2] = burst.
/// Time is Redis' own clock (`TIME`), so processes with skewed clocks share
/// one consistent bucket. The hash `{t = last update, v = tokens}` expires
/// once it would have refilled completely (then it equals a new bucket).
/// Returns 0 (a token was taken) or, when the bucket is empty, the wait in
/// milliseconds until the next token (at least 1).
pub(super) const TOKEN_BUCKET: &str = r"
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

/// [`HandlerRateLimiter`] in Redis: one `EVALSHA` per check.
///
/// Fails closed: when Redis cannot be reached (or answers after the
/// response timeout) the call is refused and an error is logged (at most
/// once a second).
#[derive(Debug)]
pub struct RedisRateLimiter {
    redis: Redis,
    script: ::redis::Script,
    outage: OutageLog,
}

impl RedisRateLimiter {
    /// Buckets on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            script: ::redis::Script::new(TOKEN_BUCKET),
            outage: OutageLog::default(),
        }
    }

    /// Takes one token from `key`'s bucket; `Err` when Redis is unavailable.
    pub async fn try_check(
        &self,
        key: &str,
        rate: f64,
        burst: u32,
    ) -> Result<bool, crate::session::StoreError> {
        if !(rate.is_finite() && rate > 0.0) || burst == 0 {
            return Ok(false);
        }
        let mut invocation = self.script.key(format!("{RATE_PREFIX}{key}"));
        invocation.arg(rate).arg(burst);
        let wait_ms: u64 = self.redis.invoke(&invocation).await?;
        Ok(wait_ms == 0)
    }
}

impl HandlerRateLimiter for RedisRateLimiter {
    fn check<'a>(&'a self, key: &'a str, rate: f64, burst: u32) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            match self.try_check(key, rate, burst).await {
                Ok(allowed) => allowed,
                Err(error) => {
                    if let Some(suppressed) = self.outage.should_log() {
                        tracing::error!(
                            error = %crate::security::sanitize_for_log(&error.to_string()),
                            suppressed,
                            "rate limiter unavailable (Redis); refusing the call (fail closed)"
                        );
                    }
                    false
                }
            }
        })
    }
}
