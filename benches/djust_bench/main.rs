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
//! (`redis_probe.rs`). Scenario `limited` is the counter with a
//! never-refusing `#[rate_limit]`; `chat` posts messages to rooms of
//! `--room-size` views and also measures delivery to the other views.
//!
//! Run `djust-bench --help` for every option.
#![forbid(unsafe_code)]

#[cfg(feature = "redis")]
mod redis_probe;
mod views;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use djust::prelude::*;
use djust::Config;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use views::{BenchChat, BenchCounter, BenchLimited, BenchSearch, BenchTable, ChatRooms};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type BenchResult<T> = std::result::Result<T, String>;

/// Secret of the bench server (not a real secret: loopback benchmark only).
const BENCH_SECRET: &str = "djust-bench-secret-key-not-for-production-use!!";
/// Bound on every single network wait.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Printed by `djust-bench serve` once it listens.
const LISTENING: &str = "LISTENING ";
/// Why `--redis` cannot be used by this build.
#[cfg(not(feature = "redis"))]
const NO_REDIS_FEATURE: &str = "--redis needs djust-bench built with the `redis` feature: \
cargo build --release -p djust-benches --bin djust-bench --features redis";
/// Most chat rooms (with `--redis`, each is one pub/sub connection).
const MAX_ROOMS: usize = 2_000;
/// Chat messages carry `[bench:{sender}:{µs since the run's epoch}]`, so
/// any client that receives one knows who sent it and when.
const MARK: &str = "[bench:";
/// Events of the `MONITOR` pass that counts Redis round trips (`--redis`).
#[cfg(feature = "redis")]
const ACCOUNTING_EVENTS: u64 = 200;

const HELP: &str = "\
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Counter,
    Limited,
    Chat,
    Table,
    Search,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Counter => "counter",
            Scenario::Limited => "limited",
            Scenario::Chat => "chat",
            Scenario::Table => "table",
            Scenario::Search => "search",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Scenario::Counter => "/",
            Scenario::Limited => "/limited",
            Scenario::Chat => "/chat",
            Scenario::Table => "/table",
            Scenario::Search => "/search",
        }
    }
    fn default_event(self) -> &'static str {
        match self {
            Scenario::Counter | Scenario::Limited => "increment",
            Scenario::Chat => "send",
            Scenario::Table => "bump",
            Scenario::Search => "search",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    DjustRs,
    DjustPy,
}

#[derive(Clone, Debug)]
struct Args {
    scenario: Scenario,
    sessions: usize,
    active: usize,
    rate: f64,
    duration: f64,
    warmup: f64,
    connect_concurrency: usize,
    url: Option<String>,
    spawn: bool,
    server_pid: Option<u32>,
    protocol: Protocol,
    event: Option<String>,
    settle: f64,
    json: Option<PathBuf>,
    redis: Option<String>,
    room_size: usize,
}

impl Args {
    /// Chat rooms of the run: ceil(sessions / room size) for `chat`, else 1.
    fn rooms(&self) -> usize {
        match self.scenario {
            Scenario::Chat => self.sessions.div_ceil(self.room_size.max(1)),
            _ => 1,
        }
    }
}

fn parse_args(raw: &[String]) -> BenchResult<Args> {
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
                args.scenario = match value("--scenario")?.as_str() {
                    "counter" => Scenario::Counter,
                    "limited" => Scenario::Limited,
                    "chat" => Scenario::Chat,
                    "table" => Scenario::Table,
                    "search" => Scenario::Search,
                    other => {
                        return Err(format!(
                            "unknown scenario `{other}` (counter|limited|chat|table|search)"
                        ))
                    }
                }
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
fn check_redis_url(url: &str) -> BenchResult<()> {
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

/// Where the page lives.
#[derive(Clone, Debug)]
struct Target {
    addr: SocketAddr,
    path: String,
}

fn parse_url(url: &str) -> BenchResult<Target> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url `{url}`: only http:// URLs are supported"))?;
    let (host, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = host
        .parse()
        .map_err(|_| format!("--url `{url}`: host must be IP:PORT (e.g. 127.0.0.1:8000)"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "--url `{url}`: only loopback addresses are allowed"
        ));
    }
    Ok(Target {
        addr,
        path: path.to_owned(),
    })
}

// ---------------------------------------------------------------- server

/// What the bench server is built from (the same in process and in the
/// `serve` child).
#[derive(Clone, Debug)]
struct ServeSpec {
    sessions: usize,
    rooms: usize,
    redis: Option<String>,
}

/// The bench app: the bench views, limits raised for `sessions` connections
/// from 127.0.0.1 (sockets, and the HTTP connections that open them), no
/// per-connection frame limit in the way, `rooms` chat rooms, and with
/// `redis` every shared store in that Redis.
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
        .live("/chat", BenchChat::view())
        .live("/table", BenchTable::view())
        .live("/search", BenchSearch::view()))
}

