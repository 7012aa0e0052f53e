//! What a run measures while sessions send events ([`Stats`]: event→reply
//! latency, bytes, reply kinds, send lag, failures, chat deliveries) and
//! how measurements become numbers in the report: latency percentiles
//! from HDR histograms and per-event rates of counted calls.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::BenchResult;

/// Chat messages carry `[bench:{sender}:{µs since the run's epoch}]`, so
/// any client that receives one knows who sent it and when.
pub const MARK: &str = "[bench:";

/// Shared measurements of the sending phase.
pub struct Stats {
    pub latency: Mutex<Histogram<u64>>,
    pub measured_from: Instant,
    pub measured_until: Instant,
    pub events: AtomicU64,
    pub reply_bytes: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub sent: AtomicU64,
    pub replies_by_kind: Mutex<Counts>,
    pub failures: AtomicUsize,
    pub first_failure: Mutex<Option<String>>,
    pub sample_reply: Mutex<Option<String>>,
    pub send_lag: Mutex<Histogram<u64>>,
    /// Chat only: message sent → received by another session of the room.
    pub delivery: Option<Mutex<Histogram<u64>>>,
    pub deliveries: AtomicU64,
    /// Chat: per sending session, the other views of its room.
    pub fan_out: Vec<u64>,
    /// Chat: deliveries the measured events should cause (Σ `fan_out`).
    pub expected_deliveries: AtomicU64,
    /// Zero of the chat messages' send times (as in [`EventSource`](crate::load::EventSource)).
    pub epoch: Instant,
}

impl Stats {
    /// Empty measurements of the events sent in `[measured_from,
    /// measured_until)`. `chat_fan_out` is `Some` for `chat` only: per
    /// sending session, the other views of its room; deliveries are then
    /// measured too. `epoch` is the zero of the chat messages' send times.
    pub fn new(
        measured_from: Instant,
        measured_until: Instant,
        epoch: Instant,
        chat_fan_out: Option<Vec<u64>>,
    ) -> BenchResult<Stats> {
        Ok(Stats {
            latency: Mutex::new(new_histogram()?),
            measured_from,
            measured_until,
            events: AtomicU64::new(0),
            reply_bytes: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            replies_by_kind: Mutex::new(Counts::new()),
            failures: AtomicUsize::new(0),
            first_failure: Mutex::new(None),
            sample_reply: Mutex::new(None),
            send_lag: Mutex::new(new_histogram()?),
            delivery: match chat_fan_out {
                Some(_) => Some(Mutex::new(new_histogram()?)),
                None => None,
            },
            deliveries: AtomicU64::new(0),
            fan_out: chat_fan_out.unwrap_or_default(),
            expected_deliveries: AtomicU64::new(0),
            epoch,
        })
    }

    pub fn record(&self, id: usize, sent_at: Instant, now: Instant, bytes: usize, kind: &str) {
        if sent_at < self.measured_from || sent_at >= self.measured_until {
            return;
        }
        if let Some(others) = self.fan_out.get(id) {
            self.expected_deliveries
                .fetch_add(*others, Ordering::Relaxed);
        }
        let micros = now.duration_since(sent_at).as_micros() as u64;
        if let Ok(mut hist) = self.latency.lock() {
            let _ = hist.record(micros.max(1));
        }
        self.events.fetch_add(1, Ordering::Relaxed);
        self.reply_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        if let Ok(mut kinds) = self.replies_by_kind.lock() {
            *kinds.entry(kind.to_owned()).or_default() += 1;
        }
    }

    pub fn sample(&self, frame: &Value) {
        if let Ok(mut sample) = self.sample_reply.lock() {
            if sample.is_none() {
                *sample = Some(frame.to_string());
            }
        }
    }

    pub fn lag(&self, late: Duration) {
        if let Ok(mut hist) = self.send_lag.lock() {
            let _ = hist.record((late.as_micros() as u64).max(1));
        }
    }

