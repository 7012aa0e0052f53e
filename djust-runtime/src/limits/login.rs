//! Bounds on password guessing and on the cost of checking passwords: the
//! attempt budgets ([`LoginThrottle`], per client address, per user name
//! and for the whole process) and the hashing gate ([`LoginGate`]: a few
//! hashes at once, a short queue, refusal beyond it). Every check runs
//! before any password is hashed.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{address_group, BoxFuture, Clock, MemoryRateLimiter, SystemClock};

/// Login attempts per minute for the whole process (`DJUST_LOGIN_PER_MINUTE`).
pub const DEFAULT_LOGIN_PER_MINUTE: u32 = 600;

/// Login attempts per minute from one client address
/// (`DJUST_LOGIN_PER_IP_PER_MINUTE`).
pub const DEFAULT_LOGIN_PER_IP_PER_MINUTE: u32 = 20;

/// Login attempts per minute for one user name, from any address
/// (`DJUST_LOGIN_PER_USER_PER_MINUTE`).
pub const DEFAULT_LOGIN_PER_USER_PER_MINUTE: u32 = 10;

/// Keys a [`MemoryLoginThrottle`] holds before evicting the least recently used.
pub const DEFAULT_LOGIN_THROTTLE_CAPACITY: usize = 100_000;

/// Passwords hashed at once (`DJUST_LOGIN_CONCURRENCY`): the number of
/// cores, since a hash is pure CPU work (at least 1).
pub fn default_login_concurrency() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Logins waiting for a hashing slot (`DJUST_LOGIN_QUEUE`): twice the
/// concurrency, so a waiting login is at most two hashes away from its turn.
pub fn default_login_queue() -> usize {
    default_login_concurrency().saturating_mul(2)
}

/// Why a login attempt was refused before any hash ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleRefusal {
    /// The budget is spent; one more attempt is possible after `retry_after`.
    Limited {
        /// Time until the next attempt is accepted.
        retry_after: Duration,
    },
    /// The shared store could not be asked (Redis down): refused, fail closed.
    Unavailable,
}

/// Budgets of login attempts, one token bucket per key, each allowing
/// `per_minute` attempts in a burst and refilling at `per_minute` a minute.
///
/// Object-safe and asynchronous like the other stores that may live in
/// Redis (`djust::runtime::redis::RedisLoginThrottle`), so budgets hold
/// across every process. An implementation that cannot reach its backend
/// refuses ([`ThrottleRefusal::Unavailable`]).
pub trait LoginThrottle: Send + Sync {
    /// Takes one attempt from `key`'s budget (see [`login_ip_key`] and
    /// [`login_user_key`]).
    fn attempt<'a>(
        &'a self,
        key: &'a str,
        per_minute: u32,
    ) -> BoxFuture<'a, Result<(), ThrottleRefusal>>;
}

/// The budget key of a client address: IPv4-mapped IPv6 as IPv4, other
/// IPv6 addresses by their /64 (one host usually owns a whole /64).
pub fn login_ip_key(ip: IpAddr) -> String {
    format!("ip:{}", address_group(ip, 64))
}

/// The budget key of a user name: surrounding spaces trimmed and letters
/// lower-cased (so `Alice` and ` alice` share a budget), then hashed, so a
/// key never holds what was typed and has a fixed length whatever it was.
pub fn login_user_key(username: &str) -> String {
    let normalised = username.trim().to_lowercase();
    let digest = Sha256::digest(normalised.as_bytes());
    let mut key = String::with_capacity(5 + 64);
    key.push_str("user:");
    for byte in digest {
        key.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        key.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    key
}

/// Rate (tokens per second) of a per-minute budget.
pub fn per_minute_rate(per_minute: u32) -> f64 {
    f64::from(per_minute) / 60.0
}

/// The in-process [`LoginThrottle`]: token buckets in a bounded LRU.
#[derive(Debug)]
pub struct MemoryLoginThrottle {
    buckets: MemoryRateLimiter,
}

impl MemoryLoginThrottle {
    /// Budgets for at most `capacity` keys, on the system clock.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    /// Budgets for at most `capacity` keys, on `clock`.
    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            buckets: MemoryRateLimiter::with_clock(capacity, clock),
        }
    }

    /// Takes one attempt from `key` now (see [`LoginThrottle::attempt`]).
    pub fn attempt_now(&self, key: &str, per_minute: u32) -> Result<(), ThrottleRefusal> {
        let now = self.buckets.clock().now();
        self.buckets
            .take_at(key, per_minute_rate(per_minute), per_minute, now)
            .map_err(|retry_after| ThrottleRefusal::Limited { retry_after })
    }
}

impl Default for MemoryLoginThrottle {
    fn default() -> Self {
        Self::new(DEFAULT_LOGIN_THROTTLE_CAPACITY)
    }
}

