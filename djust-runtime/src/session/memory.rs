//! The in-process [`SessionStore`]: bounded in count, expiring when idle.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{BoxFuture, Session, SessionStore, StoreError};
use crate::auth::{csrf, generate_token};
use crate::limits::{Clock, SystemClock};

/// Default cap on sessions held by one process (`DJUST_MAX_SESSIONS`).
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// Default idle timeout: a session unused for a day is dropped.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// Limits of a [`MemorySessionStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Most sessions held; creating one more evicts the one closest to
    /// expiry (the least recently used). At least 1.
    pub max_sessions: usize,
    /// A session not loaded or saved for this long is gone (second precision).
    pub idle_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            max_sessions: DEFAULT_MAX_SESSIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Sessions in a process-local map, bounded and expiring.
///
/// Eviction when full removes first expired sessions, then the ones that
/// would expire soonest; both are found through an ordered index, so a flood
/// of new sessions costs O(log n) each, never a scan.
#[derive(Debug)]
pub struct MemorySessionStore {
    config: SessionConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_seq: u64,
    sessions: HashMap<String, (Session, (u64, u64))>,
    /// (expires_at, seq) → id, oldest first.
    by_expiry: BTreeMap<(u64, u64), String>,
}

impl MemorySessionStore {
    /// A store with `config` on the system clock.
    pub fn new(config: SessionConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A store with `config` on `clock`.
    pub fn with_clock(config: SessionConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            config: SessionConfig {
                max_sessions: config.max_sessions.max(1),
                idle_timeout: config.idle_timeout,
            },
            clock,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Live sessions held (expired ones not yet swept are not counted).
    pub fn len(&self) -> usize {
        let now = self.clock.unix_secs();
        let mut inner = self.lock();
        inner.purge_expired(now);
        inner.sessions.len()
    }

    /// Whether no live session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expiry(&self, now: u64) -> u64 {
        now.saturating_add(self.config.idle_timeout.as_secs())
    }

    fn create_now(&self) -> Session {
        let now = self.clock.unix_secs();
        let session = Session {
            id: String::new(),
            user_id: None,
            csrf_token: csrf::generate(),
            data: Default::default(),
            expires_at: self.expiry(now),
        };
        self.lock()
            .insert_new(session, now, self.config.max_sessions)
    }

    fn load_now(&self, id: &str) -> Option<Session> {
        let now = self.clock.unix_secs();
        let expires_at = self.expiry(now);
        let mut inner = self.lock();
        if !inner.is_live(id, now) {
            inner.remove(id);
            return None;
        }
        inner.touch(id, expires_at);
        inner.sessions.get(id).map(|(session, _)| session.clone())
    }

    fn save_now(&self, mut session: Session) -> bool {
        let now = self.clock.unix_secs();
        let mut inner = self.lock();
        if !inner.is_live(&session.id, now) {
            inner.remove(&session.id);
            return false;
        }
        session.expires_at = self.expiry(now);
        inner.touch(&session.id, session.expires_at);
        if let Some((stored, _)) = inner.sessions.get_mut(&session.id) {
            *stored = session;
        }
        true
    }

    fn destroy_now(&self, id: &str) -> Option<Session> {
        let now = self.clock.unix_secs();
        let mut inner = self.lock();
        let live = inner.is_live(id, now);
        inner.remove(id).filter(|_| live)
    }

    fn rotate_now(&self, old_id: &str) -> Session {
        let now = self.clock.unix_secs();
        let mut inner = self.lock();
        let live = inner.is_live(old_id, now);
        let old = inner.remove(old_id).filter(|_| live);
        let session = match old {
            Some(mut session) => {
                session.expires_at = self.expiry(now);
                session
            }
            None => Session {
                id: String::new(),
                user_id: None,
                csrf_token: csrf::generate(),
                data: Default::default(),
                expires_at: self.expiry(now),
            },
        };
        inner.insert_new(session, now, self.config.max_sessions)
    }
}

impl Default for MemorySessionStore {
    fn default() -> Self {
        Self::new(SessionConfig::default())
    }
}

impl Inner {
    fn is_live(&self, id: &str, now: u64) -> bool {
        self.sessions
            .get(id)
            .is_some_and(|(session, _)| now < session.expires_at)
    }

    fn remove(&mut self, id: &str) -> Option<Session> {
        let (session, order) = self.sessions.remove(id)?;
        self.by_expiry.remove(&order);
        Some(session)
    }

    fn next_order(&mut self, expires_at: u64) -> (u64, u64) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        (expires_at, seq)
    }

    fn touch(&mut self, id: &str, expires_at: u64) {
        let order = self.next_order(expires_at);
        if let Some((session, old_order)) = self.sessions.get_mut(id) {
            session.expires_at = expires_at;
            let old_order = std::mem::replace(old_order, order);
            self.by_expiry.remove(&old_order);
            self.by_expiry.insert(order, id.to_owned());
        }
    }

    fn purge_expired(&mut self, now: u64) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.remove();
            self.sessions.remove(&id);
        }
    }

    /// Gives `session` a fresh random id and inserts it, evicting as needed.
    fn insert_new(&mut self, mut session: Session, now: u64, max_sessions: usize) -> Session {
        self.purge_expired(now);
        while self.sessions.len() >= max_sessions {
            let Some((_, id)) = self.by_expiry.pop_first() else {
                break;
            };
            self.sessions.remove(&id);
        }
        let mut id = generate_token();
        while self.sessions.contains_key(&id) {
            id = generate_token();
        }
        session.id = id.clone();
        let order = self.next_order(session.expires_at);
        self.by_expiry.insert(order, id.clone());
        self.sessions.insert(id, (session.clone(), order));
        session
    }
}

impl SessionStore for MemorySessionStore {
    fn create(&self) -> BoxFuture<'_, Result<Session, StoreError>> {
        Box::pin(std::future::ready(Ok(self.create_now())))
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(std::future::ready(Ok(self.load_now(id))))
    }

    fn save(&self, session: Session) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(self.save_now(session))))
    }

    fn destroy<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(std::future::ready(Ok(self.destroy_now(id))))
    }

    fn rotate<'a>(&'a self, old_id: &'a str) -> BoxFuture<'a, Result<Session, StoreError>> {
        Box::pin(std::future::ready(Ok(self.rotate_now(old_id))))
    }
}
