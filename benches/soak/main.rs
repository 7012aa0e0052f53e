//! `djust-soak`: the soak, fault and flood runs of issue 20, bounded in
//! count and time, loopback only, not part of `cargo test` (results and
//! commands in BENCHMARKS.md, "Soak and faults").
//!
//! * `djust-soak soak`: users mount, click, drop and resume for
//!   `--duration` (default 20 min) while the server's RSS and fds are
//!   sampled; reports their trend after warm-up and acknowledged clicks lost;
//! * `djust-soak fault KIND`: a fault during load (see [`faults`]);
//! * `djust-soak flood`: abandoned sockets against the detached-view cap;
//! * `djust-soak serve`: the server child the runs start.
//!
//! Shared with the other bench programs: the page over HTTP
//! (`djust_bench/http.rs`), RSS from `/proc` (`djust_bench/host.rs`) and
//! connections from chosen loopback addresses (`stress/net.rs`).
#![forbid(unsafe_code)]

mod app;
mod faults;
mod flood;
mod heap;
#[path = "../djust_bench/host.rs"]
#[allow(dead_code)]
mod host;
#[path = "../djust_bench/http.rs"]
#[allow(dead_code)]
mod http;
#[path = "../stress/net.rs"]
#[allow(dead_code)]
mod net;
mod procs;
mod session;
mod soak;
mod tally;
mod trend;

use std::process::ExitCode;
use std::time::Duration;

const HELP: &str = "\
djust-soak: soak, faults and abandoned-socket flood (loopback only)

USAGE:
  djust-soak soak  [--sessions N] [--duration D] [--warmup D] [--ramp D] [--sample-every D]
  djust-soak fault KIND [--sessions N] [--duration D] [--fault-at D]
  djust-soak flood [--sockets N] [--concurrency N] [--cap-mib N]
  Options common to all: [--json PATH]

  KIND: redis-restart | redis-pause | kill | slow-readers | half-open
  D: seconds, or with a unit: 90s, 20m

DEFAULTS:
  soak:  --sessions 2000 --duration 20m --ramp 60s --sample-every 5s
         --warmup: the ramp + one session's lifetime (~7 min), at most half the run
  fault: --sessions 200 --duration 60s --fault-at 15s
  flood: --sockets 50000 --concurrency 256 --cap-mib 64
";

/// The options of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Users of a soak or fault run.
    pub sessions: usize,
    /// Length of the load (users finish their last reconnect after it).
    pub duration: Duration,
    /// Samples before this are left out of the trend.
    pub warmup: Duration,
    /// Users start spread over this.
    pub ramp: Duration,
    /// RSS and fds are read this often.
    pub sample_every: Duration,
    /// When the fault is injected.
    pub fault_at: Duration,
    /// Sockets of the flood.
    pub sockets: usize,
    /// Flood sockets mounting at once.
    pub concurrency: usize,
    /// `DJUST_MAX_DETACHED_BYTES` of the flood, in MiB.
    pub cap_mib: usize,
    /// Where to write the JSON report.
    pub json: Option<String>,
}

/// Upper bounds: the runs stay bounded whatever the flags say.
const MAX_SESSIONS: usize = 10_000;
const MAX_SOCKETS: usize = 200_000;
const MAX_DURATION: Duration = Duration::from_secs(4 * 3600);

fn parse_duration(flag: &str, raw: &str) -> Result<Duration, String> {
    let (number, unit) = match raw.strip_suffix('m') {
        Some(minutes) => (minutes, 60),
        None => (raw.strip_suffix('s').unwrap_or(raw), 1),
    };
    number
        .parse::<u64>()
        .ok()
        .map(|n| Duration::from_secs(n.saturating_mul(unit)))
        .filter(|d| *d <= MAX_DURATION)
        .ok_or_else(|| format!("{flag} `{raw}`: expected seconds, `90s` or `20m` (at most 4 h)"))
}

fn parse_count(flag: &str, raw: &str, max: usize) -> Result<usize, String> {
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("{flag} `{raw}`: expected a number in 1..={max}"))
}