    pub fn note_sent(&self, bytes: usize) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.sent_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Records every chat message in `frame` that `receiver` got from
    /// another session and that was sent in the measured phase.
    pub fn observe(&self, frame: &str, receiver: usize, now: Instant) {
        let Some(delivery) = &self.delivery else {
            return;
        };
        let mut rest = frame;
        while let Some(at) = rest.find(MARK) {
            rest = &rest[at + MARK.len()..];
            let Some((sender, after)) = rest.split_once(':') else {
                break;
            };
            let Some((micros, _)) = after.split_once(']') else {
                break;
            };
            let (Ok(sender), Ok(micros)) = (sender.parse::<usize>(), micros.parse::<u64>()) else {
                continue;
            };
            let sent_at = self.epoch + Duration::from_micros(micros);
            if sender == receiver || sent_at < self.measured_from || sent_at >= self.measured_until
            {
                continue;
            }
            let micros = now.saturating_duration_since(sent_at).as_micros() as u64;
            if let Ok(mut hist) = delivery.lock() {
                let _ = hist.record(micros.max(1));
            }
            self.deliveries.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn fail(&self, why: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_failure.lock() {
            first.get_or_insert(why);
        }
    }
}

/// An empty latency histogram.
pub fn new_histogram() -> BenchResult<Histogram<u64>> {
    // 1 µs .. 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).map_err(|e| format!("histogram: {e}"))
}

/// p50 … max, mean and count of `hist` (µs) as JSON; `null` when empty.
pub fn percentiles_us(hist: &Histogram<u64>) -> Value {
    if hist.is_empty() {
        return Value::Null;
    }
    json!({
        "p50": hist.value_at_quantile(0.50),
        "p90": hist.value_at_quantile(0.90),
        "p99": hist.value_at_quantile(0.99),
        "p999": hist.value_at_quantile(0.999),
        "max": hist.max(),
        "mean": (hist.mean() * 10.0).round() / 10.0,
        "count": hist.len(),
    })
}

/// Calls per command name (Redis accounting).
pub type Counts = BTreeMap<String, u64>;

/// Total calls in `counts` per event, rounded to 3 decimals.
pub fn per_event_total(counts: &Counts, events: u64) -> Value {
    if events == 0 {
        return Value::Null;
    }
    let total: u64 = counts.values().sum();
    json!(round3(total as f64 / events as f64))
}

/// Calls per event by command name, rounded to 3 decimals.
pub fn per_event(counts: &Counts, events: u64) -> Value {
    if events == 0 {
        return Value::Null;
    }
    Value::Object(
        counts
            .iter()
            .map(|(name, calls)| (name.clone(), json!(round3(*calls as f64 / events as f64))))
            .collect(),
    )
}

/// `value` rounded to 3 decimals.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chat stats whose measured window is the next minute; session 0
    /// sends to two other views.
    fn chat_stats() -> (Stats, Instant) {
        let epoch = Instant::now();
        let stats = Stats::new(epoch, epoch + Duration::from_secs(60), epoch, Some(vec![2]))
            .unwrap_or_else(|e| panic!("{e}"));
        (stats, epoch)
    }

    #[test]
    fn deliveries_from_other_sessions_are_counted() {
        let (stats, epoch) = chat_stats();
        let frame = format!("{MARK}0:10] hi {MARK}3:20] there {MARK}1:30] mine");
        stats.observe(&frame, 1, epoch + Duration::from_millis(1));
        assert_eq!(stats.deliveries.load(Ordering::Relaxed), 2);
        let stats_without_chat =
            Stats::new(epoch, epoch, epoch, None).unwrap_or_else(|e| panic!("{e}"));
        stats_without_chat.observe(&frame, 1, epoch);
        assert_eq!(stats_without_chat.deliveries.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn hostile_marks_are_skipped_without_panicking() {
        let (stats, epoch) = chat_stats();
        for frame in [
            MARK.to_owned(),
            format!("{MARK}abc:10]"),
            format!("{MARK}1:-5]"),
            format!("{MARK}1:10"),
            format!("{MARK}1"),
            format!("{MARK}{}:{}]", usize::MAX, u64::MAX),
            format!("{MARK}2:{}]", u64::MAX),
            format!("{MARK}2:99999999999999999999999]"),
            format!("{MARK}{MARK}{MARK}"),
            format!("{MARK}2:１０]"),
        ] {
            stats.observe(&frame, 1, epoch);
        }
        assert_eq!(stats.deliveries.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn only_events_sent_in_the_window_are_recorded() {
        let (stats, epoch) = chat_stats();
        let later = epoch + Duration::from_millis(2);
        stats.record(0, epoch + Duration::from_millis(1), later, 100, "patch");
        stats.record(0, epoch + Duration::from_secs(61), later, 100, "patch");
        assert_eq!(stats.events.load(Ordering::Relaxed), 1);
        assert_eq!(stats.reply_bytes.load(Ordering::Relaxed), 100);
        assert_eq!(stats.expected_deliveries.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn per_event_rates_are_rounded_and_null_without_events() {
        let counts: Counts = [("evalsha".to_owned(), 3), ("publish".to_owned(), 1)].into();
        assert_eq!(per_event_total(&counts, 3), json!(1.333));
        assert_eq!(
            per_event(&counts, 3),
            json!({"evalsha": 1.0, "publish": 0.333})
        );
        assert_eq!(per_event_total(&counts, 0), Value::Null);
        assert_eq!(per_event(&counts, 0), Value::Null);
        assert_eq!(
            percentiles_us(&new_histogram().unwrap_or_else(|e| panic!("{e}"))),
            Value::Null
        );
    }
}
