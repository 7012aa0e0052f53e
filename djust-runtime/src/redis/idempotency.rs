//! [`RedisIdempotencyStore`]: the idempotency keys of replayed offline
//! actions, shared by every process, so a sync batch retried on another
//! process (a load balancer without sticky sessions) applies once.

use std::time::Duration;

use super::{ttl_secs, OutageLog, Redis};
use crate::limits::BoxFuture;
use crate::offline::{ActionStatus, Claim, IdempotencyStore};
use crate::session::StoreError;

/// Key prefix of idempotency keys: `djust:offline:{scope}:key:{key}`, with
/// the scope's index `djust:offline:{scope}:keys`. A scope is the session
/// id, under a tenant `tenant:{id}:{session}`, so a tenant's keys are
/// `djust:offline:tenant:{id}:{session}:key:{key}`.
pub const OFFLINE_PREFIX: &str = "djust:offline:";

/// Longest scope accepted (bytes): a session id under a tenant.
const MAX_SCOPE_LEN: usize = 256;

/// Claims a key atomically, or returns what it holds.
///
/// KEYS[1] = the key's entry, KEYS[2] = the scope's index (a sorted set of
/// its keys by claim time). ARGV[1] = lifetime (s), ARGV[2] = the key,
/// ARGV[3] = keys kept per scope, ARGV[4] = the entry prefix of the scope.
/// Returns the entry's value when it exists (`pending` or a status), else
/// claims it (`pending`, expiring after the lifetime) and returns `""`.
/// The index forgets keys older than the lifetime and, past the cap, the
/// oldest keys with their entries (as the in-memory store does), so one
/// session cannot grow Redis without bound.
const CLAIM: &str = r"
local seen = redis.call('GET', KEYS[1])
if seen then return seen end
local ttl = tonumber(ARGV[1])
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ms - ttl * 1000)
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3]) + 1
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
  for _, member in ipairs(oldest) do
    redis.call('DEL', ARGV[4] .. member)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
end
redis.call('SET', KEYS[1], 'pending', 'EX', ttl)
redis.call('ZADD', KEYS[2], ms, ARGV[2])
redis.call('EXPIRE', KEYS[2], ttl)
return ''
";

/// An [`IdempotencyStore`] in Redis: a claim is one `EVALSHA` (check and
/// `SET … EX` in one atomic script), a settle one `SET … XX KEEPTTL`, a
/// release one `MULTI`/`EXEC` round trip. Every key expires after the
/// lifetime (the offline age limit plus the clock skew allowed: an older
/// action is refused as `expired` before its key is looked at).
///
/// When Redis is down or slow every operation fails with
/// [`StoreError::Unavailable`] (logged at most once a second); the callers
/// then apply nothing and tell the client to retry.
#[derive(Debug)]
pub struct RedisIdempotencyStore {
    redis: Redis,
    lifetime: Duration,
    per_scope: usize,
    script: ::redis::Script,
    outage: OutageLog,
}

impl RedisIdempotencyStore {
    /// Keys on `redis`, each kept for `lifetime`, at most `per_scope` per
    /// session (the oldest forgotten first; at least 1).
    pub fn new(redis: Redis, lifetime: Duration, per_scope: usize) -> Self {
        Self {
            redis,
            lifetime,
            per_scope: per_scope.max(1),
            script: ::redis::Script::new(CLAIM),
            outage: OutageLog::default(),
        }
    }

    /// From the settings: `DJUST_OFFLINE_MAX_AGE_SECS` (plus the clock
    /// skew) and `DJUST_OFFLINE_KEYS_PER_SESSION`.
    pub fn from_config(redis: Redis, config: &crate::config::Config) -> Self {
        Self::new(
            redis,
            crate::offline::key_lifetime(config.offline_max_age_secs),
            config.offline_keys_per_session,
        )
    }

