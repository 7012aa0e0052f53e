//! The report of a run: the JSON object built from the measurements
//! ([`build`], written by `--json`) and the table printed from it
//! ([`print_report`]). Both sides of every key live here.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::args::{Args, Scenario};
use crate::client::Target;
use crate::run::Setup;
use crate::stats::{per_event, per_event_total, percentiles_us, round3, Counts, Stats};
use crate::BenchResult;

/// Everything a run measured.
pub struct Measurements<'a> {
    pub args: &'a Args,
    pub target: &'a Target,
    /// The process whose RSS was read.
    pub pid: Option<u32>,
    /// Where the server ran.
    pub mode: &'static str,
    /// Load averages before the run and after its sockets closed.
    pub load_before: String,
    pub load_after: String,
    pub setup: &'a Setup,
    pub mounted: usize,
    pub active: usize,
    pub stats: &'a Stats,
    /// Server RSS before mounting, once mounted and after the load.
    pub rss_kib: [Option<u64>; 3],
    /// `--redis`: the commands of the measured phase.
    pub redis_window: Option<Counts>,
    /// `--redis`: the MONITOR pass (`null` without).
    pub redis_accounting: Value,
}

/// The report (JSON) of a run.
pub fn build(measured: Measurements<'_>) -> BenchResult<Value> {
    let Measurements {
        args,
        target,
        pid,
        mode,
        load_before,
        load_after,
        setup,
        mounted,
        active,
        stats,
        rss_kib: [rss_before, rss_mounted, rss_after],
        redis_window,
        redis_accounting,
    } = measured;
    let latency = stats
        .latency
        .lock()
        .map_err(|_| "latency histogram poisoned".to_owned())?
        .clone();
    let events = stats.events.load(Ordering::Relaxed);
    let sent = stats.sent.load(Ordering::Relaxed);
    let per_session = match (rss_before, rss_mounted) {
        (Some(before), Some(after)) if mounted > 0 => {
            Some(((after as f64 - before as f64) * 1024.0 / mounted as f64).round())
        }
        _ => None,
    };
    let kinds = stats
        .replies_by_kind
        .lock()
        .map(|k| k.clone())
        .unwrap_or_default();
    let deliveries = stats.deliveries.load(Ordering::Relaxed);
    let expected_deliveries = stats.expected_deliveries.load(Ordering::Relaxed);
    let delivery = match &stats.delivery {
        Some(hist) => hist
            .lock()
            .map(|h| percentiles_us(&h))
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let (redis_per_event, redis_by_name) = match &redis_window {
        Some(counts) => (per_event_total(counts, events), per_event(counts, events)),
        None => (Value::Null, Value::Null),
    };
    // Issue 11 fields (a second object: one `json!` this big exceeds the
    // macro recursion limit).
    let issue_11 = json!({
        "backend": if args.redis.is_some() { "redis" } else { "in-memory" },
        "room_size": (args.scenario == Scenario::Chat).then_some(args.room_size),
        "rooms": (args.scenario == Scenario::Chat).then(|| args.rooms()),
        "deliveries_measured": stats.delivery.as_ref().map(|_| deliveries),
        "deliveries_per_sec": stats.delivery.as_ref().map(|_| ((deliveries as f64 / args.duration) * 10.0).round() / 10.0),
        "deliveries_expected": stats.delivery.as_ref().map(|_| expected_deliveries),
        "delivered_ratio": stats.delivery.as_ref().and_then(|_| (expected_deliveries > 0).then(|| round3(deliveries as f64 / expected_deliveries as f64))),
        "delivery_us": delivery,
        "redis_commands_per_event": redis_per_event,
        "redis_commands_by_name": redis_by_name,
        "redis_commands_measured": redis_window,
        "redis_round_trips_per_event": redis_accounting["round_trips_per_event"],
        "redis_round_trips_by_name": redis_accounting["round_trips_by_name"],
        "redis_in_script_by_name": redis_accounting["in_script_by_name"],
        "redis_background_by_name": redis_accounting["background_by_name"],
        "redis_accounting_events": redis_accounting["events"],
    });
    let mut report = json!({
        "scenario": args.scenario.name(),
        "protocol": args.protocol.name(),
        "server": mode,
        "target": format!("http://{}{}", target.addr, target.path),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "sessions_requested": args.sessions,
        "sessions_mounted": mounted,
        "setup_failures": setup.failures,
        "first_setup_error": setup.first_error,
        "setup_wall_secs": (setup.wall_secs * 100.0).round() / 100.0,
        "setup_us": percentiles_us(&setup.histogram),
        "mount_frame_bytes_avg": setup.mount_bytes.checked_div(mounted as u64).unwrap_or(0),
        "active": active,
        "hibernate_after_secs": args.hibernate_after,
        "mode": if args.rate > 0.0 { format!("open loop {} events/s per session", args.rate) } else { "closed loop".to_owned() },
        "duration_secs": args.duration,
        "warmup_secs": args.warmup,
        "events_measured": events,
        "events_sent_total": sent,
        "events_per_sec": ((events as f64 / args.duration) * 10.0).round() / 10.0,
        "latency_us": percentiles_us(&latency),
        "reply_kinds": kinds,
        "reply_frame_bytes_avg": stats.reply_bytes.load(Ordering::Relaxed).checked_div(events).unwrap_or(0),
        "event_frame_bytes_avg": stats.sent_bytes.load(Ordering::Relaxed).checked_div(sent).unwrap_or(0),
        "event_failures": stats.failures.load(Ordering::Relaxed),
        "first_event_failure": stats.first_failure.lock().ok().and_then(|f| f.clone()),
        "send_lag_us": stats.send_lag.lock().map(|h| percentiles_us(&h)).unwrap_or(Value::Null),
        "sample_reply": stats.sample_reply.lock().ok().and_then(|s| s.clone()),
        "server_pid": pid,
        "rss_kib": { "before": rss_before, "mounted": rss_mounted, "after_load": rss_after },
        "idle_bytes_per_session": per_session,
    });
    if let (Some(report), Value::Object(extra)) = (report.as_object_mut(), issue_11) {
        report.extend(extra);
    }
    Ok(report)
}

/// Prints the report as a table (and the first errors and a sample reply).
pub fn print_report(report: &Value) {
    let us = |key: &str, q: &str| -> String {
        match report[key][q].as_u64() {
            Some(v) if v >= 10_000 => format!("{:.1} ms", v as f64 / 1000.0),
            Some(v) => format!("{v} µs"),
            None => "-".to_owned(),
        }
    };
    // `p50 / p99 / max` of one histogram in the report.
    let quantiles = |key: &str, qs: &[&str]| -> String {
        qs.iter()
            .map(|q| us(key, q))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let kib = |q: &str| -> String {
        report["rss_kib"][q]
            .as_u64()
            .map(|v| format!("{:.1} MiB", v as f64 / 1024.0))
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut rows: Vec<(&str, String)> = vec![
        (
            "scenario",
            format!(
                "{} ({}, {})",
                report["scenario"].as_str().unwrap_or(""),
                report["protocol"].as_str().unwrap_or(""),
                report["backend"].as_str().unwrap_or("")
            ),
        ),
        ("server", report["server"].as_str().unwrap_or("").to_owned()),
        ("target", report["target"].as_str().unwrap_or("").to_owned()),
        (
            "cores / load avg",
            format!(
                "{} / {} -> {}",
                report["cores"],
                report["load_average_before"].as_str().unwrap_or(""),
                report["load_average_after"].as_str().unwrap_or("")
            ),
        ),
        (
            "sessions mounted",
            format!(
                "{} of {} ({} failed)",
                report["sessions_mounted"], report["sessions_requested"], report["setup_failures"]
            ),
        ),
        (
            "setup wall time",
            format!("{} s", report["setup_wall_secs"]),
        ),
        (
            "setup p50 / p99 / max",
            quantiles("setup_us", &["p50", "p99", "max"]),
        ),
        (
            "mount frame",
            format!("{} bytes", report["mount_frame_bytes_avg"]),
        ),
        (
            "active / mode",
            format!(
                "{} / {}",
                report["active"],
                report["mode"].as_str().unwrap_or("")
            ),
        ),
        (
            "events measured",
            format!(
                "{} in {} s",
                report["events_measured"], report["duration_secs"]
            ),
        ),
        ("events/s", format!("{}", report["events_per_sec"])),
        (
            "latency p50 / p90 / p99",
            quantiles("latency_us", &["p50", "p90", "p99"]),
        ),
        (
            "latency p99.9 / max",
            quantiles("latency_us", &["p999", "max"]),
        ),
        ("reply kinds", report["reply_kinds"].to_string()),
        (
            "send lag p50 / p99 (open loop)",
            quantiles("send_lag_us", &["p50", "p99"]),
        ),
        (
            "reply / event frame",
            format!(
                "{} / {} bytes",
                report["reply_frame_bytes_avg"], report["event_frame_bytes_avg"]
            ),
        ),
        ("event failures", format!("{}", report["event_failures"])),
    ];
    if report["scenario"] == "chat" {
        rows.push((
            "rooms × size",
            format!("{} × {}", report["rooms"], report["room_size"]),
        ));
        rows.push((
            "deliveries/s (to other views)",
            format!(
                "{} ({} of {} expected, ratio {})",
                report["deliveries_per_sec"],
                report["deliveries_measured"],
                report["deliveries_expected"],
                report["delivered_ratio"]
            ),
        ));
        rows.push((
            "delivery p50 / p99 / max",
            quantiles("delivery_us", &["p50", "p99", "max"]),
        ));
    }
    if !report["redis_commands_per_event"].is_null() {
        let names = |key: &str| -> String {
            match report[key].as_object() {
                Some(map) if !map.is_empty() => map
                    .iter()
                    .map(|(name, per)| format!("{name} {per}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => "none".to_owned(),
            }
        };
        rows.push((
            "redis commands/event (measured)",
            format!(
                "{}: {}",
                report["redis_commands_per_event"],
                names("redis_commands_by_name")
            ),
        ));
        rows.push((
            "redis round trips/event (MONITOR)",
            format!(
                "{} over {} events: {}",
                report["redis_round_trips_per_event"],
                report["redis_accounting_events"],
                names("redis_round_trips_by_name")
            ),
        ));
        rows.push(("  run inside scripts", names("redis_in_script_by_name")));
        rows.push(("  pub/sub keep-alive", names("redis_background_by_name")));
        rows.push((
            "redis 127.0.0.1 slots before / left",
            format!(
                "{} / {} (counted connections; none are open at either time)",
                report["redis_ip_slots_before"], report["redis_ip_slots_left"]
            ),
        ));
    }
    rows.extend([
        (
            "server RSS before / mounted / after",
            format!(
                "{} / {} / {}",
                kib("before"),
                kib("mounted"),
                kib("after_load")
            ),
        ),
        (
            "idle memory per session",
            report["idle_bytes_per_session"]
                .as_f64()
                .map(|b| format!("{:.0} bytes ({:.2} KiB)", b, b / 1024.0))
                .unwrap_or_else(|| "-".to_owned()),
        ),
    ]);
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    println!();
    for (key, value) in rows {
        println!("| {key:<width$} | {value}");
    }
    for key in ["first_setup_error", "first_event_failure", "sample_reply"] {
        if let Some(error) = report[key].as_str() {
            println!("{key}: {error}");
        }
    }
}
