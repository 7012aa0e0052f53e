//! The continuous-refill token bucket behind every rate limit.

use std::time::{Duration, Instant};

/// Default sustained rate of the per-connection global limit (`DJUST_RATE_PER_SECOND`).
pub const DEFAULT_RATE_PER_SECOND: f64 = 100.0;

/// Default burst of the per-connection global limit (`DJUST_RATE_BURST`).
pub const DEFAULT_BURST: u32 = 20;

/// Default sustained rate of live navigations per connection (each one
/// mounts a view: `DJUST_NAVIGATIONS_PER_SECOND`).
pub const DEFAULT_NAVIGATIONS_PER_SECOND: f64 = 4.0;

/// Default burst of live navigations per connection (`DJUST_NAVIGATION_BURST`).
pub const DEFAULT_NAVIGATION_BURST: u32 = 8;

/// Tolerance for floating-point refill so that, e.g., 10 ms at 100/s really
/// yields a whole token.
const EPSILON: f64 = 1e-9;

/// A rate-limit setting: `rate` tokens per second, at most `burst` saved up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained tokens per second.
    pub rate: f64,
    /// Bucket capacity (and the number of tokens a fresh bucket starts with).
    pub burst: u32,
}

impl Default for RateLimit {
    /// The per-connection global limit: 100/s, burst 20.
    fn default() -> Self {
        Self {
            rate: DEFAULT_RATE_PER_SECOND,
            burst: DEFAULT_BURST,
        }
    }
}

/// A token bucket with continuous refill.
///
/// Starts full (`burst` tokens); each accepted event takes one token; tokens
/// come back at `rate` per second up to `burst`. A non-finite or negative
/// `rate` is treated as 0 (no refill) and `burst = 0` refuses everything:
/// a bad setting fails closed rather than open.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: u32,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket created now.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self::new_at(rate, burst, Instant::now())
    }

    /// A full bucket created at `now`.
    pub fn new_at(rate: f64, burst: u32, now: Instant) -> Self {
        Self {
            rate: sanitize_rate(rate),
            burst,
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// A full bucket with the given [`RateLimit`], created at `now`.
    pub fn from_limit_at(limit: RateLimit, now: Instant) -> Self {
        Self::new_at(limit.rate, limit.burst, now)
    }

    /// Takes one token now if one is available.
    pub fn try_acquire(&mut self) -> bool {
        self.try_acquire_at(Instant::now())
    }

    /// Takes one token at `now` if one is available.
    ///
    /// A `now` earlier than the last call (which a monotonic clock never
    /// produces) refills nothing rather than panicking.
    pub fn try_acquire_at(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens + EPSILON >= 1.0 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }

    /// Takes `tokens` at `now` if that many are available (all or none):
    /// e.g. one token per byte of an upload chunk.
    pub fn try_take_at(&mut self, tokens: u32, now: Instant) -> bool {
        self.refill(now);
        let wanted = f64::from(tokens);
        if self.tokens + EPSILON >= wanted {
            self.tokens = (self.tokens - wanted).max(0.0);
            true
        } else {
            false
        }
    }

    /// Takes one token at `now`, or says how long until one is available
    /// (`Duration::MAX` for a bucket that never refills).
    pub fn try_acquire_or_wait_at(&mut self, now: Instant) -> Result<(), Duration> {
        if self.try_acquire_at(now) {
            return Ok(());
        }
        if self.rate <= 0.0 || self.burst == 0 {
            return Err(Duration::MAX);
        }
        let missing = (1.0 - self.tokens).max(0.0);
        Err(Duration::try_from_secs_f64(missing / self.rate).unwrap_or(Duration::MAX))
    }

    /// Whole tokens available at `now` (refills first).
    pub fn available_at(&mut self, now: Instant) -> u32 {
        self.refill(now);
        // `tokens` is within 0..=burst, so the cast cannot truncate meaningfully.
        (self.tokens + EPSILON).floor() as u32
    }

    /// The sustained rate in tokens per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The bucket capacity.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Changes rate and burst, keeping the saved tokens (capped at the new burst).
    pub fn reconfigure_at(&mut self, rate: f64, burst: u32, now: Instant) {
        self.refill(now);
        self.rate = sanitize_rate(rate);
        self.burst = burst;
        self.tokens = self.tokens.min(f64::from(burst));
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        if now > self.last {
            self.last = now;
        }
        let refilled = self.tokens + elapsed * self.rate;
        self.tokens = if refilled.is_finite() {
            refilled.min(f64::from(self.burst))
        } else {
            f64::from(self.burst)
        };
    }
}

impl Default for TokenBucket {
    /// A full bucket with the global per-connection limit (100/s, burst 20).
    fn default() -> Self {
        Self::from_limit_at(RateLimit::default(), Instant::now())
    }
}

fn sanitize_rate(rate: f64) -> f64 {
    if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        0.0
    }
}
