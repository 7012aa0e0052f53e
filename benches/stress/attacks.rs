//! The attacks of issue 23, each as `slots` concurrent attackers spread
//! over many loopback addresses, every attacker reconnecting as soon as the
//! server drops it, until the attack's time is up:
//!
//! * `slowloris`: a request head that never ends, one header line a second;
//! * `bodies`: `POST /login` declaring 1000 bytes and sending 13;
//! * `keepalive`: one `GET /`, then the connection kept open and silent;
//! * `idle-tcp`: connections that never send a byte;
//! * `idle-tcp-once`: the same, opened once and never reopened (20,000
//!   idle connections arriving at once, then held);
//! * `logins`: the login form fetched and posted with a random user name
//!   and a wrong password, as fast as the server answers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::time::Instant;

use crate::net::{attacker, connect_from, wait_answer, wait_closed, End};

/// One of the attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Slowloris,
    Bodies,
    KeepAlive,
    IdleTcp,
    IdleTcpOnce,
    Logins,
}

impl Kind {
    /// Every attack, in the order the driver runs them.
    pub const ALL: [Kind; 6] = [
        Kind::Slowloris,
        Kind::Bodies,
        Kind::KeepAlive,
        Kind::IdleTcpOnce,
        Kind::IdleTcp,
        Kind::Logins,
    ];

    /// Its name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Slowloris => "slowloris",
            Kind::Bodies => "bodies",
            Kind::KeepAlive => "keepalive",
            Kind::IdleTcp => "idle-tcp",
            Kind::IdleTcpOnce => "idle-tcp-once",
            Kind::Logins => "logins",
        }
    }

    /// The attack named `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// What the attackers saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Connections established.
    pub opened: AtomicU64,
    /// Connection attempts that failed (refused, reset, timed out).
    pub failed_connects: AtomicU64,
    /// Connections the server closed (with or without an answer).
    pub closed_by_server: AtomicU64,
    /// Connections still open when the attack ended.
    pub still_open: AtomicU64,
    /// Answers received, by status.
    pub statuses: Mutex<BTreeMap<u16, u64>>,
}

impl Tally {
    fn status(&self, status: u16) {
        *self
            .statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(status)
            .or_default() += 1;
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// As JSON (also how holder children report to the driver).
    pub fn to_json(&self) -> Value {
        let statuses = self
            .statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(status, count)| (status.to_string(), json!(count)))
            .collect::<serde_json::Map<_, _>>();
        json!({
            "opened": self.opened.load(Ordering::Relaxed),
            "failed_connects": self.failed_connects.load(Ordering::Relaxed),
            "closed_by_server": self.closed_by_server.load(Ordering::Relaxed),
            "still_open": self.still_open.load(Ordering::Relaxed),
            "statuses": statuses,
        })
    }

    /// Adds a holder child's JSON report.
    pub fn add_json(&self, report: &Value) {
        let field = |name: &str| report[name].as_u64().unwrap_or(0);
        self.opened.fetch_add(field("opened"), Ordering::Relaxed);
        self.failed_connects
            .fetch_add(field("failed_connects"), Ordering::Relaxed);
        self.closed_by_server
            .fetch_add(field("closed_by_server"), Ordering::Relaxed);
        self.still_open
            .fetch_add(field("still_open"), Ordering::Relaxed);
        if let Some(statuses) = report["statuses"].as_object() {
            for (status, count) in statuses {
                if let Ok(status) = status.parse() {
                    for _ in 0..count.as_u64().unwrap_or(0) {
                        self.status(status);
                    }
                }
            }
        }
    }
}

