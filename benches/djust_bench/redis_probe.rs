//! Redis accounting of `djust-bench --redis` (feature `redis`).
//!
//! Two measurements on the real `redis-server`, never constants:
//!
//! * **commands per event**: `INFO commandstats` read at the start and the
//!   end of the measured phase (so mounts and warm-up are not counted); the
//!   delta per command divided by the events measured. Redis counts the
//!   commands a Lua script runs (`redis.call`) here too, so one `EVALSHA`
//!   whose script calls four commands shows as five.
//! * **round trips per event**: a short pass after the measured phase, one
//!   session sending events one at a time while a `MONITOR` connection
//!   records every command with its origin: a client address (a round trip
//!   of the server process), `lua` (run inside a script, no round trip) or a
//!   pub/sub connection (its keep-alive `PING`s, background, not per event).
//!   `MONITOR` slows Redis down, so it is kept out of the timed phase.
//!
//! It also reads how many WebSocket connections Redis counts for
//! 127.0.0.1 (the shared per-IP limit) before the run and after the server
//! stopped: what is left then was never released.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use djust::runtime::redis::client;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::client::Mounted;
use crate::load::{await_reply, EventSource};
use crate::stats::{per_event, per_event_total, Counts, Stats};
use crate::BenchResult;

/// Events of the `MONITOR` pass that counts Redis round trips.
pub const ACCOUNTING_EVENTS: u64 = 200;
/// Commands this probe issues itself (never counted).
const OWN_COMMANDS: &[&str] = &["info", "client|list", "monitor"];

/// A connection to the Redis under test, for `INFO` and `CLIENT LIST`.
pub struct Probe {
    client: client::Client,
    connection: client::aio::MultiplexedConnection,
}

impl Probe {
    /// Connects to `url` (within 5 s).
    pub async fn connect(url: &str) -> BenchResult<Probe> {
        let client = client::Client::open(url).map_err(|e| format!("--redis {url}: {e}"))?;
        let connection = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| format!("--redis {url}: connect timed out"))?
        .map_err(|e| format!("--redis {url}: {e}"))?;
        Ok(Probe { client, connection })
    }

    async fn query(&mut self, cmd: &client::Cmd) -> BenchResult<String> {
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            cmd.query_async::<String>(&mut self.connection),
        )
        .await
        .map_err(|_| "Redis probe: command timed out".to_owned())?
        .map_err(|e| format!("Redis probe: {e}"))
    }

    /// `INFO commandstats` as calls per command (without this probe's own).
    pub async fn commandstats(&mut self) -> BenchResult<Counts> {
        let info = self.query(client::cmd("INFO").arg("commandstats")).await?;
        Ok(parse_commandstats(&info))
    }

    /// Addresses of the pub/sub connections (`CLIENT LIST` entries with a
    /// subscription): their `PING`s are keep-alive, not per-event work.
    pub async fn subscriber_addrs(&mut self) -> BenchResult<HashSet<String>> {
        let list = self.query(client::cmd("CLIENT").arg("LIST")).await?;
        Ok(list
            .lines()
            .filter(|line| {
                line.split(' ').any(|field| {
                    matches!(field.split_once('='), Some(("sub" | "psub" | "ssub", n)) if n != "0")
                })
            })
            .filter_map(|line| {
                line.split(' ')
                    .find_map(|field| field.strip_prefix("addr="))
                    .map(str::to_owned)
            })
            .collect())
    }
    /// Starts recording every command Redis runs (`MONITOR`).
    pub async fn monitor(&self) -> BenchResult<Monitor> {
        let monitor = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            self.client.get_async_monitor(),
        )
        .await
        .map_err(|_| "MONITOR: connect timed out".to_owned())?
        .map_err(|e| format!("MONITOR: {e}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let task = tokio::spawn(async move {
            let mut stream = monitor.into_on_message::<String>();
            while let Some(line) = stream.next().await {
                if let Ok(mut lines) = sink.lock() {
                    lines.push(line);
                }
            }
        });
        Ok(Monitor { lines, task })
    }
}

