//! Logged-out sessions: the per-process set of revoked session ids
//! ([`Revoked`]) that live sockets consult before each frame, tick and
//! subscription message, and the [`RevocationBroadcast`] trait that shares
//! logouts between processes (the Redis implementation is
//! `redis::RedisRevocations`).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::limits::BoxFuture;

/// Sessions destroyed by logout: their sockets close at their next frame
/// (or before their next tick or subscription message).
///
/// An entry only matters while sockets opened before the logout may still
/// be open; a socket that stays silent is closed by the heartbeat timeout.
/// So entries expire after twice that timeout (plus a minute) instead of
/// being capped, which would let a flood of logouts flush a fresh one.
pub struct Revoked {
    sessions: Mutex<HashMap<String, std::time::Instant>>,
    keep_for: std::time::Duration,
}

impl Revoked {
    /// An empty set whose entries are kept for twice `heartbeat_timeout_secs`
    /// plus a minute (after that, every socket of the session has closed).
    pub fn new(heartbeat_timeout_secs: u64) -> Self {
        Revoked {
            sessions: Mutex::new(HashMap::new()),
            keep_for: std::time::Duration::from_secs(
                heartbeat_timeout_secs.saturating_mul(2).saturating_add(60),
            ),
        }
    }

    /// How long an entry is kept.
    pub fn keep_for(&self) -> std::time::Duration {
        self.keep_for
    }

    /// Marks `session_id` as logged out (and forgets expired entries).
    pub fn revoke(&self, session_id: &str) {
        let now = std::time::Instant::now();
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.retain(|_, revoked_at| now.duration_since(*revoked_at) < self.keep_for);
        sessions.insert(session_id.to_owned(), now);
    }

    /// Whether `session_id` was logged out.
    pub fn is_revoked(&self, session_id: &str) -> bool {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains_key(session_id)
    }
}

/// Shares logouts between server processes, so that a logout on one
/// process closes the session's sockets on all of them (at their next
/// frame, tick or subscription message, like a local logout).
///
/// Set with `App::revocation_broadcast`; the Redis implementation is
/// `djust::runtime::redis::RedisRevocations` (feature `redis`).
pub trait RevocationBroadcast: Send + Sync {
    /// Tells the other processes that `session_id` was logged out here.
    /// `keep_for` is how long the revocation matters. Must not fail the
    /// logout: errors are the implementation's to log.
    fn publish<'a>(
        &'a self,
        session_id: &'a str,
        keep_for: std::time::Duration,
    ) -> BoxFuture<'a, ()>;

    /// Starts delivering the other processes' logouts to `local`; called
    /// once by `App::bind`, inside the runtime. Should stop when
    /// [`RevokedSessions::is_open`] turns false (the server is gone).
    fn listen(&self, local: RevokedSessions);
}

/// This process's set of logged-out sessions, as handed to
/// [`RevocationBroadcast::listen`]. Does not keep the server alive.
#[derive(Clone)]
pub struct RevokedSessions(std::sync::Weak<Revoked>);

impl RevokedSessions {
    /// A handle on `revoked` that does not keep it alive.
    pub fn new(revoked: &std::sync::Arc<Revoked>) -> Self {
        RevokedSessions(std::sync::Arc::downgrade(revoked))
    }
}

impl std::fmt::Debug for RevokedSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokedSessions")
            .field("open", &self.is_open())
            .finish()
    }
}

impl RevokedSessions {
    /// Marks `session_id` as logged out here; `false` if the server is gone.
    pub fn revoke(&self, session_id: &str) -> bool {
        match self.0.upgrade() {
            Some(revoked) => {
                revoked.revoke(session_id);
                true
            }
            None => false,
        }
    }

    /// Whether the server still runs.
    pub fn is_open(&self) -> bool {
        self.0.strong_count() > 0
    }
}