/// `djust-bench serve`: serves until stdin closes (the parent exits or
/// drops the pipe), then shuts down gracefully.
async fn serve_child(raw: &[String]) -> BenchResult<()> {
    let mut spec = ServeSpec {
        sessions: 20_000,
        rooms: 1,
        redis: None,
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
            "--redis" => {
                let url = it.next().ok_or("serve --redis needs a URL")?;
                check_redis_url(url)?;
                spec.redis = Some(url.clone());
            }
            other => return Err(format!("serve: unknown option `{other}`")),
        }
    }
    let server = bench_app(&spec)
        .await?
        .bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
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
enum ServerHandle {
    InProcess(djust::Server),
    Child(tokio::process::Child),
    External,
}

impl ServerHandle {
    async fn stop(self) {
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

async fn start_server(
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
    let server = bench_app(&spec)
        .await?
        .bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
    let addr = server.local_addr();
    Ok((
        ServerHandle::InProcess(server),
        Target { addr, path },
        Some(std::process::id()),
        "in process (shares the runtime with the clients)",
    ))
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

// ---------------------------------------------------------------- client

struct Page {
    body: String,
    cookies: Vec<String>,
}

/// `GET path` over HTTP/1.1 with `Connection: close`.
async fn get_page(target: &Target, cookie: Option<&str>) -> BenchResult<Page> {
    let mut stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(target.addr))
        .await
        .map_err(|_| "GET: connect timed out".to_owned())?
        .map_err(|e| format!("GET: connect {}: {e}", target.addr))?;
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: text/html\r\n",
        target.path, target.addr
    );
    if let Some(cookie) = cookie {
        request.push_str("Cookie: ");
        request.push_str(cookie);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("GET: write: {e}"))?;
    let mut raw = Vec::with_capacity(8192);
    tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut raw))
        .await
        .map_err(|_| "GET: read timed out".to_owned())?
        .map_err(|e| format!("GET: read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("GET: malformed HTTP response")?;
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("?");
    if status != "200" {
        return Err(format!("GET {}: HTTP status {status}", target.path));
    }
    let cookies = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, value)| value.split(';').next().map(|c| c.trim().to_owned()))
        .collect();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok(Page {
        body: if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
        cookies,
    })
}

/// Joins the chunks of a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = size.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            break;
        };
        if size == 0 || rest.len() < size || !rest.is_char_boundary(size) {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The value of the first `name="..."` attribute in `html`.
fn attribute(html: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&amp;", "&")
            .replace("&quot;", "\""),
    )
}

/// Reads the next text frame as JSON; pings are answered by tungstenite.
/// With `observe`, chat deliveries in the frame are recorded for that
/// receiving session.
async fn next_json(
    stream: &mut SplitStream<Socket>,
    observe: Option<(&Stats, usize)>,
) -> BenchResult<(Value, usize)> {
    loop {
        let frame = tokio::time::timeout(IO_TIMEOUT, stream.next())
            .await
            .map_err(|_| "no frame within 30 s".to_owned())?;
        match frame {
            None => return Err("socket closed".to_owned()),
            Some(Err(e)) => return Err(format!("socket error: {e}")),
            Some(Ok(Message::Text(text))) => {
                if let Some((stats, receiver)) = observe {
                    stats.observe(text.as_str(), receiver, Instant::now());
                }
                let value = serde_json::from_str(text.as_str())
                    .map_err(|e| format!("server sent non-JSON text: {e}"))?;
                return Ok((value, text.len()));
            }
            Some(Ok(Message::Binary(bytes))) => {
                return Err(format!(
                    "server sent a binary frame ({} bytes)",
                    bytes.len()
                ))
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("socket closed by server: {frame:?}"))
            }
            Some(Ok(_)) => continue,
        }
    }
}

