//! [`RedisViewStateStore`]: sealed snapshots of `persist` views, shared by
//! every process, so a client whose process went away (a deploy, a crash
//! after the snapshot was written) resumes its view on another one.

use std::time::Duration;

use super::{ttl_secs, Redis};
use crate::limits::BoxFuture;
use crate::live::{Stored, ViewStateStore};
use crate::session::StoreError;

/// Key prefix of snapshots: `djust:view:{id}` (the id is a random resume id).
pub const VIEW_PREFIX: &str = "djust:view:";

/// What a taken id holds: shorter than any sealed snapshot (a 12-byte
/// nonce and a 16-byte tag at least), so never mistaken for one.
const TAKEN: &[u8] = b"taken";

/// Writes a snapshot unless its id was taken.
///
/// KEYS[1] = the snapshot's key; ARGV[1] = the sealed snapshot, ARGV[2] =
/// TTL (s), ARGV[3] = the taken marker. Returns 1 (written) or 0 (taken:
/// nothing written).
const PUT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
";

/// A [`ViewStateStore`] in Redis. A write is one `EVALSHA` (a script that
/// refuses to overwrite the marker of a taken id); a take is one
/// `SET key taken EX … GET`, which returns the snapshot and leaves the
/// marker atomically, so a resume is single-use even when two processes
/// race for it, and the process that lost the view cannot write its stale
/// copy back ([`Stored::Taken`]). Values are sealed (encrypted and
/// authenticated) before they get here; Redis never sees a view's state in
/// the clear.
#[derive(Debug, Clone)]
pub struct RedisViewStateStore {
    redis: Redis,
    put: ::redis::Script,
}

impl RedisViewStateStore {
    /// Snapshots on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            put: ::redis::Script::new(PUT),
        }
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
    ) -> BoxFuture<'a, Result<Stored, StoreError>> {
        Box::pin(async move {
            let key = Self::key(id)?;
            let mut invocation = self.put.prepare_invoke();
            invocation
                .key(key)
                .arg(sealed)
                .arg(ttl_secs(ttl))
                .arg(TAKEN);
            let written: u8 = self.redis.invoke(&invocation).await?;
            Ok(if written == 1 {
                Stored::Written
            } else {
                Stored::Taken
            })
        })
    }

    fn take<'a>(
        &'a self,
        id: &'a str,
        keep_taken: Duration,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let key = Self::key(id)?;
            let held: Option<Vec<u8>> = self
                .redis
                .query(
                    ::redis::cmd("SET")
                        .arg(key)
                        .arg(TAKEN)
                        .arg("EX")
                        .arg(ttl_secs(keep_taken))
                        .arg("GET"),
                )
                .await?;
            Ok(held.filter(|value| value.as_slice() != TAKEN))
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
