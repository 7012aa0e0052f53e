//! `djust-stress`: the resource-exhaustion attacks of issue 23, at scale,
//! against a djust server with default settings, from loopback only.
//!
//! The driver starts the server as a child process (`djust-stress serve`)
//! under a lowered open-file limit (`ulimit -n`, default 4096), then runs
//! each attack for a bounded time (`--secs`, default 15) with a bounded
//! number of attackers, spread over many 127.x.y.z source addresses so the
//! per-address caps alone cannot stop them:
//!
//! | attack | attackers |
//! | --- | --- |
//! | `slowloris`: heads that never end | 2,000 from 200 addresses |
//! | `bodies`: `POST /login` bodies that stall | 2,000 from 200 addresses |
//! | `keepalive`: silent kept-alive connections | 2,000 from 200 addresses |
//! | `idle-tcp-once`: 20,000 connections that send nothing, opened once | 20,000 from 1,000 addresses (two `hold` children) |
//! | `idle-tcp`: the same, reopened as soon as they are closed | 20,000 from 1,000 addresses (two `hold` children) |
//! | `logins`: failed logins with random user names | 256 at once from 256 addresses |
//!
//! Every attacker but `idle-tcp-once`'s reconnects as soon as it is
//! dropped. Meanwhile a
//! legitimate client (127.0.0.254) fetches the page every 200 ms on a new
//! connection, and the server's RSS is sampled every 100 ms. The report
//! gives, per attack, the RSS before, at its peak during, and after (once
//! the attackers are gone and the idle timeout has passed), whether the
//! legitimate client was served and its latency. Goal: served within 1 s
//! through every attack, RSS under 200 MB throughout.
//!
//! `djust-stress hash-compare` measures password hashing alone: RSS of
//! 96 concurrent failed logins (3 waves of 32 threads) with argon2's own
//! per-hash allocation, the same with glibc told to return large blocks,
//! and djust's reused working memory.
//!
//! ```sh
//! cargo build --release -p djust-benches --bin djust-stress
//! target/release/djust-stress                 # every attack (~3 min)
//! target/release/djust-stress --attacks slowloris,logins --secs 10
//! target/release/djust-stress hash-compare
//! ```
#![forbid(unsafe_code)]

mod attacks;
mod hash_memory;
mod net;
mod probe;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use attacks::{Kind, Tally};

type StressResult<T> = Result<T, String>;

const USAGE: &str = "\
djust-stress [--attacks LIST] [--secs N] [--nofile N] [--scale F]
    run the attacks (default: all of slowloris,bodies,keepalive,idle-tcp,logins)
    for N seconds each (default 15) against a server child whose open-file
    limit is --nofile (default 4096); --scale multiplies every attacker count
djust-stress hash-compare [--threads N] [--waves N]
    RSS of concurrent password hashing: per-hash allocation vs reused memory
djust-stress serve | hold ... | hash-memory ...
    the child processes the two commands above start";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => server::serve().await,
        Some("hold") => hold(&args[1..]).await,
        Some("hash-memory") => hash_memory_child(&args[1..]),
        Some("hash-compare") => hash_compare(&args[1..]).await,
        Some("--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => drive(&args).await,
    };
    if let Err(error) = result {
        eprintln!("djust-stress: {error}");
        std::process::exit(1);
    }
}

