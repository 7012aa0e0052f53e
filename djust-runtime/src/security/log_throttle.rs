//! [`LogThrottle`]: at most one log line per kind of event per interval,
//! with the count of the repeats it suppressed, so a flood of refusals
//! (thousands of handshakes a second from one address) cannot flood the
//! log or the disk behind it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lets one line per kind through per interval and counts the rest.
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    kinds: Mutex<HashMap<&'static str, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    logged_at: Instant,
    suppressed: u64,
}

impl LogThrottle {
    /// One line per kind per `interval`.
    pub fn new(interval: Duration) -> Self {
        LogThrottle {
            interval,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a line of `kind` may be logged at `now`: `Some(n)` with the
    /// number of lines suppressed since the last one (log it with the
    /// line), or `None` to stay silent (it is counted).
    pub fn allow(&self, kind: &'static str, now: Instant) -> Option<u64> {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        match kinds.get_mut(kind) {
            Some(window) if now.saturating_duration_since(window.logged_at) < self.interval => {
                window.suppressed += 1;
                None
            }
            Some(window) => {
                let suppressed = window.suppressed;
                *window = Window {
                    logged_at: now,
                    suppressed: 0,
                };
                Some(suppressed)
            }
            None => {
                kinds.insert(
                    kind,
                    Window {
                        logged_at: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

impl Default for LogThrottle {
    /// One line per kind per second.
    fn default() -> Self {
        LogThrottle::new(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_kind_per_interval_with_the_suppressed_count() {
        let throttle = LogThrottle::new(Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(throttle.allow("refused", start), Some(0));
        for n in 1..=688 {
            assert_eq!(
                throttle.allow("refused", start + Duration::from_millis(n)),
                None
            );
        }
        // Another kind has its own window.
        assert_eq!(throttle.allow("timeout", start), Some(0));
        assert_eq!(
            throttle.allow("refused", start + Duration::from_secs(1)),
            Some(688)
        );
        assert_eq!(
            throttle.allow("refused", start + Duration::from_secs(3)),
            Some(0)
        );
    }
}
