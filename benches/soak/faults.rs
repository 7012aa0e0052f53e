//! Faults injected during load. `--sessions` users click (closed loop,
//! 0.2–1 s apart) on two server processes sharing one Redis, and drop and
//! resume their socket now and then; at `--fault-at` one fault is
//! injected; the run ends at `--duration` with a last reconnect of every
//! user that checks its count. A user in trouble retries with jittered
//! backoff, alternating between the two servers, like `djust.js`.
//!
//! * `redis-restart`: Redis stops (SIGTERM, AOF written) and starts again;
//! * `redis-pause`: Redis gets SIGSTOP, then SIGCONT 10 s later;
//! * `kill`: server A gets SIGKILL; its users move to B;
//! * `slow-readers`: 50 more clients mount a 64 KiB page on A and ask for
//!   it 20 times a second without ever reading;
//! * `half-open`: 200 more clients mount on A and then neither read nor
//!   write nor close (no FIN), so only the heartbeat can reap them.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::net::attacker;
use crate::procs::{signal, Redis, ServerChild};
use crate::session::User;
use crate::tally::{millis, Jitter, Tally};
use crate::trend::Sampler;
use crate::Options;

/// The faults, by their command-line names.
pub const KINDS: [&str; 5] = [
    "redis-restart",
    "redis-pause",
    "kill",
    "slow-readers",
    "half-open",
];

/// Heartbeat timeout of the fault runs' servers (`DJUST_HEARTBEAT_TIMEOUT_SECS`).
const HEARTBEAT_SECS: u64 = 20;

pub async fn run(kind: &str, options: &Options) -> Result<Value, String> {
    if !KINDS.contains(&kind) {
        return Err(format!("unknown fault `{kind}`; one of {KINDS:?}"));
    }
    let mut redis = Redis::start().await?;
    let env = [("DJUST_HEARTBEAT_TIMEOUT_SECS", HEARTBEAT_SECS.to_string())];
    let a = ServerChild::start(Some(&redis.url()), &env).await?;
    let b = ServerChild::start(Some(&redis.url()), &env).await?;
    let servers = [a.addr, b.addr];
    let start = Instant::now();
    let sampler = Sampler::start(a.pid, start, Duration::from_secs(1));
    let deadline = start + options.duration;
    let fault_at = start + options.fault_at;
    let tally = Arc::new(Tally::default());
    let mut users = Vec::new();
    for index in 0..options.sessions {
        let tally = tally.clone();
        users.push(tokio::spawn(async move {
            user_loop(index, servers, deadline, fault_at, start, &tally).await;
        }));
    }
    tokio::time::sleep_until(fault_at.into()).await;
    let mut a = Some(a);
    let detail = inject(kind, &mut redis, &mut a, deadline).await?;
    let fault_ended = start.elapsed();
    for user in users {
        let _ = user.await;
    }
    let samples = sampler.samples();
    drop(sampler);
    if let Some(a) = a {
        a.stop().await;
    }
    b.stop().await;
    drop(redis);
    let last = tally.last_recovered_ms.load(Relaxed);
    Ok(json!({
        "run": format!("fault {kind}"),
        "sessions": options.sessions,
        "duration_secs": options.duration.as_secs(),
        "fault_at_secs": options.fault_at.as_secs(),
        "fault_injection_ended_secs": fault_ended.as_secs_f64(),
        "heartbeat_timeout_secs": HEARTBEAT_SECS,
        "users": tally.report(),
        "last_recovery_at_secs": last as f64 / 1000.0,
        "fault": detail,
        "server_a_rss_kib_fds": samples.iter().map(|s| [s.secs.round(), s.rss_kib, s.fds]).collect::<Vec<_>>(),
    }))
}

/// Injects the fault; returns what it did and saw.
async fn inject(
    kind: &str,
    redis: &mut Redis,
    a: &mut Option<ServerChild>,
    deadline: Instant,
) -> Result<Value, String> {
    let at = Instant::now();
    match kind {
        "redis-restart" => {
            redis.restart().await?;
            Ok(json!({"redis_down_ms": millis(at.elapsed())}))
        }
        "redis-pause" => {
            let pid = redis.pid().ok_or("redis has no pid")?;
            signal(pid, "STOP").await?;
            tokio::time::sleep(Duration::from_secs(10)).await;
            signal(pid, "CONT").await?;
            Ok(json!({"redis_paused_ms": millis(at.elapsed())}))
        }
        "kill" => {
            let server = a.take().ok_or("server A is gone")?;
            signal(server.pid, "KILL").await?;
            drop(server);
            Ok(json!({"killed": "server A (SIGKILL)"}))
        }
        "slow-readers" => {
            let addr = a.as_ref().ok_or("server A is gone")?.addr;
            Ok(slow_readers(addr, deadline).await)
        }
        "half-open" => {
            let server = a.as_ref().ok_or("server A is gone")?;
            Ok(half_open(server.addr, server.pid, deadline).await)
        }
        _ => Err(format!("unknown fault `{kind}`")),
    }
}

