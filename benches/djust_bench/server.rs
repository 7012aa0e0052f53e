//! The server under test: the bench app (the bench views with limits raised
//! for a load test), served in this process, as a `djust-bench serve` child
//! process (`--spawn`), or an external server (`--url`); and the `serve`
//! subcommand the child runs.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use djust::prelude::*;
use djust::Config;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

#[cfg(not(feature = "redis"))]
use crate::args::NO_REDIS_FEATURE;
use crate::args::{check_redis_url, Args, MAX_ROOMS};
use crate::client::{parse_url, Target, IO_TIMEOUT};
use crate::views::{
    BenchChat, BenchCounter, BenchLimited, BenchPersisted, BenchSearch, BenchTable, ChatRooms,
};
use crate::BenchResult;

/// Secret of the bench server (not a real secret: loopback benchmark only).
const BENCH_SECRET: &str = "djust-bench-secret-key-not-for-production-use!!";
/// Printed by `djust-bench serve` once it listens.
const LISTENING: &str = "LISTENING ";

/// What the bench server is built from (the same in process and in the
/// `serve` child).
#[derive(Clone, Debug)]
struct ServeSpec {
    sessions: usize,
    rooms: usize,
    redis: Option<String>,
    /// `Config::hibernate_after_secs` (`None`: the default).
    hibernate_after: Option<u64>,
}

/// The bench app: the bench views, limits raised for `sessions` connections
/// from 127.0.0.1, no per-connection frame limit in the way, `rooms` chat
/// rooms, and with `redis` every shared store in that Redis.
async fn bench_app(spec: &ServeSpec) -> BenchResult<App> {
    let headroom = spec.sessions.saturating_add(1_000);
    let config = Config {
        secret_key: Some(BENCH_SECRET.to_owned()),
        max_connections_per_ip: u32::try_from(headroom).unwrap_or(u32::MAX),
        max_live_connections: headroom,
        http_max_connections: headroom,
        http_max_connections_per_ip: u32::try_from(headroom).unwrap_or(u32::MAX),
        rate_per_second: 1_000_000.0,
        rate_burst: 1_000_000,
        heartbeat_timeout_secs: 3_600,
        redis_url: spec.redis.clone(),
        hibernate_after_secs: spec
            .hibernate_after
            .unwrap_or(Config::default().hibernate_after_secs),
        ..Config::default()
    };
    let rooms = match &spec.redis {
        None => ChatRooms::memory(spec.rooms),
        #[cfg(feature = "redis")]
        Some(url) => ChatRooms::redis(url, spec.rooms).await?,
        #[cfg(not(feature = "redis"))]
        Some(_) => return Err(NO_REDIS_FEATURE.to_owned()),
    };
    Ok(App::new()
        .title("djust-bench")
        .config(config)
        .state(rooms)
        .live("/", BenchCounter::view())
        .live("/limited", BenchLimited::view())
        .live("/persisted", BenchPersisted::view())
        .live("/chat", BenchChat::view())
        .live("/table", BenchTable::view())
        .live("/search", BenchSearch::view()))
}

/// The bench app listening on 127.0.0.1 on a free port.
async fn serve_on_loopback(spec: &ServeSpec) -> BenchResult<djust::Server> {
    bench_app(spec)
        .await?
        .bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))
}

/// `djust-bench serve`: serves until stdin closes (the parent exits or
/// drops the pipe), then shuts down gracefully.
pub async fn serve_child(raw: &[String]) -> BenchResult<()> {
    let mut spec = ServeSpec {
        sessions: 20_000,
        rooms: 1,
        redis: None,
        hibernate_after: None,
    };
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--sessions" => {
                spec.sessions = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("serve --sessions needs a number")?
            }
            "--rooms" => {
                spec.rooms = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|rooms| (1..=MAX_ROOMS).contains(rooms))
                    .ok_or_else(|| format!("serve --rooms needs a number in 1..={MAX_ROOMS}"))?
            }
            "--hibernate-after" => {
                spec.hibernate_after = Some(
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .ok_or("serve --hibernate-after needs a number of seconds")?,
                )
            }
            "--redis" => {
                let url = it.next().ok_or("serve --redis needs a URL")?;
                check_redis_url(url)?;
                spec.redis = Some(url.clone());
            }
            other => return Err(format!("serve: unknown option `{other}`")),
        }
    }
    let server = serve_on_loopback(&spec).await?;
    println!("{LISTENING}{}", server.local_addr());
    let mut stdin = tokio::io::stdin();
    let mut sink = [0u8; 64];
    loop {
        match stdin.read(&mut sink).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    server.shutdown().await;
    Ok(())
}

/// The server under test, however it was started.
pub enum ServerHandle {
    InProcess(djust::Server),
    Child(tokio::process::Child),
    External,
}

impl ServerHandle {
    /// Stops a server this run started (an external one is left alone).
    pub async fn stop(self) {
        match self {
            ServerHandle::InProcess(server) => server.shutdown().await,
            ServerHandle::Child(mut child) => {
                // Closing stdin asks the child to shut down gracefully.
                drop(child.stdin.take());
                match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
                    Ok(_) => {}
                    Err(_) => {
                        eprintln!("server child did not exit within 10 s; killing it");
                        let _ = child.kill().await;
                    }
                }
            }
            ServerHandle::External => {}
        }
    }
}

/// Starts (or, with `--url`, finds) the server under test. Returns its
/// handle, the page to load, the process whose RSS to read and a
/// description of where it runs.
pub async fn start_server(
    args: &Args,
) -> BenchResult<(ServerHandle, Target, Option<u32>, &'static str)> {
    if let Some(url) = &args.url {
        let target = parse_url(url)?;
        return Ok((
            ServerHandle::External,
            target,
            args.server_pid,
            "external (--url)",
        ));
    }
    let path = args.scenario.path().to_owned();
    let spec = ServeSpec {
        sessions: args.sessions,
        rooms: args.rooms(),
        redis: args.redis.clone(),
        hibernate_after: args.hibernate_after,
    };
    if args.spawn {
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
        let mut command = tokio::process::Command::new(exe);
        command
            .arg("serve")
            .arg("--sessions")
            .arg(spec.sessions.to_string())
            .arg("--rooms")
            .arg(spec.rooms.to_string());
        if let Some(url) = &spec.redis {
            command.arg("--redis").arg(url);
        }
        if let Some(secs) = spec.hibernate_after {
            command.arg("--hibernate-after").arg(secs.to_string());
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot spawn the server child: {e}"))?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("server child has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(IO_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| "server child did not report its address within 30 s".to_owned())?
            .map_err(|e| format!("reading the server child's address: {e}"))?
            .ok_or("server child exited before listening")?;
        let addr: SocketAddr = line
            .strip_prefix(LISTENING)
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| format!("unexpected line from the server child: {line}"))?;
        return Ok((
            ServerHandle::Child(child),
            Target { addr, path },
            pid,
            "child process (--spawn)",
        ));
    }
    let server = serve_on_loopback(&spec).await?;
    let addr = server.local_addr();
    Ok((
        ServerHandle::InProcess(server),
        Target { addr, path },
        Some(std::process::id()),
        "in process (shares the runtime with the clients)",
    ))
}
