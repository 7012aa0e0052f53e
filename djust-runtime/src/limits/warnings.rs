//! Counting rate-limit warnings on one connection: warn, warn, then close.

/// WebSocket close code for "rate or connection limit exceeded".
pub const CLOSE_RATE_LIMITED: u16 = 4429;

/// Default number of rate-limit violations that closes a connection.
pub const DEFAULT_MAX_WARNINGS: u32 = 3;

/// What the server does after a rate-limit violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningOutcome {
    /// Send a `rate_limit_exceeded` frame; this is violation number `n` (1-based).
    Warn(u32),
    /// The limit is reached: close with [`CLOSE_RATE_LIMITED`] and call
    /// [`IpTracker::start_cooldown`](super::IpTracker::start_cooldown) for the
    /// client's IP.
    Close,
}

/// Per-connection count of rate-limit violations.
///
/// With `max = 3`: the first two violations return `Warn(1)`, `Warn(2)`; the
/// third returns `Close`, as do any later ones (the server must stop
/// processing frames once it has decided to close). `max = 0` or `1` closes
/// on the first violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWarnings {
    /// Violations that close the connection.
    pub max: u32,
    count: u32,
}

impl RateWarnings {
    /// A counter that closes on the `max`-th violation.
    pub fn new(max: u32) -> Self {
        Self { max, count: 0 }
    }

    /// Records one violation and says what to do about it.
    pub fn record(&mut self) -> WarningOutcome {
        self.count = self.count.saturating_add(1);
        if self.count >= self.max {
            WarningOutcome::Close
        } else {
            WarningOutcome::Warn(self.count)
        }
    }

    /// Violations recorded so far.
    pub fn count(&self) -> u32 {
        self.count
    }
}

impl Default for RateWarnings {
    /// Closes on the third violation.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_WARNINGS)
    }
}
