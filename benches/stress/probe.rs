//! What the driver watches during an attack: the server's resident memory
//! (`VmRSS` of its process, sampled every 100 ms) and a legitimate client
//! from an address of its own that fetches the page every 200 ms on a new
//! connection, timing each fetch and counting the ones not served within
//! 5 s.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;

use crate::net::connect_from;

/// The legitimate client's address.
pub const LEGIT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 254);

/// Longest wait for one legitimate fetch before it counts as not served.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// `VmRSS` of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Samples `pid`'s RSS until `stop` turns true; returns the largest, in KiB.
pub async fn peak_rss(pid: u32, mut stop: watch::Receiver<bool>) -> u64 {
    let mut peak = rss_kib(pid).unwrap_or(0);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => peak = peak.max(rss_kib(pid).unwrap_or(0)),
            _ = stop.changed() => return peak.max(rss_kib(pid).unwrap_or(0)),
        }
    }
}

/// What the legitimate client saw.
#[derive(Debug, Default, Clone)]
pub struct Served {
    /// Latency of each fetch that was served (200 with the page).
    pub latencies: Vec<Duration>,
    /// Fetches not served: refused, cut, wrong answer, or over 5 s.
    pub failures: u64,
    /// Why they were not served, by reason.
    pub reasons: std::collections::BTreeMap<&'static str, u64>,
}

impl Served {
    /// The `q` quantile (0..=1) of the latencies.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(index).copied()
    }
}

/// Fetches the page every 200 ms until `stop` turns true.
pub async fn legitimate_client(addr: SocketAddr, mut stop: watch::Receiver<bool>) -> Served {
    let served = Arc::new(Mutex::new(Served::default()));
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut running = Vec::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let served = Arc::clone(&served);
                running.push(tokio::spawn(async move {
                    let started = Instant::now();
                    let outcome = tokio::time::timeout(FETCH_TIMEOUT, fetch_page(addr))
                        .await
                        .unwrap_or(Err("over 5 s"));
                    let mut served = served.lock().unwrap_or_else(PoisonError::into_inner);
                    match outcome {
                        Ok(()) => served.latencies.push(started.elapsed()),
                        Err(reason) => {
                            served.failures += 1;
                            *served.reasons.entry(reason).or_default() += 1;
                        }
                    }
                }));
            }
            _ = stop.changed() => break,
        }
    }
    for fetch in running {
        let _ = fetch.await;
    }
    let served = served.lock().unwrap_or_else(PoisonError::into_inner);
    served.clone()
}

/// One `GET /` on a fresh connection: `Ok` if the page came back whole,
/// else why not.
async fn fetch_page(addr: SocketAddr) -> Result<(), &'static str> {
    let mut stream = connect_from(LEGIT, addr)
        .await
        .map_err(|_| "connect failed")?;
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|_| "write failed")?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|_| "reset")?;
    let text = String::from_utf8_lossy(&response);
    if text.is_empty() {
        Err("closed without an answer")
    } else if !text.starts_with("HTTP/1.1 200") {
        Err("not 200")
    } else if text.contains("data-djust-view=\"page\"") {
        Ok(())
    } else {
        Err("incomplete page")
    }
}

/// Legitimate logins tried during an attack: how many, and their answers.
#[derive(Debug, Default, Clone)]
pub struct Logins {
    /// Answers by status (303 = logged in).
    pub statuses: std::collections::BTreeMap<u16, u64>,
}

/// The legitimate user logs in every 2 s (from 127.0.0.253) until `stop`.
pub async fn legitimate_logins(addr: SocketAddr, mut stop: watch::Receiver<bool>) -> Logins {
    let mut logins = Logins::default();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let status = tokio::time::timeout(FETCH_TIMEOUT, log_in(addr))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(0);
                *logins.statuses.entry(status).or_default() += 1;
            }
            _ = stop.changed() => return logins,
        }
    }
}

/// `GET /login`, then `POST /login` as the legitimate user: the status.
async fn log_in(addr: SocketAddr) -> Option<u16> {
    let source = Ipv4Addr::new(127, 0, 0, 253);
    let mut stream = connect_from(source, addr).await.ok()?;
    let request = format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut page = Vec::new();
    stream.read_to_end(&mut page).await.ok()?;
    let page = String::from_utf8_lossy(&page);
    let cookie = page.lines().find_map(|line| {
        Some(
            line.strip_prefix("set-cookie: ")?
                .split(';')
                .next()?
                .to_owned(),
        )
    })?;
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker)? + marker.len();
    let token = &page[start..start + page[start..].find('"')?];
    let body = format!(
        "username={}&password={}&csrf_token={token}",
        crate::server::USER,
        crate::server::PASSWORD
    );
    let post = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = connect_from(source, addr).await.ok()?;
    stream.write_all(post.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    std::str::from_utf8(response.get(9..12)?).ok()?.parse().ok()
}
