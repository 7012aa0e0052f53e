//! [`Connection`]: one socket's live protocol as a state machine that does
//! no I/O (sans-IO, after quinn-proto's `Connection` and rustls'
//! `ConnectionCommon`).
//!
//! The driver feeds it what happened, with the time it happened:
//!
//! | input | when |
//! | --- | --- |
//! | [`Connection::on_text`] | a text frame arrived |
//! | [`Connection::on_binary`] | a binary frame arrived |
//! | [`Connection::on_control`] | a transport ping or pong arrived |
//! | [`Connection::on_oversize`] | the transport refused a frame above its backstop |
//! | [`Connection::on_client_close`] | the client sent a close frame |
//! | [`Connection::on_info`] | a subscription delivered a message |
//! | [`Connection::on_timeout`] | [`Connection::poll_timeout`]'s instant passed |
//! | [`Connection::on_tick`] | run the view's tick now (tests) |
//! | [`Connection::close`] | the server closes (shutdown) |
//!
//! Each returns a [`Step`]: the frames to send, in order, and whether to
//! close the socket afterwards (with a code, and whether the client's
//! address should cool down). New subscriptions a mount asked for are taken
//! with [`Connection::take_subscriptions`]; the driver polls them and feeds
//! their messages back through `on_info`.
//!
//! A text frame meets the gates in this order, each before any work the
//! next one would cost: the per-connection token bucket (every frame
//! counts, pings too; warnings, then close 4429 with a cooldown), the size
//! limit (close 1009), the JSON depth limit, the protocol parse, revocation
//! (a logged-out session closes with 4403), then the frame itself: `mount`
//! checks the signed mount token before the view is looked up, mounted and
//! rendered; `event` goes to the mounted view's allowlist (for a
//! `reauth_each_event` view, an accepted event first reloads the user from
//! the endpoint's auth backend, and the mount's checks run again).
//!
//! Once a `Step` carried a close, the connection is closed: every later
//! input returns an empty step and nothing more is processed.
//!
//! Handlers are application code and may be `async` (a database call), so
//! the inputs that run them are `async fn`s; the core itself never touches
//! a socket, a timer or the clock: time comes in as `now`.

use std::any::Any;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::endpoint::Endpoint;
use super::gates::json_depth_exceeds;
use super::session::{LiveSession, MountRefusal, Outcome};
use crate::auth::{generate_token, login_redirect_target, safe_next_path, Identity, MountToken};
use crate::limits::{RateWarnings, TokenBucket, WarningOutcome};
use crate::protocol::{close, ClientMessage, ServerMessage};
use crate::security::{sanitize_for_log, SafeError};
use crate::session::Session;
use crate::view::{Ctx, InfoStream, Params};

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client address (after trusted proxies).
    pub ip: IpAddr,
    /// The session named by the cookie, if any.
    pub session: Option<Session>,
    /// Who is logged in.
    pub identity: Identity,
}

/// How the driver must close the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code ([`crate::protocol::close`]).
    pub code: u16,
    /// The close reason (short, fixed text; never client input).
    pub reason: &'static str,
    /// The client's address must cool down (it was closed for flooding).
    pub cooldown: bool,
}

/// What to do after one input: send `frames` in order, then close if
/// `close` is set.
#[derive(Debug, Default)]
pub struct Step {
    /// Frames to send, in order.
    pub frames: Vec<ServerMessage>,
    /// Close the socket after sending the frames.
    pub close: Option<Close>,
}

impl Step {
    fn frames(frames: Vec<ServerMessage>) -> Self {
        Step {
            frames,
            close: None,
        }
    }

    fn frame(frame: ServerMessage) -> Self {
        Step::frames(vec![frame])
    }
}

/// A view's periodic tick (`#[live_view(tick = ms)]`).
#[derive(Debug, Clone, Copy)]
struct Tick {
    period: Duration,
    next: Instant,
}