/// `--name value` from `args`.
fn option<T: std::str::FromStr>(args: &[String], name: &str) -> StressResult<Option<T>> {
    match args.iter().position(|arg| arg == name) {
        None => Ok(None),
        Some(at) => args
            .get(at + 1)
            .and_then(|value| value.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{name} needs a value\n{USAGE}")),
    }
}

// ------------------------------------------------------------------ driver

/// One attack's row of the report.
struct Row {
    kind: Kind,
    attackers: usize,
    tally: Value,
    rss_before: u64,
    rss_peak: u64,
    rss_after: u64,
    served: probe::Served,
    /// Logins of the legitimate user during the `logins` attack.
    logins: Option<probe::Logins>,
    log_lines: usize,
}

async fn drive(args: &[String]) -> StressResult<()> {
    let secs: u64 = option(args, "--secs")?.unwrap_or(15);
    let nofile: u64 = option(args, "--nofile")?.unwrap_or(4096);
    let scale: f64 = option(args, "--scale")?.unwrap_or(1.0);
    let kinds: Vec<Kind> = match option::<String>(args, "--attacks")? {
        None => Kind::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|name| Kind::parse(name.trim()).ok_or(format!("unknown attack {name}")))
            .collect::<StressResult<_>>()?,
    };
    let out_dir = PathBuf::from("target/djust-stress");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let log_path = out_dir.join("server.log");
    let (mut child, addr) = spawn_server(nofile, &log_path).await?;
    let pid = child.id().ok_or("the server child has no pid")?;
    println!("server pid {pid} on {addr}, open-file limit {nofile}, {secs} s per attack");

    let baseline = watch_while(addr, pid, tokio::time::sleep(Duration::from_secs(3))).await;
    let rss_baseline = probe::rss_kib(pid).unwrap_or(0);
    println!(
        "baseline: RSS {} MiB, legitimate client p50 {}",
        mib(rss_baseline),
        millis(baseline.0.quantile(0.5))
    );
    let mut rows = Vec::new();
    for kind in kinds {
        let attackers = ((match kind {
            Kind::IdleTcp | Kind::IdleTcpOnce => 20_000.0,
            Kind::Logins => 256.0,
            _ => 2_000.0,
        }) * scale) as usize;
        println!("attack {} with {attackers} attackers…", kind.name());
        let log_before = count_lines(&log_path);
        let rss_before = probe::rss_kib(pid).unwrap_or(0);
        let tally = Arc::new(Tally::default());
        let duration = Duration::from_secs(secs);
        let attack = run_attack(kind, addr, attackers, duration, Arc::clone(&tally));
        let (stop_logins, logins_stopped) = watch::channel(false);
        let logins = (kind == Kind::Logins)
            .then(|| tokio::spawn(probe::legitimate_logins(addr, logins_stopped)));
        let (served, rss_peak) = watch_while(addr, pid, attack).await;
        let _ = stop_logins.send(true);
        let logins = match logins {
            Some(task) => task.await.ok(),
            None => None,
        };
        // The attackers are gone: wait out the idle timeout, then read RSS.
        tokio::time::sleep(Duration::from_secs(7)).await;
        let rss_after = probe::rss_kib(pid).unwrap_or(0);
        let row = Row {
            kind,
            attackers,
            tally: tally.to_json(),
            rss_before,
            rss_peak,
            rss_after,
            served,
            logins,
            log_lines: count_lines(&log_path).saturating_sub(log_before),
        };
        print_row(&row);
        rows.push(row);
    }
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
    let _ = child.kill().await;
    println!("\n{}", table(&rows));
    let report: Vec<Value> = rows.iter().map(row_json).collect();
    let path = out_dir.join("report.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "JSON: {}; server log: {}",
        path.display(),
        log_path.display()
    );
    Ok(())
}

/// Starts `djust-stress serve` under `ulimit -n nofile`; its address.
async fn spawn_server(nofile: u64, log: &std::path::Path) -> StressResult<(Child, SocketAddr)> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n \"$1\" && exec \"$2\" serve")
        .arg("sh")
        .arg(nofile.to_string())
        .arg(&exe)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the server child: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .map_err(|_| "the server child did not start in 30 s")?
        .map_err(|e| e.to_string())?
        .ok_or("the server child exited")?;
    let addr = line
        .strip_prefix("listening ")
        .and_then(|addr| addr.parse().ok())
        .ok_or(format!("unexpected first line from the server: {line}"))?;
    Ok((child, addr))
}