/// Connections Redis counts for 127.0.0.1 (`RedisIpLimiter::connections`,
/// key `djust:ip:127.0.0.1`); `None` if Redis cannot be asked.
pub async fn loopback_connections(url: &str) -> Option<u32> {
    use djust::runtime::redis::{Redis, RedisIpLimiter};
    let limiter = RedisIpLimiter::new(Redis::open(url).ok()?);
    limiter
        .connections(std::net::IpAddr::from([127, 0, 0, 1]))
        .await
}

/// A running `MONITOR` recording.
pub struct Monitor {
    lines: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Monitor {
    /// Stops recording (closes the connection) and returns the lines.
    pub fn stop(self) -> Vec<String> {
        self.task.abort();
        self.lines
            .lock()
            .map(|mut lines| std::mem::take(&mut *lines))
            .unwrap_or_default()
    }
}

fn parse_commandstats(info: &str) -> Counts {
    info.lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter_map(|line| {
            let (name, stats) = line.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))?
                .trim()
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| !OWN_COMMANDS.contains(&name.as_str()))
        .collect()
}

/// Calls made between two `commandstats` snapshots.
pub fn delta(before: &Counts, after: &Counts) -> Counts {
    after
        .iter()
        .map(|(name, calls)| {
            let earlier = before.get(name).copied().unwrap_or(0);
            (name.clone(), calls.saturating_sub(earlier))
        })
        .filter(|(_, calls)| *calls > 0)
        .collect()
}

/// `MONITOR` lines by origin.
#[derive(Default)]
pub struct Origins {
    /// Sent by a client that is not a pub/sub connection: one round trip each.
    pub round_trips: Counts,
    /// Run by a Lua script inside Redis (`[0 lua]`).
    pub in_script: Counts,
    /// Sent on a pub/sub connection (`SUBSCRIBE`, keep-alive `PING`).
    pub background: Counts,
}

/// Commands that make a connection a pub/sub connection.
const SUBSCRIBE: &[&str] = &["subscribe", "psubscribe", "ssubscribe"];

/// One `MONITOR` line (`1712345678.123456 [0 127.0.0.1:5555] "evalsha" ...`)
/// as (origin, lower-case command name).
fn parse_monitor_line(line: &str) -> Option<(&str, String)> {
    let open = line.find(" [")?;
    let close = line[open..].find("] ")? + open;
    let source = line[open + 2..close]
        .split_once(' ')
        .map_or("", |(_, source)| source);
    let name = line[close + 2..]
        .strip_prefix('"')
        .and_then(|rest| rest.split('"').next())?;
    Some((source, name.to_ascii_lowercase()))
}

/// Sorts `MONITOR` lines by origin and command name. `subscribers` are the
/// pub/sub connections known before the recording; a connection that
/// subscribes during it (a subscription reconnecting) is one too.
pub fn classify(lines: &[String], subscribers: &HashSet<String>) -> Origins {
    let parsed: Vec<(&str, String)> = lines
        .iter()
        .filter_map(|line| parse_monitor_line(line))
        .collect();
    let mut subscribers: HashSet<&str> = subscribers.iter().map(String::as_str).collect();
    subscribers.extend(
        parsed
            .iter()
            .filter(|(_, name)| SUBSCRIBE.contains(&name.as_str()))
            .map(|(source, _)| *source),
    );
    let mut origins = Origins::default();
    for (source, name) in parsed {
        if OWN_COMMANDS.contains(&name.as_str()) || name == "client" {
            continue;
        }
        let counts = if source == "lua" {
            &mut origins.in_script
        } else if subscribers.contains(source) {
            &mut origins.background
        } else {
            &mut origins.round_trips
        };
        *counts.entry(name).or_default() += 1;
    }
    origins
}

