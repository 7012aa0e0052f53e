//! [`IdempotencyStore`]: where the offline actions' keys each session
//! (under its tenant) has used are claimed, so a retried batch or a replay
//! that raced a Background Sync applies once; [`IdempotencyKeys`] is its
//! in-process implementation (the default), `redis::RedisIdempotencyStore`
//! the one shared by every process (the default with `DJUST_REDIS_URL`).
//!
//! [`IdempotencyKeys`] is bounded three ways, so a client cannot grow it without limit:
//! - at most `per_scope` keys per session and tenant (the oldest forgotten
//!   first; at least the batch limit, so one batch can never evict its own
//!   keys);
//! - at most `max_scopes` sessions (the least recently used forgotten
//!   first);
//! - a key is forgotten `keep` after it was first seen: the age limit plus
//!   the clock skew, after which its action is refused as `expired` anyway.
//!
//! It is this process's: behind a load balancer without sticky sessions,
//! a batch retried on another process would apply again. Several processes
//! share a Redis store instead: see `docs/offline.md`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::ActionStatus;
use crate::limits::BoxFuture;
use crate::session::StoreError;

/// Where idempotency keys are claimed, per scope ([`super::scope`]: the
/// session, under its tenant). Shared by the socket's `replay` frames and
/// `POST /djust/offline/sync`.
///
/// An implementation must make [`IdempotencyStore::claim`] atomic: of two
/// claims of one key in one scope (two processes, a socket racing a
/// Background Sync), exactly one is [`Claim::New`]. A store that cannot
/// answer returns an error; the caller then applies nothing (fails closed)
/// and tells the client to retry.
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` in `scope`, or says what became of it.
    fn claim<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;

    /// Records what became of a key this caller claimed.
    fn settle<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        status: ActionStatus,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Forgets a key this caller claimed (its action was not applied and
    /// may be retried).
    fn release<'a>(&'a self, scope: &'a str, key: &'a str)
        -> BoxFuture<'a, Result<(), StoreError>>;
}

/// What [`IdempotencyKeys::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: it is now claimed; settle or release it.
    New,
    /// The key was seen: what became of it (`None` while its first use is
    /// still being applied).
    Seen(Option<ActionStatus>),
}

struct Entry {
    first_seen: Instant,
    status: Option<ActionStatus>,
}

#[derive(Default)]
struct Scope {
    keys: HashMap<String, Entry>,
    order: VecDeque<(String, Instant)>,
    last_used: u64,
}

impl Scope {
    fn expire(&mut self, now: Instant, keep: Duration) {
        while let Some((_, seen)) = self.order.front() {
            if now.saturating_duration_since(*seen) <= keep {
                break;
            }
            if let Some((key, seen)) = self.order.pop_front() {
                if self
                    .keys
                    .get(&key)
                    .is_some_and(|entry| entry.first_seen == seen)
                {
                    self.keys.remove(&key);
                }
            }
        }
    }
}

struct Inner {
    scopes: HashMap<String, Scope>,
    clock: u64,
}

/// Keys seen per session and tenant (see the module docs for the bounds).
pub struct IdempotencyKeys {
    inner: Mutex<Inner>,
    per_scope: usize,
    max_scopes: usize,
    keep: Duration,
}

impl IdempotencyKeys {
    /// A store keeping `per_scope` keys for each of `max_scopes` sessions,
    /// each for `keep`.
    pub fn new(per_scope: usize, max_scopes: usize, keep: Duration) -> Self {
        IdempotencyKeys {
            inner: Mutex::new(Inner {
                scopes: HashMap::new(),
                clock: 0,
            }),
            per_scope: per_scope.max(1),
            max_scopes: max_scopes.max(1),
            keep,
        }
    }

