//! The command line of `djust-bench`: the `--help` text, the options of a
//! run ([`Args`]) with their defaults and bounds, and the check that a
//! `--redis` URL is usable by this build.

use std::path::PathBuf;

use crate::BenchResult;

/// Why `--redis` cannot be used by this build.
#[cfg(not(feature = "redis"))]
pub const NO_REDIS_FEATURE: &str = "--redis needs djust-bench built with the `redis` feature: \
cargo build --release -p djust-benches --bin djust-bench --features redis";
/// Most chat rooms (with `--redis`, each is one pub/sub connection).
pub const MAX_ROOMS: usize = 2_000;

/// Printed by `djust-bench --help`.
pub const HELP: &str = "\
djust-bench: load generator for djust live views (issue 10)

USAGE:
  djust-bench [OPTIONS]            run a scenario
  djust-bench serve [--sessions N] [--rooms R] [--redis URL]
                                   serve the bench views on 127.0.0.1:0 (used by --spawn)

OPTIONS:
  --scenario counter|limited|chat|table|search   view and events (default counter)
                      limited: the counter with #[rate_limit(rate = 1000000, burst = 1000000)]
                               (never refuses; all clients share the 127.0.0.1 bucket)
                      chat: each event posts one message to the sender's room; every
                            view of the room gets it through handle_info
  --room-size K       chat: views per room (default 10); session i joins room
                      i mod ceil(N/K), so the first active sessions land in different rooms
  --sessions N        mounted sessions (default 100, max 20000)
  --active M          sessions sending events (default min(N,100))
  --rate R            events/s per active session (open loop); 0 = closed loop (default 0)
  --duration SECS     measured sending time (default 10, max 600)
  --warmup SECS       sending time before measuring (default 1)
  --connect-concurrency C   sessions set up at once (default 32)
  --url URL           target a running server (page URL, e.g. http://127.0.0.1:8000/);
                      loopback only. Without it the bench starts its own server.
  --spawn             start the bench server as a child process (RSS of the server alone)
  --server-pid PID    with --url: process whose RSS to report
  --protocol djust-rs|djust-py   wire dialect (default djust-rs)
  --event NAME        override the event name (default per scenario)
  --settle SECS       wait after mounting before reading RSS (default 2)
  --json PATH         also write the results as JSON
  --redis URL         the bench server uses this Redis (Config::redis_url: sessions,
                      rate limits, per-IP counts, chat rooms via RedisBroadcast) and the
                      run reports Redis commands and round trips per event. Needs the
                      `redis` feature (cargo build ... --features redis). With --url
                      the server is not configured, only the Redis is observed.
";

/// The view a run loads and the events it sends (`--scenario`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Counter,
    Limited,
    Chat,
    Table,
    Search,
}

impl Scenario {
    /// Every scenario, in `--help` order.
    pub const ALL: [Scenario; 5] = [
        Scenario::Counter,
        Scenario::Limited,
        Scenario::Chat,
        Scenario::Table,
        Scenario::Search,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Counter => "counter",
            Scenario::Limited => "limited",
            Scenario::Chat => "chat",
            Scenario::Table => "table",
            Scenario::Search => "search",
        }
    }
    pub fn path(self) -> &'static str {
        match self {
            Scenario::Counter => "/",
            Scenario::Limited => "/limited",
            Scenario::Chat => "/chat",
            Scenario::Table => "/table",
            Scenario::Search => "/search",
        }
    }
    pub fn default_event(self) -> &'static str {
        match self {
            Scenario::Counter | Scenario::Limited => "increment",
            Scenario::Chat => "send",
            Scenario::Table => "bump",
            Scenario::Search => "search",
        }
    }
}

/// The wire dialect of the server under test (`--protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    DjustRs,
    DjustPy,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::DjustRs => "djust-rs",
            Protocol::DjustPy => "djust-py",
        }
    }
}

/// The options of one run.
#[derive(Clone, Debug)]
pub struct Args {
    pub scenario: Scenario,
    pub sessions: usize,
    pub active: usize,
    pub rate: f64,
    pub duration: f64,
    pub warmup: f64,
    pub connect_concurrency: usize,
    pub url: Option<String>,
    pub spawn: bool,
    pub server_pid: Option<u32>,
    pub protocol: Protocol,
    pub event: Option<String>,
    pub settle: f64,
    pub json: Option<PathBuf>,
    pub redis: Option<String>,
    pub room_size: usize,
}

impl Args {
    /// Chat rooms of the run: ceil(sessions / room size) for `chat`, else 1.
    pub fn rooms(&self) -> usize {
        match self.scenario {
            Scenario::Chat => self.sessions.div_ceil(self.room_size.max(1)),
            _ => 1,
        }
    }
}

