//! [`RedisViewStateStore`]: sealed snapshots of `persist` views, shared by
//! every process, so a client whose process went away (a deploy, a crash
//! after the snapshot was written) resumes its view on another one.

use std::time::Duration;

use super::{ttl_secs, Redis};
use crate::limits::BoxFuture;
use crate::live::ViewStateStore;
use crate::session::StoreError;

/// Key prefix of snapshots: `djust:view:{id}` (the id is a random resume id).
pub const VIEW_PREFIX: &str = "djust:view:";

/// A [`ViewStateStore`] in Redis: `SET … EX` to keep, `GETDEL` to take (a
/// resume is single-use even when two processes race for it). Values are
/// sealed (encrypted and authenticated) before they get here; Redis never
/// sees a view's state in the clear. One round trip per operation.
#[derive(Debug, Clone)]
pub struct RedisViewStateStore {
    redis: Redis,
}

impl RedisViewStateStore {
    /// Snapshots on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    /// The Redis key of resume id `id` (ids are server-made, base64url).
    fn key(id: &str) -> Result<String, StoreError> {
        let valid = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if valid {
            Ok(format!("{VIEW_PREFIX}{id}"))
        } else {
            Err(StoreError::InvalidKey("not a resume id".to_owned()))
        }
    }
}

impl ViewStateStore for RedisViewStateStore {
    fn put<'a>(
        &'a self,
        id: &'a str,
        sealed: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let key = Self::key(id)?;
            let _: () = self
                .redis
                .query(
                    ::redis::cmd("SET")
                        .arg(key)
                        .arg(sealed)
                        .arg("EX")
                        .arg(ttl_secs(ttl)),
                )
                .await?;
            Ok(())
        })
    }

    fn take<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let key = Self::key(id)?;
            self.redis.query(::redis::cmd("GETDEL").arg(key)).await
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let key = Self::key(id)?;
            let _: u64 = self.redis.query(::redis::cmd("DEL").arg(key)).await?;
            Ok(())
        })
    }
}
