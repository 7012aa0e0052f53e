//! The soak: `--sessions` users (each from its own 127.x address) mount,
//! click, drop their socket without a close, reconnect with their resume
//! token and check the count, and now and then start a new session, for
//! `--duration`, against one server child with Redis; the server's RSS and
//! open fds are sampled every `--sample-every` and their trend after
//! `--warmup` is reported.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::net::attacker;
use crate::procs::{Redis, ServerChild};
use crate::session::User;
use crate::tally::{Jitter, Tally};
use crate::trend::{trend, Sampler};
use crate::Options;

/// Cycles (clicks, drop, resume) before a user starts a new session.
const CYCLES_PER_SESSION: u32 = 25;

/// The mean length of one session: `CYCLES_PER_SESSION` cycles of 3–8
/// clicks 1–4 s apart (5.5 × 2.5 s) and a 0.2–2 s pause before the resume.
pub fn session_lifetime() -> Duration {
    Duration::from_millis(u64::from(CYCLES_PER_SESSION) * (5_500 * 2_500 / 1_000 + 1_100))
}

/// The warm-up of the earlier runs, still reported beside the default.
const SHORT_WARMUP_SECS: f64 = 180.0;

pub async fn run(options: &Options) -> Result<Value, String> {
    let redis = Redis::start().await?;
    let mut server = ServerChild::start(Some(&redis.url()), &[]).await?;
    let start = Instant::now();
    let sampler = Sampler::start(server.pid, start, options.sample_every);
    let deadline = start + options.duration;
    let tally = Arc::new(Tally::default());
    let ramp = options.ramp;
    let mut users = Vec::new();
    for index in 0..options.sessions {
        let tally = tally.clone();
        let addr = server.addr;
        let delay = ramp.mul_f64(index as f64 / options.sessions.max(1) as f64);
        users.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            user_loop(index, addr, deadline, &tally).await;
        }));
    }
    // The server's counted heap (`heap.rs`) when the warm-up ends and
    // when the load stops: what the framework holds, without the pages
    // the allocator keeps.
    tokio::time::sleep_until((start + options.warmup).into()).await;
    let heap_after_warmup = server.memory().await.unwrap_or_default();
    tokio::time::sleep_until(deadline.into()).await;
    let heap_at_end = server.memory().await.unwrap_or_default();
    for user in users {
        let _ = user.await;
    }
    let elapsed = start.elapsed();
    // The trend covers the load, not the users' last reconnects after it.
    let load_secs = options.duration.as_secs_f64();
    let samples: Vec<_> = sampler
        .samples()
        .into_iter()
        .filter(|s| s.secs <= load_secs)
        .collect();
    drop(sampler);
    server.stop().await;
    drop(redis);
    let warmup = options.warmup.as_secs_f64();
    Ok(json!({
        "run": "soak",
        "sessions": options.sessions,
        "duration_secs": elapsed.as_secs(),
        "warmup_secs": warmup,
        "users": tally.report(),
        "server_rss_kib": trend(&samples, warmup, |s| s.rss_kib),
        "server_open_fds": trend(&samples, warmup, |s| s.fds),
        "server_rss_kib_after_3m": trend(&samples, SHORT_WARMUP_SECS, |s| s.rss_kib),
        "server_heap_bytes": {
            "after_warmup": heap_after_warmup.heap_held,
            "at_end": heap_at_end.heap_held,
            "peak_after_warmup": heap_at_end.heap_peak,
            "change_percent": if heap_after_warmup.heap_held > 0 {
                (heap_at_end.heap_held - heap_after_warmup.heap_held) as f64 * 100.0
                    / heap_after_warmup.heap_held as f64
            } else {
                0.0
            },
        },
        "samples": samples.iter().map(|s| [s.secs.round(), s.rss_kib, s.fds]).collect::<Vec<_>>(),
    }))
}

/// One user until `deadline`, then a last reconnect that checks its count.
async fn user_loop(index: usize, addr: SocketAddr, deadline: Instant, tally: &Tally) {
    let source = attacker(index);
    let mut jitter = Jitter::new(index as u64 + 1);
    let Some(mut user) = open(source, addr, deadline, tally).await else {
        return;
    };
    // Each user starts at a random point of its session's lifecycle, as a
    // server's users do: started in step (they all arrive within the ramp),
    // every user would renew its session in the same minute, 2,000 views
    // detached at once for their grace (one wave the earlier runs showed
    // as a step in RSS six minutes in); spread, renewals arrive at a
    // steady rate from the first minute.
    let mut cycles = u32::try_from(jitter.below(u64::from(CYCLES_PER_SESSION))).unwrap_or(0);
    while Instant::now() < deadline {
        let clicks = 3 + jitter.below(6);
        for _ in 0..clicks {
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(jitter.between(1_000, 4_000)).await;
            match user.click().await {
                Ok(()) => {
                    tally
                        .acked
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(trouble) => {
                    tally.trouble(&trouble);
                    break;
                }
            }
        }
        user.drop_socket();
        tokio::time::sleep(jitter.between(200, 2_000)).await;
        rejoin(&mut user, addr, tally).await;
        cycles += 1;
        if cycles % CYCLES_PER_SESSION == 0 {
            user.drop_socket();
            match open(source, addr, deadline, tally).await {
                Some(fresh) => user = fresh,
                None => return,
            }
        }
    }
    user.drop_socket();
    rejoin(&mut user, addr, tally).await;
    user.drop_socket();
}

/// Opens a session, retrying each second until `deadline`.
async fn open(
    source: std::net::Ipv4Addr,
    addr: SocketAddr,
    deadline: Instant,
    tally: &Tally,
) -> Option<User> {
    loop {
        match User::open(source, addr).await {
            Ok(user) => {
                tally
                    .opened
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Some(user);
            }
            Err(trouble) => tally.trouble(&trouble),
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Reconnects with the resume token, retrying a few times.
async fn rejoin(user: &mut User, addr: SocketAddr, tally: &Tally) {
    for attempt in 0..5_u32 {
        match user.rejoin(addr).await {
            Ok(outcome) => {
                tally.rejoined(&outcome);
                return;
            }
            Err(trouble) => tally.trouble(&trouble),
        }
        tokio::time::sleep(Duration::from_millis(500) * (attempt + 1)).await;
    }
}
