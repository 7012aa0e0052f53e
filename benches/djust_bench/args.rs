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
  djust-bench serve [--sessions N] [--rooms R] [--redis URL] [--hibernate-after SECS]
                                   serve the bench views on 127.0.0.1:0 (used by --spawn)

OPTIONS:
  --scenario counter|limited|persisted|chat|table|search   view and events (default counter)
                      limited: the counter with #[rate_limit(rate = 1000000, burst = 1000000)]
                               (never refuses; all clients share the 127.0.0.1 bucket)
                      persisted: the counter with #[live_view(persist)]: with --redis every
                                 event writes its sealed state to Redis before the reply
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
  --hibernate-after SECS   the bench server's DJUST_HIBERNATE_AFTER_SECS: idle views drop
                      their rendered page after SECS (default 15; 0 = never). With a
                      --settle longer than SECS the RSS read is that of hibernating sessions
  --no-digest         mount without the page's digest (the server sends the whole
                      first render again, as before the client kept the SSR DOM)
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
    Persisted,
    Chat,
    Table,
    Search,
}

impl Scenario {
    /// Every scenario, in `--help` order.
    pub const ALL: [Scenario; 6] = [
        Scenario::Counter,
        Scenario::Limited,
        Scenario::Persisted,
        Scenario::Chat,
        Scenario::Table,
        Scenario::Search,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Counter => "counter",
            Scenario::Limited => "limited",
            Scenario::Persisted => "persisted",
            Scenario::Chat => "chat",
            Scenario::Table => "table",
            Scenario::Search => "search",
        }
    }
    pub fn path(self) -> &'static str {
        match self {
            Scenario::Counter => "/",
            Scenario::Limited => "/limited",
            Scenario::Persisted => "/persisted",
            Scenario::Chat => "/chat",
            Scenario::Table => "/table",
            Scenario::Search => "/search",
        }
    }
    pub fn default_event(self) -> &'static str {
        match self {
            Scenario::Counter | Scenario::Limited | Scenario::Persisted => "increment",
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
    /// The bench server's `Config::hibernate_after_secs` (`None`: default).
    pub hibernate_after: Option<u64>,
    pub json: Option<PathBuf>,
    pub redis: Option<String>,
    pub room_size: usize,
    /// Send the page's `data-djust-digest` in `mount`, as browsers do (an
    /// unchanged first render then comes back without its HTML).
    pub digest: bool,
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
        hibernate_after: None,
        json: None,
        redis: None,
        room_size: 10,
        digest: true,
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
                        format!("unknown scenario `{name}` (counter|limited|persisted|chat|table|search)")
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
            "--hibernate-after" => {
                args.hibernate_after =
                    Some(number("--hibernate-after", value("--hibernate-after")?)?)
            }
            "--json" => args.json = Some(PathBuf::from(value("--json")?)),
            "--redis" => args.redis = Some(value("--redis")?),
            "--room-size" => args.room_size = number("--room-size", value("--room-size")?)?,
            "--no-digest" => args.digest = false,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> BenchResult<Args> {
        let raw: Vec<String> = words.iter().map(|word| (*word).to_owned()).collect();
        parse_args(&raw)
    }

    fn error(words: &[&str]) -> String {
        match parse(words) {
            Ok(args) => panic!("{words:?} parsed as {args:?}"),
            Err(message) => message,
        }
    }

    #[test]
    fn no_options_give_the_documented_defaults() {
        let args = parse(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.scenario, Scenario::Counter);
        assert_eq!(args.protocol, Protocol::DjustRs);
        assert_eq!((args.sessions, args.active), (100, 100));
        assert_eq!(
            (args.rate, args.duration, args.warmup, args.settle),
            (0.0, 10.0, 1.0, 2.0)
        );
        assert_eq!((args.connect_concurrency, args.room_size), (32, 10));
        assert!(args.url.is_none() && !args.spawn && args.json.is_none());
    }

    #[test]
    fn every_scenario_is_reachable_by_its_name() {
        for scenario in Scenario::ALL {
            let args = parse(&["--scenario", scenario.name()]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(args.scenario, scenario);
        }
        for protocol in [Protocol::DjustRs, Protocol::DjustPy] {
            let args = parse(&[
                "--protocol",
                protocol.name(),
                "--url",
                "http://127.0.0.1:8000/",
            ])
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(args.protocol, protocol);
        }
    }

    #[test]
    fn unknown_names_are_refused_and_quoted() {
        for name in [
            "Counter",
            "",
            "counter; rm -rf /",
            "<script>",
            "çhat",
            "counter\u{0}",
        ] {
            let message = error(&["--scenario", name]);
            assert!(message.contains(&format!("`{name}`")), "{message}");
        }
        assert!(error(&["--protocol", "djust-go"]).contains("unknown protocol"));
        assert!(error(&["--sessions=5"]).contains("unknown option `--sessions=5`"));
        assert!(error(&["serve"]).contains("unknown option `serve`"));
    }

    #[test]
    fn numbers_out_of_range_or_malformed_are_refused() {
        for (flag, value) in [
            ("--sessions", "0"),
            ("--sessions", "20001"),
            ("--sessions", "-1"),
            ("--sessions", "99999999999999999999999"),
            ("--sessions", "１０"),
            ("--duration", "0"),
            ("--duration", "601"),
            ("--duration", "NaN"),
            ("--duration", "inf"),
            ("--rate", "-1"),
            ("--rate", "NaN"),
            ("--rate", "1e309"),
            ("--warmup", "61"),
            ("--settle", "-0.5"),
            ("--server-pid", "4294967296"),
            ("--room-size", "0"),
        ] {
            error(&[flag, value]);
        }
        assert!(error(&["--sessions"]).contains("--sessions needs a value"));
        assert!(error(&["--sessions", "ten"]).contains("`ten` is not a valid number"));
    }

    #[test]
    fn active_and_concurrency_are_clamped() {
        let args = parse(&["--sessions", "5", "--active", "50"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.active, 5);
        let args = parse(&["--sessions", "500"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.active, 100);
        let args = parse(&["--connect-concurrency", "0"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.connect_concurrency, 1);
        let args = parse(&["--connect-concurrency", "1000000"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.connect_concurrency, 1024);
    }

    #[test]
    fn chat_rooms_are_bounded() {
        let args = parse(&[
            "--scenario",
            "chat",
            "--sessions",
            "25",
            "--room-size",
            "10",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.rooms(), 3);
        // 20,000 sessions in rooms of 1 would be 20,000 pub/sub rooms.
        let message = error(&[
            "--scenario",
            "chat",
            "--sessions",
            "20000",
            "--room-size",
            "1",
        ]);
        assert!(message.contains("at most 2000 rooms"), "{message}");
        // Other scenarios have one room whatever the size.
        let args =
            parse(&["--sessions", "20000", "--room-size", "1"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.rooms(), 1);
    }

    #[test]
    fn exclusive_and_dependent_options_are_checked() {
        let message = error(&["--spawn", "--url", "http://127.0.0.1:8000/"]);
        assert!(message.contains("exclusive"), "{message}");
        let message = error(&["--protocol", "djust-py"]);
        assert!(message.contains("needs --url"), "{message}");
    }

    #[cfg(not(feature = "redis"))]
    #[test]
    fn redis_needs_the_feature() {
        assert_eq!(
            error(&["--redis", "redis://127.0.0.1:6379"]),
            NO_REDIS_FEATURE
        );
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_must_be_on_loopback() {
        for url in [
            "redis://127.0.0.1:6379",
            "redis://localhost:6379/0",
            "redis://user:secret@127.0.0.1:6379/2",
        ] {
            parse(&["--redis", url]).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        for url in [
            "redis://10.0.0.1:6379",
            "redis://127.0.0.1@10.0.0.1:6379",
            "rediss://127.0.0.1:6379",
            "http://127.0.0.1:6379",
            "redis://",
            "redis://exämple.com",
            "127.0.0.1:6379",
        ] {
            error(&["--redis", url]);
        }
    }
}