struct Mounted {
    sink: SplitSink<Socket, Message>,
    stream: SplitStream<Socket>,
    mount_bytes: usize,
}

/// GET the page, open the socket, mount with `params`. Returns the split socket.
async fn open_session(target: &Target, protocol: Protocol, params: Value) -> BenchResult<Mounted> {
    let page = get_page(target, None).await?;
    let (view_attr, token) = match protocol {
        Protocol::DjustRs => (
            "data-djust-view",
            Some(attribute(&page.body, "data-djust-token").ok_or("page has no data-djust-token")?),
        ),
        Protocol::DjustPy => ("dj-view", None),
    };
    let view = attribute(&page.body, view_attr)
        .ok_or_else(|| format!("page has no {view_attr} attribute"))?;
    let mut request = format!("ws://{}/ws/live/", target.addr)
        .into_client_request()
        .map_err(|e| format!("bad WebSocket URL: {e}"))?;
    let origin = HeaderValue::from_str(&format!("http://{}", target.addr))
        .map_err(|e| format!("bad Origin header: {e}"))?;
    request.headers_mut().insert("origin", origin);
    if !page.cookies.is_empty() {
        let cookie = HeaderValue::from_str(&page.cookies.join("; "))
            .map_err(|e| format!("bad Cookie header: {e}"))?;
        request.headers_mut().insert("cookie", cookie);
    }
    let (socket, _) = tokio::time::timeout(
        IO_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(
            request,
            // The client's frames are small; 128 KiB default read buffers
            // would dominate the bench process's own memory at 10,000 sockets.
            Some(WebSocketConfig::default().read_buffer_size(16 * 1024)),
            true,
        ),
    )
    .await
    .map_err(|_| "WebSocket connect timed out".to_owned())?
    .map_err(|e| format!("WebSocket connect: {e}"))?;
    let (mut sink, mut stream) = socket.split();
    let (hello, _) = next_json(&mut stream, None).await?;
    if hello["type"] != "connect" {
        return Err(format!("expected a connect frame, got {hello}"));
    }
    let mount = match token {
        Some(token) => {
            json!({"type": "mount", "view": view, "params": params, "url": target.path, "mount_token": token})
        }
        None => {
            json!({"type": "mount", "view": view, "params": params, "url": target.path, "has_prerendered": false})
        }
    };
    sink.send(Message::text(mount.to_string()))
        .await
        .map_err(|e| format!("send mount: {e}"))?;
    for _ in 0..32 {
        let (frame, bytes) = next_json(&mut stream, None).await?;
        match frame["type"].as_str() {
            Some("mount") => {
                return Ok(Mounted {
                    sink,
                    stream,
                    mount_bytes: bytes,
                })
            }
            Some("error") | Some("navigate") => return Err(format!("mount refused: {frame}")),
            _ => continue,
        }
    }
    Err("no mount frame within 32 frames".to_owned())
}

/// What the active sessions send, keystroke by keystroke for `search`.
struct EventSource {
    scenario: Scenario,
    event: String,
    typing: Vec<String>,
    /// Zero of the chat messages' send times.
    epoch: Instant,
}

impl EventSource {
    fn new(scenario: Scenario, event: Option<String>, epoch: Instant) -> Self {
        let mut typing = Vec::new();
        for word in ["alice smith", "bob", "garcia", "example.com", "judy k"] {
            for end in 1..=word.len() {
                typing.push(word[..end].to_owned());
            }
            typing.push(String::new());
        }
        EventSource {
            scenario,
            event: event.unwrap_or_else(|| scenario.default_event().to_owned()),
            typing,
            epoch,
        }
    }

    fn frame(&self, session: usize, reference: u64) -> String {
        let params = match self.scenario {
            Scenario::Search => {
                let at = (session + reference as usize) % self.typing.len();
                json!({ "q": self.typing[at] })
            }
            Scenario::Chat => {
                let micros = self.epoch.elapsed().as_micros();
                json!({ "text": format!("{MARK}{session}:{micros}] message {reference}") })
            }
            _ => json!({}),
        };
        json!({"type": "event", "event": self.event, "params": params, "ref": reference})
            .to_string()
    }
}