/// 50 clients that ask for a 64 KiB page 20 times a second and never read:
/// how long until the server cut each one off (a send to it fails).
async fn slow_readers(addr: SocketAddr, deadline: Instant) -> Value {
    let mut tasks = Vec::new();
    for index in 0..50 {
        tasks.push(tokio::spawn(async move {
            let source = attacker(10_000 + index);
            let mut user = match User::open_view(source, addr, "/bulk", "bulk").await {
                Ok(user) => user,
                Err(trouble) => return Err(format!("{trouble:?}")),
            };
            let began = Instant::now();
            while Instant::now() < deadline {
                if user.send(json!({"type": "request_html"})).await.is_err() {
                    return Ok(Some(began.elapsed().as_secs_f64()));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(None)
        }));
    }
    let mut cut_after = Vec::new();
    let (mut still_open, mut failed) = (0, Vec::new());
    for task in tasks {
        match task.await {
            Ok(Ok(Some(secs))) => cut_after.push(secs),
            Ok(Ok(None)) => still_open += 1,
            Ok(Err(error)) => failed.push(error),
            Err(error) => failed.push(error.to_string()),
        }
    }
    cut_after.sort_by(f64::total_cmp);
    json!({
        "slow_readers": 50,
        "cut_off_by_server": cut_after.len(),
        "cut_off_after_secs_min_max": [cut_after.first(), cut_after.last()],
        "still_open_at_end": still_open,
        "could_not_mount": failed,
    })
}

/// 200 clients that mount and then go silent without closing: the
/// server's fds before, with them, and how long until the heartbeat
/// reaped them (fds back to where they were).
async fn half_open(addr: SocketAddr, pid: u32, deadline: Instant) -> Value {
    let before = crate::procs::open_fds(pid).unwrap_or(0);
    let mut silent = Vec::new();
    for index in 0..200 {
        if let Ok(user) = User::open(attacker(20_000 + index), addr).await {
            silent.push(user);
        }
    }
    let opened = Instant::now();
    let with_them = crate::procs::open_fds(pid).unwrap_or(0);
    let mut reaped_after = None;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = crate::procs::open_fds(pid).unwrap_or(0);
        if now <= before + 20 {
            reaped_after = Some(opened.elapsed().as_secs_f64());
            break;
        }
    }
    let after = crate::procs::open_fds(pid).unwrap_or(0);
    drop(silent);
    json!({
        "silent_clients": 200,
        "server_a_fds_before": before,
        "server_a_fds_with_them": with_them,
        "server_a_fds_after_reap": after,
        "reaped_after_secs": reaped_after,
    })
}

/// One user of a fault run.
async fn user_loop(
    index: usize,
    servers: [SocketAddr; 2],
    deadline: Instant,
    fault_at: Instant,
    start: Instant,
    tally: &Tally,
) {
    let source = attacker(index);
    let mut jitter = Jitter::new(index as u64 + 7);
    let mut home = index % 2;
    let mut user = loop {
        match User::open(source, servers[home]).await {
            Ok(user) => break user,
            Err(trouble) => tally.trouble(&trouble),
        }
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tally.opened.fetch_add(1, Relaxed);
    let mut trouble_since: Option<Instant> = None;
    let mut clicks = 0_u64;
    while Instant::now() < deadline {
        tokio::time::sleep(jitter.between(200, 1_000)).await;
        match user.click().await {
            Ok(()) => {
                tally.acked.fetch_add(1, Relaxed);
                if let Some(since) = trouble_since.take() {
                    if since >= fault_at {
                        tally.recovered(since, start);
                    }
                }
                clicks += 1;
                if clicks % 10 == 0 {
                    user.drop_socket();
                    tokio::time::sleep(jitter.between(100, 500)).await;
                    let began = Instant::now();
                    if !reconnect(&mut user, servers, &mut home, &mut jitter, deadline, tally).await
                    {
                        trouble_since.get_or_insert(began);
                    }
                }
            }
            Err(trouble) => {
                tally.trouble(&trouble);
                trouble_since.get_or_insert_with(Instant::now);
                user.drop_socket();
                reconnect(&mut user, servers, &mut home, &mut jitter, deadline, tally).await;
            }
        }
    }
    user.drop_socket();
    reconnect(
        &mut user,
        servers,
        &mut home,
        &mut jitter,
        Instant::now() + Duration::from_secs(30),
        tally,
    )
    .await;
    user.drop_socket();
}

/// Reconnects with the resume token: the same server first, then both in
/// turn with jittered, growing backoff (like `djust.js`), until `deadline`.
/// `true` if the first attempt succeeded (no trouble to recover from).
async fn reconnect(
    user: &mut User,
    servers: [SocketAddr; 2],
    home: &mut usize,
    jitter: &mut Jitter,
    deadline: Instant,
    tally: &Tally,
) -> bool {
    for attempt in 0..u32::MAX {
        match user.rejoin(servers[*home]).await {
            Ok(outcome) => {
                tally.rejoined(&outcome);
                return attempt == 0;
            }
            Err(trouble) => tally.trouble(&trouble),
        }
        if Instant::now() >= deadline {
            return false;
        }
        *home = 1 - *home;
        let backoff = 250 * u64::from(attempt.min(7) + 1);
        tokio::time::sleep(jitter.between(backoff / 2, backoff)).await;
    }
    false
}
