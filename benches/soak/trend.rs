//! Samples of a process's RSS and open file descriptors over a run, and
//! their trend: the least-squares slope over the samples after warm-up,
//! expressed as the change across that span in percent of the mean (flat
//! means under 1%).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::procs::{open_fds, rss_kib};

/// One sample: seconds since the start, RSS in KiB, open fds.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub secs: f64,
    pub rss_kib: f64,
    pub fds: f64,
}

/// Samples `pid` every `every` until dropped.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn start(pid: u32, start: Instant, every: Duration) -> Sampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let sink = samples.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let (Some(rss), Some(fds)) = (rss_kib(pid), open_fds(pid)) else {
                    continue;
                };
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Sample {
                        secs: start.elapsed().as_secs_f64(),
                        rss_kib: rss as f64,
                        fds: fds as f64,
                    });
            }
        });
        Sampler { samples, task }
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Least-squares line through `(x, y)`: `(slope, mean of y)`.
pub fn regression(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| (sxy / sxx, mean_y))
}

/// The trend of one measure after `warmup_secs`: the fitted change across
/// the measured span in percent of the mean, with min, max and mean.
pub fn trend(samples: &[Sample], warmup_secs: f64, measure: fn(&Sample) -> f64) -> Value {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.secs >= warmup_secs)
        .map(|s| (s.secs, measure(s)))
        .collect();
    let span = match (points.first(), points.last()) {
        (Some(first), Some(last)) => last.0 - first.0,
        _ => 0.0,
    };
    let Some((slope, mean)) = regression(&points) else {
        return json!({"samples": points.len(), "trend_percent": null});
    };
    let min = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let max = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let percent = if mean > 0.0 {
        slope * span / mean * 100.0
    } else {
        0.0
    };
    json!({
        "samples": points.len(),
        "span_secs": span.round(),
        "mean": mean.round(),
        "min": min,
        "max": max,
        "slope_per_minute": (slope * 60.0 * 100.0).round() / 100.0,
        "trend_percent": (percent * 1000.0).round() / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_series_has_no_trend_and_a_rising_one_does() {
        let flat: Vec<Sample> = (0..100)
            .map(|i| Sample {
                secs: f64::from(i),
                rss_kib: 1000.0 + f64::from(i % 2),
                fds: 10.0,
            })
            .collect();
        let value = trend(&flat, 10.0, |s| s.rss_kib);
        assert!(
            value["trend_percent"].as_f64().unwrap_or(1.0).abs() < 0.1,
            "{value}"
        );
        assert_eq!(value["samples"], 90);
        let rising: Vec<Sample> = (0..=100)
            .map(|i| Sample {
                secs: f64::from(i),
                rss_kib: 1000.0 + f64::from(i),
                fds: 10.0,
            })
            .collect();
        // From 1000 to 1100 around a mean of 1050: 100/1050 = 9.52%.
        let value = trend(&rising, 0.0, |s| s.rss_kib);
        let percent = value["trend_percent"].as_f64().unwrap_or(0.0);
        assert!((percent - 9.524).abs() < 0.01, "{value}");
    }

    #[test]
    fn too_few_samples_give_no_trend() {
        assert_eq!(regression(&[]), None);
        assert_eq!(regression(&[(1.0, 2.0)]), None);
        assert_eq!(regression(&[(1.0, 2.0), (1.0, 3.0)]), None);
        let value = trend(&[], 0.0, |s| s.fds);
        assert!(value["trend_percent"].is_null());
    }
}