/// One socket's protocol state (see the [module docs](self)).
pub struct Connection {
    endpoint: Arc<Endpoint>,
    peer: Peer,
    id: String,
    bucket: TokenBucket,
    warnings: RateWarnings,
    heartbeat: Duration,
    heartbeat_deadline: Instant,
    /// `now` and the Unix time when the connection opened, so mount tokens
    /// (which carry Unix times) are checked against the driver's clock.
    opened: (Instant, u64),
    live: Option<LiveSession>,
    tick: Option<Tick>,
    new_subscriptions: Vec<InfoStream>,
    mount_refusal: Option<MountRefusal>,
    closed: Option<Close>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("ip", &self.peer.ip)
            .field("view", &self.live.as_ref().map(|live| live.meta().name))
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection from `peer`, opened at `now` (monotonic) which is
    /// `unix_now` seconds since the Unix epoch.
    pub fn new(endpoint: Arc<Endpoint>, peer: Peer, now: Instant, unix_now: u64) -> Self {
        let config = endpoint.config();
        let heartbeat = Duration::from_secs(config.heartbeat_timeout_secs);
        Connection {
            bucket: TokenBucket::new_at(config.rate_per_second, config.rate_burst, now),
            warnings: RateWarnings::new(config.max_rate_warnings),
            heartbeat,
            heartbeat_deadline: now + heartbeat,
            opened: (now, unix_now),
            endpoint,
            peer,
            id: generate_token(),
            live: None,
            tick: None,
            new_subscriptions: Vec::new(),
            mount_refusal: None,
            closed: None,
        }
    }

    /// The first frame to send: `connect`, with this connection's random id.
    pub fn greeting(&self) -> ServerMessage {
        ServerMessage::Connect {
            session_id: self.id.clone(),
        }
    }

    // ----- getters

    /// The mounted view, once `mount` succeeded.
    pub fn live(&self) -> Option<&LiveSession> {
        self.live.as_ref()
    }

    /// Who is on the other end.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// Whether a step carried a close: nothing more is processed.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Why the last `mount` was refused, if it was (taken once).
    pub fn take_mount_refusal(&mut self) -> Option<MountRefusal> {
        self.mount_refusal.take()
    }

    /// Subscriptions the mounted view asked for since the last call; the
    /// driver polls them and hands each message to [`Connection::on_info`].
    pub fn take_subscriptions(&mut self) -> Vec<InfoStream> {
        std::mem::take(&mut self.new_subscriptions)
    }