impl LoginThrottle for MemoryLoginThrottle {
    fn attempt<'a>(
        &'a self,
        key: &'a str,
        per_minute: u32,
    ) -> BoxFuture<'a, Result<(), ThrottleRefusal>> {
        Box::pin(std::future::ready(self.attempt_now(key, per_minute)))
    }
}

/// Admission to password hashing: at most `concurrency` hashes run at
/// once, at most `queue` more wait for their turn, and anything beyond is
/// refused at once ([`LoginGate::try_enter`] returns `None`) so a flood of
/// logins never queues unbounded work or memory.
#[derive(Debug, Clone)]
pub struct LoginGate {
    permits: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    capacity: usize,
}

impl LoginGate {
    /// A gate running `concurrency` hashes at once (at least 1) with `queue` waiting.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: concurrency.saturating_add(queue),
        }
    }

    /// A place in the gate (running or queued), or `None` when the queue is full.
    pub fn try_enter(&self) -> Option<LoginTicket> {
        let mut current = self.admitted.load(Ordering::Acquire);
        loop {
            if current >= self.capacity {
                return None;
            }
            match self.admitted.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Some(LoginTicket {
                        permits: Arc::clone(&self.permits),
                        admitted: Arc::clone(&self.admitted),
                    })
                }
                Err(seen) => current = seen,
            }
        }
    }

    /// Logins admitted now (running and queued).
    pub fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }
}

/// A place in a [`LoginGate`]; dropping it leaves the gate.
#[derive(Debug)]
#[must_use = "dropping the ticket leaves the queue"]
pub struct LoginTicket {
    permits: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
}

impl LoginTicket {
    /// Waits for a hashing slot; hash while holding the returned permit.
    pub async fn ready(self) -> LoginPermit {
        // The semaphore is never closed, so acquiring only waits.
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok();
        LoginPermit {
            _permit: permit,
            _ticket: self,
        }
    }
}

impl Drop for LoginTicket {
    fn drop(&mut self) {
        self.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The right to hash one password now; dropping it lets the next one in.
#[derive(Debug)]
pub struct LoginPermit {
    _permit: Option<OwnedSemaphorePermit>,
    _ticket: LoginTicket,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::ManualClock;

    #[test]
    fn budgets_refuse_with_the_time_to_the_next_attempt() {
        let clock = Arc::new(ManualClock::default());
        let throttle = MemoryLoginThrottle::with_clock(10, clock.clone());
        for _ in 0..3 {
            assert_eq!(throttle.attempt_now("ip:1.2.3.4", 3), Ok(()));
        }
        let Err(ThrottleRefusal::Limited { retry_after }) = throttle.attempt_now("ip:1.2.3.4", 3)
        else {
            panic!("the fourth attempt in a minute is refused");
        };
        assert_eq!(retry_after.as_secs(), 20, "3 a minute: one every 20 s");
        assert_eq!(throttle.attempt_now("ip:1.2.3.5", 3), Ok(()), "other key");
        clock.advance(Duration::from_secs(20));
        assert_eq!(throttle.attempt_now("ip:1.2.3.4", 3), Ok(()));
    }

    #[test]
    fn user_keys_are_normalised_hashed_and_fixed_length() {
        assert_eq!(login_user_key("Alice"), login_user_key("  alice "));
        assert_ne!(login_user_key("alice"), login_user_key("alicf"));
        for hostile in [
            "",
            "a\r\nb",
            "'; DROP TABLE users; --",
            &"x".repeat(100_000),
        ] {
            let key = login_user_key(hostile);
            assert_eq!(key.len(), 5 + 64, "{key}");
            assert!(!key.contains(['\r', '\n', '\'', ' ']), "{key}");
        }
        assert_eq!(
            login_ip_key("::ffff:10.0.0.1".parse().expect("ip")),
            "ip:10.0.0.1"
        );
        assert_eq!(
            login_ip_key("2001:db8::1".parse().expect("ip")),
            login_ip_key("2001:db8::ffff:2".parse().expect("ip")),
            "one /64"
        );
    }

    #[tokio::test]
    async fn the_gate_admits_concurrency_plus_queue_then_refuses() {
        let gate = LoginGate::new(1, 2);
        let first = gate.try_enter().expect("runs");
        let second = gate.try_enter().expect("queued");
        let third = gate.try_enter().expect("queued");
        assert!(gate.try_enter().is_none(), "queue full");
        let running = first.ready().await;
        let mut waiting = Box::pin(second.ready());
        assert!(
            futures_util::FutureExt::now_or_never(waiting.as_mut()).is_none(),
            "one hash at a time"
        );
        drop(running);
        let _second = waiting.await;
        assert!(gate.try_enter().is_some(), "a place freed");
        drop(third);
        assert_eq!(gate.admitted(), 1);
    }
}
