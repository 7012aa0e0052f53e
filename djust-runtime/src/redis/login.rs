//! [`RedisLoginThrottle`]: login attempt budgets (per client address, per
//! user name) shared by every process, so guessing passwords against
//! several processes costs as much as against one.

use std::time::Duration;

use super::rate::TOKEN_BUCKET;
use super::{OutageLog, Redis};
use crate::limits::{per_minute_rate, BoxFuture, LoginThrottle, ThrottleRefusal};

/// Key prefix of login budgets: `djust:login:ip:{ip}`,
/// `djust:login:user:{sha256 of the user name}`.
pub const LOGIN_PREFIX: &str = "djust:login:";

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
            script: ::redis::Script::new(TOKEN_BUCKET),
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