/// `--redis`: the `MONITOR` pass. One session sends `ACCOUNTING_EVENTS`
/// events one at a time while every Redis command is recorded with its
/// origin; returns the round trips per event (see the module doc).
pub async fn account_round_trips(
    probe: &mut Probe,
    session: &mut Mounted,
    source: &EventSource,
    stats: &Stats,
) -> BenchResult<Value> {
    let subscribers = probe.subscriber_addrs().await?;
    let monitor = probe.monitor().await?;
    let mut answered = 0u64;
    let mut outcome = Ok(());
    for n in 0..ACCOUNTING_EVENTS {
        // Far above the measured phase's references on this socket.
        let reference = 1_000_000_000 + n;
        if let Err(e) = session
            .sink
            .send(Message::text(source.frame(0, reference)))
            .await
        {
            outcome = Err(format!("MONITOR pass: send event: {e}"));
            break;
        }
        match await_reply(&mut session.stream, reference, stats, 0).await {
            Ok(_) => answered += 1,
            Err(e) => {
                outcome = Err(format!("MONITOR pass: {e}"));
                break;
            }
        }
    }
    // Let anything the events set off after their replies reach Redis.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let lines = monitor.stop();
    outcome?;
    let origins = classify(&lines, &subscribers);
    Ok(json!({
        "events": answered,
        "round_trips_per_event": per_event_total(&origins.round_trips, answered),
        "round_trips_by_name": per_event(&origins.round_trips, answered),
        "in_script_by_name": per_event(&origins.in_script, answered),
        "background_by_name": per_event(&origins.background, answered),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commandstats_are_parsed_without_own_commands() {
        let info = "# Commandstats\r\ncmdstat_evalsha:calls=12,usec=3,usec_per_call=0.25,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=3,usec=1\r\ncmdstat_config|resetstat:calls=1,usec=1\r\n";
        let counts = parse_commandstats(info);
        assert_eq!(counts.get("evalsha"), Some(&12));
        assert_eq!(counts.get("config|resetstat"), Some(&1));
        assert!(!counts.contains_key("info"));
        let later = parse_commandstats(
            "cmdstat_evalsha:calls=20,usec=3\r\ncmdstat_publish:calls=4,usec=1\r\n",
        );
        let delta = delta(&counts, &later);
        assert_eq!(delta.get("evalsha"), Some(&8));
        assert_eq!(delta.get("publish"), Some(&4));
        assert!(!delta.contains_key("config|resetstat"));
    }

    #[test]
    fn monitor_lines_are_sorted_by_origin() {
        let subscribers: HashSet<String> = ["127.0.0.1:7000".to_owned()].into_iter().collect();
        let lines: Vec<String> = [
            r#"1712345678.000001 [0 127.0.0.1:6000] "EVALSHA" "abc" "1" "djust:rate:x""#,
            r#"1712345678.000002 [0 lua] "TIME""#,
            r#"1712345678.000003 [0 lua] "hset" "djust:rate:x" "t" "1""#,
            r#"1712345678.000004 [0 127.0.0.1:7000] "PING""#,
            r#"1712345678.000005 [0 127.0.0.1:6000] "publish" "djust:pubsub:a" "[1,\"a\",\"b\"]""#,
            r#"1712345678.000006 [0 127.0.0.1:8000] "SUBSCRIBE" "djust:pubsub:a""#,
            r#"1712345678.000007 [0 127.0.0.1:8000] "PING""#,
            "garbage",
        ]
        .iter()
        .map(|line| (*line).to_owned())
        .collect();
        let origins = classify(&lines, &subscribers);
        assert_eq!(origins.round_trips.get("evalsha"), Some(&1));
        assert_eq!(origins.round_trips.get("publish"), Some(&1));
        assert_eq!(origins.in_script.len(), 2);
        assert_eq!(origins.background.get("ping"), Some(&2));
        assert_eq!(origins.background.get("subscribe"), Some(&1));
        assert_eq!(
            per_event_total(&origins.round_trips, 2),
            serde_json::json!(1.0)
        );
    }
}
