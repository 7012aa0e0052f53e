//! One run from start to report: start the server, mount every session
//! (phase 1), let the active ones send events while the idle chat sessions
//! read (phase 2, with the Redis measurements of `--redis`), close every
//! socket (phase 3), stop the server, and hand the measurements to
//! [`report::build`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};

use crate::args::{Args, Scenario};
use crate::client::{close_session, get_page, open_session, Mounted, Target, IO_TIMEOUT};
use crate::host::{load_average, rss_kib};
use crate::load::{closed_loop, drain, open_loop, EventSource};
#[cfg(feature = "redis")]
use crate::redis_probe;
use crate::report::{self, Measurements};
use crate::server::start_server;
#[cfg(not(feature = "redis"))]
use crate::stats::Counts;
use crate::stats::{new_histogram, Stats};
use crate::BenchResult;

/// Runs the bench `args` describe and returns its report (JSON).
pub async fn run(args: Args) -> BenchResult<Value> {
    #[cfg(feature = "redis")]
    let slots_before = match &args.redis {
        Some(url) => redis_probe::loopback_connections(url).await,
        None => None,
    };
    let (server, target, pid, mode) = start_server(&args).await?;
    let result = measure(&args, &target, pid, mode).await;
    server.stop().await;
    #[cfg(feature = "redis")]
    let result = match (result, &args.redis) {
        (Ok(mut report), Some(url)) => {
            // Every socket was closed before the server stopped; give the
            // releases (spawned when a connection ends) a moment, then count.
            tokio::time::sleep(Duration::from_secs(1)).await;
            report["redis_ip_slots_before"] = json!(slots_before);
            report["redis_ip_slots_left"] = json!(redis_probe::loopback_connections(url).await);
            Ok(report)
        }
        (result, _) => result,
    };
    result
}

/// What phase 1 (open and mount every session) left.
pub struct Setup {
    /// The mounted sessions, in the order they were requested.
    pub sessions: Vec<Mounted>,
    /// Chat: the room of each mounted session.
    pub room_of: Vec<usize>,
    /// Chat: how many views each room has.
    pub members: Vec<u64>,
    /// Time from starting to open a session to its mount frame.
    pub histogram: Histogram<u64>,
    pub failures: usize,
    pub first_error: Option<String>,
    /// Σ of the mount frames' sizes.
    pub mount_bytes: u64,
    /// Wall time of the whole phase.
    pub wall_secs: f64,
}

/// Phase 1: opens and mounts `--sessions` sessions, at most
/// `--connect-concurrency` at a time.
async fn mount_sessions(
    args: &Args,
    target: &Target,
    permits: &Arc<Semaphore>,
) -> BenchResult<Setup> {
    eprintln!(
        "djust-bench: mounting {} sessions on http://{}{} ...",
        args.sessions, target.addr, target.path
    );
    let setup_started = Instant::now();
    let mut opening = Vec::with_capacity(args.sessions);
    let rooms = args.rooms();
    for index in 0..args.sessions {
        let permits = permits.clone();
        let target = target.clone();
        let protocol = args.protocol;
        let digest = args.digest;
        let params = match args.scenario {
            Scenario::Chat => json!({ "room": index % rooms }),
            _ => json!({}),
        };
        opening.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
            let started = Instant::now();
            let session = open_session(&target, protocol, params, digest).await?;
            Ok::<_, String>((session, started.elapsed()))
        }));
    }
    let mut setup = Setup {
        sessions: Vec::with_capacity(args.sessions),
        room_of: Vec::with_capacity(args.sessions),
        members: vec![0u64; rooms],
        histogram: new_histogram()?,
        failures: 0,
        first_error: None,
        mount_bytes: 0,
        wall_secs: 0.0,
    };
    for (index, task) in opening.into_iter().enumerate() {
        match task.await {
            Ok(Ok((session, took))) => {
                let _ = setup.histogram.record((took.as_micros() as u64).max(1));
                setup.mount_bytes += session.mount_bytes as u64;
                setup.sessions.push(session);
                setup.room_of.push(index % rooms);
                if let Some(count) = setup.members.get_mut(index % rooms) {
                    *count += 1;
                }
            }
            Ok(Err(e)) => {
                setup.failures += 1;
                setup.first_error.get_or_insert(e);
            }
            Err(e) => {
                setup.failures += 1;
                setup
                    .first_error
                    .get_or_insert(format!("setup task failed: {e}"));
            }
        }
    }
    setup.wall_secs = setup_started.elapsed().as_secs_f64();
    Ok(setup)
}

/// Phase 3: closes every socket, at most `--connect-concurrency` at a time.
async fn close_sessions(sessions: Vec<Mounted>, permits: &Arc<Semaphore>) {
    let mut closing = Vec::with_capacity(sessions.len());
    for session in sessions {
        let permits = permits.clone();
        closing.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            close_session(session).await;
        }));
    }
    for task in closing {
        let _ = task.await;
    }
}