/// Runs `slots` attackers of `kind` (the first at attacker address number
/// `first_address`, `per_address` attackers per address) for `duration`.
pub async fn run(
    kind: Kind,
    addr: SocketAddr,
    slots: usize,
    first_address: usize,
    per_address: usize,
    duration: Duration,
    tally: Arc<Tally>,
) {
    let deadline = Instant::now() + duration;
    let attackers: Vec<_> = (0..slots)
        .map(|slot| {
            let tally = Arc::clone(&tally);
            let source = attacker(first_address + slot / per_address.max(1));
            tokio::spawn(async move {
                let mut round = 0_u64;
                while Instant::now() < deadline && !(kind == Kind::IdleTcpOnce && round > 0) {
                    let stream = match connect_from(source, addr).await {
                        Ok(stream) => stream,
                        Err(_) => {
                            Tally::count(&tally.failed_connects);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    Tally::count(&tally.opened);
                    round += 1;
                    let unique = (slot as u64) << 32 | round;
                    attack_once(kind, stream, addr, deadline, unique, &tally).await;
                }
            })
        })
        .collect();
    for attacker in attackers {
        let _ = attacker.await;
    }
}

/// One connection's life under `kind`.
async fn attack_once(
    kind: Kind,
    mut stream: tokio::net::TcpStream,
    addr: SocketAddr,
    deadline: Instant,
    unique: u64,
    tally: &Tally,
) {
    let until_deadline = || tokio::time::sleep_until(deadline);
    match kind {
        Kind::Slowloris => {
            let head = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n");
            if stream.write_all(head.as_bytes()).await.is_err() {
                return Tally::count(&tally.closed_by_server);
            }
            for line in 0_u64.. {
                let tick = tokio::time::sleep_until(
                    (Instant::now() + Duration::from_secs(1)).min(deadline),
                );
                match wait_answer(&mut stream, tick).await {
                    End::Status(status) => {
                        tally.status(status);
                        return Tally::count(&tally.closed_by_server);
                    }
                    End::Closed => return Tally::count(&tally.closed_by_server),
                    End::Open if Instant::now() >= deadline => {
                        return Tally::count(&tally.still_open)
                    }
                    End::Open => {
                        let header = format!("X-Slow-{line}: a\r\n");
                        if stream.write_all(header.as_bytes()).await.is_err() {
                            return Tally::count(&tally.closed_by_server);
                        }
                    }
                }
            }
        }
        Kind::Bodies => {
            let head = format!(
                "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=x&pa"
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return Tally::count(&tally.closed_by_server);
            }
            match wait_answer(&mut stream, until_deadline()).await {
                End::Status(status) => {
                    tally.status(status);
                    if wait_closed(&mut stream, until_deadline()).await {
                        Tally::count(&tally.closed_by_server);
                    } else {
                        Tally::count(&tally.still_open);
                    }
                }
                End::Closed => Tally::count(&tally.closed_by_server),
                End::Open => Tally::count(&tally.still_open),
            }
        }
        Kind::KeepAlive => {
            let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            if stream.write_all(request.as_bytes()).await.is_err() {
                return Tally::count(&tally.closed_by_server);
            }
            match wait_answer(&mut stream, until_deadline()).await {
                End::Status(status) => {
                    tally.status(status);
                    if wait_closed(&mut stream, until_deadline()).await {
                        Tally::count(&tally.closed_by_server);
                    } else {
                        Tally::count(&tally.still_open);
                    }
                }
                End::Closed => Tally::count(&tally.closed_by_server),
                End::Open => Tally::count(&tally.still_open),
            }
        }
        Kind::IdleTcp | Kind::IdleTcpOnce => {
            if wait_closed(&mut stream, until_deadline()).await {
                Tally::count(&tally.closed_by_server);
            } else {
                Tally::count(&tally.still_open);
            }
        }
        Kind::Logins => {
            let Some(status) = failed_login(stream, addr, unique).await else {
                return Tally::count(&tally.closed_by_server);
            };
            tally.status(status);
        }
    }
}

/// `GET /login` on `stream`, then `POST /login` with a random user name and
/// a wrong password on a second connection from the same address: the
/// status of the POST.
async fn failed_login(
    mut stream: tokio::net::TcpStream,
    addr: SocketAddr,
    unique: u64,
) -> Option<u16> {
    let source = match stream.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) => ip,
        std::net::IpAddr::V6(_) => return None,
    };
    let request = format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut page = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut page))
        .await
        .ok()?
        .ok()?;
    let page = String::from_utf8_lossy(&page);
    let cookie = page.lines().find_map(|line| {
        let value = line.strip_prefix("set-cookie: ")?;
        Some(value.split(';').next()?.to_owned())
    })?;
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker)? + marker.len();
    let token = &page[start..start + page[start..].find('"')?];
    let body = format!("username=attacker-{unique:x}&password=wrong-{unique:x}&csrf_token={token}");
    let post = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = connect_from(source, addr).await.ok()?;
    stream.write_all(post.as_bytes()).await.ok()?;
    let mut head = [0_u8; 12];
    tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut head))
        .await
        .ok()?
        .ok()?;
    std::str::from_utf8(&head).ok()?.get(9..12)?.parse().ok()
}
