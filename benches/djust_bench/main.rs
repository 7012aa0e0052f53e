//! `djust-bench`: the load generator of issue 10.
//!
//! Opens `--sessions` live sessions on a server (each one GETs the page,
//! opens `/ws/live/` with the server's own `Origin`, and mounts the view),
//! then lets the first `--active` of them send events for `--duration`
//! seconds, either closed loop (send, wait for the reply, send again) or
//! open loop at `--rate` events/s per session. It measures event→reply
//! latency, events/s, bytes per frame, connection setup time and the
//! server's RSS, prints a table and can write JSON (`--json PATH`).
//!
//! The server is one of:
//! * in process (the default): the bench views served on 127.0.0.1:0 by the
//!   same binary, sharing its tokio runtime and the machine's cores with the
//!   load generator (RSS then includes the clients);
//! * `--spawn`: the same server started as a child process of this binary
//!   (`djust-bench serve`), so its RSS is measured alone;
//! * `--url URL`: any running server on loopback (RSS only with `--server-pid`).
//!
//! `--protocol djust-py` speaks the Python djust (PyPI) dialect: the view
//! name comes from the `dj-view` attribute and `mount` carries no token.
//!
//! Issue 11 adds `--redis URL` (cargo feature `redis`): the bench server's
//! `Config::redis_url`, so sessions, `#[rate_limit]` buckets, per-IP counts
//! and the chat rooms go through that Redis; the run then also reports the
//! Redis commands per event and the round trips per event
//! (`redis_probe`). Scenario `limited` is the counter with a
//! never-refusing `#[rate_limit]`; `chat` posts messages to rooms of
//! `--room-size` views and also measures delivery to the other views.
//!
//! Run `djust-bench --help` for every option.
//!
//! One job per file: [`args`] (the command line), [`server`] (the server
//! under test), [`client`] (one session's HTTP and WebSocket side),
//! [`load`] (the events and the send loops), [`stats`] (what is measured),
//! [`host`] (RSS and load average), [`http`] (the page over plain HTTP, shared with `djust-soak`), [`run`] (the phases of a run),
//! [`report`] (JSON and table), `redis_probe` (the Redis accounting of
//! `--redis`) and [`views`] (the bench server's views).
#![forbid(unsafe_code)]

mod args;
mod client;
mod host;
mod http;
mod load;
#[cfg(feature = "redis")]
mod redis_probe;
mod report;
mod run;
mod server;
mod stats;
mod views;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

/// What goes wrong in a run: a message for the user.
type BenchResult<T> = std::result::Result<T, String>;

#[tokio::main]
async fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", args::HELP);
        return ExitCode::SUCCESS;
    }
    let outcome = if raw.first().map(String::as_str) == Some("serve") {
        server::serve_child(&raw[1..]).await.map(|()| None)
    } else {
        bench(&raw).await
    };
    match outcome {
        Ok(Some(path)) => {
            println!("JSON written to {}", path.display());
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("djust-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the options, runs the bench, prints the table and writes the
/// JSON where `--json` asks; returns that path.
async fn bench(raw: &[String]) -> BenchResult<Option<PathBuf>> {
    let args = args::parse_args(raw)?;
    let json_path = args.json.clone();
    let report = run::run(args).await?;
    report::print_report(&report);
    match json_path {
        Some(path) => write_json(&path, &report).map(|()| Some(path)),
        None => Ok(None),
    }
}

/// Writes `report` to `path`, pretty-printed.
fn write_json(path: &Path, report: &Value) -> BenchResult<()> {
    let text = serde_json::to_string_pretty(report).unwrap_or_else(|_| report.to_string());
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}
