//! Serving one accepted TCP connection: hyper's HTTP/1 connection with a
//! timer (so its header-read timeout runs), a size limit on request heads
//! (431), and a watchdog that closes the connection when it sits idle,
//! when its client stops reading a response, when the table evicts it, or
//! when the server shuts down.
//!
//! Once a request is upgraded to a WebSocket the connection's future ends
//! and the socket belongs to the WebSocket task; none of this applies to it
//! any more (the WebSocket has its own heartbeat and send timeouts).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::conn_table::{Conn, ConnGuard};
use crate::security::sanitize_for_log;

/// Where the server is in its life, as the connections see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Serving normally.
    Serving,
    /// Shutting down: finish the request in progress, then close.
    Draining,
    /// Shutting down and out of patience: close now.
    Abort,
}

/// The per-connection bounds, from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct ConnSettings {
    /// `DJUST_HTTP_HEADER_TIMEOUT_SECS`.
    pub(crate) header_timeout: Duration,
    /// `DJUST_HTTP_IDLE_TIMEOUT_SECS`.
    pub(crate) idle_timeout: Duration,
    /// `DJUST_SEND_TIMEOUT_SECS`: a client that takes nothing of a
    /// response for this long is dropped.
    pub(crate) send_timeout: Duration,
    /// `DJUST_HTTP_MAX_HEADER_BYTES`.
    pub(crate) max_header_bytes: usize,
}

/// hyper's smallest allowed read buffer limit.
const MIN_BUFFER_BYTES: usize = 8 * 1024;

/// Serves HTTP on `stream` with `service` until the connection ends, is
/// evicted, idles or stalls past its deadline, or the server shuts down.
pub(crate) async fn serve<S, B>(
    stream: TcpStream,
    guard: ConnGuard,
    service: S,
    settings: Arc<ConnSettings>,
    mut phase: watch::Receiver<Phase>,
) where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
            Error = std::convert::Infallible,
        > + 'static,
    S::Future: 'static,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = Arc::clone(guard.conn());
    let io = TokioIo::new(Watched {
        inner: stream,
        conn: Arc::clone(&conn),
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .max_header_size(settings.max_header_bytes)
        .max_buf_size(
            settings
                .max_header_bytes
                .saturating_add(4096)
                .max(MIN_BUFFER_BYTES),
        );
    let connection = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        if !draining && *phase.borrow_and_update() != Phase::Serving {
            if *phase.borrow() == Phase::Abort {
                break;
            }
            draining = true;
            connection.as_mut().graceful_shutdown();
        }
        let deadline = conn
            .activity
            .deadline(settings.idle_timeout, settings.send_timeout);
        let changed = conn.activity.changed.notified();
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(error = %sanitize_for_log(&error.to_string()), "HTTP connection ended with an error");
                }
                break;
            }
            () = conn.activity.evict.notified() => {
                tracing::debug!("HTTP connection evicted to make room");
                break;
            }
            () = changed => {}
            () = sleep_until(deadline) => {
                if expired(&conn, &settings) {
                    tracing::debug!("HTTP connection closed: idle, or its client stopped reading");
                    break;
                }
            }
            result = phase.changed() => {
                if result.is_err() || *phase.borrow() == Phase::Abort {
                    break;
                }
            }
        }
    }
    // Dropping the connection closes the socket; dropping the guard frees
    // its place in the table.
    drop(guard);
}

/// Whether the connection's deadline has passed now (it may have moved
/// since the timer was set).
fn expired(conn: &Conn, settings: &ConnSettings) -> bool {
    conn.activity
        .deadline(settings.idle_timeout, settings.send_timeout)
        .is_some_and(|deadline| deadline <= tokio::time::Instant::now())
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The TCP stream, reporting reads and blocked writes to the watchdog.
struct Watched {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        if read > 0 {
            self.conn.activity.read(read);
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.conn.activity.write_blocked(result.is_pending());
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.conn.activity.write_blocked(result.is_pending());
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        self.conn.activity.write_blocked(result.is_pending());
        result
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
