//! The accept loop: takes TCP connections off the listener, admits them
//! through the [`ConnectionTable`] (global and per-address caps), serves
//! each in its own task, and shuts down gracefully.
//!
//! Running out of file descriptors (`EMFILE`, `ENFILE`) or kernel memory
//! (`ENOBUFS`, `ENOMEM`) is load, not failure. The kernel reports `EMFILE`
//! from `accept` whether or not a connection is queued (it needs a
//! descriptor before it looks), so the loop keeps one spare descriptor
//! (see [`Reserve`], libuv's "EMFILE trick"): it frees the spare and
//! accepts once. A queued connection is then taken and served, and a
//! connection that waits on its client is closed (see [`ConnectionTable`])
//! so that the spare can be had again; an empty queue closes nothing. So a
//! connection just accepted is never closed for a newcomer that does not
//! exist. Without the spare (or out of memory) the loop backs off briefly
//! (10 ms, doubling up to 500 ms, reset by the next successful accept),
//! closing a waiting connection only on the memory errors. It never spins,
//! and it logs such errors at most once a second with the count of those
//! left out.
//!
//! Shutdown: the listener is closed, every connection finishes the request
//! in progress and closes (idle ones at once), and after
//! [`DRAIN_GRACE`] the rest are dropped. Upgraded WebSockets are not
//! connections of this loop any more; `Server::shutdown` closes them (1012, service restart: clients reconnect and resume).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
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

/// Longest wait for an evicted connection to free its descriptor.
const EVICTION_WAIT: Duration = Duration::from_millis(50);

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
    let serve = |(stream, peer): (TcpStream, SocketAddr)| {
        let Some(guard) = admit(&table, peer) else {
            return;
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
    };
    let mut reserve = Reserve::new();
    let mut backoff = MIN_BACKOFF;
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        reserve.refill();
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
            Ok(connection) => {
                backoff = MIN_BACKOFF;
                serve(connection);
            }
            Err(error) if is_per_connection(&error) => {}
            Err(error) if is_out_of_descriptors(&error) && reserve.release() => {
                // One descriptor is free: accept at most once without waiting.
                let queued = tokio::select! {
                    biased;
                    accepted = listener.accept() => Some(accepted),
                    () = std::future::ready(()) => None,
                };
                match queued {
                    // The queue was empty (and the listener's readiness is
                    // now cleared): the next accept waits for a client.
                    None => {}
                    Some(Ok(connection)) => {
                        backoff = MIN_BACKOFF;
                        // The spare went to the newcomer: close a connection
                        // waiting on its client (never the newcomer, not yet
                        // admitted) to have it back, and wait (briefly) for
                        // its descriptor, so the next queued client finds
                        // the spare instead of a back-off.
                        let closed = table.evicted_closed();
                        let evicted = table.evict_one();
                        serve(connection);
                        if evicted {
                            tracing::debug!(
                                "out of descriptors: closed a connection waiting on its client"
                            );
                            let _ = tokio::time::timeout(EVICTION_WAIT, closed).await;
                        }
                    }
                    Some(Err(error)) if !is_per_connection(&error) => {
                        log_accept_error(&error, &table, backoff);
                    }
                    Some(Err(_)) => {}
                }
            }
            Err(error) => {
                let resources = is_out_of_resources(&error);
                // Without a spare descriptor there is no telling whether a
                // client waits; only memory errors come from one that does.
                if resources && !is_out_of_descriptors(&error) && table.evict_one() {
                    tracing::debug!(
                        "out of memory for sockets: closed a connection waiting on its client"
                    );
                }
                log_accept_error(&error, &table, backoff);
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

/// Logs a failed accept, at most once a second for each kind of error.
fn log_accept_error(error: &std::io::Error, table: &ConnectionTable, backoff: Duration) {
    let throttle = if is_out_of_resources(error) {
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
}

/// One spare file descriptor, held so that the loop can tell, when the
/// process is out of descriptors, whether a client is queued at all.
///
/// `accept` fails with `EMFILE` before it looks at the queue, and the
/// runtime keeps trying it while the listener is readable, so without the
/// spare an empty queue looks like a waiting client.
struct Reserve {
    spare: Option<std::fs::File>,
}

impl Reserve {
    fn new() -> Self {
        let mut reserve = Reserve { spare: None };
        reserve.refill();
        reserve
    }

    /// Takes the spare descriptor back if one is free.
    fn refill(&mut self) {
        if self.spare.is_none() {
            self.spare = std::fs::File::open(NULL_DEVICE).ok();
        }
    }

    /// Frees the spare; `false` when there was none to free.
    fn release(&mut self) -> bool {
        self.spare.take().is_some()
    }
}

/// A file every process may open, to hold the spare descriptor.
const NULL_DEVICE: &str = if cfg!(windows) { "NUL" } else { "/dev/null" };

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

/// `errno` values of the resource errors, the same on Linux, the BSDs and
/// macOS except `ENOBUFS` (105 on Linux, 55 on the BSDs and macOS).
#[cfg(unix)]
mod errno {
    pub(super) const ENOMEM: i32 = 12;
    pub(super) const ENFILE: i32 = 23;
    pub(super) const EMFILE: i32 = 24;
    pub(super) const ENOBUFS: i32 = if cfg!(target_os = "linux") { 105 } else { 55 };
}

/// `EMFILE`, `ENFILE`: the process or the system is out of descriptors.
fn is_out_of_descriptors(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(error.raw_os_error(), Some(errno::ENFILE | errno::EMFILE))
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`: the process or the system is
/// out of descriptors or memory for sockets.
fn is_out_of_resources(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        is_out_of_descriptors(error)
            || matches!(error.raw_os_error(), Some(errno::ENOMEM | errno::ENOBUFS))
    }
    #[cfg(not(unix))]
    {
        error.kind() == std::io::ErrorKind::OutOfMemory
    }
}
