//! The WebSocket endpoint `/ws/live/`: the handshake checks and admission,
//! then one task per socket driving a [`Connection`] (the protocol core,
//! which owns every gate a frame meets). This file only moves bytes and
//! time: it reads frames and timers, feeds them to the core with the time,
//! sends what comes out within the send timeout, and closes and drains.
//!
//! Admission happens before the `101 Switching Protocols`, so a refused
//! handshake costs one HTTP response and no socket task: Origin (403), the
//! per-IP limit and cooldown (429), the process-wide socket cap (503, only
//! charged once the per-IP check passed), then the per-IP limit shared
//! across processes (429). An address refused for its limit again and
//! again cools down; repeated refusals are logged once a second with the
//! count of the suppressed lines.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SelectAll, SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::hyper::upgrade::{OnUpgrade, Upgraded};
use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection, Reply};

use super::detached::{Control, Handover};
use super::durable::{
    forget_persisted, keep_taken, persist_key, persist_signer, Durable, STORE_TIMEOUT,
};
use super::origin::check_origin;
use super::AppInner;
use super::{BusyGuard, PersistingGuard};
use crate::limits::{client_ip, IpRefusal, IpSlot};
use crate::live::{Close, Connection, Peer, ResumeRequest, Step};
use crate::protocol::{close, ServerMessage};
use crate::security::sanitize_for_log;
use crate::view::InfoStream;

/// Bytes read from a socket at a time. tungstenite's default is 128 KiB,
/// zero-filled before every read and held per connection: with it an idle
/// mounted view costs ~137 KiB of RSS. 2 KiB holds a typical event frame in one
/// read; larger frames (up to the limits below) are assembled across reads.
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// `GET /ws/live/` upgrade. The handshake is done here (not with
/// `warp::ws()`) so the socket's read buffer can be sized and admission
/// can refuse before the `101`.
pub(crate) fn route(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    warp::path!("ws" / "live")
        .and(warp::get())
        .and(super::extensions::remote())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::any().map(move || inner.clone()))
        .then(upgrade)
}

fn plain(status: StatusCode, text: &'static str) -> WarpResponse {
    let mut response = warp::reply::with_status(text, status).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A refused handshake: `status` with `Retry-After: retry_after` seconds.
fn refused(status: StatusCode, text: &'static str, retry_after: u64) -> WarpResponse {
    let mut response = plain(status, text);
    if let Ok(value) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

fn header_has_token(headers: &HeaderMap, name: &str, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
}

/// A socket counted against `DJUST_MAX_LIVE_CONNECTIONS`; uncounted on drop.
struct LiveCount(Arc<AppInner>);

impl LiveCount {
    /// Counts one more socket unless the cap is reached (then nothing is
    /// counted, so a refusal holds no share of the cap).
    fn try_new(inner: &Arc<AppInner>) -> Option<Self> {
        let max = inner.config.max_live_connections;
        inner
            .live_connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                (live < max).then_some(live + 1)
            })
            .ok()
            .map(|_| LiveCount(inner.clone()))
    }
}

