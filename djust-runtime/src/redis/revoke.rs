//! [`RedisRevocations`]: logout on one process closes the session's sockets
//! on every process.

use std::time::Duration;

use super::subscriber::{self, Handler};
use super::{ttl_secs, OutageLog, Redis, REVOKED_CHANNEL};
use crate::limits::BoxFuture;
use crate::session::{RevocationBroadcast, RevokedSessions};

/// Key prefix of recent logouts: `djust:revoked:{session id}`.
pub const REVOKED_PREFIX: &str = "djust:revoked:";

/// Most `djust:revoked:*` keys replayed after a reconnection (bounds the
/// catch-up; there are only as many as logouts in the last few minutes).
const MAX_REPLAY: usize = 100_000;

/// Session ids are random tokens: refuse anything else from the channel.
fn plausible_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// [`RevocationBroadcast`] through Redis.
///
/// A logout publishes the session id on `djust:revoked` and also writes
/// `djust:revoked:{id}` with the revocation's lifetime as TTL. Every process
/// subscribes; after each (re)subscription it replays those keys (`SCAN`),
/// so a logout made while its subscription was down is not missed.
#[derive(Debug)]
pub struct RedisRevocations {
    redis: Redis,
    outage: OutageLog,
}

impl RedisRevocations {
    /// Revocations on `redis`.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            outage: OutageLog::default(),
        }
    }
}

impl RevocationBroadcast for RedisRevocations {
    fn publish<'a>(&'a self, session_id: &'a str, keep_for: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut pipe = ::redis::pipe();
            pipe.atomic()
                .cmd("SET")
                .arg(format!("{REVOKED_PREFIX}{session_id}"))
                .arg(1)
                .arg("EX")
                .arg(ttl_secs(keep_for))
                .ignore()
                .cmd("PUBLISH")
                .arg(REVOKED_CHANNEL)
                .arg(session_id)
                .ignore();
            let result = match self.redis.connection().await {
                Ok(mut connection) => {
                    self.redis
                        .bounded(pipe.query_async::<()>(&mut connection))
                        .await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                if let Some(suppressed) = self.outage.should_log() {
                    tracing::error!(
                        error = %crate::security::sanitize_for_log(&error.to_string()),
                        suppressed,
                        "logout not broadcast (Redis unavailable): the session's sockets on other processes close at their heartbeat timeout"
                    );
                }
            }
        })
    }

    fn listen(&self, local: RevokedSessions) {
        subscriber::spawn(
            self.redis.clone(),
            REVOKED_CHANNEL.to_owned(),
            Listener {
                redis: self.redis.clone(),
                local,
            },
        );
    }
}

struct Listener {
    redis: Redis,
    local: RevokedSessions,
}

impl Handler for Listener {
    fn message(&mut self, _channel: &str, payload: &[u8]) -> bool {
        match std::str::from_utf8(payload) {
            Ok(id) if plausible_session_id(id) => self.local.revoke(id),
            _ => {
                tracing::warn!("malformed session id on the revocation channel; ignored");
                self.local.is_open()
            }
        }
    }

    fn alive(&self) -> bool {
        self.local.is_open()
    }

    fn subscribed(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            match replay(&self.redis, &self.local).await {
                Ok(count) if count > 0 => {
                    tracing::info!(count, "replayed logouts missed while disconnected")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(
                    error = %crate::security::sanitize_for_log(&error.to_string()),
                    "could not replay recent logouts"
                ),
            }
        })
    }
}

/// Applies every `djust:revoked:*` key locally; returns how many.
async fn replay(
    redis: &Redis,
    local: &RevokedSessions,
) -> Result<usize, crate::session::StoreError> {
    let mut cursor: u64 = 0;
    let mut count = 0usize;
    loop {
        let (next, keys): (u64, Vec<String>) = redis
            .query(
                ::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(format!("{REVOKED_PREFIX}*"))
                    .arg("COUNT")
                    .arg(1000),
            )
            .await?;
        for key in keys {
            if let Some(id) = key.strip_prefix(REVOKED_PREFIX) {
                if plausible_session_id(id) {
                    local.revoke(id);
                    count += 1;
                }
            }
        }
        cursor = next;
        if cursor == 0 || count >= MAX_REPLAY {
            return Ok(count);
        }
    }
}
