//! The accept loop: takes TCP connections off the listener, admits them
//! through the [`ConnectionTable`] (global and per-address caps), serves
//! each in its own task, and shuts down gracefully.
//!
//! Running out of file descriptors (`EMFILE`, `ENFILE`) or kernel memory
//! (`ENOBUFS`, `ENOMEM`) is load, not failure: the loop closes a
//! connection that waits on its client (see [`ConnectionTable`]; so the
//! next accept can succeed), backs off briefly (10 ms, doubling up to
//! 500 ms, reset by the next successful accept) and keeps serving. It never
//! spins, and it logs such errors at most once a second with the count of
//! those left out.
//!
//! Shutdown: the listener is closed, every connection finishes the request
//! in progress and closes (idle ones at once), and after
//! [`DRAIN_GRACE`] the rest are dropped. Upgraded WebSockets are not
//! connections of this loop any more; `Server::shutdown` closes them (1012, service restart: clients reconnect and resume).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::conn_table::{ConnectionTable, Refusal};
use super::connection::{ConnSettings, Phase};
use super::request::{RequestService, Routes};
use super::AppInner;
use crate::limits::{client_ip, IpTracker, IpTrackerConfig, LogThrottle};
use crate::security::sanitize_for_log;

/// Longest wait for open requests to finish when the server shuts down.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// First pause after an accept error that means "out of resources".
const MIN_BACKOFF: Duration = Duration::from_millis(10);

/// Longest pause between accept attempts under resource exhaustion.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// One log line a second for each kind of repeated event.
static RESOURCE_ERRORS: LogThrottle = LogThrottle::new(Duration::from_secs(1));
static OTHER_ERRORS: LogThrottle = LogThrottle::new(Duration::from_secs(1));
static REFUSED_PER_IP: LogThrottle = LogThrottle::new(Duration::from_secs(1));
static REFUSED_FULL: LogThrottle = LogThrottle::new(Duration::from_secs(1));

/// Accepts and serves connections on `listener` until `stop` turns true,
/// then drains.
pub(crate) async fn run(
    listener: TcpListener,
    app: Arc<AppInner>,
    routes: Routes,
    mut stop: watch::Receiver<bool>,
) {
    let config = &app.config;
    let behind_proxies = config.trusted_proxies > 0;
    let table = ConnectionTable::new(
        config.http_max_connections,
        (!behind_proxies).then_some(config.http_max_connections_per_ip),
    );
    let forwarded = behind_proxies.then(|| {
        IpTracker::new(IpTrackerConfig {
            max_per_ip: config.http_max_connections_per_ip,
            cooldown: Duration::ZERO,
            ..IpTrackerConfig::default()
        })
    });
    let settings = Arc::new(ConnSettings {
        header_timeout: Duration::from_secs(config.http_header_timeout_secs),
        idle_timeout: Duration::from_secs(config.http_idle_timeout_secs),
        send_timeout: Duration::from_secs(config.send_timeout_secs),
        max_header_bytes: config.http_max_header_bytes,
    });
    let (phase, phase_watch) = watch::channel(Phase::Serving);
    let mut backoff = MIN_BACKOFF;
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = MIN_BACKOFF;
                let Some(guard) = admit(&table, peer) else {
                    continue;
                };
                let service = RequestService {
                    app: Arc::clone(&app),
                    routes: routes.clone(),
                    requests: guard.requests(),
                    peer,
                    forwarded: forwarded.clone(),
                };
                tokio::spawn(super::connection::serve(
                    stream,
                    guard,
                    service,
                    Arc::clone(&settings),
                    phase_watch.clone(),
                ));
            }
            Err(error) if is_per_connection(&error) => {}
            Err(error) => {
                let resources = is_out_of_resources(&error);
                if resources {
                    table.evict_one();
                }
                let throttle = if resources {
                    &RESOURCE_ERRORS
                } else {
                    &OTHER_ERRORS
                };
                if let Some(suppressed) = throttle.should_log() {
                    tracing::error!(
                        error = %sanitize_for_log(&error.to_string()),
                        suppressed,
                        open = table.open(),
                        backoff_ms = backoff.as_millis() as u64,
                        "accept failed; backing off and serving on"
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    drop(listener);
    let _ = phase.send(Phase::Draining);
    if tokio::time::timeout(DRAIN_GRACE, table.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            open = table.open(),
            "requests still open after the shutdown grace; closing them"
        );
        let _ = phase.send(Phase::Abort);
        let _ = tokio::time::timeout(Duration::from_secs(1), table.drained()).await;
    }
}

/// Admits the connection of `peer`; `None` means close it.
fn admit(table: &Arc<ConnectionTable>, peer: SocketAddr) -> Option<super::conn_table::ConnGuard> {
    // The peer is the client unless proxies are trusted, in which case the
    // table has no per-address cap (the peers are the proxies).
    let ip = client_ip(peer, None, 0);
    match table.admit(ip) {
        Ok(guard) => Some(guard),
        Err(refusal) => {
            let throttle = match refusal {
                Refusal::PerIp => &REFUSED_PER_IP,
                Refusal::Full => &REFUSED_FULL,
            };
            if let Some(suppressed) = throttle.should_log() {
                tracing::warn!(%ip, ?refusal, suppressed, "HTTP connection refused");
            }
            None
        }
    }
}

/// Errors about one connection that died in the queue: accept the next.
fn is_per_connection(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::Interrupted
            | std::io::ErrorKind::WouldBlock
    )
}

/// `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`: the process or the system is
/// out of descriptors or memory for sockets.
fn is_out_of_resources(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        // The same numbers on Linux, the BSDs and macOS, except ENOBUFS
        // (105 on Linux, 55 on the BSDs and macOS).
        const ENOMEM: i32 = 12;
        const ENFILE: i32 = 23;
        const EMFILE: i32 = 24;
        const ENOBUFS: i32 = if cfg!(target_os = "linux") { 105 } else { 55 };
        matches!(
            error.raw_os_error(),
            Some(ENOMEM | ENFILE | EMFILE | ENOBUFS)
        )
    }
    #[cfg(not(unix))]
    {
        error.kind() == std::io::ErrorKind::OutOfMemory
    }
}
