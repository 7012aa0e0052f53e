//! [`RedisSessionStore`]: the [`SessionStore`] shared by every process.

use std::time::Duration;

use super::{ttl_secs, Redis};
use crate::auth::{csrf, generate_token};
use crate::session::{BoxFuture, Session, SessionStore, StoreError};

/// Key prefix of sessions: `djust:session:{id}`.
pub const SESSION_PREFIX: &str = "djust:session:";

/// How many random ids to try before giving up on a collision (never
/// expected with 128-bit ids; bounds the loop anyway).
const CREATE_ATTEMPTS: usize = 4;

/// Sessions as JSON strings under `djust:session:{id}`, expiring after the
/// idle timeout; every load (`GETEX`) and save pushes the expiry forward.
///
/// Needs Redis ≥ 6.2 (`GETEX`, `GETDEL`). Writes use `SET … XX`, so a late
/// save from another process can never resurrect a logged-out session.
/// Bounded by the TTL rather than a count: size Redis' `maxmemory` for the
/// expected number of sessions (with `maxmemory-policy volatile-ttl`).
#[derive(Debug, Clone)]
pub struct RedisSessionStore {
    redis: Redis,
    idle_timeout: Duration,
}

impl RedisSessionStore {
    /// Sessions on `redis` expiring after `idle_timeout` unused (at least 1 s).
    pub fn new(redis: Redis, idle_timeout: Duration) -> Self {
        Self {
            redis,
            idle_timeout,
        }
    }

    fn key(id: &str) -> String {
        format!("{SESSION_PREFIX}{id}")
    }

    fn ttl(&self) -> u64 {
        ttl_secs(self.idle_timeout)
    }

    fn expires_at(&self) -> u64 {
        super::now_unix().saturating_add(self.ttl())
    }

    /// Parses a stored session, refusing one stored under another id.
    fn decode(id: &str, raw: &str) -> Result<Session, StoreError> {
        match serde_json::from_str::<Session>(raw) {
            Ok(session) if session.id == id => Ok(session),
            Ok(_) => Err(StoreError::Unavailable(
                "stored session does not match its key".to_owned(),
            )),
            Err(error) => Err(StoreError::Unavailable(format!(
                "stored session is not valid JSON: {error}"
            ))),
        }
    }

    fn encode(session: &Session) -> Result<String, StoreError> {
        serde_json::to_string(session)
            .map_err(|error| StoreError::Unavailable(format!("cannot encode session: {error}")))
    }

    /// `SET key json <condition> EX ttl` (condition `NX`: only a new id;
    /// `XX`: only an existing one); `true` when it was written.
    async fn set_if(&self, session: &mut Session, condition: &str) -> Result<bool, StoreError> {
        session.expires_at = self.expires_at();
        let json = Self::encode(session)?;
        let stored: Option<String> = self
            .redis
            .query(
                ::redis::cmd("SET")
                    .arg(Self::key(&session.id))
                    .arg(json)
                    .arg(condition)
                    .arg("EX")
                    .arg(self.ttl()),
            )
            .await?;
        Ok(stored.is_some())
    }

    /// Stores `session` under a fresh random id (`SET NX EX`).
    async fn insert_new(&self, mut session: Session) -> Result<Session, StoreError> {
        for _ in 0..CREATE_ATTEMPTS {
            session.id = generate_token();
            if self.set_if(&mut session, "NX").await? {
                return Ok(session);
            }
        }
        Err(StoreError::Unavailable(
            "could not allocate a session id".to_owned(),
        ))
    }

    fn empty_session() -> Session {
        Session {
            id: String::new(),
            user_id: None,
            csrf_token: csrf::generate(),
            data: Default::default(),
            expires_at: 0,
        }
    }
}

impl SessionStore for RedisSessionStore {
    fn create(&self) -> BoxFuture<'_, Result<Session, StoreError>> {
        Box::pin(self.insert_new(Self::empty_session()))
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(async move {
            let raw: Option<String> = self
                .redis
                .query(
                    ::redis::cmd("GETEX")
                        .arg(Self::key(id))
                        .arg("EX")
                        .arg(self.ttl()),
                )
                .await?;
            let Some(raw) = raw else {
                return Ok(None);
            };
            let mut session = Self::decode(id, &raw)?;
            session.expires_at = self.expires_at();
            Ok(Some(session))
        })
    }

    fn save(&self, mut session: Session) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move { self.set_if(&mut session, "XX").await })
    }

    fn destroy<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(async move {
            let raw: Option<String> = self
                .redis
                .query(::redis::cmd("GETDEL").arg(Self::key(id)))
                .await?;
            // The key is gone either way; a corrupt value is just not returned.
            Ok(raw.and_then(|raw| Self::decode(id, &raw).ok()))
        })
    }

    fn rotate<'a>(&'a self, old_id: &'a str) -> BoxFuture<'a, Result<Session, StoreError>> {
        Box::pin(async move {
            let raw: Option<String> = self
                .redis
                .query(::redis::cmd("GETDEL").arg(Self::key(old_id)))
                .await?;
            let session = raw
                .and_then(|raw| Self::decode(old_id, &raw).ok())
                .unwrap_or_else(Self::empty_session);
            // If this fails, the old id is already gone: the user is logged
            // out, never left on a fixated id.
            self.insert_new(session).await
        })
    }
}
