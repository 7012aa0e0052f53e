//! The abandoned-socket flood: `--sockets` sockets (default 50,000), each
//! with its own session, mount the `soak` view and are then dropped
//! without a close, within the reconnect grace (raised to 10 minutes so
//! every one of them is still detached at the end), `--concurrency` at a
//! time, from 2,000 loopback addresses (25 each, under the per-address
//! detached cap). The detached-view count cap is raised above the flood,
//! so the memory cap `DJUST_MAX_DETACHED_BYTES` (`--cap-mib`) is the one
//! that binds. Reports the server's RSS and its counted heap (`heap.rs`)
//! before, at peak and after, against baseline + cap, and whether a user
//! can still mount and resume.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::net::attacker;
use crate::procs::{open_fds, rss_kib, ServerChild};
use crate::session::{Rejoin, User};
use crate::trend::Sampler;
use crate::Options;

/// Loopback addresses the flood comes from.
const ADDRESSES: usize = 2_000;

pub async fn run(options: &Options) -> Result<Value, String> {
    let cap_bytes = options.cap_mib * 1024 * 1024;
    let env = [
        ("DJUST_RECONNECT_GRACE_SECS", "600".to_owned()),
        (
            "DJUST_MAX_DETACHED_VIEWS",
            (options.sockets * 2).to_string(),
        ),
        ("DJUST_MAX_DETACHED_BYTES", cap_bytes.to_string()),
        ("DJUST_MAX_SESSIONS", (options.sockets * 2).to_string()),
    ];
    let mut server = ServerChild::start(None, &env).await?;
    let addr = server.addr;
    // Baseline: the server after a few hundred users came and went cleanly.
    for index in 0..200 {
        if let Ok(mut user) = User::open(attacker(ADDRESSES + index), addr).await {
            let _ = user.click().await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = rss_kib(server.pid).unwrap_or(0);
    // Also starts the server's heap peak from here.
    let heap_baseline = server.memory().await.unwrap_or_default();
    let start = Instant::now();
    let sampler = Sampler::start(server.pid, start, Duration::from_secs(1));
    let mounted = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..options.concurrency {
        let (mounted, failed, next) = (mounted.clone(), failed.clone(), next.clone());
        let total = options.sockets as u64;
        workers.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Relaxed);
                if index >= total {
                    return;
                }
                match User::open(attacker(index as usize % ADDRESSES), addr).await {
                    // Dropped without a close: the view detaches.
                    Ok(user) => {
                        drop(user);
                        mounted.fetch_add(1, Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Relaxed);
                    }
                }
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let flood_secs = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let samples = sampler.samples();
    drop(sampler);
    let peak = samples.iter().map(|s| s.rss_kib).fold(0.0, f64::max);
    let after = rss_kib(server.pid).unwrap_or(0);
    // A user still gets in, and still resumes.
    let user_check = match User::open(attacker(ADDRESSES + 500), addr).await {
        Ok(mut user) => {
            let clicked = user.click().await.is_ok();
            user.drop_socket();
            match user.rejoin(addr).await {
                Ok(Rejoin::Resumed { lost: 0 }) if clicked => "mounted, clicked and resumed",
                Ok(_) => "mounted but did not resume intact",
                Err(_) => "mounted but the reconnect failed",
            }
        }
        Err(_) => "could not mount",
    };
    let fds_after = open_fds(server.pid).unwrap_or(0);
    let memory = server.memory().await.unwrap_or_default();
    server.stop().await;
    let limit_kib = baseline + cap_bytes as u64 / 1024;
    Ok(json!({
        "run": "flood",
        "sockets": options.sockets,
        "mounted_and_abandoned": mounted.load(Relaxed),
        "failed": failed.load(Relaxed),
        "flood_secs": flood_secs,
        "detached_bytes_cap_mib": options.cap_mib,
        "server_rss_kib": {
            "baseline": baseline,
            "peak": peak,
            "after": after,
            "baseline_plus_cap": limit_kib,
            "peak_under_baseline_plus_cap": peak <= limit_kib as f64,
        },
        // The heap as the server's allocator counts it (`heap.rs`): what
        // the framework holds, without the allocator's retained pages.
        "server_heap_bytes": {
            "baseline": heap_baseline.heap_held,
            "peak": memory.heap_peak,
            "after": memory.heap_held,
            "peak_growth": memory.heap_peak - heap_baseline.heap_held,
            "peak_growth_under_cap": memory.heap_peak - heap_baseline.heap_held <= cap_bytes as i64,
        },
        "server_fds_after": fds_after,
        // After the user check (one more view, detached by its last drop).
        "detached_views_after": memory.detached_views,
        "detached_estimate_bytes_after": memory.detached_estimate,
        "rss_growth_per_estimated_byte": ratio(
            (after.saturating_sub(baseline) * 1024) as f64,
            memory.detached_estimate as f64,
        ),
        "heap_growth_per_estimated_byte": ratio(
            (memory.heap_held - heap_baseline.heap_held) as f64,
            memory.detached_estimate as f64,
        ),
        "user_after_flood": user_check,
        "samples": samples.iter().map(|s| [s.secs.round(), s.rss_kib, s.fds]).collect::<Vec<_>>(),
    }))
}

/// `part / whole`, or 0 when there is no whole.
fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}