impl Drop for LiveCount {
    fn drop(&mut self) {
        self.0.live_connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What an admitted socket holds until it ends: its per-IP slot, its share
/// of the process cap and, with a shared limiter, its cross-process slot.
struct Admission {
    _slot: IpSlot,
    _count: LiveCount,
    shared_slot: Option<Box<dyn std::any::Any + Send>>,
}

/// Logs a refused handshake, at most once a second per kind.
fn log_refusal(inner: &AppInner, kind: &'static str, ip: IpAddr, detail: &str) {
    if let Some(suppressed) = inner.log_throttle.allow(kind, std::time::Instant::now()) {
        tracing::warn!(%ip, suppressed, detail, "WebSocket refused: {kind}");
    }
}

/// The admission checks, in order, each before the next costs anything.
async fn admit(inner: &Arc<AppInner>, ip: IpAddr) -> Result<Admission, WarpResponse> {
    let cooldown = inner.config.reconnect_cooldown_secs;
    let slot = inner.ip_tracker.try_acquire(ip).map_err(|refusal| {
        log_refusal(inner, "per-IP limit", ip, &refusal.to_string());
        let text = match refusal {
            IpRefusal::TooManyConnections => "Too many connections from this address",
            IpRefusal::CoolingDown => "Too many connections: try again later",
        };
        refused(StatusCode::TOO_MANY_REQUESTS, text, cooldown)
    })?;
    let count = LiveCount::try_new(inner).ok_or_else(|| {
        log_refusal(inner, "server connection limit", ip, "");
        refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Server busy: try again later",
            cooldown,
        )
    })?;
    // The same limit across processes (e.g. Redis); fails closed.
    let shared_slot = match &inner.shared_ip_limiter {
        Some(limiter) => Some(
            limiter
                .acquire(slot.ip(), inner.config.max_connections_per_ip)
                .await
                .map_err(|refusal| {
                    log_refusal(inner, "shared per-IP limit", ip, &refusal.to_string());
                    refused(
                        StatusCode::TOO_MANY_REQUESTS,
                        "Too many connections from this address",
                        cooldown,
                    )
                })?,
        ),
        None => None,
    };
    Ok(Admission {
        _slot: slot,
        _count: count,
        shared_slot,
    })
}

async fn upgrade(
    remote: Option<SocketAddr>,
    headers: HeaderMap,
    on_upgrade: Option<OnUpgrade>,
    inner: Arc<AppInner>,
) -> WarpResponse {
    // An ordinary GET, or a malformed handshake.
    let key = headers
        .get("sec-websocket-key")
        .map(|key| key.as_bytes().to_vec());
    let (Some(key), Some(on_upgrade)) = (key, on_upgrade) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "Bad request: expected a WebSocket upgrade",
        );
    };
    if !header_has_token(&headers, "connection", "upgrade")
        || !header_has_token(&headers, "upgrade", "websocket")
        || headers.get("sec-websocket-version").map(|v| v.as_bytes()) != Some(b"13".as_slice())
    {
        return plain(
            StatusCode::BAD_REQUEST,
            "Bad request: expected a WebSocket upgrade",
        );
    }
    let remote = remote.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok());
    let ip = client_ip(remote, forwarded, inner.config.trusted_proxies);
    if let Err(refusal) = check_origin(&headers, &inner.config) {
        let origin = headers
            .get("origin")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        log_refusal(
            &inner,
            "origin",
            ip,
            &format!("{refusal:?} {}", sanitize_for_log(origin)),
        );
        return plain(StatusCode::FORBIDDEN, "Forbidden: cross-origin WebSocket");
    }
    let admission = match admit(&inner, ip).await {
        Ok(admission) => admission,
        Err(response) => return response,
    };
    let cookie = headers
        .get("cookie")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // The transport limit is a backstop well above the protocol limit, which
    // is checked per frame so the client gets an error and a 1009 close.
    let limit = inner.config.max_message_bytes.saturating_mul(4);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    // The socket's task outlives this request: it carries the tenant.
    let tenant = crate::tenant::current();
    tokio::spawn(crate::tenant::scope(tenant, async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                let waiting = drive(socket, ip, cookie, admission, &inner).await;
                // The detached view waits in a task of its own, sized for
                // the wait only: this one (sized for the socket's driver)
                // ends here.
                if let Some(waiting) = waiting {
                    let detached = Detached {
                        conn: waiting.conn,
                        subscriptions: waiting.subscriptions,
                        durable: waiting.durable,
                        persisting: waiting.persisting.map(|_| PersistingGuard::new(&inner)),
                        attached: waiting.attached,
                    };
                    let task = crate::tenant::scope(
                        crate::tenant::current(),
                        wait_detached(detached, inner.clone()),
                    );
                    DETACHED_TASK_BYTES.store(
                        std::mem::size_of_val(&task) + TASK_HEADER_BYTES,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    tokio::spawn(task);
                }
            }
            Err(error) => {
                tracing::debug!(%ip, error = %sanitize_for_log(&error.to_string()), "WebSocket upgrade failed")
            }
        }
    }));
    let mut response = WarpResponse::default();
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let accept = derive_accept_key(&key);
    let response_headers = response.headers_mut();
    response_headers.insert("connection", HeaderValue::from_static("upgrade"));
    response_headers.insert("upgrade", HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        response_headers.insert("sec-websocket-accept", accept);
    }
    response
}