    /// The next instant [`Connection::on_timeout`] must be called at: the
    /// heartbeat deadline or the next tick, whichever is first. `None` once
    /// closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        Some(match self.tick {
            Some(tick) => tick.next.min(self.heartbeat_deadline),
            None => self.heartbeat_deadline,
        })
    }

    // ----- inputs from the network

    /// A text frame arrived at `now`.
    pub async fn on_text(&mut self, text: &str, now: Instant) -> Step {
        if let Some(step) = self.admit_frame(now) {
            return step;
        }
        let config = self.endpoint.config();
        // Gate: size before parsing.
        if text.len() > config.max_message_bytes {
            tracing::warn!(ip = %self.peer.ip, bytes = text.len(), "frame too large");
            return self.error_and_close(
                SafeError::MessageTooLarge,
                close::TOO_BIG,
                "message too large",
            );
        }
        // Gate: JSON depth before parsing.
        if json_depth_exceeds(text, config.max_json_depth) {
            tracing::warn!(ip = %self.peer.ip, "frame nested too deeply");
            return Step::frame(self.error(SafeError::MalformedMessage, None));
        }
        let parsed = match ClientMessage::from_json(text) {
            Ok(parsed) => parsed,
            Err(_) => {
                tracing::info!(ip = %self.peer.ip, "malformed frame");
                return Step::frame(self.error(SafeError::MalformedMessage, None));
            }
        };
        // Gate: a logged-out session's sockets close at their next frame.
        if self.is_revoked() {
            return self.session_ended();
        }
        match parsed {
            ClientMessage::Ping => Step::frame(ServerMessage::Pong),
            ClientMessage::Mount {
                view,
                params,
                url,
                mount_token,
            } => self.mount(&view, params, url, &mount_token, now).await,
            ClientMessage::Event {
                event,
                params,
                reference,
            } => self.event(&event, &params, reference).await,
            ClientMessage::RequestHtml => match &self.live {
                Some(live) => Step::frame(live.html_update()),
                None => Step::frame(self.error(SafeError::NotMounted, None)),
            },
        }
    }

    /// A binary frame arrived at `now`: not part of the protocol; an error
    /// and close 1003.
    pub async fn on_binary(&mut self, bytes: &[u8], now: Instant) -> Step {
        if let Some(step) = self.admit_frame(now) {
            return step;
        }
        tracing::warn!(ip = %self.peer.ip, bytes = bytes.len(), "binary frame refused");
        self.error_and_close(
            SafeError::UnsupportedFrame,
            close::UNSUPPORTED,
            "binary frames are not accepted",
        )
    }

    /// A transport-level ping or pong arrived at `now` (the transport
    /// answers pings itself). It counts against the frame budget.
    pub fn on_control(&mut self, now: Instant) -> Step {
        self.admit_frame(now).unwrap_or_default()
    }

    /// The transport refused a frame above its backstop (several times the
    /// message limit), at `now`: the client still learns why (error, 1009).
    pub fn on_oversize(&mut self, now: Instant) -> Step {
        if self.is_closed() {
            return Step::default();
        }
        self.heartbeat_deadline = now + self.heartbeat;
        tracing::warn!(ip = %self.peer.ip, "frame above the transport limit");
        self.error_and_close(
            SafeError::MessageTooLarge,
            close::TOO_BIG,
            "message too large",
        )
    }

    /// The client sent a close frame: the connection ends normally.
    pub fn on_client_close(&mut self) -> Step {
        self.close(close::NORMAL, "bye")
    }

    // ----- inputs from the server side

    /// A subscription of the mounted view delivered `message` at `now`.
    pub async fn on_info(&mut self, message: Box<dyn Any + Send>, _now: Instant) -> Step {
        if self.is_closed() {
            return Step::default();
        }
        if self.is_revoked() {
            return self.session_ended();
        }
        match self.live.as_mut() {
            Some(live) => {
                let outcome = live.handle_info(message).await;
                self.deliver(outcome)
            }
            None => Step::default(),
        }
    }

    /// [`Connection::poll_timeout`]'s instant passed: closes a socket silent
    /// past the heartbeat timeout (4408), or runs a tick that is due.
    pub async fn on_timeout(&mut self, now: Instant) -> Step {
        if self.is_closed() {
            return Step::default();
        }
        if now >= self.heartbeat_deadline {
            return self.close(close::TIMEOUT, "heartbeat timeout");
        }
        match self.tick {
            Some(tick) if now >= tick.next => self.on_tick(now).await,
            _ => Step::default(),
        }
    }

    /// Runs the mounted view's tick at `now` (and schedules the next one a
    /// period later; missed ticks are skipped, not replayed). Nothing
    /// happens before a mount or for a view without a tick.
    pub async fn on_tick(&mut self, now: Instant) -> Step {
        if self.is_closed() {
            return Step::default();
        }
        if let Some(tick) = &mut self.tick {
            tick.next = now + tick.period;
        }
        if self.is_revoked() {
            return self.session_ended();
        }
        match self.live.as_mut() {
            Some(live) => {
                let outcome = live.handle_tick().await;
                self.deliver(outcome)
            }
            None => Step::default(),
        }
    }

    /// The server closes the connection (e.g. shutting down: 1001).
    pub fn close(&mut self, code: u16, reason: &'static str) -> Step {
        if self.is_closed() {
            return Step::default();
        }
        let close = Close {
            code,
            reason,
            cooldown: false,
        };
        self.closed = Some(close);
        Step {
            frames: Vec::new(),
            close: Some(close),
        }
    }

    // ----- the gates and the frames

    /// The gates every frame meets first: nothing after a close; the
    /// heartbeat restarts; the token bucket. `Some` ends the frame there.
    fn admit_frame(&mut self, now: Instant) -> Option<Step> {
        if self.is_closed() {
            return Some(Step::default());
        }
        self.heartbeat_deadline = now + self.heartbeat;
        if self.bucket.try_acquire_at(now) {
            return None;
        }
        Some(match self.warnings.record() {
            WarningOutcome::Warn(count) => {
                tracing::warn!(ip = %self.peer.ip, count, "rate limit exceeded");
                Step::frame(ServerMessage::RateLimitExceeded {
                    message: "Too many messages; slow down.".to_owned(),
                })
            }
            WarningOutcome::Close => {
                tracing::warn!(ip = %self.peer.ip, "rate limit exceeded repeatedly; closing and cooling down the IP");
                let close = Close {
                    code: close::RATE_LIMITED,
                    reason: "rate limited",
                    cooldown: true,
                };
                self.closed = Some(close);
                Step {
                    frames: vec![ServerMessage::RateLimitExceeded {
                        message: "Too many messages; disconnected.".to_owned(),
                    }],
                    close: Some(close),
                }
            }
        })
    }

    fn error(&self, error: SafeError, reference: Option<u64>) -> ServerMessage {
        ServerMessage::Error {
            error: error.public_message(self.endpoint.config().debug, None),
            reference,
        }
    }

    fn error_and_close(&mut self, error: SafeError, code: u16, reason: &'static str) -> Step {
        let frame = self.error(error, None);
        let mut step = self.close(code, reason);
        step.frames.insert(0, frame);
        step
    }

    fn session_id(&self) -> &str {
        self.peer
            .session
            .as_ref()
            .map(|session| session.id.as_str())
            .unwrap_or_default()
    }

    /// Whether this connection's session was destroyed by logout.
    fn is_revoked(&self) -> bool {
        self.peer.session.is_some() && self.endpoint.revoked().is_revoked(self.session_id())
    }

    /// Closes a logged-out session's socket (4403). Also checked before
    /// server-initiated updates (ticks, subscriptions), so a silent tab
    /// does not keep receiving the user's data after logout.
    fn session_ended(&mut self) -> Step {
        tracing::info!(ip = %self.peer.ip, "closing a socket of a logged-out session");
        self.error_and_close(SafeError::LoginRequired, close::FORBIDDEN, "session ended")
    }

    fn deliver(&mut self, outcome: Outcome) -> Step {
        let mut step = Step::frames(outcome.frames);
        if outcome.close {
            step.close = self.close(close::INTERNAL, "internal error").close;
        }
        step
    }

    fn unix_now(&self, now: Instant) -> u64 {
        let (opened_at, opened_unix) = self.opened;
        opened_unix.saturating_add(now.saturating_duration_since(opened_at).as_secs())
    }

    /// An `event` frame for the mounted view. For a `reauth_each_event`
    /// view, an event the allowlist accepts first reloads the user.
    async fn event(&mut self, event: &str, params: &Params, reference: Option<u64>) -> Step {
        let Some(live) = &self.live else {
            return Step::frame(self.error(SafeError::NotMounted, reference));
        };
        if live.meta().reauth_each_event && live.accepts_event(event) {
            self.reload_identity().await;
        }
        match self.live.as_mut() {
            Some(live) => {
                let outcome = live.handle_event(event, params, reference).await;
                self.deliver(outcome)
            }
            None => Step::frame(self.error(SafeError::NotMounted, reference)),
        }
    }

    /// The user as the auth backend knows them now: a permission removed
    /// or an account deactivated while the socket is open counts from the
    /// next event (`reauth_each_event`). Reloaded by the session's user id,
    /// so a user who is inactive for one event can be active again for the
    /// next; without a backend the identity stays as resolved at connect.
    async fn reload_identity(&mut self) {
        let Some(backend) = self.endpoint.auth.clone() else {
            return;
        };
        let user_id = self
            .peer
            .session
            .as_ref()
            .and_then(|session| session.user_id.clone())
            .or_else(|| self.peer.identity.user_id().map(str::to_owned));
        let Some(user_id) = user_id else {
            return;
        };
        let identity = match backend.load_user(&user_id).await {
            Some(user) if user.is_active => Identity::User(user),
            _ => Identity::Anonymous,
        };
        if identity != self.peer.identity {
            tracing::info!(ip = %self.peer.ip, "the user changed in the auth backend since the socket opened");
            if let Some(live) = &mut self.live {
                live.set_identity(identity.clone());
            }
            self.peer.identity = identity;
        }
    }

    async fn mount(
        &mut self,
        view: &str,
        params: Params,
        url: Option<String>,
        token: &str,
        now: Instant,
    ) -> Step {
        if self.live.is_some() {
            return Step::frame(self.error(SafeError::MalformedMessage, None));
        }
        let Some(factory) = self.endpoint.find_view(view) else {
            tracing::warn!(ip = %self.peer.ip, view = %sanitize_for_log(view), "mount refused: unknown view");
            return self.error_and_close(
                SafeError::UnknownView,
                close::UNKNOWN_VIEW,
                "unknown view",
            );
        };
        let meta = factory.meta();
        let config = self.endpoint.config();
        let decoded = MountToken::decode(
            self.endpoint.signer(),
            token,
            self.unix_now(now),
            config.mount_token_ttl_secs,
        );
        let valid = match &decoded {
            Ok(token) => token.matches(meta.name, self.session_id(), self.peer.identity.user_id()),
            Err(_) => false,
        };
        if !valid {
            tracing::warn!(ip = %self.peer.ip, view = meta.name, reason = ?decoded.err(), "mount refused: mount token");
            return self.error_and_close(
                SafeError::InvalidMountToken,
                close::FORBIDDEN,
                "invalid mount token",
            );
        }
        let url = url
            .map(|url| safe_next_path(&url))
            .unwrap_or_else(|| "/".to_owned());
        let ctx = Arc::new(
            Ctx::new(
                self.peer.identity.clone(),
                self.peer.session.as_ref().map(|s| s.id.clone()),
                url.clone(),
                Some(self.peer.ip),
                self.endpoint.state.clone(),
                config.debug,
            )
            .with_csrf_token(self.peer.session.as_ref().map(|s| s.csrf_token.clone())),
        );
        let mounted = LiveSession::mount(
            factory,
            ctx,
            params,
            self.endpoint.limiter.clone(),
            &config.login_url,
        )
        .await;
        match mounted {
            Ok((live, frames, subscriptions)) => {
                self.new_subscriptions.extend(subscriptions);
                if let Some(ms) = meta.tick_ms {
                    let period = Duration::from_millis(ms.max(10));
                    self.tick = Some(Tick {
                        period,
                        next: now + period,
                    });
                }
                self.live = Some(live);
                Step::frames(frames)
            }
            Err(refusal) => {
                let step = match &refusal {
                    MountRefusal::LoginRequired { login_url } => {
                        let to = login_redirect_target(login_url, &url);
                        let mut step = self.close(close::FORBIDDEN, "login required");
                        step.frames.push(ServerMessage::Navigate { to });
                        step
                    }
                    MountRefusal::PermissionDenied => self.error_and_close(
                        SafeError::PermissionDenied,
                        close::FORBIDDEN,
                        "permission denied",
                    ),
                    MountRefusal::Failed(error) => {
                        let frame = self.error(*error, None);
                        let mut step = self.close(close::INTERNAL, "mount failed");
                        step.frames.push(frame);
                        step
                    }
                };
                self.mount_refusal = Some(refusal);
                step
            }
        }
    }
}