/// Shared measurements of the sending phase.
struct Stats {
    latency: Mutex<Histogram<u64>>,
    measured_from: Instant,
    measured_until: Instant,
    events: AtomicU64,
    reply_bytes: AtomicU64,
    sent_bytes: AtomicU64,
    sent: AtomicU64,
    replies_by_kind: Mutex<std::collections::BTreeMap<String, u64>>,
    failures: AtomicUsize,
    first_failure: Mutex<Option<String>>,
    sample_reply: Mutex<Option<String>>,
    send_lag: Mutex<Histogram<u64>>,
    /// Chat only: message sent → received by another session of the room.
    delivery: Option<Mutex<Histogram<u64>>>,
    deliveries: AtomicU64,
    /// Chat: per sending session, the other views of its room.
    fan_out: Vec<u64>,
    /// Chat: deliveries the measured events should cause (Σ `fan_out`).
    expected_deliveries: AtomicU64,
    /// Zero of the chat messages' send times (as in [`EventSource`]).
    epoch: Instant,
}

impl Stats {
    fn record(&self, id: usize, sent_at: Instant, now: Instant, bytes: usize, kind: &str) {
        if sent_at < self.measured_from || sent_at >= self.measured_until {
            return;
        }
        if let Some(others) = self.fan_out.get(id) {
            self.expected_deliveries
                .fetch_add(*others, Ordering::Relaxed);
        }
        let micros = now.duration_since(sent_at).as_micros() as u64;
        if let Ok(mut hist) = self.latency.lock() {
            let _ = hist.record(micros.max(1));
        }
        self.events.fetch_add(1, Ordering::Relaxed);
        self.reply_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        if let Ok(mut kinds) = self.replies_by_kind.lock() {
            *kinds.entry(kind.to_owned()).or_default() += 1;
        }
    }

    fn sample(&self, frame: &Value) {
        if let Ok(mut sample) = self.sample_reply.lock() {
            if sample.is_none() {
                *sample = Some(frame.to_string());
            }
        }
    }

    fn lag(&self, late: Duration) {
        if let Ok(mut hist) = self.send_lag.lock() {
            let _ = hist.record((late.as_micros() as u64).max(1));
        }
    }

