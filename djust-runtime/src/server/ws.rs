//! The WebSocket endpoint `/ws/live/`: upgrade checks, then one task per
//! connection running the frame loop behind every defence layer.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SelectAll, SplitSink};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use warp::http::{HeaderMap, StatusCode};
use warp::hyper::upgrade::{OnUpgrade, Upgraded};
use warp::reply::Response as WarpResponse;
use warp::{Filter, Rejection, Reply};

use super::origin::check_origin;
use super::AppInner;
use crate::auth::{generate_token, safe_next_path, Identity, MountToken};
use crate::limits::{client_ip, RateWarnings, TokenBucket, WarningOutcome};
use crate::live::{LiveSession, MountRefusal, Outcome};
use crate::protocol::{ClientMessage, ServerMessage};
use crate::security::{sanitize_for_log, SafeError};
use crate::session::Session;
use crate::view::{Ctx, InfoStream, Params};

/// Close codes.
pub(crate) mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Binary or otherwise unsupported data.
    pub const UNSUPPORTED: u16 = 1003;
    /// Frame larger than the message size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server failed (a handler panicked).
    pub const INTERNAL: u16 = 1011;
    /// Too many connections on this server.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Not allowed: mount token, login, permission, logout.
    pub const FORBIDDEN: u16 = 4403;
    /// The view named in `mount` is not served here.
    pub const UNKNOWN_VIEW: u16 = 4404;
    /// No frame within the heartbeat timeout.
    pub const TIMEOUT: u16 = 4408;
    /// Rate limited, too many connections from the IP, or cooling down.
    pub const RATE_LIMITED: u16 = 4429;
}

/// Bytes read from a socket at a time. tungstenite's default is 128 KiB,
/// zero-filled before every read and held per connection: with it an idle
/// mounted view costs ~137 KiB of RSS. 2 KiB holds a typical event frame in one
/// read; larger frames (up to the limits below) are assembled across reads.
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// `GET /ws/live/` upgrade. The handshake is done here (not with
/// `warp::ws()`) so the socket's read buffer can be sized.
pub(crate) fn route(
    inner: Arc<AppInner>,
) -> impl Filter<Extract = (WarpResponse,), Error = Rejection> + Clone {
    warp::path!("ws" / "live")
        .and(warp::get())
        .and(super::extensions::remote())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::any().map(move || inner.clone()))
        .map(upgrade)
}

fn plain(status: StatusCode, text: &'static str) -> WarpResponse {
    let mut response = warp::reply::with_status(text, status).into_response();
    response.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
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

fn upgrade(
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
        tracing::warn!(%ip, origin = %sanitize_for_log(origin), ?refusal, "WebSocket refused: origin");
        return plain(StatusCode::FORBIDDEN, "Forbidden: cross-origin WebSocket");
    }
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
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                connection(socket, ip, cookie, inner).await;
            }
            Err(error) => {
                tracing::debug!(%ip, error = %sanitize_for_log(&error.to_string()), "WebSocket upgrade failed")
            }
        }
    });
    let mut response = WarpResponse::default();
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let accept = derive_accept_key(&key);
    let response_headers = response.headers_mut();
    response_headers.insert(
        "connection",
        warp::http::HeaderValue::from_static("upgrade"),
    );
    response_headers.insert("upgrade", warp::http::HeaderValue::from_static("websocket"));
    if let Ok(accept) = warp::http::HeaderValue::from_str(&accept) {
        response_headers.insert("sec-websocket-accept", accept);
    }
    response
}

/// A server-side socket.
type WebSocket = WebSocketStream<TokioIo<Upgraded>>;

type Sink = SplitSink<WebSocket, Message>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

/// Counts live sockets; decremented on drop.
struct LiveCount(Arc<AppInner>);