    /// The Redis prefix of `scope`'s keys (`djust:offline:{scope}:`), or an
    /// error for a scope that is empty, oversize or not printable ASCII.
    fn scope_prefix(scope: &str) -> Result<String, StoreError> {
        let valid = !scope.is_empty()
            && scope.len() <= MAX_SCOPE_LEN
            && scope.bytes().all(|byte| byte.is_ascii_graphic());
        if valid {
            Ok(format!("{OFFLINE_PREFIX}{scope}:"))
        } else {
            Err(StoreError::InvalidKey(
                "not an idempotency scope".to_owned(),
            ))
        }
    }

    /// The entry of `key` (an idempotency key: base64url).
    fn entry(scope: &str, key: &str) -> Result<String, StoreError> {
        if !crate::offline::is_valid_key(key) {
            return Err(StoreError::InvalidKey("not an idempotency key".to_owned()));
        }
        Ok(format!("{}key:{key}", Self::scope_prefix(scope)?))
    }

    /// Logs a failed operation (rate-limited) and passes the error on.
    fn logged(&self, operation: &str, error: StoreError) -> StoreError {
        if let StoreError::Unavailable(reason) = &error {
            if let Some(suppressed) = self.outage.should_log() {
                tracing::error!(
                    operation,
                    %reason,
                    suppressed,
                    "Redis unavailable: offline actions are not applied until it is back"
                );
            }
        }
        error
    }
}

impl IdempotencyStore for RedisIdempotencyStore {
    fn claim<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move {
            let entry = Self::entry(scope, key)?;
            let prefix = Self::scope_prefix(scope)?;
            let index = format!("{prefix}keys");
            let entries = format!("{prefix}key:");
            let mut invocation = self.script.prepare_invoke();
            invocation
                .key(entry)
                .key(index)
                .arg(ttl_secs(self.lifetime))
                .arg(key)
                .arg(self.per_scope)
                .arg(entries);
            let held: String = self
                .redis
                .invoke(&invocation)
                .await
                .map_err(|error| self.logged("claim", error))?;
            Ok(if held.is_empty() {
                Claim::New
            } else {
                // `pending` (or a value this version does not know): seen,
                // its outcome unknown; never applied again.
                Claim::Seen(ActionStatus::from_wire(&held))
            })
        })
    }

    fn settle<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        status: ActionStatus,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let entry = Self::entry(scope, key)?;
            // XX: a key forgotten meanwhile (expired, evicted) stays so.
            let _: Option<String> = self
                .redis
                .query(
                    ::redis::cmd("SET")
                        .arg(entry)
                        .arg(status.as_str())
                        .arg("XX")
                        .arg("KEEPTTL"),
                )
                .await
                .map_err(|error| self.logged("settle", error))?;
            Ok(())
        })
    }

    fn release<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let entry = Self::entry(scope, key)?;
            let index = format!("{}keys", Self::scope_prefix(scope)?);
            let mut pipeline = ::redis::pipe();
            pipeline
                .atomic()
                .cmd("DEL")
                .arg(entry)
                .ignore()
                .cmd("ZREM")
                .arg(index)
                .arg(key)
                .ignore();
            let () = self
                .redis
                .query_pipeline(&pipeline)
                .await
                .map_err(|error| self.logged("release", error))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_by_scope_and_hostile_scopes_are_refused() {
        let key = "abcdefghijklmnopqrstuv";
        assert_eq!(
            RedisIdempotencyStore::entry("tenant:acme:s1", key).expect("valid"),
            "djust:offline:tenant:acme:s1:key:abcdefghijklmnopqrstuv"
        );
        assert_eq!(
            RedisIdempotencyStore::entry("s1", key).expect("valid"),
            "djust:offline:s1:key:abcdefghijklmnopqrstuv"
        );
        let long = "s".repeat(MAX_SCOPE_LEN + 1);
        for scope in ["", "a b", "a\r\nFLUSHALL", "s\u{0}", "sé", long.as_str()] {
            assert!(
                RedisIdempotencyStore::entry(scope, key).is_err(),
                "{scope:?}"
            );
        }
        for key in [
            "",
            "short",
            "abcdefghijklmnopqrstu:",
            "abcdefghijklmnopqrst*?",
        ] {
            assert!(RedisIdempotencyStore::entry("s1", key).is_err(), "{key:?}");
        }
    }
}