/// A server-side socket.
type WebSocket = WebSocketStream<TokioIo<Upgraded>>;
type Sink = SplitSink<WebSocket, Message>;
type Stream = SplitStream<WebSocket>;

/// How long a closing socket waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Writes `frame`, waiting at most `timeout` for the client to take it;
/// `false` if the socket failed or the client did not read in time.
async fn send(sink: &mut Sink, frame: &ServerMessage, timeout: Duration) -> bool {
    let write = sink.send(Message::text(frame.to_json()));
    matches!(tokio::time::timeout(timeout, write).await, Ok(Ok(())))
}

async fn send_close(sink: &mut Sink, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    // Bounded: a client that does not read must not hold the task.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    })
    .await;
}

/// Sends a close frame, then discards (never processes) whatever the client
/// still sends until its close reply or [`CLOSE_GRACE`]: dropping a TCP
/// socket with unread data makes the kernel reset the connection, and the
/// client would lose the close code.
async fn close_and_drain(sink: &mut Sink, stream: &mut Stream, code: u16, reason: &'static str) {
    send_close(sink, code, reason).await;
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = stream.next().await {
            if message.is_close() {
                break;
            }
        }
    })
    .await;
}

/// Keeps a socket whose stream failed open for [`CLOSE_GRACE`] (less if the
/// server shuts down), so the error and close frames just sent reach the
/// client instead of being cut by the TCP reset that closing with unread
/// data (the rest of a refused frame) sends. The stream itself cannot be
/// read any more (tokio-tungstenite ends it on that error), hence a plain
/// wait, bounded and per connection.
async fn linger(closing: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(CLOSE_GRACE) => {}
        _ = closing.changed() => {}
    }
}

/// Sleeps until `deadline` (forever for `None`).
async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(Instant::from_std(deadline)).await,
        None => std::future::pending().await,
    }
}

/// A view whose socket dropped, with what its detached wait needs.
struct Waiting<'a> {
    conn: Connection,
    subscriptions: SelectAll<InfoStream>,
    durable: Durable,
    attached: AttachedMark,
    /// Held while the view persists: shutdown waits for its state to be saved.
    persisting: Option<BusyGuard<'a>>,
}

/// A detached view in its own task (see [`wait_detached`]).
struct Detached {
    conn: Connection,
    subscriptions: SelectAll<InfoStream>,
    durable: Durable,
    persisting: Option<PersistingGuard>,
    /// Released once the view is registered as detached, so a resume
    /// always finds it one way or the other.
    attached: AttachedMark,
}

/// Marks the resume id of a socket's view as attached in this process
/// (see `DetachedViews::attach`) while it lives.
struct AttachedMark {
    inner: Arc<AppInner>,
    id: Option<String>,
}

impl AttachedMark {
    /// Follows the view's current resume id (mounts and resumes change it).
    fn track(&mut self, id: Option<&str>) {
        if self.id.as_deref() == id {
            return;
        }
        if let Some(old) = self.id.take() {
            self.inner.detached.unattach(&old);
        }
        if let Some(id) = id {
            self.inner.detached.attach(id);
            self.id = Some(id.to_owned());
        }
    }
}

impl Drop for AttachedMark {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.inner.detached.unattach(&id);
        }
    }
}

