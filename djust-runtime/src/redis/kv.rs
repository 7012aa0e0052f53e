//! [`RedisKeyValueStore`]: the application's key-value store, shared by
//! every process, every key expiring.

use std::time::Duration;

use super::{ttl_secs, Redis};
use crate::session::{BoxFuture, KeyValueStore, StoreError};

/// Key prefix of application values: `djust:kv:{key}`.
pub const KV_PREFIX: &str = "djust:kv:";

/// Longest key accepted (bytes), so a key built from user input cannot
/// grow without bound.
pub const MAX_KEY_LEN: usize = 1024;

/// A [`KeyValueStore`] in Redis: values under `djust:kv:{key}`, each
/// expiring `ttl` after it was last written.
///
/// Wrap it in a [`TenantScopedStore`](crate::session::TenantScopedStore) to
/// give each tenant its own key space (`djust:kv:tenant:{tenant}:{key}`).
/// Every operation is one round trip; when Redis is down or slow it fails
/// with [`StoreError::Unavailable`] after the handle's response timeout. An
/// empty or oversize key is [`StoreError::InvalidKey`], without a round trip.
///
/// Keys given to this store directly are used as they are: keys that
/// users choose (or that hold a tenant id) must go through a
/// `TenantScopedStore`, or an unscoped key such as `tenant:other:x` would
/// read another tenant's value.
#[derive(Debug, Clone)]
pub struct RedisKeyValueStore {
    redis: Redis,
    ttl: Duration,
}

impl RedisKeyValueStore {
    /// Values on `redis` that expire `ttl` (at least 1 s) after each write.
    pub fn new(redis: Redis, ttl: Duration) -> Self {
        Self { redis, ttl }
    }

    /// The Redis key of `key`, or an error for an empty or oversize key.
    fn key(key: &str) -> Result<String, StoreError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(StoreError::InvalidKey(format!(
                "key-value keys must be 1 to {MAX_KEY_LEN} bytes"
            )));
        }
        Ok(format!("{KV_PREFIX}{key}"))
    }
}

impl KeyValueStore for RedisKeyValueStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let key = Self::key(key)?;
            self.redis.query(::redis::cmd("GET").arg(key)).await
        })
    }

    fn set<'a>(&'a self, key: &'a str, value: String) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let key = Self::key(key)?;
            let _: () = self
                .redis
                .query(
                    ::redis::cmd("SET")
                        .arg(key)
                        .arg(value)
                        .arg("EX")
                        .arg(ttl_secs(self.ttl)),
                )
                .await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let key = Self::key(key)?;
            let removed: u64 = self.redis.query(::redis::cmd("DEL").arg(key)).await?;
            Ok(removed > 0)
        })
    }
}
