//! Injectable time: a [`Clock`] trait, the real [`SystemClock`] and a
//! [`ManualClock`] that tests advance by hand instead of sleeping.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time for limits and session expiry.
///
/// `now` is monotonic and drives rate limits and cooldowns; `unix_secs` is
/// wall-clock seconds and drives anything that is stored or signed (session
/// expiry, token issue times), because an `Instant` means nothing to another
/// process.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Seconds since the Unix epoch (0 if the system clock is before 1970).
    fn unix_secs(&self) -> u64;
}

/// The real clock: [`Instant::now`] and [`SystemTime::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_secs(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }
}

/// A clock that only moves when [`ManualClock::advance`] is called.
///
/// Both readings move together: advancing by 90 s moves `now()` by 90 s and
/// `unix_secs()` by 90.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    start_unix: u64,
    offset: Mutex<Duration>,
}

impl ManualClock {
    /// A clock frozen at the current instant and `start_unix` wall-clock seconds.
    pub fn new(start_unix: u64) -> Self {
        Self {
            start: Instant::now(),
            start_unix,
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        *offset = offset.saturating_add(by);
    }

    fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    /// A manual clock starting at Unix time 1 700 000 000 (November 2023).
    fn default() -> Self {
        Self::new(1_700_000_000)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.offset()
    }

    fn unix_secs(&self) -> u64 {
        self.start_unix.saturating_add(self.offset().as_secs())
    }
}