/// Bytes of the future of a detached view's task (the same for all),
/// measured when the first one is spawned: part of what the detached
/// caps count.
static DETACHED_TASK_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What tokio adds to a task's future (header, scheduler handle, id,
/// trailer; rounded up to its 128-byte alignment), as measured.
const TASK_HEADER_BYTES: usize = 256;

/// What became of the socket after a step.
enum Next {
    Continue,
    /// The client is gone or does not read: end without a close handshake.
    Broken,
    /// Close with the handshake (the stream can still be drained).
    Close(Close),
    /// Close, but the stream is unusable (transport error): linger instead
    /// of draining.
    CloseAndLinger(Close),
}

/// Drives one admitted socket until it ends. Returns the connection when
/// its view must wait for its client (the socket dropped without a close
/// from the user); the admission (the socket's slots) is released first.
async fn drive<'a>(
    socket: WebSocket,
    ip: IpAddr,
    cookie: Option<String>,
    mut admission: Admission,
    inner: &'a Arc<AppInner>,
) -> Option<Waiting<'a>> {
    let (mut sink, mut stream) = socket.split();
    let (session, identity) = inner.resolve(cookie.as_deref()).await;
    let peer = Peer {
        ip,
        session,
        identity,
        tenant: crate::tenant::current(),
    };
    let mut conn = Connection::new(
        inner.live.clone(),
        peer,
        std::time::Instant::now(),
        super::reply::now_unix(),
    );
    let send_timeout = Duration::from_secs(inner.config.send_timeout_secs);
    if !send(&mut sink, &conn.greeting(), send_timeout).await {
        return None;
    }
    let mut closing = inner.closing.subscribe();
    let mut subscriptions: SelectAll<InfoStream> = SelectAll::new();
    // Held while the view persists: shutdown waits for its state to be saved.
    let mut persisting = None;
    // The view's copy in the view-state store (`persist` views).
    let mut durable = Durable::default();
    let mut attached = AttachedMark {
        inner: inner.clone(),
        id: None,
    };
    // The socket ended without a close from the user: the view may wait.
    let detach = |mut conn: Connection, subscriptions, durable, attached, persisting| {
        conn.detach(std::time::Instant::now()).map(|_| Waiting {
            conn,
            subscriptions,
            durable,
            attached,
            persisting,
        })
    };
    loop {
        let next = if *closing.borrow_and_update() {
            durable.sync(inner, &conn, true).await;
            Next::Close(close_of(
                conn.close(close::SERVICE_RESTART, "server restarting"),
            ))
        } else {
            let (mut step, stream_failed) = tokio::select! {
                frame = stream.next() => {
                    let now = std::time::Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => (conn.on_text(text.as_str(), now).await, false),
                        Some(Ok(Message::Binary(bytes))) => (conn.on_binary(&bytes, now).await, false),
                        Some(Ok(Message::Close(_))) => (conn.on_client_close(), false),
                        Some(Ok(_)) => (conn.on_control(now), false),
                        Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                            // Above the transport backstop (4× the limit): the
                            // rest of the frame is never read, so the stream is
                            // unusable, but the client still learns why.
                            (conn.on_oversize(now), true)
                        }
                        Some(Err(error)) => {
                            tracing::debug!(%ip, error = %sanitize_for_log(&error.to_string()), "WebSocket read error");
                            drop(admission);
                            return detach(conn, subscriptions, durable, attached, persisting);
                        }
                        None => {
                            drop(admission);
                            return detach(conn, subscriptions, durable, attached, persisting);
                        }
                    }
                }
                Some(message) = subscriptions.next(), if !subscriptions.is_empty() => {
                    (conn.on_info(message, std::time::Instant::now()).await, false)
                }
                () = sleep_until(conn.poll_timeout()) => {
                    (conn.on_timeout(std::time::Instant::now()).await, false)
                }
                () = sleep_until(durable.again_at()) => {
                    durable.sync(inner, &conn, true).await;
                    (Step::default(), false)
                }
                _ = closing.changed() => {
                    durable.sync(inner, &conn, true).await;
                    (conn.close(close::SERVICE_RESTART, "server restarting"), false)
                }
            };
            // The id a view resumed here was stored under: forgotten once
            // its new id is written.
            let mut stale_id = None;
            if let Some(request) = step.resume.take() {
                if let Some((resumed, handed_over, handed_durable)) =
                    take_over(inner, &mut conn, &request, &mut step).await
                {
                    conn = resumed;
                    subscriptions = handed_over;
                    durable = handed_durable;
                    stale_id = Some(request.id);
                }
            }
            subscriptions.extend(conn.take_subscriptions());
            attached.track(conn.resume_id());
            if persisting.is_none() && conn.persists() {
                persisting = Some(inner.persisting.enter());
            }
            // Durable before acknowledged: the store holds what the frames
            // of this step tell the client (see `durable.rs`).
            durable.sync(inner, &conn, false).await;
            let saved = !durable.is_dirty() || durable.wait_durable(inner, &mut conn).await;
            if durable.is_lost() {
                step = moved(&mut conn, ip);
            } else if !saved {
                step = unsaved(&mut conn, ip);
            } else if let Some(id) = stale_id {
                forget_persisted(inner, &id).await;
            }
            deliver(&mut sink, step, stream_failed, send_timeout, inner, ip).await
        };
        match next {
            Next::Continue => {}
            Next::Broken => {
                drop(admission);
                return detach(conn, subscriptions, durable, attached, persisting);
            }
            Next::Close(close) => {
                // Give the shared slot up before the drain, so a shutdown
                // need not wait for slow clients.
                admission.shared_slot = None;
                // The view ended (unless it waits for its client, or the
                // server restarts): its copy goes before the close frame.
                if !conn.is_detached() && close.code != close::SERVICE_RESTART {
                    durable.end(inner).await;
                }
                close_and_drain(&mut sink, &mut stream, close.code, close.reason).await;
                drop(admission);
                // A heartbeat timeout closes the socket but keeps the view.
                if conn.is_detached() {
                    return Some(Waiting {
                        conn,
                        subscriptions,
                        durable,
                        attached,
                        persisting,
                    });
                }
                return None;
            }
            Next::CloseAndLinger(close) => {
                admission.shared_slot = None;
                if close.code != close::SERVICE_RESTART {
                    durable.end(inner).await;
                }
                send_close(&mut sink, close.code, close.reason).await;
                linger(&mut closing).await;
                return None;
            }
        }
    }
}

