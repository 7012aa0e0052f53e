//! What the users of a run counted, shared by all their tasks: clicks
//! sent and acknowledged, acknowledged clicks missing after a reconnect,
//! resumes and fresh mounts, errors shown and network troubles, and the
//! longest time a user waited from a trouble to the next acknowledged
//! click (recovery).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::session::{Rejoin, Trouble};

#[derive(Default)]
pub struct Tally {
    pub acked: AtomicU64,
    pub lost: AtomicU64,
    pub resumed: AtomicU64,
    pub fresh: AtomicU64,
    pub shown: AtomicU64,
    pub network: AtomicU64,
    pub opened: AtomicU64,
    /// Longest trouble → next ack, in ms, of troubles after `since_ms`.
    pub worst_recovery_ms: AtomicU64,
    /// When (ms since the start) the last user recovered.
    pub last_recovered_ms: AtomicU64,
    /// A few examples of each kind of trouble, for the report.
    examples: Mutex<Vec<String>>,
}

impl Tally {
    pub fn trouble(&self, trouble: &Trouble) {
        let text = match trouble {
            Trouble::Network(text) => {
                self.network.fetch_add(1, Relaxed);
                text
            }
            Trouble::Shown(text) => {
                self.shown.fetch_add(1, Relaxed);
                text
            }
        };
        if let Ok(mut examples) = self.examples.lock() {
            if examples.len() < 8 && !examples.iter().any(|e| e == text) {
                examples.push(text.clone());
            }
        }
    }

    pub fn rejoined(&self, rejoin: &Rejoin) {
        match rejoin {
            Rejoin::Resumed { lost } => {
                self.resumed.fetch_add(1, Relaxed);
                self.lost.fetch_add(*lost, Relaxed);
            }
            Rejoin::Fresh { lost } => {
                self.fresh.fetch_add(1, Relaxed);
                self.lost.fetch_add(*lost, Relaxed);
            }
        }
    }

    /// A user whose trouble began at `since` got an ack again now.
    pub fn recovered(&self, since: Instant, start: Instant) {
        self.worst_recovery_ms
            .fetch_max(millis(since.elapsed()), Relaxed);
        self.last_recovered_ms
            .fetch_max(millis(start.elapsed()), Relaxed);
    }

    pub fn report(&self) -> Value {
        json!({
            "clicks_acknowledged": self.acked.load(Relaxed),
            "acknowledged_clicks_lost": self.lost.load(Relaxed),
            "resumes": self.resumed.load(Relaxed),
            "fresh_mounts_after_refused_resume": self.fresh.load(Relaxed),
            "error_frames_shown": self.shown.load(Relaxed),
            "network_troubles": self.network.load(Relaxed),
            "sessions_opened": self.opened.load(Relaxed),
            "worst_recovery_ms": self.worst_recovery_ms.load(Relaxed),
            "trouble_examples": self.examples.lock().map(|e| e.clone()).unwrap_or_default(),
        })
    }
}

pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A small deterministic generator for think times (no security use).
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number uniformly in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }

    /// A duration uniformly in `low..high` milliseconds.
    pub fn between(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.below(high.saturating_sub(low)))
    }
}
