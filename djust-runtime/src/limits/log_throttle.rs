//! [`LogThrottle`]: at most one log line per interval for a repeating
//! event, with the count of the lines left out, so a flood (an attacker's
//! refused connections, a full file table) cannot flood the log too.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lets one occurrence of an event through per `interval` and counts the rest.
///
/// ```
/// # use djust_runtime::limits::LogThrottle;
/// # use std::time::Duration;
/// static REFUSED: LogThrottle = LogThrottle::new(Duration::from_secs(1));
/// if let Some(suppressed) = REFUSED.should_log() {
///     tracing::warn!(suppressed, "connection refused");
/// }
/// ```
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    /// A throttle letting one event through per `interval`.
    pub const fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new(State {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// `Some(n)` when this occurrence should be logged now (`n` occurrences
    /// were left out since the last one logged); `None` to leave it out.
    pub fn should_log(&self) -> Option<u64> {
        self.should_log_at(Instant::now())
    }

    /// [`LogThrottle::should_log`] at `now`.
    pub fn should_log_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let due = state
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            state.last = Some(now);
            Some(std::mem::take(&mut state.suppressed))
        } else {
            state.suppressed = state.suppressed.saturating_add(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogThrottle;
    use std::time::{Duration, Instant};

    #[test]
    fn one_line_per_interval_with_the_count_left_out() {
        let throttle = LogThrottle::new(Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(throttle.should_log_at(start), Some(0));
        for offset in 1..=5 {
            assert_eq!(
                throttle.should_log_at(start + Duration::from_millis(offset * 100)),
                None
            );
        }
        assert_eq!(
            throttle.should_log_at(start + Duration::from_secs(1)),
            Some(5)
        );
        assert_eq!(
            throttle.should_log_at(start + Duration::from_millis(1500)),
            None
        );
        // A clock that goes backwards never logs twice in an interval.
        assert_eq!(throttle.should_log_at(start), None);
        assert_eq!(
            throttle.should_log_at(start + Duration::from_secs(3)),
            Some(2)
        );
    }
}