/// How long a new socket waits for a detached view to hand itself over.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a resume waits for its view to detach: a client that lost its
/// network can reconnect before this process noticed the old socket drop
/// (a busy process reads it later), and the view is then still attached.
const DETACH_WAIT: Duration = Duration::from_secs(2);

/// The control channel of the view detached under `id`, waiting (at most
/// [`DETACH_WAIT`]) for a view still attached here to its dropped socket;
/// `None` at once when no socket of this process holds the view.
async fn detached_control(
    inner: &AppInner,
    id: &str,
) -> Option<tokio::sync::mpsc::Sender<Control>> {
    let deadline = tokio::time::Instant::now() + DETACH_WAIT;
    loop {
        if let Some(control) = inner.detached.control(id) {
            return Some(control);
        }
        if !inner.detached.is_attached(id) || tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `resume`: asks the view detached under the request's id to hand itself
/// over to `conn`'s peer. On success returns it (the step becomes its
/// `resumed` and missed frames); otherwise the step tells the client to
/// mount afresh.
async fn take_over(
    inner: &AppInner,
    conn: &mut Connection,
    request: &ResumeRequest,
    step: &mut Step,
) -> Option<(Connection, SelectAll<InfoStream>, Durable)> {
    let handed = match detached_control(inner, &request.id).await {
        Some(control) => {
            let (reply, handover) = tokio::sync::oneshot::channel::<Handover>();
            let asked = control
                .send(Control::Resume {
                    peer: Box::new(conn.peer().clone()),
                    version: request.version,
                    reply,
                })
                .await
                .is_ok();
            match tokio::time::timeout(HANDOVER_TIMEOUT, handover).await {
                Ok(Ok(Ok(handed))) if asked => Some(handed),
                _ => None,
            }
        }
        None => None,
    };
    match handed {
        Some((resumed, resumed_step, subscriptions, durable)) => {
            tracing::debug!(ip = %conn.peer().ip, "view resumed");
            *step = resumed_step;
            Some((resumed, subscriptions, durable))
        }
        None => {
            // Not detached here: perhaps persisted by another process (or
            // by this one before a restart).
            *step = match take_persisted(inner, &request.id).await {
                Some(snapshot) => conn.restore(snapshot, std::time::Instant::now()).await,
                None => {
                    tracing::info!(ip = %conn.peer().ip, "resume refused: no such detached view");
                    conn.resume_refused()
                }
            };
            None
        }
    }
}

/// The snapshot persisted under `id`, taken from the store (single use).
async fn take_persisted(inner: &AppInner, id: &str) -> Option<crate::live::Snapshot> {
    let store = inner.live.view_states()?;
    let key = persist_key(id);
    let take = store.take(&key, keep_taken(&inner.config));
    match tokio::time::timeout(STORE_TIMEOUT, take).await {
        Ok(Ok(Some(sealed))) => {
            let snapshot = crate::live::open_snapshot(&persist_signer(inner), id, &sealed);
            if snapshot.is_none() {
                tracing::warn!("a persisted view did not open (another key or tampered); dropped");
            }
            snapshot
        }
        Ok(Ok(None)) => None,
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "view-state store unavailable; cannot resume from it");
            None
        }
        Err(_) => {
            tracing::warn!("view-state store timed out; cannot resume from it");
            None
        }
    }
}