    fn note_sent(&self, bytes: usize) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.sent_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Records every chat message in `frame` that `receiver` got from
    /// another session and that was sent in the measured phase.
    fn observe(&self, frame: &str, receiver: usize, now: Instant) {
        let Some(delivery) = &self.delivery else {
            return;
        };
        let mut rest = frame;
        while let Some(at) = rest.find(MARK) {
            rest = &rest[at + MARK.len()..];
            let Some((sender, after)) = rest.split_once(':') else {
                break;
            };
            let Some((micros, _)) = after.split_once(']') else {
                break;
            };
            let (Ok(sender), Ok(micros)) = (sender.parse::<usize>(), micros.parse::<u64>()) else {
                continue;
            };
            let sent_at = self.epoch + Duration::from_micros(micros);
            if sender == receiver || sent_at < self.measured_from || sent_at >= self.measured_until
            {
                continue;
            }
            let micros = now.saturating_duration_since(sent_at).as_micros() as u64;
            if let Ok(mut hist) = delivery.lock() {
                let _ = hist.record(micros.max(1));
            }
            self.deliveries.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn fail(&self, why: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_failure.lock() {
            first.get_or_insert(why);
        }
    }
}

/// Reads replies until the one for `reference`; other frames are skipped
/// (chat deliveries in them are recorded for session `id`).
async fn await_reply(
    stream: &mut SplitStream<Socket>,
    reference: u64,
    stats: &Stats,
    id: usize,
) -> BenchResult<(String, usize)> {
    loop {
        let (frame, bytes) = next_json(stream, Some((stats, id))).await?;
        if frame["ref"].as_u64() == Some(reference) {
            stats.sample(&frame);
            let kind = frame["type"].as_str().unwrap_or("?").to_owned();
            return Ok((kind, bytes));
        }
        if frame["type"] == "rate_limit_exceeded" {
            return Err(format!("server rate limited the connection: {frame}"));
        }
    }
}

/// Closed loop: send, wait for the reply, send again, until `stop`.
async fn closed_loop(
    id: usize,
    mut session: Mounted,
    source: Arc<EventSource>,
    stats: Arc<Stats>,
    stop: Instant,
) -> Option<Mounted> {
    let mut reference = 0u64;
    while Instant::now() < stop {
        reference += 1;
        let frame = source.frame(id, reference);
        let sent_at = Instant::now();
        stats.note_sent(frame.len());
        if let Err(e) = session.sink.send(Message::text(frame)).await {
            stats.fail(format!("send event: {e}"));
            break;
        }
        match await_reply(&mut session.stream, reference, &stats, id).await {
            Ok((kind, bytes)) => stats.record(id, sent_at, Instant::now(), bytes, &kind),
            Err(e) => {
                stats.fail(e);
                break;
            }
        }
    }
    Some(session)
}

/// Open loop at `rate` events/s: a sender on a fixed schedule and a
/// receiver matching replies in order.
async fn open_loop(
    id: usize,
    session: Mounted,
    source: Arc<EventSource>,
    stats: Arc<Stats>,
    stop: Instant,
    rate: f64,
) -> Option<Mounted> {
    let Mounted {
        mut sink,
        mut stream,
        mount_bytes,
    } = session;
    let pending: Arc<Mutex<VecDeque<(u64, Instant)>>> = Arc::new(Mutex::new(VecDeque::new()));
    let (done_tx, mut done_rx) = watch::channel(false);
    let period = Duration::from_secs_f64(1.0 / rate);
    // Spread the sessions' phases over one period.
    let phase = period.mul_f64((id as f64 * 0.618_033_988_75) % 1.0);
    let sender_pending = pending.clone();
    let sender_stats = stats.clone();
    let sender = tokio::spawn(async move {
        let mut next = Instant::now() + phase;
        let mut reference = 0u64;
        while next < stop {
            tokio::time::sleep_until(next.into()).await;
            reference += 1;
            let frame = source.frame(id, reference);
            // Latency counts from the actual send: tokio's timer has 1 ms
            // granularity, so counting from the schedule would add up to
            // 1 ms of bench artefact. The sender never waits for replies,
            // so a slow server cannot hold sends back (no coordinated
            // omission); how late sends were is reported as `send_lag_us`.
            let sent_at = Instant::now();
            sender_stats.lag(sent_at.saturating_duration_since(next));
            if let Ok(mut queue) = sender_pending.lock() {
                queue.push_back((reference, sent_at));
            }
            sender_stats.note_sent(frame.len());
            if let Err(e) = sink.send(Message::text(frame)).await {
                sender_stats.fail(format!("send event: {e}"));
                break;
            }
            next += period;
        }
        let _ = done_tx.send(true);
        sink
    });
    let mut sender_done = false;
    loop {
        let outstanding = pending.lock().map(|q| q.len()).unwrap_or(0);
        if sender_done && outstanding == 0 {
            break;
        }
        let frame = tokio::select! {
            frame = next_json(&mut stream, Some((&stats, id))) => frame,
            changed = done_rx.changed(), if !sender_done => {
                sender_done = changed.is_err() || *done_rx.borrow();
                continue;
            }
        };
        let (frame, bytes) = match frame {
            Ok(frame) => frame,
            Err(e) => {
                stats.fail(e);
                break;
            }
        };
        let Some(reference) = frame["ref"].as_u64() else {
            continue;
        };
        let now = Instant::now();
        let mut matched = None;
        if let Ok(mut queue) = pending.lock() {
            while let Some((r, at)) = queue.pop_front() {
                if r == reference {
                    matched = Some(at);
                    break;
                }
            }
        }
        if let Some(at) = matched {
            stats.sample(&frame);
            stats.record(id, at, now, bytes, frame["type"].as_str().unwrap_or("?"));
        }
    }
    match sender.await {
        Ok(sink) => Some(Mounted {
            sink,
            stream,
            mount_bytes,
        }),
        Err(e) => {
            stats.fail(format!("sender task failed: {e}"));
            None
        }
    }
}

/// Chat: an idle session reads (and records the deliveries in) every frame
/// until `stop`, so the server never blocks on a full socket buffer.
async fn drain(
    id: usize,
    mut session: Mounted,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) -> Mounted {
    loop {
        tokio::select! {
            frame = session.stream.next() => match frame {
                Some(Ok(Message::Text(text))) => stats.observe(text.as_str(), id, Instant::now()),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    stats.fail(format!("idle session: socket error: {e}"));
                    break;
                }
                None => {
                    stats.fail("idle session: socket closed".to_owned());
                    break;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    session
}

/// `--redis`: the `MONITOR` pass. One session sends `ACCOUNTING_EVENTS`
/// events one at a time while every Redis command is recorded with its
/// origin; returns the round trips per event (see `redis_probe.rs`).
#[cfg(feature = "redis")]
async fn account_round_trips(
    probe: &mut redis_probe::Probe,
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
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines = monitor.stop();
    outcome?;
    let origins = redis_probe::classify(&lines, &subscribers);
    Ok(json!({
        "events": answered,
        "round_trips_per_event": per_event_total(&origins.round_trips, answered),
        "round_trips_by_name": per_event(&origins.round_trips, answered),
        "in_script_by_name": per_event(&origins.in_script, answered),
        "background_by_name": per_event(&origins.background, answered),
    }))
}

/// Sends a close frame (bounded wait) and drops the socket.
async fn close_session(mut session: Mounted) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = session.sink.send(Message::Close(None)).await;
        let _ = session.sink.close().await;
    })
    .await;
}

fn new_histogram() -> BenchResult<Histogram<u64>> {
    // 1 µs .. 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).map_err(|e| format!("histogram: {e}"))
}

fn percentiles_us(hist: &Histogram<u64>) -> Value {
    if hist.is_empty() {
        return Value::Null;
    }
    json!({
        "p50": hist.value_at_quantile(0.50),
        "p90": hist.value_at_quantile(0.90),
        "p99": hist.value_at_quantile(0.99),
        "p999": hist.value_at_quantile(0.999),
        "max": hist.max(),
        "mean": (hist.mean() * 10.0).round() / 10.0,
        "count": hist.len(),
    })
}

/// Calls per command name (Redis accounting).
type Counts = std::collections::BTreeMap<String, u64>;

/// Total calls in `counts` per event, rounded to 3 decimals.
fn per_event_total(counts: &Counts, events: u64) -> Value {
    if events == 0 {
        return Value::Null;
    }
    let total: u64 = counts.values().sum();
    json!(round3(total as f64 / events as f64))
}

/// Calls per event by command name, rounded to 3 decimals.
fn per_event(counts: &Counts, events: u64) -> Value {
    if events == 0 {
        return Value::Null;
    }
    Value::Object(
        counts
            .iter()
            .map(|(name, calls)| (name.clone(), json!(round3(*calls as f64 / events as f64))))
            .collect(),
    )
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn run(args: Args) -> BenchResult<Value> {
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
    eprintln!(
        "djust-bench: mounting {} sessions on http://{}{} ...",
        args.sessions, target.addr, target.path
    );
    let permits = Arc::new(Semaphore::new(args.connect_concurrency));
    let setup_started = Instant::now();
    let mut opening = Vec::with_capacity(args.sessions);
    let rooms = args.rooms();
    for index in 0..args.sessions {
        let permits = permits.clone();
        let target = target.clone();
        let protocol = args.protocol;
        let params = match args.scenario {
            Scenario::Chat => json!({ "room": index % rooms }),
            _ => json!({}),
        };
        opening.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
            let started = Instant::now();
            let session = open_session(&target, protocol, params).await?;
            Ok::<_, String>((session, started.elapsed()))
        }));
    }
    let mut setup = new_histogram()?;
    let mut sessions = Vec::with_capacity(args.sessions);
    // Chat: the room of each mounted session, and how many views each room has.
    let mut room_of = Vec::with_capacity(args.sessions);
    let mut members = vec![0u64; rooms];
    let mut setup_failures = 0usize;
    let mut first_setup_error = None;
    let mut mount_bytes = 0u64;
    for (index, task) in opening.into_iter().enumerate() {
        match task.await {
            Ok(Ok((session, took))) => {
                let _ = setup.record((took.as_micros() as u64).max(1));
                mount_bytes += session.mount_bytes as u64;
                sessions.push(session);
                room_of.push(index % rooms);
                if let Some(count) = members.get_mut(index % rooms) {
                    *count += 1;
                }
            }
            Ok(Err(e)) => {
                setup_failures += 1;
                first_setup_error.get_or_insert(e);
            }
            Err(e) => {
                setup_failures += 1;
                first_setup_error.get_or_insert(format!("setup task failed: {e}"));
            }
        }
    }
    let setup_secs = setup_started.elapsed().as_secs_f64();
    let mounted = sessions.len();
    eprintln!(
        "djust-bench: {mounted} mounted in {setup_secs:.1} s ({setup_failures} failed); settling {} s",
        args.settle
    );
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    let rss_mounted = pid.and_then(rss_kib);

