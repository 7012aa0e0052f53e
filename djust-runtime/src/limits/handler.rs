//! Per-handler rate limits (`#[rate_limit]`): token buckets keyed by user,
//! session or IP, shared by every connection of that key, in a bounded LRU.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{BoxFuture, Clock, SystemClock, TokenBucket};

/// Default number of keys a [`MemoryRateLimiter`] keeps before evicting.
pub const DEFAULT_LIMITER_CAPACITY: usize = 100_000;

/// Whose budget a handler call spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSubject<'a> {
    /// An authenticated user, by id.
    User(&'a str),
    /// An anonymous session, by id.
    Session(&'a str),
    /// Neither: the client IP.
    Ip(std::net::IpAddr),
}

/// Builds the limiter key `"{view}:{handler}:{kind}:{id}"`, e.g.
/// `"contacts:search:user:42"`.
///
/// View and handler names match `^[a-z][a-z0-9_]*$` (checked by the macros),
/// so they contain no `:` and the key is unambiguous whatever the id holds.
pub fn handler_key(view: &str, handler: &str, subject: RateSubject<'_>) -> String {
    match subject {
        RateSubject::User(id) => format!("{view}:{handler}:user:{id}"),
        RateSubject::Session(id) => format!("{view}:{handler}:session:{id}"),
        RateSubject::Ip(ip) => format!("{view}:{handler}:ip:{ip}"),
    }
}

/// A store of per-key token buckets.
///
/// Object-safe (`Arc<dyn HandlerRateLimiter>`) and asynchronous, because a
/// limiter shared by several processes lives in Redis. An implementation that
/// cannot reach its backend should refuse (`false`): failing closed.
pub trait HandlerRateLimiter: Send + Sync {
    /// Takes one token from the bucket of `key` (created full with `rate`
    /// tokens/s and `burst` capacity if absent); `false` means rate-limited.
    fn check<'a>(&'a self, key: &'a str, rate: f64, burst: u32) -> BoxFuture<'a, bool>;
}

/// In-process [`HandlerRateLimiter`]: a bounded LRU of [`TokenBucket`]s.
///
/// At most `capacity` keys are kept; adding one more evicts the least recently
/// used key. An evicted key comes back with a full bucket, which is what its
/// bucket would have refilled to anyway unless it was used recently; with the
/// default capacity of 100 000 keys an attacker needs that many distinct
/// identities in flight to reset anyone's budget.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    inner: Mutex<Lru>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug)]
struct Lru {
    capacity: usize,
    next_tick: u64,
    entries: HashMap<Arc<str>, Entry>,
    by_use: BTreeMap<u64, Arc<str>>,
}

#[derive(Debug)]
struct Entry {
    bucket: TokenBucket,
    tick: u64,
}

impl MemoryRateLimiter {
    /// A limiter holding at most `capacity` keys (at least 1), on the system clock.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    /// A limiter holding at most `capacity` keys (at least 1), on `clock`.
    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(Lru {
                capacity: capacity.max(1),
                next_tick: 0,
                entries: HashMap::new(),
                by_use: BTreeMap::new(),
            }),
            clock,
        }
    }

    /// Synchronous check at an explicit time (see [`HandlerRateLimiter::check`]).
    pub fn check_at(&self, key: &str, rate: f64, burst: u32, now: Instant) -> bool {
        self.take_at(key, rate, burst, now).is_ok()
    }

    /// Like [`MemoryRateLimiter::check_at`], saying how long until the
    /// bucket of `key` holds a token again when it is empty.
    pub fn take_at(&self, key: &str, rate: f64, burst: u32, now: Instant) -> Result<(), Duration> {
        let mut lru = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        lru.check(key, rate, burst, now)
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Number of keys currently held.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Maximum number of keys held.
    pub fn capacity(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .capacity
    }

    /// Whether `key` currently has a bucket (does not count as a use).
    pub fn contains(&self, key: &str) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .contains_key(key)
    }
}

impl Default for MemoryRateLimiter {
    /// [`DEFAULT_LIMITER_CAPACITY`] keys on the system clock.
    fn default() -> Self {
        Self::new(DEFAULT_LIMITER_CAPACITY)
    }
}

impl HandlerRateLimiter for MemoryRateLimiter {
    fn check<'a>(&'a self, key: &'a str, rate: f64, burst: u32) -> BoxFuture<'a, bool> {
        let allowed = self.check_at(key, rate, burst, self.clock.now());
        Box::pin(std::future::ready(allowed))
    }
}

impl Lru {
    fn check(&mut self, key: &str, rate: f64, burst: u32, now: Instant) -> Result<(), Duration> {
        let tick = self.next_tick;
        self.next_tick = self.next_tick.wrapping_add(1);
        if let Some((shared_key, entry)) = self.entries.get_key_value(key) {
            let (shared_key, old_tick) = (Arc::clone(shared_key), entry.tick);
            self.by_use.remove(&old_tick);
            self.by_use.insert(tick, shared_key);
            let Some(entry) = self.entries.get_mut(key) else {
                return Err(Duration::MAX);
            };
            entry.tick = tick;
            if entry.bucket.rate() != rate || entry.bucket.burst() != burst {
                entry.bucket.reconfigure_at(rate, burst, now);
            }
            return entry.bucket.try_acquire_or_wait_at(now);
        }
        while self.entries.len() >= self.capacity {
            let Some((_, evicted)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&evicted);
        }
        let mut bucket = TokenBucket::new_at(rate, burst, now);
        let allowed = bucket.try_acquire_or_wait_at(now);
        let shared_key: Arc<str> = Arc::from(key);
        self.by_use.insert(tick, Arc::clone(&shared_key));
        self.entries.insert(shared_key, Entry { bucket, tick });
        allowed
    }
}