fn parse_options(command: &str, raw: &[String]) -> Result<Options, String> {
    let fault = command == "fault";
    let mut options = Options {
        sessions: if fault { 200 } else { 2_000 },
        duration: Duration::from_secs(if fault { 60 } else { 20 * 60 }),
        warmup: Duration::from_secs(180),
        ramp: Duration::from_secs(60),
        sample_every: Duration::from_secs(5),
        fault_at: Duration::from_secs(15),
        sockets: 50_000,
        concurrency: 256,
        cap_mib: 64,
        json: None,
    };
    let mut warmup_given = false;
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value (see --help)"))?;
        match flag.as_str() {
            "--sessions" => options.sessions = parse_count(flag, value, MAX_SESSIONS)?,
            "--duration" => options.duration = parse_duration(flag, value)?,
            "--warmup" => {
                options.warmup = parse_duration(flag, value)?;
                warmup_given = true;
            }
            "--ramp" => options.ramp = parse_duration(flag, value)?,
            "--sample-every" => options.sample_every = parse_duration(flag, value)?,
            "--fault-at" => options.fault_at = parse_duration(flag, value)?,
            "--sockets" => options.sockets = parse_count(flag, value, MAX_SOCKETS)?,
            "--concurrency" => options.concurrency = parse_count(flag, value, 4_096)?,
            "--cap-mib" => options.cap_mib = parse_count(flag, value, 16_384)?,
            "--json" => options.json = Some(value.clone()),
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    if !warmup_given {
        options.warmup = if fault {
            options.warmup.min(options.duration / 4)
        } else {
            // Until every user has been through one whole session (mount,
            // clicks, drops and resumes, a renewal): the ramp plus one
            // session's lifetime, at most half the run.
            (options.ramp + soak::session_lifetime()).min(options.duration / 2)
        };
    }
    if options.sample_every.is_zero() {
        return Err("--sample-every must be at least 1 s".to_owned());
    }
    if fault && options.fault_at + Duration::from_secs(15) > options.duration {
        return Err("--duration must leave at least 15 s after --fault-at".to_owned());
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.is_empty() || raw.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let outcome = match raw[0].as_str() {
        "serve" => app::serve(&raw[1..]).await.map(|()| None),
        "soak" => match parse_options("soak", &raw[1..]) {
            Ok(options) => soak::run(&options).await.map(|r| Some((r, options))),
            Err(e) => Err(e),
        },
        "flood" => match parse_options("flood", &raw[1..]) {
            Ok(options) => flood::run(&options).await.map(|r| Some((r, options))),
            Err(e) => Err(e),
        },
        "fault" => match raw.get(1) {
            Some(kind) => match parse_options("fault", &raw[2..]) {
                Ok(options) => faults::run(kind, &options)
                    .await
                    .map(|r| Some((r, options))),
                Err(e) => Err(e),
            },
            None => Err(format!("fault needs a KIND: one of {:?}", faults::KINDS)),
        },
        other => Err(format!("unknown command `{other}` (see --help)")),
    };
    match outcome {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some((report, options))) => {
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            println!("{text}");
            if let Some(path) = options.json {
                if let Err(e) = std::fs::write(&path, text + "\n") {
                    eprintln!("djust-soak: cannot write {path}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("djust-soak: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_the_rest() {
        assert_eq!(
            parse_duration("--d", "90").ok(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_duration("--d", "90s").ok(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_duration("--d", "20m").ok(),
            Some(Duration::from_secs(1200))
        );
        for bad in [
            "",
            "m",
            "-1",
            "1h",
            "5 m",
            "１m",
            "99999999999999999999",
            "241m",
        ] {
            assert!(parse_duration("--d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn options_default_per_command_and_are_bounded() {
        let soak = parse_options("soak", &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(soak.sessions, 2_000);
        assert_eq!(soak.duration, Duration::from_secs(1200));
        // The ramp (60 s) plus 25 cycles of 14.85 s.
        assert_eq!(soak.warmup, Duration::from_millis(60_000 + 371_250));
        let short: Vec<String> = ["--duration", "60"].map(String::from).to_vec();
        let short = parse_options("soak", &short).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(short.warmup, Duration::from_secs(30));
        let fault = parse_options("fault", &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fault.sessions, 200);
        assert_eq!(fault.warmup, Duration::from_secs(15));
        for bad in [
            &["--sessions", "0"][..],
            &["--sessions", "10001"],
            &["--sockets", "x"],
            &["--bogus", "1"],
            &["--sessions"],
            &["--fault-at", "50", "--duration", "60"],
        ] {
            let raw: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            assert!(parse_options("fault", &raw).is_err(), "{bad:?}");
        }
    }
}