    /// From the settings (`DJUST_OFFLINE_*`).
    pub fn from_config(config: &crate::config::Config) -> Self {
        let keep = super::key_lifetime(config.offline_max_age_secs);
        Self::new(
            config.offline_keys_per_session,
            config.offline_key_sessions,
            keep,
        )
    }

    /// Claims `key` in `scope` at `now`, or says what became of it.
    pub fn claim_at(&self, scope: &str, key: &str, now: Instant) -> Claim {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let tick = inner.clock;
        if !inner.scopes.contains_key(scope) && inner.scopes.len() >= self.max_scopes {
            let oldest = inner
                .scopes
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest {
                inner.scopes.remove(&oldest);
            }
        }
        let entry = inner.scopes.entry(scope.to_owned()).or_default();
        entry.last_used = tick;
        entry.expire(now, self.keep);
        if let Some(seen) = entry.keys.get(key) {
            return Claim::Seen(seen.status);
        }
        while entry.keys.len() >= self.per_scope {
            match entry.order.pop_front() {
                Some((old, _)) => {
                    entry.keys.remove(&old);
                }
                None => break,
            }
        }
        entry.keys.insert(
            key.to_owned(),
            Entry {
                first_seen: now,
                status: None,
            },
        );
        entry.order.push_back((key.to_owned(), now));
        Claim::New
    }

    /// Records what became of a claimed key.
    pub fn settle_now(&self, scope: &str, key: &str, status: ActionStatus) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = inner
            .scopes
            .get_mut(scope)
            .and_then(|s| s.keys.get_mut(key))
        {
            entry.status = Some(status);
        }
    }

    /// Forgets a claimed key (its action was not applied and may be
    /// retried: rate-limited).
    pub fn release_now(&self, scope: &str, key: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = inner.scopes.get_mut(scope) {
            s.keys.remove(key);
            s.order.retain(|(k, _)| k != key);
        }
    }

    /// Keys remembered in all (for tests and metrics).
    pub fn len(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.scopes.values().map(|s| s.keys.len()).sum()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl IdempotencyStore for IdempotencyKeys {
    fn claim<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move { Ok(self.claim_at(scope, key, Instant::now())) })
    }

    fn settle<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        status: ActionStatus,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.settle_now(scope, key, status);
            Ok(())
        })
    }

    fn release<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.release_now(scope, key);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Duration = Duration::from_secs(60);

    #[test]
    fn a_key_applies_once_per_scope() {
        let keys = IdempotencyKeys::new(10, 10, KEEP);
        let now = Instant::now();
        assert_eq!(keys.claim_at("a", "k1", now), Claim::New);
        assert_eq!(keys.claim_at("a", "k1", now), Claim::Seen(None));
        keys.settle_now("a", "k1", ActionStatus::Applied);
        assert_eq!(
            keys.claim_at("a", "k1", now),
            Claim::Seen(Some(ActionStatus::Applied))
        );
        // Another session (or tenant) has its own keys.
        assert_eq!(keys.claim_at("b", "k1", now), Claim::New);
        keys.release_now("b", "k1");
        assert_eq!(keys.claim_at("b", "k1", now), Claim::New);
    }

    #[test]
    fn bounded_per_scope_scopes_and_time() {
        let keys = IdempotencyKeys::new(3, 2, KEEP);
        let now = Instant::now();
        for key in ["k1", "k2", "k3", "k4"] {
            assert_eq!(keys.claim_at("a", key, now), Claim::New);
        }
        assert_eq!(keys.len(), 3);
        assert_eq!(
            keys.claim_at("a", "k1", now),
            Claim::New,
            "the oldest was forgotten"
        );
        keys.claim_at("b", "k1", now);
        keys.claim_at("c", "k1", now);
        assert_eq!(
            keys.claim_at("a", "k4", now),
            Claim::New,
            "scope a was the least recently used"
        );
        let later = now + KEEP + Duration::from_secs(1);
        assert_eq!(keys.claim_at("c", "k1", later), Claim::New, "expired");
    }
}