/// Runs `work` while the legitimate client fetches and RSS is sampled:
/// what the client saw, and the peak RSS in KiB.
async fn watch_while(
    addr: SocketAddr,
    pid: u32,
    work: impl std::future::Future<Output = ()>,
) -> (probe::Served, u64) {
    let (stop, stopped) = watch::channel(false);
    let client = tokio::spawn(probe::legitimate_client(addr, stopped.clone()));
    let sampler = tokio::spawn(probe::peak_rss(pid, stopped));
    work.await;
    let _ = stop.send(true);
    let served = client.await.unwrap_or_default();
    let peak = sampler.await.unwrap_or(0);
    (served, peak)
}

/// One attack, in this process or (for `idle-tcp`, which needs more file
/// descriptors than one process may hold) in two `hold` children.
async fn run_attack(
    kind: Kind,
    addr: SocketAddr,
    attackers: usize,
    duration: Duration,
    tally: Arc<Tally>,
) {
    match kind {
        Kind::IdleTcp | Kind::IdleTcpOnce => {
            let halves = [(0, attackers / 2), (500, attackers - attackers / 2)];
            let holders: Vec<_> = halves
                .into_iter()
                .map(|(first, slots)| tokio::spawn(run_holder(kind, addr, first, slots, duration)))
                .collect();
            for holder in holders {
                match holder.await {
                    Ok(Ok(report)) => tally.add_json(&report),
                    Ok(Err(error)) => eprintln!("holder: {error}"),
                    Err(error) => eprintln!("holder: {error}"),
                }
            }
        }
        Kind::Logins => attacks::run(kind, addr, attackers, 2_000, 1, duration, tally).await,
        _ => attacks::run(kind, addr, attackers, 3_000, 10, duration, tally).await,
    }
}

async fn run_holder(
    kind: Kind,
    addr: SocketAddr,
    first: usize,
    slots: usize,
    duration: Duration,
) -> StressResult<Value> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .args([
            "hold",
            "--kind",
            kind.name(),
            "--addr",
            &addr.to_string(),
            "--first",
            &first.to_string(),
            "--slots",
            &slots.to_string(),
            "--secs",
            &duration.as_secs().to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&output.stdout).map_err(|e| format!("holder report: {e}"))
}

/// `djust-stress hold`: `idle-tcp` attackers in this process; prints the tally.
async fn hold(args: &[String]) -> StressResult<()> {
    let addr: SocketAddr = option(args, "--addr")?.ok_or("hold needs --addr")?;
    let first: usize = option(args, "--first")?.unwrap_or(0);
    let slots: usize = option(args, "--slots")?.unwrap_or(10_000);
    let secs: u64 = option(args, "--secs")?.unwrap_or(15);
    let kind = match option::<String>(args, "--kind")? {
        Some(name) => Kind::parse(&name).ok_or(format!("unknown --kind {name}"))?,
        None => Kind::IdleTcp,
    };
    let tally = Arc::new(Tally::default());
    attacks::run(
        kind,
        addr,
        slots,
        first,
        20,
        Duration::from_secs(secs),
        Arc::clone(&tally),
    )
    .await;
    println!("{}", tally.to_json());
    Ok(())
}

fn count_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |text| text.lines().count())
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn millis(duration: Option<Duration>) -> String {
    duration.map_or("–".to_owned(), |d| {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    })
}