/// Parses the options after the program name (not `serve`, not `--help`).
pub fn parse_args(raw: &[String]) -> BenchResult<Args> {
    let mut args = Args {
        scenario: Scenario::Counter,
        sessions: 100,
        active: usize::MAX,
        rate: 0.0,
        duration: 10.0,
        warmup: 1.0,
        connect_concurrency: 32,
        url: None,
        spawn: false,
        server_pid: None,
        protocol: Protocol::DjustRs,
        event: None,
        settle: 2.0,
        json: None,
        redis: None,
        room_size: 10,
    };
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        fn number<T: std::str::FromStr>(name: &str, raw: String) -> BenchResult<T> {
            raw.parse()
                .map_err(|_| format!("{name}: `{raw}` is not a valid number"))
        }
        match flag.as_str() {
            "--scenario" => {
                let name = value("--scenario")?;
                args.scenario = Scenario::ALL
                    .into_iter()
                    .find(|scenario| scenario.name() == name)
                    .ok_or_else(|| {
                        format!("unknown scenario `{name}` (counter|limited|chat|table|search)")
                    })?
            }
            "--sessions" => args.sessions = number("--sessions", value("--sessions")?)?,
            "--active" => args.active = number("--active", value("--active")?)?,
            "--rate" => args.rate = number("--rate", value("--rate")?)?,
            "--duration" => args.duration = number("--duration", value("--duration")?)?,
            "--warmup" => args.warmup = number("--warmup", value("--warmup")?)?,
            "--connect-concurrency" => {
                args.connect_concurrency =
                    number("--connect-concurrency", value("--connect-concurrency")?)?
            }
            "--url" => args.url = Some(value("--url")?),
            "--spawn" => args.spawn = true,
            "--server-pid" => {
                args.server_pid = Some(number("--server-pid", value("--server-pid")?)?)
            }
            "--protocol" => {
                args.protocol = match value("--protocol")?.as_str() {
                    "djust-rs" => Protocol::DjustRs,
                    "djust-py" => Protocol::DjustPy,
                    other => return Err(format!("unknown protocol `{other}` (djust-rs|djust-py)")),
                }
            }
            "--event" => args.event = Some(value("--event")?),
            "--settle" => args.settle = number("--settle", value("--settle")?)?,
            "--json" => args.json = Some(PathBuf::from(value("--json")?)),
            "--redis" => args.redis = Some(value("--redis")?),
            "--room-size" => args.room_size = number("--room-size", value("--room-size")?)?,
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    if args.sessions == 0 || args.sessions > 20_000 {
        return Err("--sessions must be between 1 and 20000".to_owned());
    }
    args.active = if args.active == usize::MAX {
        args.sessions.min(100)
    } else {
        args.active.min(args.sessions)
    };
    if !(args.duration > 0.0 && args.duration <= 600.0) {
        return Err("--duration must be in (0, 600] seconds".to_owned());
    }
    if !(0.0..=60.0).contains(&args.warmup) || !(0.0..=120.0).contains(&args.settle) {
        return Err("--warmup must be in [0, 60] and --settle in [0, 120] seconds".to_owned());
    }
    if !(args.rate >= 0.0 && args.rate <= 100_000.0) {
        return Err("--rate must be in [0, 100000] events/s".to_owned());
    }
    args.connect_concurrency = args.connect_concurrency.clamp(1, 1024);
    if args.spawn && args.url.is_some() {
        return Err("--spawn and --url are exclusive".to_owned());
    }
    if args.protocol == Protocol::DjustPy && args.url.is_none() {
        return Err("--protocol djust-py needs --url (the Python server)".to_owned());
    }
    if args.room_size == 0 || args.rooms() > MAX_ROOMS {
        return Err(format!(
            "--room-size must be at least 1 and give at most {MAX_ROOMS} rooms (sessions / room size)"
        ));
    }
    if let Some(url) = &args.redis {
        check_redis_url(url)?;
    }
    Ok(args)
}

/// `--redis URL` is usable: this build has the feature and the URL is a
/// Redis URL on loopback (the bench only loads 127.0.0.1).
pub fn check_redis_url(url: &str) -> BenchResult<()> {
    #[cfg(not(feature = "redis"))]
    {
        let _ = url;
        Err(NO_REDIS_FEATURE.to_owned())
    }
    #[cfg(feature = "redis")]
    {
        let host = url
            .strip_prefix("redis://")
            .map(|rest| rest.rsplit_once('@').map_or(rest, |(_, host)| host))
            .and_then(|rest| rest.split(['/', ':']).next())
            .ok_or_else(|| format!("--redis `{url}`: expected redis://127.0.0.1:PORT[/DB]"))?;
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(format!("--redis `{url}`: only a loopback Redis is allowed"));
        }
        Ok(())
    }
}