    // Phase 2: the first `active` sessions send events.
    let active = args.active.min(mounted);
    let start = Instant::now();
    let source = Arc::new(EventSource::new(args.scenario, args.event.clone(), start));
    let measured_from = start + Duration::from_secs_f64(args.warmup);
    let measured_until = measured_from + Duration::from_secs_f64(args.duration);
    let stats = Arc::new(Stats {
        latency: Mutex::new(new_histogram()?),
        measured_from,
        measured_until,
        events: AtomicU64::new(0),
        reply_bytes: AtomicU64::new(0),
        sent_bytes: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        replies_by_kind: Mutex::new(Default::default()),
        failures: AtomicUsize::new(0),
        first_failure: Mutex::new(None),
        sample_reply: Mutex::new(None),
        send_lag: Mutex::new(new_histogram()?),
        delivery: match args.scenario {
            Scenario::Chat => Some(Mutex::new(new_histogram()?)),
            _ => None,
        },
        deliveries: AtomicU64::new(0),
        fan_out: match args.scenario {
            Scenario::Chat => room_of
                .iter()
                .take(active)
                .map(|room| members.get(*room).map_or(0, |n| n.saturating_sub(1)))
                .collect(),
            _ => Vec::new(),
        },
        expected_deliveries: AtomicU64::new(0),
        epoch: start,
    });
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
                "djust-bench: counting Redis round trips ({ACCOUNTING_EVENTS} events under MONITOR) ..."
            );
            let accounting = match sessions.first_mut() {
                Some(session) => account_round_trips(&mut probe, session, &source, &stats).await?,
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
        "protocol": match args.protocol { Protocol::DjustRs => "djust-rs", Protocol::DjustPy => "djust-py" },
        "server": mode,
        "target": format!("http://{}{}", target.addr, target.path),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "sessions_requested": args.sessions,
        "sessions_mounted": mounted,
        "setup_failures": setup_failures,
        "first_setup_error": first_setup_error,
        "setup_wall_secs": (setup_secs * 100.0).round() / 100.0,
        "setup_us": percentiles_us(&setup),
        "mount_frame_bytes_avg": mount_bytes.checked_div(mounted as u64).unwrap_or(0),
        "active": active,
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

fn print_report(report: &Value) {
    let us = |key: &str, q: &str| -> String {
        match report[key][q].as_u64() {
            Some(v) if v >= 10_000 => format!("{:.1} ms", v as f64 / 1000.0),
            Some(v) => format!("{v} µs"),
            None => "-".to_owned(),
        }
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
            format!(
                "{} / {} / {}",
                us("setup_us", "p50"),
                us("setup_us", "p99"),
                us("setup_us", "max")
            ),
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
            format!(
                "{} / {} / {}",
                us("latency_us", "p50"),
                us("latency_us", "p90"),
                us("latency_us", "p99")
            ),
        ),
        (
            "latency p99.9 / max",
            format!("{} / {}", us("latency_us", "p999"), us("latency_us", "max")),
        ),
        ("reply kinds", report["reply_kinds"].to_string()),
        (
            "send lag p50 / p99 (open loop)",
            format!(
                "{} / {}",
                us("send_lag_us", "p50"),
                us("send_lag_us", "p99")
            ),
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
            format!(
                "{} / {} / {}",
                us("delivery_us", "p50"),
                us("delivery_us", "p99"),
                us("delivery_us", "max")
            ),
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return std::process::ExitCode::SUCCESS;
    }
    let outcome = if raw.first().map(String::as_str) == Some("serve") {
        serve_child(&raw[1..]).await.map(|()| None)
    } else {
        match parse_args(&raw) {
            Ok(args) => {
                let json_path = args.json.clone();
                match run(args).await {
                    Ok(report) => {
                        print_report(&report);
                        match json_path {
                            Some(path) => {
                                let text = serde_json::to_string_pretty(&report)
                                    .unwrap_or_else(|_| report.to_string());
                                match std::fs::write(&path, text + "\n") {
                                    Ok(()) => Ok(Some(path)),
                                    Err(e) => Err(format!("cannot write {}: {e}", path.display())),
                                }
                            }
                            None => Ok(None),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(Some(path)) => {
            println!("JSON written to {}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Ok(None) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("djust-bench: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