fn print_row(row: &Row) {
    println!(
        "  {}: RSS {} → peak {} → after {} MiB; legitimate served {}/{} (p50 {}, max {}, not served: {:?}); attackers: {}; {} log lines",
        row.kind.name(),
        mib(row.rss_before),
        mib(row.rss_peak),
        mib(row.rss_after),
        row.served.latencies.len(),
        row.served.latencies.len() as u64 + row.served.failures,
        millis(row.served.quantile(0.5)),
        millis(row.served.quantile(1.0)),
        row.served.reasons,
        row.tally,
        row.log_lines,
    );
    if let Some(logins) = &row.logins {
        println!(
            "  legitimate logins (303 = logged in): {:?}",
            logins.statuses
        );
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| attack | attackers | connections opened | closed by the server | answers | RSS before / peak / after (MiB) | legitimate served | p50 | p99 | max | log lines |\n| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for row in rows {
        let answers = row.tally["statuses"]
            .as_object()
            .map(|statuses| {
                statuses
                    .iter()
                    .map(|(status, count)| format!("{status}×{count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} / {} / {} | {}/{} | {} | {} | {} | {} |\n",
            row.kind.name(),
            row.attackers,
            row.tally["opened"],
            row.tally["closed_by_server"],
            if answers.is_empty() {
                "–".to_owned()
            } else {
                answers
            },
            mib(row.rss_before),
            mib(row.rss_peak),
            mib(row.rss_after),
            row.served.latencies.len(),
            row.served.latencies.len() as u64 + row.served.failures,
            millis(row.served.quantile(0.5)),
            millis(row.served.quantile(0.99)),
            millis(row.served.quantile(1.0)),
            row.log_lines,
        ));
    }
    out
}

fn row_json(row: &Row) -> Value {
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
    serde_json::json!({
        "attack": row.kind.name(),
        "attackers": row.attackers,
        "tally": row.tally,
        "rss_before_kib": row.rss_before,
        "rss_peak_kib": row.rss_peak,
        "rss_after_kib": row.rss_after,
        "legitimate_served": row.served.latencies.len(),
        "legitimate_failed": row.served.failures,
        "latency_p50_ms": ms(row.served.quantile(0.5)),
        "latency_p99_ms": ms(row.served.quantile(0.99)),
        "latency_max_ms": ms(row.served.quantile(1.0)),
        "log_lines": row.log_lines,
        "legitimate_logins": row.logins.as_ref().map(|logins| {
            logins
                .statuses
                .iter()
                .map(|(status, count)| (status.to_string(), serde_json::json!(count)))
                .collect::<serde_json::Map<_, _>>()
        }),
    })
}

// ------------------------------------------------------------ hashing alone

fn hash_memory_child(args: &[String]) -> StressResult<()> {
    let mode: String = option(args, "--mode")?.ok_or("hash-memory needs --mode")?;
    let threads: usize = option(args, "--threads")?.unwrap_or(32);
    let waves: usize = option(args, "--waves")?.unwrap_or(3);
    hash_memory::run(&mode, threads, waves)
}

/// Runs `hash-memory` in three children and prints a table.
async fn hash_compare(args: &[String]) -> StressResult<()> {
    let threads: usize = option(args, "--threads")?.unwrap_or(32);
    let waves: usize = option(args, "--waves")?.unwrap_or(3);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let variants = [
        (
            "fresh",
            None,
            "argon2 allocates 19 MiB per hash (before issue 23)",
        ),
        (
            "fresh",
            Some("glibc.malloc.mmap_threshold=131072"),
            "per hash, glibc told to mmap (and return) large blocks",
        ),
        (
            "pooled",
            None,
            "djust: reused working memory, one buffer per core",
        ),
    ];
    let mut out = String::from(
        "| variant | hashes | seconds | RSS before | peak during | 1 s after |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (mode, tunables, what) in variants {
        let mut command = Command::new(&exe);
        command.args([
            "hash-memory",
            "--mode",
            mode,
            "--threads",
            &threads.to_string(),
            "--waves",
            &waves.to_string(),
        ]);
        if let Some(tunables) = tunables {
            command.env("GLIBC_TUNABLES", tunables);
        }
        let output = command.output().await.map_err(|e| e.to_string())?;
        let report: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("{mode}: {e}: {}", String::from_utf8_lossy(&output.stderr)))?;
        let kib = |field: &str| mib(report[field].as_u64().unwrap_or(0));
        out.push_str(&format!(
            "| {what} | {} | {:.1} | {} MiB | {} MiB | {} MiB |\n",
            report["hashes"],
            report["seconds"].as_f64().unwrap_or(0.0),
            kib("rss_before_kib"),
            kib("rss_peak_kib"),
            kib("rss_after_kib"),
        ));
    }
    println!("{out}");
    Ok(())
}