impl Drop for LiveCount {
    fn drop(&mut self) {
        self.0.live_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Writes `frame`, waiting at most `timeout` for the client to take it;
/// `false` if the socket failed or the client did not read in time.
async fn send(sink: &mut Sink, frame: &ServerMessage, timeout: Duration) -> bool {
    let write = sink.send(Message::text(frame.to_json()));
    matches!(tokio::time::timeout(timeout, write).await, Ok(Ok(())))
}

/// How long a closing socket waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Sends a close frame, then discards (never processes) whatever the client
/// still sends until its close reply or [`CLOSE_GRACE`]: dropping a TCP
/// socket with unread data makes the kernel reset the connection, and the
/// client would lose the close code.
async fn close_and_drain(sink: &mut Sink, stream: &mut Stream, code: u16, reason: &'static str) {
    close(sink, code, reason).await;
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

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
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

async fn connection(socket: WebSocket, ip: IpAddr, cookie: Option<String>, inner: Arc<AppInner>) {
    let (mut sink, mut stream) = socket.split();
    let live = inner.live_connections.fetch_add(1, Ordering::Relaxed) + 1;
    let _count = LiveCount(inner.clone());
    if live > inner.config.max_live_connections {
        tracing::warn!(%ip, "WebSocket refused: server connection limit");
        close_and_drain(
            &mut sink,
            &mut stream,
            close::TRY_AGAIN_LATER,
            "server busy",
        )
        .await;
        return;
    }
    let _slot = match inner.ip_tracker.try_acquire(ip) {
        Ok(slot) => slot,
        Err(refusal) => {
            tracing::warn!(%ip, ?refusal, "WebSocket refused: per-IP limit");
            close_and_drain(
                &mut sink,
                &mut stream,
                close::RATE_LIMITED,
                "too many connections",
            )
            .await;
            return;
        }
    };
    // Layer: the same limit across processes (e.g. Redis); fails closed.
    let shared_slot = match &inner.shared_ip_limiter {
        Some(limiter) => match limiter
            .acquire(_slot.ip(), inner.config.max_connections_per_ip)
            .await
        {
            Ok(slot) => Some(slot),
            Err(refusal) => {
                tracing::warn!(%ip, ?refusal, "WebSocket refused: shared per-IP limit");
                close_and_drain(
                    &mut sink,
                    &mut stream,
                    close::RATE_LIMITED,
                    "too many connections",
                )
                .await;
                return;
            }
        },
        None => None,
    };
    let (session, identity) = inner.resolve(cookie.as_deref()).await;
    let connection_id = generate_token();
    let send_timeout = Duration::from_secs(inner.config.send_timeout_secs);
    if !send(
        &mut sink,
        &ServerMessage::Connect {
            session_id: connection_id,
        },
        send_timeout,
    )
    .await
    {
        return;
    }
    let heartbeat = Duration::from_secs(inner.config.heartbeat_timeout_secs);
    let mut conn = Connection {
        bucket: TokenBucket::new(inner.config.rate_per_second, inner.config.rate_burst),
        warnings: RateWarnings::new(inner.config.max_rate_warnings),
        inner,
        ip,
        session,
        identity,
        live: None,
        subscriptions: SelectAll::new(),
        tick: None,
        deadline: Instant::now() + heartbeat,
        heartbeat,
        sink,
        send_timeout,
        broken: false,
        shared_slot,
    };
    conn.run(stream).await;
}

/// What to do after a frame.
enum Flow {
    Continue,
    Close(u16, &'static str),
}

struct Connection {
    inner: Arc<AppInner>,
    ip: IpAddr,
    session: Option<Session>,
    identity: Identity,
    bucket: TokenBucket,
    warnings: RateWarnings,
    live: Option<LiveSession>,
    subscriptions: SelectAll<InfoStream>,
    tick: Option<Interval>,
    deadline: Instant,
    heartbeat: Duration,
    sink: Sink,
    /// Longest wait for the client to take one frame (`DJUST_SEND_TIMEOUT_SECS`).
    send_timeout: Duration,
    /// A write failed or timed out: the connection ends without a close
    /// handshake (the client is gone or does not read).
    broken: bool,
    /// The shared (cross-process) per-IP slot; given up as soon as the
    /// connection starts closing, so a shutdown need not wait for drains.
    shared_slot: Option<Box<dyn std::any::Any + Send>>,
}

async fn next_tick(tick: &mut Option<Interval>) {
    match tick {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

impl Connection {
    fn session_id(&self) -> &str {
        self.session
            .as_ref()
            .map(|s| s.id.as_str())
            .unwrap_or_default()
    }

    async fn run(&mut self, mut stream: Stream) {
        let mut closing = self.inner.closing.subscribe();
        loop {
            if *closing.borrow_and_update() {
                self.shared_slot = None;
                close_and_drain(
                    &mut self.sink,
                    &mut stream,
                    close::GOING_AWAY,
                    "server shutting down",
                )
                .await;
                return;
            }
            let flow = tokio::select! {
                frame = stream.next() => match frame {
                    Some(Ok(message)) => {
                        self.deadline = Instant::now() + self.heartbeat;
                        self.on_message(message).await
                    }
                    Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                        // Above the transport backstop (4× the limit): the
                        // rest of the frame is never read, so the stream is
                        // unusable, but the client still learns why.
                        tracing::warn!(ip = %self.ip, "frame above the transport limit");
                        self.error(SafeError::MessageTooLarge, None).await;
                        self.shared_slot = None;
                        close(&mut self.sink, close::TOO_BIG, "message too large").await;
                        linger(&mut closing).await;
                        return;
                    }
                    Some(Err(error)) => {
                        tracing::debug!(ip = %self.ip, error = %sanitize_for_log(&error.to_string()), "WebSocket read error");
                        return;
                    }
                    None => return,
                },
                Some(message) = self.subscriptions.next(), if self.live.is_some() => {
                    if self.is_revoked() {
                        self.session_ended().await
                    } else {
                        match self.live.as_mut() {
                            Some(live) => {
                                let outcome = live.handle_info(message).await;
                                self.deliver(outcome).await
                            }
                            None => Flow::Continue,
                        }
                    }
                }
                () = next_tick(&mut self.tick) => {
                    if self.is_revoked() {
                        self.session_ended().await
                    } else {
                        match self.live.as_mut() {
                            Some(live) => {
                                let outcome = live.handle_tick().await;
                                self.deliver(outcome).await
                            }
                            None => Flow::Continue,
                        }
                    }
                }
                () = tokio::time::sleep_until(self.deadline) => Flow::Close(close::TIMEOUT, "heartbeat timeout"),
                _ = closing.changed() => Flow::Close(close::GOING_AWAY, "server shutting down"),
            };
            if self.broken {
                // No close handshake: writing is what failed.
                return;
            }
            if let Flow::Close(code, reason) = flow {
                self.shared_slot = None;
                close_and_drain(&mut self.sink, &mut stream, code, reason).await;
                // Nothing more is read from a closed connection.
                return;
            }
        }
    }

    /// Whether this connection's session was destroyed by logout.
    fn is_revoked(&self) -> bool {
        self.session.is_some() && self.inner.revoked.is_revoked(self.session_id())
    }

    /// Closes a logged-out session's socket (4403). Also checked before
    /// server-initiated updates (ticks, subscriptions), so a silent tab does
    /// not keep receiving the user's data after logout.
    async fn session_ended(&mut self) -> Flow {
        tracing::info!(ip = %self.ip, "closing a socket of a logged-out session");
        self.error(SafeError::LoginRequired, None).await;
        Flow::Close(close::FORBIDDEN, "session ended")
    }

    /// Writes `frame` within the send timeout; a failure marks the
    /// connection broken, which ends it after the current step.
    async fn send(&mut self, frame: &ServerMessage) -> bool {
        let sent = send(&mut self.sink, frame, self.send_timeout).await;
        if !sent && !self.broken {
            self.broken = true;
            tracing::info!(ip = %self.ip, "client not reading (send failed or timed out); dropping the socket");
        }
        sent
    }

    async fn error(&mut self, error: SafeError, reference: Option<u64>) -> bool {
        let frame = ServerMessage::Error {
            error: error.public_message(self.inner.config.debug, None),
            reference,
        };
        self.send(&frame).await
    }

    async fn deliver(&mut self, outcome: Outcome) -> Flow {
        for frame in &outcome.frames {
            if !self.send(frame).await {
                return Flow::Close(close::NORMAL, "send failed");
            }
        }
        if outcome.close {
            Flow::Close(close::INTERNAL, "internal error")
        } else {
            Flow::Continue
        }
    }

    async fn on_message(&mut self, message: Message) -> Flow {
        if message.is_close() {
            return Flow::Close(close::NORMAL, "bye");
        }
        // Layer: per-connection token bucket, every frame counts, including
        // transport-level pings (which the library answers by itself).
        if !self.bucket.try_acquire() {
            return self.rate_limited().await;
        }
        if message.is_ping() || message.is_pong() {
            return Flow::Continue;
        }
        if message.is_binary() {
            tracing::warn!(ip = %self.ip, "binary frame refused");
            self.error(SafeError::UnsupportedFrame, None).await;
            return Flow::Close(close::UNSUPPORTED, "binary frames are not accepted");
        }
        let Message::Text(text) = &message else {
            return Flow::Continue;
        };
        // Layer: size before parsing.
        if text.len() > self.inner.config.max_message_bytes {
            tracing::warn!(ip = %self.ip, bytes = text.len(), "frame too large");
            self.error(SafeError::MessageTooLarge, None).await;
            return Flow::Close(close::TOO_BIG, "message too large");
        }
        // Layer: JSON depth before parsing.
        if json_depth_exceeds(text, self.inner.config.max_json_depth) {
            tracing::warn!(ip = %self.ip, "frame nested too deeply");
            self.error(SafeError::MalformedMessage, None).await;
            return Flow::Continue;
        }
        let parsed = match ClientMessage::from_json(text) {
            Ok(parsed) => parsed,
            Err(_) => {
                tracing::info!(ip = %self.ip, "malformed frame");
                self.error(SafeError::MalformedMessage, None).await;
                return Flow::Continue;
            }
        };
        // Layer: a logged-out session's sockets close at their next frame.
        if self.is_revoked() {
            return self.session_ended().await;
        }
        match parsed {
            ClientMessage::Ping => {
                self.send(&ServerMessage::Pong).await;
                Flow::Continue
            }
            ClientMessage::Mount {
                view,
                params,
                url,
                mount_token,
            } => self.mount(&view, params, url, &mount_token).await,
            ClientMessage::Event {
                event,
                params,
                reference,
            } => match self.live.as_mut() {
                Some(live) => {
                    let outcome = live.handle_event(&event, &params, reference).await;
                    self.deliver(outcome).await
                }
                None => {
                    self.error(SafeError::NotMounted, reference).await;
                    Flow::Continue
                }
            },
            ClientMessage::RequestHtml => {
                match &self.live {
                    Some(live) => {
                        let frame = live.html_update();
                        self.send(&frame).await;
                    }
                    None => {
                        self.error(SafeError::NotMounted, None).await;
                    }
                }
                Flow::Continue
            }
        }
    }

    async fn rate_limited(&mut self) -> Flow {
        match self.warnings.record() {
            WarningOutcome::Warn(count) => {
                tracing::warn!(ip = %self.ip, count, "rate limit exceeded");
                let frame = ServerMessage::RateLimitExceeded {
                    message: "Too many messages; slow down.".to_owned(),
                };
                self.send(&frame).await;
                Flow::Continue
            }
            WarningOutcome::Close => {
                tracing::warn!(ip = %self.ip, "rate limit exceeded repeatedly; closing and cooling down the IP");
                self.inner.ip_tracker.start_cooldown(self.ip);
                if let Some(limiter) = &self.inner.shared_ip_limiter {
                    let cooldown = Duration::from_secs(self.inner.config.reconnect_cooldown_secs);
                    limiter.start_cooldown(self.ip, cooldown).await;
                }
                let frame = ServerMessage::RateLimitExceeded {
                    message: "Too many messages; disconnected.".to_owned(),
                };
                self.send(&frame).await;
                Flow::Close(close::RATE_LIMITED, "rate limited")
            }
        }
    }

    async fn mount(
        &mut self,
        view: &str,
        params: Params,
        url: Option<String>,
        token: &str,
    ) -> Flow {
        if self.live.is_some() {
            self.error(SafeError::MalformedMessage, None).await;
            return Flow::Continue;
        }
        let Some(factory) = self.inner.views.get(view).copied() else {
            tracing::warn!(ip = %self.ip, view = %sanitize_for_log(view), "mount refused: unknown view");
            self.error(SafeError::UnknownView, None).await;
            return Flow::Close(close::UNKNOWN_VIEW, "unknown view");
        };
        let meta = factory.meta();
        let decoded = MountToken::decode(
            &self.inner.signer,
            token,
            super::http::now_unix(),
            self.inner.config.mount_token_ttl_secs,
        );
        let valid = match &decoded {
            Ok(token) => token.matches(meta.name, self.session_id(), self.identity.user_id()),
            Err(_) => false,
        };
        if !valid {
            tracing::warn!(ip = %self.ip, view = meta.name, reason = ?decoded.err(), "mount refused: mount token");
            self.error(SafeError::InvalidMountToken, None).await;
            return Flow::Close(close::FORBIDDEN, "invalid mount token");
        }
        let url = url
            .map(|url| safe_next_path(&url))
            .unwrap_or_else(|| "/".to_owned());
        let ctx = Arc::new(
            Ctx::new(
                self.identity.clone(),
                self.session.as_ref().map(|s| s.id.clone()),
                url.clone(),
                Some(self.ip),
                self.inner.state.clone(),
                self.inner.config.debug,
            )
            .with_csrf_token(self.session.as_ref().map(|s| s.csrf_token.clone())),
        );
        match LiveSession::mount(
            factory,
            ctx,
            params,
            self.inner.limiter.clone(),
            &self.inner.config.login_url,
        )
        .await
        {
            Ok((live, frames, subscriptions)) => {
                for frame in &frames {
                    if !self.send(frame).await {
                        return Flow::Close(close::NORMAL, "send failed");
                    }
                }
                for subscription in subscriptions {
                    self.subscriptions.push(subscription);
                }
                if let Some(ms) = meta.tick_ms {
                    let period = Duration::from_millis(ms.max(10));
                    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
                    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
                    self.tick = Some(interval);
                }
                self.live = Some(live);
                Flow::Continue
            }
            Err(MountRefusal::LoginRequired { login_url }) => {
                let to = self.inner.login_target(&login_url, &url);
                self.send(&ServerMessage::Navigate { to }).await;
                Flow::Close(close::FORBIDDEN, "login required")
            }
            Err(MountRefusal::PermissionDenied) => {
                self.error(SafeError::PermissionDenied, None).await;
                Flow::Close(close::FORBIDDEN, "permission denied")
            }
            Err(MountRefusal::Failed(error)) => {
                self.error(error, None).await;
                Flow::Close(close::INTERNAL, "mount failed")
            }
        }
    }
}

/// `true` when `text` nests arrays/objects deeper than `max` (strings skipped).
pub(crate) fn json_depth_exceeds(text: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::json_depth_exceeds;

    #[test]
    fn depth_counts_structure_not_strings() {
        assert!(!json_depth_exceeds(r#"{"a":[[1]]}"#, 3));
        assert!(json_depth_exceeds(r#"{"a":[[[1]]]}"#, 3));
        assert!(!json_depth_exceeds(r#"{"a":"[[[[[[[[[\"[[["}"#, 2));
        assert!(json_depth_exceeds(&"[".repeat(10_000), 32));
    }
}