/// Keeps a view whose socket dropped until its client resumes it, the
/// grace window ends, room is needed for others, or the server stops. Its
/// ticks and subscription messages still run; what they change is kept
/// for the client (and, for a `persist` view, written through to the
/// view-state store).
async fn wait_detached(detached: Detached, inner: Arc<AppInner>) {
    let inner = &inner;
    let Detached {
        mut conn,
        mut subscriptions,
        mut durable,
        persisting: _persisting,
        attached,
    } = detached;
    let Some(id) = conn.resume_id().map(str::to_owned) else {
        return;
    };
    let (control, mut requests) = tokio::sync::mpsc::channel(4);
    let session = conn.peer().session.as_ref().map(|s| s.id.clone());
    inner.detached.insert(
        id.clone(),
        session,
        conn.peer().ip,
        detached_bytes(&conn),
        control,
    );
    drop(attached);
    let mut closing = inner.closing.subscribe();
    // Written with the rest of the grace window as its TTL.
    durable.sync(inner, &conn, true).await;
    // Whether the view is gone for good (its copy must go too): not when
    // evicted for room (it may still resume from the store) or when the
    // server stops (another process resumes it).
    let mut ended = false;
    // Detached while the server was already stopping: saved just above.
    let stopping = *closing.borrow_and_update();
    loop {
        // Resumed on another process meanwhile: this copy is stale.
        if stopping || durable.is_lost() {
            break;
        }
        let step = tokio::select! {
            request = requests.recv() => match request {
                Some(Control::Resume { peer, version, reply }) => {
                    match conn.resume(*peer, version, std::time::Instant::now()) {
                        Ok(step) => {
                            inner.detached.remove(&id);
                            // The new socket writes the view under its new
                            // id, then forgets this one.
                            let _ = reply.send(Ok((conn, step, subscriptions, durable)));
                            return;
                        }
                        // Someone else's token: the view keeps waiting for
                        // its own client.
                        Err(refusal) => {
                            let _ = reply.send(Err(refusal));
                            continue;
                        }
                    }
                }
                Some(Control::Evict) | None => break,
            },
            Some(message) = subscriptions.next(), if !subscriptions.is_empty() => {
                conn.on_info(message, std::time::Instant::now()).await
            }
            () = sleep_until(conn.poll_timeout()) => {
                conn.on_timeout(std::time::Instant::now()).await
            }
            () = sleep_until(durable.again_at()) => {
                durable.sync(inner, &conn, true).await;
                continue;
            }
            _ = closing.changed() => {
                // A deploy: the latest state, for a resume on another process.
                durable.sync(inner, &conn, true).await;
                break;
            }
        };
        subscriptions.extend(conn.take_subscriptions());
        if step.close.is_some() {
            ended = true;
            break;
        }
        durable.sync(inner, &conn, false).await;
        inner.detached.update_bytes(&id, detached_bytes(&conn));
    }
    inner.detached.remove(&id);
    if ended {
        durable.end(inner).await;
    }
}