async fn measure(
    args: &Args,
    target: &Target,
    pid: Option<u32>,
    mode: &'static str,
) -> BenchResult<Value> {
    let load_before = load_average();
    #[cfg(feature = "redis")]
    let mut probe = match &args.redis {
        Some(url) => Some(redis_probe::Probe::connect(url).await?),
        None => None,
    };
    // One page view so lazily initialised server state is not counted per session.
    get_page(target, None).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = pid.and_then(rss_kib);

    // Phase 1: open and mount every session.
    let permits = Arc::new(Semaphore::new(args.connect_concurrency));
    let mut setup = mount_sessions(args, target, &permits).await?;
    let mut sessions = std::mem::take(&mut setup.sessions);
    let mounted = sessions.len();
    eprintln!(
        "djust-bench: {mounted} mounted in {:.1} s ({} failed); settling {} s",
        setup.wall_secs, setup.failures, args.settle
    );
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    let rss_mounted = pid.and_then(rss_kib);

    // Phase 2: the first `active` sessions send events.
    let active = args.active.min(mounted);
    let start = Instant::now();
    let source = Arc::new(EventSource::new(args.scenario, args.event.clone(), start));
    let measured_from = start + Duration::from_secs_f64(args.warmup);
    let measured_until = measured_from + Duration::from_secs_f64(args.duration);
    let chat_fan_out = match args.scenario {
        Scenario::Chat => Some(
            setup
                .room_of
                .iter()
                .take(active)
                .map(|room| setup.members.get(*room).map_or(0, |n| n.saturating_sub(1)))
                .collect(),
        ),
        _ => None,
    };
    let stats = Arc::new(Stats::new(
        measured_from,
        measured_until,
        start,
        chat_fan_out,
    )?);
    // `--redis`: Redis commands over exactly the measured phase.
    #[cfg(feature = "redis")]
    let window = probe.take().map(|mut probe| {
        tokio::spawn(async move {
            tokio::time::sleep_until(measured_from.into()).await;
            let before = probe.commandstats().await;
            tokio::time::sleep_until(measured_until.into()).await;
            let after = probe.commandstats().await;
            let delta = match (before, after) {
                (Ok(before), Ok(after)) => Ok(redis_probe::delta(&before, &after)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            (probe, delta)
        })
    });
    eprintln!(
        "djust-bench: {active} active sessions, {} for {} s (+{} s warm-up)",
        if args.rate > 0.0 {
            format!("{} events/s each", args.rate)
        } else {
            "closed loop".to_owned()
        },
        args.duration,
        args.warmup
    );
    let idle = sessions.split_off(active);
    // Chat: idle sessions receive their rooms' messages, so they read them.
    let (stop_drains, drains_stop) = watch::channel(false);
    let mut draining = Vec::new();
    let mut idle = match args.scenario {
        Scenario::Chat => {
            for (offset, session) in idle.into_iter().enumerate() {
                draining.push(tokio::spawn(drain(
                    active + offset,
                    session,
                    stats.clone(),
                    drains_stop.clone(),
                )));
            }
            Vec::new()
        }
        _ => idle,
    };
    let mut senders = Vec::with_capacity(active);
    for (id, session) in sessions.into_iter().enumerate() {
        let source = source.clone();
        let stats = stats.clone();
        let rate = args.rate;
        senders.push(tokio::spawn(async move {
            if rate > 0.0 {
                open_loop(id, session, source, stats, measured_until, rate).await
            } else {
                closed_loop(id, session, source, stats, measured_until).await
            }
        }));
    }
    let mut sessions = Vec::with_capacity(mounted);
    for sender in senders {
        match tokio::time::timeout_at(
            (measured_until + IO_TIMEOUT + Duration::from_secs(5)).into(),
            sender,
        )
        .await
        {
            Ok(Ok(Some(session))) => sessions.push(session),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => stats.fail(format!("session task failed: {e}")),
            Err(_) => stats.fail("session task did not finish in time".to_owned()),
        }
    }
    let rss_after = pid.and_then(rss_kib);

    // `--redis`: commands of the measured phase, then the MONITOR pass.
    #[cfg(feature = "redis")]
    let (redis_window, redis_accounting) = match window {
        Some(window) => {
            let (mut probe, delta) = window
                .await
                .map_err(|e| format!("Redis probe task failed: {e}"))?;
            let delta = delta?;
            eprintln!(
                "djust-bench: counting Redis round trips ({} events under MONITOR) ...",
                redis_probe::ACCOUNTING_EVENTS
            );
            let accounting = match sessions.first_mut() {
                Some(session) => {
                    redis_probe::account_round_trips(&mut probe, session, &source, &stats).await?
                }
                None => Value::Null,
            };
            (Some(delta), accounting)
        }
        None => (None, Value::Null),
    };
    #[cfg(not(feature = "redis"))]
    let (redis_window, redis_accounting): (Option<Counts>, Value) = (None, Value::Null);

    let _ = stop_drains.send(true);
    for task in draining {
        match task.await {
            Ok(session) => idle.push(session),
            Err(e) => stats.fail(format!("idle session task failed: {e}")),
        }
    }
    sessions.extend(idle);

    // Phase 3: close every socket.
    close_sessions(sessions, &permits).await;

    report::build(Measurements {
        args,
        target,
        pid,
        mode,
        load_before,
        load_after: load_average(),
        setup: &setup,
        mounted,
        active,
        stats: &stats,
        rss_kib: [rss_before, rss_mounted, rss_after],
        redis_window,
        redis_accounting,
    })
}