/// The step instead of one whose frames would acknowledge a change of a
/// view another process took over (see `durable.rs`): no frame, the view
/// ended here (not detached: the other process has it), the socket closed
/// with 4409.
fn moved(conn: &mut Connection, ip: IpAddr) -> Step {
    tracing::info!(%ip, "a persist view was resumed on another process; closing its old socket (4409) unanswered");
    Step {
        close: Some(close_of(
            conn.close(close::MOVED, "resumed on another connection"),
        )),
        ..Step::default()
    }
}

/// The step instead of one whose frames would acknowledge a state the
/// view-state store does not hold: no frame, the view detached (it waits
/// for its client, as after a network drop), the socket closed with 1013
/// (try again later) so the client reconnects and resumes.
fn unsaved(conn: &mut Connection, ip: IpAddr) -> Step {
    tracing::warn!(%ip, "a persist view's state could not be saved; closing its socket (1013) unanswered");
    let close = if conn.detach(std::time::Instant::now()).is_some() {
        Close {
            code: close::TRY_AGAIN_LATER,
            reason: "state not saved",
            cooldown: false,
        }
    } else {
        close_of(conn.close(close::TRY_AGAIN_LATER, "state not saved"))
    };
    Step {
        close: Some(close),
        ..Step::default()
    }
}

/// What keeping `conn` detached costs, as the caps count it: its task
/// (which holds the connection itself), what the connection holds on the
/// heap, and its registry entry and channel (see `detached.rs`).
fn detached_bytes(conn: &Connection) -> usize {
    let task = DETACHED_TASK_BYTES.load(std::sync::atomic::Ordering::Relaxed);
    let session = conn.peer().session.as_ref().map(|s| s.id.as_str());
    let id = conn.resume_id().unwrap_or_default();
    task + conn.heap_estimate() + super::detached::overhead_bytes(id, session)
}

fn close_of(step: Step) -> Close {
    step.close.unwrap_or(Close {
        code: close::SERVICE_RESTART,
        reason: "server restarting",
        cooldown: false,
    })
}

/// Sends a step's frames and carries out its close (with the address's
/// cooldown when asked).
async fn deliver(
    sink: &mut Sink,
    step: Step,
    stream_failed: bool,
    send_timeout: Duration,
    inner: &AppInner,
    ip: IpAddr,
) -> Next {
    for frame in &step.frames {
        if !send(sink, frame, send_timeout).await {
            tracing::info!(%ip, "client not reading (send failed or timed out); dropping the socket");
            return Next::Broken;
        }
    }
    let Some(close) = step.close else {
        return Next::Continue;
    };
    if close.cooldown {
        inner.ip_tracker.start_cooldown(ip);
        if let Some(limiter) = &inner.shared_ip_limiter {
            let cooldown = Duration::from_secs(inner.config.reconnect_cooldown_secs);
            limiter.start_cooldown(ip, cooldown).await;
        }
    }
    if stream_failed {
        Next::CloseAndLinger(close)
    } else {
        Next::Close(close)
    }
}
