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
//! the endpoint's auth backend, and the mount's checks run again); `replay`
//! (a queued offline action) first meets the offline checks of
//! [`crate::offline`] (opt-in, key, owner, age, idempotency), then the
//! same path as `event`, and is answered with `replayed` as well.
//!
//! Once a `Step` carried a close, the connection is closed: every later
//! input returns an empty step and nothing more is processed.
//!
//! # Reconnect grace
//!
//! When the socket drops without a close from the user (network, a
//! half-open TCP connection, a server restart), the driver calls
//! [`Connection::detach`]: the view stays mounted, its ticks and
//! subscription messages still run, and the frames they make are kept
//! (up to [`MAX_MISSED_FRAMES`] frames and [`MAX_MISSED_BYTES`] bytes; past
//! that, the client gets one `html_update` instead) until the client comes
//! back within `DJUST_RECONNECT_GRACE_SECS`. After every mount and resume
//! the client holds a [`ResumeToken`] (in the `mount` and `resumed` frames): a new socket's `resume` frame with
//! it makes a step carrying a [`ResumeRequest`], which the driver takes to
//! the detached connection, whose [`Connection::resume`] checks that the
//! new peer is the same session and user, rotates the token and returns
//! `resumed` followed by what the client missed.
//!
//! Handlers are application code and may be `async` (a database call), so
//! the inputs that run them are `async fn`s; the core itself never touches
//! a socket, a timer or the clock: time comes in as `now`.

use std::any::Any;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::digest::same_render;
use super::endpoint::Endpoint;
use super::flash::flash_link;
use super::gates::json_depth_exceeds;
use super::persist::Snapshot;
use super::resume::ResumeToken;
use super::router::{routable_url, same_origin_url, url_params, RouteError};
use super::session::{LiveSession, MountRefusal, MountRequest, Mounted, Outcome};
use crate::auth::{generate_token, login_redirect_target, Identity, MountToken, Signer};
use crate::limits::{RateWarnings, TokenBucket, WarningOutcome};
use crate::protocol::{close, ClientMessage, HistoryKind, ServerMessage};
use crate::security::{sanitize_for_log, SafeError};
use crate::session::Session;
use crate::upload::{Announcement, Uploads};
use crate::view::flash::{flash_frames, push_flash};
use crate::view::{Ctx, Flash, InfoStream, Navigation, Params, ViewFactory};

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client address (after trusted proxies).
    pub ip: IpAddr,
    /// The session named by the cookie, if any.
    pub session: Option<Session>,
    /// Who is logged in.
    pub identity: Identity,
    /// The site's tenant (see [`crate::tenant`]): tokens are signed and
    /// checked with its keys.
    pub tenant: Option<crate::tenant::Tenant>,
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

/// A client asked to resume a detached view: the driver finds the
/// connection detached under `id` and calls its [`Connection::resume`]
/// (or this connection's [`Connection::resume_refused`] if there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRequest {
    /// The detached view's id (from the signature-checked token).
    pub id: String,
    /// The last version the client applied.
    pub version: u64,
}

/// Why [`Connection::resume`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeRefusal {
    /// The connection is not waiting for its client.
    NotDetached,
    /// The new socket belongs to another session or user.
    Foreign,
}

/// Frames a detached view keeps for its client, at most.
pub const MAX_MISSED_FRAMES: usize = 64;

/// Bytes of frames a detached view keeps for its client, at most.
pub const MAX_MISSED_BYTES: usize = 256 * 1024;

/// Navigations one input may chain (a `handle_params` that patches again,
/// a mount that navigates on): past this, the client gets an error.
pub const MAX_NAVIGATION_HOPS: usize = 4;

/// What to do after one input: send `frames` in order, then close if
/// `close` is set.
#[derive(Debug, Default)]
pub struct Step {
    /// Frames to send, in order.
    pub frames: Vec<ServerMessage>,
    /// Close the socket after sending the frames.
    pub close: Option<Close>,
    /// The client asked to resume a detached view.
    pub resume: Option<ResumeRequest>,
    /// The view was replaced (live navigation): drop the subscriptions
    /// taken so far before taking the new ones.
    pub unsubscribe_all: bool,
}

/// A URL resolved for this connection: the view serving it, its live
/// session, and the parameters for `handle_params`.
struct Target {
    factory: ViewFactory,
    group: Option<usize>,
    url: String,
    params: Params,
}

impl Step {
    fn frames(frames: Vec<ServerMessage>) -> Self {
        Step {
            frames,
            ..Step::default()
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

/// A view waiting for its client (see "Reconnect grace").
#[derive(Debug)]
struct Detached {
    /// When the grace window ends.
    until: Instant,
    /// The version the client had been sent when the socket dropped.
    version: u64,
    /// Frames made since, in order (empty once `overflow`).
    missed: Vec<ServerMessage>,
    missed_bytes: usize,
    /// More was missed than is kept: the client gets one `html_update`.
    overflow: bool,
    /// A `stream` frame was among the missed ones: items the view no
    /// longer has, which an `html_update` cannot bring back.
    streamed: bool,
}

/// One socket's protocol state (see the module docs).
pub struct Connection {
    /// The endpoint's signer, derived for the peer's tenant.
    signer: Signer,
    endpoint: Arc<Endpoint>,
    peer: Peer,
    id: String,
    bucket: TokenBucket,
    /// Live patches and navigations asked for by the client.
    nav_bucket: TokenBucket,
    warnings: RateWarnings,
    heartbeat: Duration,
    heartbeat_deadline: Instant,
    /// `now` and the Unix time when the connection opened, so mount tokens
    /// (which carry Unix times) are checked against the driver's clock.
    opened: (Instant, u64),
    live: Option<LiveSession>,
    /// The live session (router group) of the mounted view's route;
    /// `None` for a view served without a route.
    group: Option<usize>,
    tick: Option<Tick>,
    new_subscriptions: Vec<InfoStream>,
    mount_refusal: Option<MountRefusal>,
    closed: Option<Close>,
    /// The id of the resume token last handed out (`None`: no grace).
    resume_id: Option<String>,
    detached: Option<Detached>,
    /// When the mounted view hibernates if nothing reaches it before
    /// (`DJUST_HIBERNATE_AFTER_SECS`; `None`: not scheduled).
    hibernate_at: Option<Instant>,
    /// Uploads in progress or waiting for a handler (created at the first).
    uploads: Option<Uploads>,
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
        let signer = endpoint.signer_for(peer.tenant.as_ref());
        Connection {
            signer,
            bucket: TokenBucket::new_at(config.rate_per_second, config.rate_burst, now),
            nav_bucket: TokenBucket::new_at(
                config.navigations_per_second,
                config.navigation_burst,
                now,
            ),
            warnings: RateWarnings::new(config.max_rate_warnings),
            heartbeat,
            heartbeat_deadline: now + heartbeat,
            opened: (now, unix_now),
            endpoint,
            peer,
            id: generate_token(),
            live: None,
            group: None,
            tick: None,
            new_subscriptions: Vec::new(),
            mount_refusal: None,
            closed: None,
            resume_id: None,
            detached: None,
            hibernate_at: None,
            uploads: None,
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

    /// Whether the view waits for its client (the socket dropped).
    pub fn is_detached(&self) -> bool {
        self.detached.is_some()
    }

    /// The id of the last resume token handed out, under which a detached
    /// connection is found.
    pub fn resume_id(&self) -> Option<&str> {
        self.resume_id.as_deref()
    }

    /// What keeping this connection costs, estimated: the connection
    /// itself and [`Connection::heap_estimate`].
    pub fn memory_estimate(&self) -> usize {
        std::mem::size_of::<Connection>() + self.heap_estimate()
    }

    /// What this connection holds on the heap, estimated: the mounted
    /// view (its state, see [`LiveSession::state_bytes`], its context and
    /// its last tree), who it serves, and the frames kept for a detached
    /// client. Allocator overhead is not included.
    pub fn heap_estimate(&self) -> usize {
        use std::mem::size_of;
        let view = self.live.as_ref().map_or(0, |live| {
            live.heap_bytes() + live.state_bytes() + size_of::<Ctx>() + live.url().len()
        });
        let missed = self.detached.as_ref().map_or(0, |detached| {
            detached.missed_bytes + detached.missed.capacity() * size_of::<ServerMessage>()
        });
        let session = self.peer.session.as_ref().map_or(0, |session| {
            // The connection's copy, and the context's id and CSRF token.
            2 * (session.id.len() + session.csrf_token.len())
                + session.user_id.as_ref().map_or(0, String::len)
                + session
                    .data
                    .iter()
                    .map(|(key, value)| key.len() + value.len() + 64)
                    .sum::<usize>()
        });
        let ids = self.id.len() + self.resume_id.as_ref().map_or(0, String::len);
        view + missed + session + ids
    }

    /// The next instant [`Connection::on_timeout`] must be called at: the
    /// heartbeat deadline (the end of the grace window when detached) or
    /// the next tick, whichever is first. `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        let deadline = match &self.detached {
            Some(detached) => detached.until,
            None => self.heartbeat_deadline,
        };
        let deadline = match self.hibernate_at {
            Some(at) => at.min(deadline),
            None => deadline,
        };
        Some(match self.tick {
            Some(tick) => tick.next.min(deadline),
            None => deadline,
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
                digest,
            } => {
                self.mount(&view, params, url, &mount_token, digest.as_deref(), now)
                    .await
            }
            ClientMessage::Event {
                event,
                params,
                target,
                reference,
            } => {
                self.event(&event, &params, target.as_deref(), reference, now)
                    .await
            }
            ClientMessage::Replay {
                event,
                params,
                key,
                at,
                owner,
                reference,
            } => {
                let action = crate::offline::OfflineAction {
                    event,
                    params,
                    key,
                    at,
                    owner,
                };
                self.replay(action, reference, now).await
            }
            ClientMessage::Upload {
                slot,
                reference,
                name,
                size,
                mime,
            } => {
                self.announce_upload(&slot, &reference, &name, size, &mime, now)
                    .await
            }
            ClientMessage::UploadCancel { reference } => {
                if let Some(uploads) = self.uploads.as_mut() {
                    uploads.cancel(&reference);
                }
                Step::default()
            }
            ClientMessage::Resume {
                view,
                token,
                version,
            } => self.resume_request(&view, &token, version, now),
            ClientMessage::LivePatch { url, kind } | ClientMessage::LiveNavigate { url, kind }
                if self.live.is_none() =>
            {
                let _ = (url, kind);
                Step::frame(self.error(SafeError::NotMounted, None))
            }
            ClientMessage::LivePatch { url, kind } => {
                if let Some(step) = self.admit_navigation(now) {
                    return step;
                }
                let navigation = Navigation::Patch { url, history: kind };
                self.deliver_navigation(Some(navigation), Vec::new(), Step::default(), now)
                    .await
            }
            ClientMessage::LiveNavigate { url, kind } => {
                if let Some(step) = self.admit_navigation(now) {
                    return step;
                }
                let navigation = Navigation::Navigate { url, history: kind };
                self.deliver_navigation(Some(navigation), Vec::new(), Step::default(), now)
                    .await
            }
            ClientMessage::RequestHtml => match self.live.as_mut() {
                Some(live) => {
                    let frame = live.html_update();
                    self.note_activity(now);
                    Step::frame(frame)
                }
                None => Step::frame(self.error(SafeError::NotMounted, None)),
            },
        }
    }

    /// A binary frame arrived at `now`: an upload chunk, for a mounted view
    /// that declares upload slots; otherwise not part of the protocol (an
    /// error and close 1003).
    pub async fn on_binary(&mut self, bytes: &[u8], now: Instant) -> Step {
        if let Some(step) = self.admit_frame(now) {
            return step;
        }
        let takes_uploads = self
            .live
            .as_ref()
            .is_some_and(|live| !live.meta().uploads.is_empty());
        if takes_uploads {
            return self.upload_chunk(bytes, now).await;
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
        if self.is_closed() || self.is_detached() {
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
        if self.is_detached() {
            return Step::default();
        }
        self.close(close::NORMAL, "bye")
    }

    // ----- inputs from the server side

    /// A subscription of the mounted view delivered `message` at `now`.
    pub async fn on_info(&mut self, message: Box<dyn Any + Send>, now: Instant) -> Step {
        if self.is_closed() {
            return Step::default();
        }
        if self.is_revoked() {
            return self.session_ended();
        }
        match self.live.as_mut() {
            Some(live) => {
                let outcome = live.handle_info(message).await;
                self.deliver(outcome, now).await
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
        match &self.detached {
            Some(detached) if now >= detached.until => {
                tracing::debug!(ip = %self.peer.ip, "reconnect grace over; dropping the view");
                return self.close(close::GOING_AWAY, "reconnect grace over");
            }
            Some(_) => {}
            None if now >= self.heartbeat_deadline => {
                // A silent socket may be half-open (the network went away
                // without a FIN): the view waits for its client like after
                // any other drop; only the socket closes.
                if self.detach(now).is_some() {
                    return Step {
                        close: Some(Close {
                            code: close::TIMEOUT,
                            reason: "heartbeat timeout",
                            cooldown: false,
                        }),
                        ..Step::default()
                    };
                }
                return self.close(close::TIMEOUT, "heartbeat timeout");
            }
            None => {}
        }
        if self.hibernate_at.is_some_and(|at| now >= at) {
            self.hibernate();
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
                self.deliver(outcome, now).await
            }
            None => Step::default(),
        }
    }

    /// Hibernates the mounted view now, as `DJUST_HIBERNATE_AFTER_SECS`
    /// without input would (see [`LiveSession::hibernate`]): `false` when
    /// nothing is mounted or it was hibernating already.
    pub fn hibernate(&mut self) -> bool {
        self.hibernate_at = None;
        self.live.as_mut().is_some_and(LiveSession::hibernate)
    }

    /// The server closes the connection (e.g. restarting: 1012).
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
            close: Some(close),
            ..Step::default()
        }
    }

    // ----- the gates and the frames

    /// The gates every frame meets first: nothing after a close; the
    /// heartbeat restarts; the token bucket. `Some` ends the frame there.
    fn admit_frame(&mut self, now: Instant) -> Option<Step> {
        // Closed, or detached (its socket is gone): no frame is processed.
        if self.is_closed() || self.is_detached() {
            return Some(Step::default());
        }
        self.heartbeat_deadline = now + self.heartbeat;
        if self.bucket.try_acquire_at(now) {
            return None;
        }
        Some(self.rate_refusal())
    }

    /// The navigation bucket: live patches and navigations the client asks
    /// for cost a mount or a `handle_params` each. `Some` refuses it, with
    /// the same warnings (and close) as the frame bucket.
    fn admit_navigation(&mut self, now: Instant) -> Option<Step> {
        if self.nav_bucket.try_acquire_at(now) {
            return None;
        }
        tracing::warn!(ip = %self.peer.ip, "navigation rate exceeded");
        Some(self.rate_refusal())
    }

    /// A warning, or after too many a close 4429 with a cooldown.
    fn rate_refusal(&mut self) -> Step {
        match self.warnings.record() {
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
                    ..Step::default()
                }
            }
        }
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

    /// The step for a callback's outcome: its frames, then the navigation
    /// it asked for (see [`Connection::deliver_navigation`]); a detached
    /// view keeps the frames for its client.
    /// Input reached the mounted view at `now`: it hibernates (drops its
    /// rendered page, see [`LiveSession::hibernate`]) once
    /// `DJUST_HIBERNATE_AFTER_SECS` pass without more.
    fn note_activity(&mut self, now: Instant) {
        let after = self.endpoint.config().hibernate_after_secs;
        self.hibernate_at = match after {
            0 => None,
            secs => now.checked_add(Duration::from_secs(secs)),
        };
    }

    async fn deliver(&mut self, outcome: Outcome, now: Instant) -> Step {
        self.note_activity(now);
        let Outcome {
            frames,
            close: broken,
            navigation,
            flash,
        } = outcome;
        let mut step = Step::frames(frames);
        if broken {
            step.close = self.close(close::INTERNAL, "internal error").close;
            return self.keep_if_detached(step);
        }
        self.deliver_navigation(navigation, flash, step, now).await
    }

    /// Follows `navigation` (and what each hop asks for next, up to
    /// [`MAX_NAVIGATION_HOPS`]) after the frames of `step`, then shows the
    /// flash messages no new page took.
    async fn deliver_navigation(
        &mut self,
        mut navigation: Option<Navigation>,
        mut flash: Vec<Flash>,
        mut step: Step,
        now: Instant,
    ) -> Step {
        let mut hops = 0;
        while let Some(target) = navigation.take() {
            if step.close.is_some() {
                break;
            }
            hops += 1;
            if hops > MAX_NAVIGATION_HOPS {
                tracing::warn!(ip = %self.peer.ip, "navigation kept redirecting; stopped");
                step.frames
                    .push(self.error(SafeError::TooManyRedirects, None));
                break;
            }
            navigation = match target {
                Navigation::Redirect { url } => {
                    self.full_load(&mut step, &url, false, &mut flash, now);
                    None
                }
                Navigation::Patch { url, history } => {
                    self.patch_to(&url, history, &mut step, &mut flash).await
                }
                Navigation::Navigate { url, history } => {
                    self.navigate_to(&url, history, &mut step, &mut flash, now)
                        .await
                }
            };
        }
        if !flash.is_empty() {
            step.frames.push(ServerMessage::Flash {
                flash: flash_frames(&flash),
            });
        }
        self.keep_if_detached(step)
    }

    /// The step as sent: page titles get the site's name; a detached
    /// view's frames wait for its client (the close stays).
    fn keep_if_detached(&mut self, mut step: Step) -> Step {
        for frame in &mut step.frames {
            if let ServerMessage::Title { title } = frame {
                *title = self.endpoint.page_title(title);
            }
        }
        if let Some(detached) = &mut self.detached {
            keep_missed(detached, std::mem::take(&mut step.frames));
        }
        step
    }

    /// Resolves `url` to the view serving it. A view served without a
    /// route (an `Endpoint` without a router, as in tests) keeps any URL
    /// of its own path.
    fn resolve(&self, url: &str) -> Result<Target, SafeError> {
        let url = same_origin_url(url).ok_or(SafeError::OffOriginNavigation)?;
        match self.endpoint.routes().resolve(&url) {
            Ok(resolved) => Ok(Target {
                factory: resolved.route.view,
                group: Some(resolved.route.group),
                url: resolved.url,
                params: resolved.params,
            }),
            Err(RouteError::OffOrigin) => Err(SafeError::OffOriginNavigation),
            Err(RouteError::NotFound) => {
                let live = self.live.as_ref().ok_or(SafeError::NoLiveRoute)?;
                let name = live.meta().name;
                let path = |url: &str| url.split('?').next().unwrap_or_default().to_owned();
                let unrouted = !self.endpoint.routes().serves(name);
                match self.endpoint.find_view(name) {
                    Some(factory) if unrouted && path(&url) == path(live.url()) => Ok(Target {
                        factory,
                        group: None,
                        params: url_params(&url, Vec::new()),
                        url,
                    }),
                    _ => Err(SafeError::NoLiveRoute),
                }
            }
        }
    }

    /// A full page load of `url` (a redirect, another live session, the
    /// login page): the `navigate` frame, through the flash link when
    /// messages must survive it.
    fn full_load(
        &mut self,
        step: &mut Step,
        url: &str,
        replace: bool,
        flash: &mut Vec<Flash>,
        now: Instant,
    ) {
        let session = self.peer.session.as_ref().map(|s| s.id.as_str());
        let to = flash_link(&self.signer, url, flash, session, self.unix_now(now));
        flash.clear();
        step.frames.push(ServerMessage::Navigate { to, replace });
    }

    /// A patch to `url`: the same view's `handle_params` with the new URL,
    /// the re-render, and (unless the browser already moved) the history
    /// entry. Returns what `handle_params` asked for next.
    async fn patch_to(
        &mut self,
        url: &str,
        history: HistoryKind,
        step: &mut Step,
        flash: &mut Vec<Flash>,
    ) -> Option<Navigation> {
        let target = match self.resolve(url) {
            Ok(target) => target,
            Err(error) => {
                tracing::info!(ip = %self.peer.ip, url = %sanitize_for_log(url), %error, "patch refused");
                step.frames.push(self.error(error, None));
                return None;
            }
        };
        let ctx = self.view_ctx(&target.url);
        let live = self.live.as_mut()?;
        if target.factory.meta().name != live.meta().name {
            tracing::info!(ip = %self.peer.ip, url = %sanitize_for_log(url), "patch refused: another view");
            step.frames
                .push(self.error(SafeError::PatchToOtherView, None));
            return None;
        }
        let (outcome, applied) = live.patch(ctx, &target.params).await;
        step.frames.extend(outcome.frames);
        if outcome.close {
            step.close = self.close(close::INTERNAL, "internal error").close;
            return None;
        }
        if applied && history != HistoryKind::Pop {
            step.frames.push(ServerMessage::LivePatch {
                to: target.url,
                kind: history,
            });
        }
        for message in outcome.flash {
            push_flash(flash, message);
        }
        outcome.navigation
    }

    /// A navigation to `url`: another view of the same live session is
    /// mounted on this socket after every check a fresh page runs; a route
    /// of another live session (or any navigation while detached) is a
    /// full page load. A refused target leaves the current view in place.
    async fn navigate_to(
        &mut self,
        url: &str,
        history: HistoryKind,
        step: &mut Step,
        flash: &mut Vec<Flash>,
        now: Instant,
    ) -> Option<Navigation> {
        let target = match self.resolve(url) {
            Ok(target) => target,
            Err(error) => {
                tracing::info!(ip = %self.peer.ip, url = %sanitize_for_log(url), %error, "navigation refused");
                step.frames.push(self.error(error, None));
                return None;
            }
        };
        let same_group = target.group.is_some() && target.group == self.group;
        if !same_group || self.is_detached() {
            self.full_load(step, &target.url, history != HistoryKind::Push, flash, now);
            return None;
        }
        let config = self.endpoint.config();
        let group = target
            .group
            .and_then(|index| self.endpoint.routes().groups().get(index));
        let request = MountRequest {
            factory: target.factory,
            ctx: self.view_ctx(&target.url),
            params: Params::new(),
            url_params: target.params,
            group,
            default_login_url: &config.login_url,
        };
        match LiveSession::mount(request, self.endpoint.limiter.clone()).await {
            Ok(mounted) => {
                let Mounted {
                    session,
                    frames,
                    subscriptions,
                    navigation,
                    flash: mount_flash,
                } = mounted;
                // The old view goes: its subscriptions, tick and uploads.
                step.unsubscribe_all = true;
                self.new_subscriptions = subscriptions;
                self.tick = None;
                self.uploads = None;
                self.start_tick(session.meta().tick_ms, now);
                self.note_activity(now);
                let meta = session.meta();
                let title = self.endpoint.page_title(session.title());
                self.live = Some(session);
                self.group = target.group;
                let resume_token = self.issue_resume_token(now);
                let mount_token = MountToken::new(
                    meta.name,
                    self.session_id().to_owned(),
                    self.peer.identity.user_id().map(str::to_owned),
                    self.unix_now(now),
                )
                .encode(&self.signer);
                for message in mount_flash {
                    push_flash(flash, message);
                }
                let mut frames = frames.into_iter();
                if let Some(ServerMessage::Mount { html, version, .. }) = frames.next() {
                    step.frames.push(ServerMessage::LiveNavigate {
                        to: target.url,
                        kind: history,
                        view: meta.name.to_owned(),
                        title,
                        html,
                        version,
                        mount_token,
                        resume_token,
                        flash: flash_frames(flash),
                    });
                    flash.clear();
                }
                step.frames.extend(frames);
                navigation
            }
            Err(MountRefusal::LoginRequired { login_url }) => {
                let to = login_redirect_target(&login_url, &target.url);
                self.full_load(step, &to, false, flash, now);
                None
            }
            Err(refusal) => {
                tracing::info!(ip = %self.peer.ip, url = %sanitize_for_log(url), ?refusal, "navigation refused by the target view");
                step.frames.push(self.error(refusal_error(&refusal), None));
                None
            }
        }
    }

    /// A fresh resume token for the mounted view (rotating the id), as the
    /// frame that hands it out; `None` when the grace is off.
    fn issue_resume_token(&mut self, now: Instant) -> Option<String> {
        let config = self.endpoint.config();
        if config.reconnect_grace_secs == 0 {
            return None;
        }
        let view = self.live.as_ref()?.meta().name;
        let token = ResumeToken::fresh(view, self.unix_now(now));
        let text = token.encode(&self.signer);
        self.resume_id = Some(token.id);
        Some(text)
    }

    fn resume_request(&mut self, view: &str, token: &str, version: u64, now: Instant) -> Step {
        if self.live.is_some() {
            return Step::frame(self.error(SafeError::MalformedMessage, None));
        }
        let config = self.endpoint.config();
        // The token is re-issued at every mount and resume, and a detached
        // view lives at most the grace window: older tokens are of no use.
        let max_age = config
            .heartbeat_timeout_secs
            .saturating_add(config.reconnect_grace_secs)
            .max(config.mount_token_ttl_secs);
        match ResumeToken::decode(&self.signer, token, self.unix_now(now), max_age) {
            Ok(token) if token.view == view && self.endpoint.find_view(view).is_some() => Step {
                resume: Some(ResumeRequest {
                    id: token.id,
                    version,
                }),
                ..Step::default()
            },
            refused => {
                tracing::info!(ip = %self.peer.ip, view = %sanitize_for_log(view), reason = ?refused.err(), "resume refused: token");
                self.resume_refused()
            }
        }
    }

    // ----- reconnect grace

    /// The socket dropped without a close from the user, at `now`: keep the
    /// view for the grace window. Returns the id to find it under, or
    /// `None` when it cannot wait (not mounted, closed, no grace).
    pub fn detach(&mut self, now: Instant) -> Option<String> {
        let grace = self.endpoint.config().reconnect_grace_secs;
        if self.is_closed() || grace == 0 || self.detached.is_some() {
            return None;
        }
        let version = self.live.as_ref()?.version();
        let id = self.resume_id.clone()?;
        self.detached = Some(Detached {
            until: now + Duration::from_secs(grace),
            version,
            missed: Vec::new(),
            missed_bytes: 0,
            overflow: false,
            streamed: false,
        });
        // Nobody sees the page until the client is back: keep the state.
        if self.endpoint.config().hibernate_after_secs > 0 {
            self.hibernate();
        }
        Some(id)
    }

    /// When the grace window of a detached view ends (`None`: attached).
    pub fn detached_until(&self) -> Option<Instant> {
        self.detached.as_ref().map(|detached| detached.until)
    }

    /// Whether the mounted view persists (`#[live_view(persist)]`).
    pub fn persists(&self) -> bool {
        self.live.as_ref().is_some_and(|live| live.meta().persist)
    }

    /// The mounted view's state to keep for a resume on any process, under
    /// the current resume id (`None`: not mounted, not `persist`, no grace,
    /// or the state does not serialize).
    pub fn snapshot(&self) -> Option<(String, Snapshot)> {
        let live = self.live.as_ref().filter(|live| live.meta().persist)?;
        let id = self.resume_id.clone()?;
        let state = live.snapshot_state()?;
        let snapshot = Snapshot {
            view: live.meta().name.to_owned(),
            session_id: self.peer.session.as_ref().map(|s| s.id.clone()),
            user_id: self.peer.identity.user_id().map(str::to_owned),
            url: live.url().to_owned(),
            version: live.version(),
            state,
        };
        Some((id, snapshot))
    }

    /// Resumes a persisted view on this fresh connection, at `now`: only
    /// for the session and the user it belongs to. The view goes through
    /// the same login and permission checks as a mount; a state that no
    /// longer deserializes (the view changed) is logged and the client
    /// mounts afresh. Returns `resumed` and the whole HTML.
    pub async fn restore(&mut self, snapshot: Snapshot, now: Instant) -> Step {
        if self.live.is_some() || self.is_closed() {
            return self.resume_refused();
        }
        let same_session =
            snapshot.session_id.as_deref() == self.peer.session.as_ref().map(|s| s.id.as_str());
        let same_user = snapshot.user_id.as_deref() == self.peer.identity.user_id();
        let factory = self.endpoint.find_view(&snapshot.view);
        let (Some(factory), true, true) = (factory, same_session, same_user) else {
            tracing::warn!(ip = %self.peer.ip, "restore refused: another session, user or view");
            return self.resume_refused();
        };
        let config = self.endpoint.config();
        let (group_index, _) = self.route_of(factory, &snapshot.url);
        let group = group_index.and_then(|index| self.endpoint.routes().groups().get(index));
        let request = MountRequest {
            factory,
            ctx: self.view_ctx(&snapshot.url),
            params: Params::new(),
            url_params: Params::new(),
            group,
            default_login_url: &config.login_url,
        };
        let restored = LiveSession::restore(
            request,
            &snapshot.state,
            snapshot.version,
            self.endpoint.limiter.clone(),
        )
        .await;
        match restored {
            Ok(mounted) => {
                self.new_subscriptions.extend(mounted.subscriptions);
                self.start_tick(mounted.session.meta().tick_ms, now);
                self.note_activity(now);
                let version = mounted.session.version();
                self.live = Some(mounted.session);
                self.group = group_index;
                let resume_token = self.issue_resume_token(now).unwrap_or_default();
                let mut step = Step::frame(ServerMessage::Resumed {
                    version,
                    resume_token,
                });
                step.frames.extend(mounted.frames);
                self.deliver_navigation(mounted.navigation, mounted.flash, step, now)
                    .await
            }
            Err(MountRefusal::Failed(_)) => {
                tracing::warn!(ip = %self.peer.ip, view = %sanitize_for_log(&snapshot.view), "restore failed (the state no longer fits the view?); the client mounts afresh");
                self.resume_refused()
            }
            Err(refusal) => self.refuse_mount(refusal, &snapshot.url),
        }
    }

    /// What a view mounted (or restored) at `url` for this peer sees.
    fn view_ctx(&self, url: &str) -> Arc<Ctx> {
        Arc::new(
            Ctx::new(
                self.peer.identity.clone(),
                self.peer.session.as_ref().map(|s| s.id.clone()),
                url,
                Some(self.peer.ip),
                self.endpoint.state.clone(),
                self.endpoint.config().debug,
            )
            .with_csrf_token(self.peer.session.as_ref().map(|s| s.csrf_token.clone()))
            .with_tenant(self.peer.tenant.clone()),
        )
    }

    // ----- uploads

    /// `upload`: the announcement's checks (see `crate::upload`), then an
    /// ack at offset 0 or the refusal.
    async fn announce_upload(
        &mut self,
        slot: &str,
        reference: &str,
        name: &str,
        size: u64,
        mime: &str,
        now: Instant,
    ) -> Step {
        let Some(live) = self.live.as_ref() else {
            return Step::frame(self.error(SafeError::NotMounted, None));
        };
        let declared = live.meta().upload_slot(slot);
        let allowed = declared
            .and_then(|slot| slot.permission)
            .is_none_or(|permission| self.peer.identity.has_perm(permission));
        let Some(dir) = self.endpoint.upload_dir.clone() else {
            return upload_error(Some(reference), &crate::upload::UploadError::UnknownSlot);
        };
        let limits = self.endpoint.upload_limits();
        let uploads = self
            .uploads
            .get_or_insert_with(|| Uploads::new(dir, limits, now));
        // Each tenant's files are in its own directory (a tenant id is a
        // DNS label: a plain, safe directory name).
        let subdir = self
            .peer
            .tenant
            .as_ref()
            .map(|tenant| format!("tenant-{tenant}"));
        let announced = Announcement {
            slot: declared,
            allowed,
            reference,
            name,
            size,
            mime,
            subdir: subdir.as_deref(),
        };
        match uploads.announce(announced, now).await {
            Ok(()) => Step::frame(ServerMessage::UploadAck {
                reference: reference.to_owned(),
                offset: 0,
                wait_ms: 0,
            }),
            Err(error) => {
                tracing::info!(ip = %self.peer.ip, slot = %sanitize_for_log(slot), %error, "upload refused");
                upload_error(Some(reference), &error)
            }
        }
    }

    /// One chunk: acknowledged with the offset reached (and `upload_done`
    /// at the end), or the entry is aborted with the reason.
    async fn upload_chunk(&mut self, bytes: &[u8], now: Instant) -> Step {
        let Some(uploads) = self.uploads.as_mut() else {
            return upload_error(None, &crate::upload::UploadError::UnknownReference);
        };
        match uploads.chunk(bytes, now).await {
            Ok(ack) => {
                let mut step = Step::frame(ServerMessage::UploadAck {
                    reference: ack.reference.clone(),
                    offset: ack.offset,
                    wait_ms: ack.wait_ms,
                });
                if ack.done {
                    step.frames.push(ServerMessage::UploadDone {
                        reference: ack.reference,
                    });
                }
                step
            }
            Err((reference, error)) => {
                tracing::info!(ip = %self.peer.ip, %error, "upload aborted");
                upload_error(reference.as_deref(), &error)
            }
        }
    }

    fn start_tick(&mut self, tick_ms: Option<u64>, now: Instant) {
        if let Some(ms) = tick_ms {
            let period = Duration::from_millis(ms.max(10));
            self.tick = Some(Tick {
                period,
                next: now + period,
            });
        }
    }

    /// The frame telling a client its token found no view: it mounts afresh.
    pub fn resume_refused(&mut self) -> Step {
        Step::frame(ServerMessage::ResumeRefused)
    }

    /// Gives the detached view to `peer`'s new socket, at `now`: the same
    /// session and user only. Rotates the resume token and returns
    /// `resumed` followed by what the client missed since `client_version`:
    /// the kept patches in order, or one `html_update` when it missed more
    /// than was kept or had not applied everything sent before the drop.
    pub fn resume(
        &mut self,
        peer: Peer,
        client_version: u64,
        now: Instant,
    ) -> Result<Step, ResumeRefusal> {
        if self.is_closed() || self.detached.is_none() {
            return Err(ResumeRefusal::NotDetached);
        }
        let same_session = peer.session.as_ref().map(|s| s.id.as_str())
            == self.peer.session.as_ref().map(|s| s.id.as_str());
        if !same_session || peer.identity.user_id() != self.peer.identity.user_id() {
            tracing::warn!(ip = %peer.ip, "resume refused: another session or user");
            return Err(ResumeRefusal::Foreign);
        }
        let Some(detached) = self.detached.take() else {
            return Err(ResumeRefusal::NotDetached);
        };
        self.peer.ip = peer.ip;
        self.heartbeat_deadline = now + self.heartbeat;
        self.note_activity(now);
        let Some(live) = self.live.as_mut() else {
            return Err(ResumeRefusal::NotDetached);
        };
        let current = live.version();
        // Missed frames that change no version (`push_event`, `stream`,
        // `title`) are kept too, so a client at `current` may still need
        // some.
        let missed = if client_version == detached.version && !detached.overflow {
            detached.missed
        } else if detached.streamed {
            // Stream items it missed exist only in the frames that were
            // not kept: a fresh page load mounts the view again, and its
            // `mount` inserts them again from their source.
            vec![ServerMessage::Navigate {
                to: live.url().to_owned(),
                replace: true,
            }]
        } else if client_version == current {
            Vec::new()
        } else {
            vec![live.html_update()]
        };
        let resume_token = self.issue_resume_token(now).unwrap_or_default();
        let mut frames = vec![ServerMessage::Resumed {
            version: current,
            resume_token,
        }];
        frames.extend(missed);
        Ok(Step::frames(frames))
    }

    fn unix_now(&self, now: Instant) -> u64 {
        let (opened_at, opened_unix) = self.opened;
        opened_unix.saturating_add(now.saturating_duration_since(opened_at).as_secs())
    }

    /// An `event` frame for the mounted view. For a `reauth_each_event`
    /// view, an event the allowlist accepts first reloads the user.
    async fn event(
        &mut self,
        event: &str,
        params: &Params,
        target: Option<&str>,
        reference: Option<u64>,
        now: Instant,
    ) -> Step {
        let Some(live) = &self.live else {
            return Step::frame(self.error(SafeError::NotMounted, reference));
        };
        let accepted = match target {
            Some(target) => live.accepts_component_event(target, event),
            None => live.accepts_event(event),
        };
        if live.meta().reauth_each_event && accepted {
            self.reload_identity().await;
        }
        let Some(live) = self.live.as_mut() else {
            return Step::frame(self.error(SafeError::NotMounted, reference));
        };
        // Finished uploads are the handler's to consume.
        if let Some(uploads) = self.uploads.as_mut() {
            live.lend_uploads(uploads.lend_completed());
        }
        let outcome = match target {
            Some(target) => {
                live.handle_component_event(target, event, params, reference)
                    .await
            }
            None => live.handle_event(event, params, reference).await,
        };
        let left = live.reclaim_uploads();
        if let Some(uploads) = self.uploads.as_mut() {
            uploads.give_back(left);
        }
        self.deliver(outcome, now).await
    }

    /// A `replay` frame: the offline checks ([`crate::offline::check_action`]),
    /// the idempotency key claimed for this session and tenant, then the
    /// same dispatch as [`Connection::event`]; the event's frames are
    /// followed by `replayed` with the action's result.
    async fn replay(
        &mut self,
        action: crate::offline::OfflineAction,
        reference: Option<u64>,
        now: Instant,
    ) -> Step {
        use crate::offline::{check_action, scope, ActionLimits, ActionResult, Claim};
        let Some(live) = &self.live else {
            return Step::frame(self.error(SafeError::NotMounted, reference));
        };
        let replayed = |result: ActionResult| ServerMessage::Replayed { result, reference };
        let limits = ActionLimits {
            max_age_ms: self
                .endpoint
                .config()
                .offline_max_age_secs
                .saturating_mul(1000),
            now_ms: self.unix_now_ms(now),
        };
        let session = self.peer.session.as_ref().map(|s| s.id.as_str());
        let stamp = match check_action(
            live.meta(),
            &action,
            &self.signer,
            session,
            self.peer.identity.user_id(),
            limits,
        ) {
            Ok(stamp) => stamp,
            Err(result) => {
                tracing::info!(view = live.meta().name, event = %sanitize_for_log(&action.event), code = ?result.code, "offline replay refused");
                return Step::frame(replayed(result));
            }
        };
        let scope = scope(self.peer.tenant.as_ref(), session.unwrap_or_default());
        let keys = self.endpoint.offline_keys.clone();
        let (view, reauth) = (live.meta().name, live.meta().reauth_each_event);
        match keys.claim(&scope, &action.key).await {
            Ok(Claim::New) => {}
            Ok(Claim::Seen(first)) => {
                return Step::frame(replayed(crate::offline::duplicate(&action.key, first)));
            }
            Err(error) => {
                // Fail closed: without the claim the action might apply
                // twice; the client keeps it queued and retries.
                tracing::warn!(view, %error, "offline replay not applied: idempotency store unavailable");
                return Step::frame(replayed(crate::offline::store_unavailable(&action.key)));
            }
        }
        if reauth {
            self.reload_identity().await;
        }
        let Some(live) = self.live.as_mut() else {
            crate::offline::forget(keys.as_ref(), &scope, &action.key).await;
            return Step::frame(self.error(SafeError::NotMounted, reference));
        };
        if let Some(uploads) = self.uploads.as_mut() {
            live.lend_uploads(uploads.lend_completed());
        }
        let (outcome, result) = live
            .replay_event(&action.event, &action.params, stamp, reference)
            .await;
        let left = live.reclaim_uploads();
        if let Some(uploads) = self.uploads.as_mut() {
            uploads.give_back(left);
        }
        crate::offline::record(keys.as_ref(), &scope, &action.key, result.status).await;
        let mut step = self.deliver(outcome, now).await;
        step.frames.push(replayed(result));
        step
    }

    /// `now` as milliseconds since the Unix epoch (the connection's clock).
    fn unix_now_ms(&self, now: Instant) -> u64 {
        let (opened_at, opened_unix) = self.opened;
        opened_unix.saturating_mul(1000).saturating_add(
            u64::try_from(now.saturating_duration_since(opened_at).as_millis()).unwrap_or(u64::MAX),
        )
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
        digest: Option<&str>,
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
            &self.signer,
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
            .and_then(|url| routable_url(&url))
            .unwrap_or_else(|| "/".to_owned());
        let (group_index, url_params) = match self.route_of(factory, &url) {
            (group, Some(params)) => (group, params),
            (_, None) => {
                tracing::warn!(ip = %self.peer.ip, view = meta.name, url = %sanitize_for_log(&url), "mount refused: the URL is not a route of the view");
                return self.error_and_close(
                    SafeError::NoLiveRoute,
                    close::UNKNOWN_VIEW,
                    "no such route",
                );
            }
        };
        let group = group_index.and_then(|index| self.endpoint.routes().groups().get(index));
        let request = MountRequest {
            factory,
            ctx: self.view_ctx(&url),
            params,
            url_params,
            group,
            default_login_url: &config.login_url,
        };
        match LiveSession::mount(request, self.endpoint.limiter.clone()).await {
            Ok(mounted) => {
                self.new_subscriptions.extend(mounted.subscriptions);
                self.start_tick(meta.tick_ms, now);
                self.note_activity(now);
                self.live = Some(mounted.session);
                self.group = group_index;
                let mut frames = mounted.frames;
                let token = self.issue_resume_token(now);
                if let Some(ServerMessage::Mount {
                    resume_token,
                    html,
                    unchanged,
                    ..
                }) = frames.first_mut()
                {
                    *resume_token = token;
                    // The page shows this render already: keep its DOM.
                    if same_render(digest, html) {
                        html.clear();
                        *unchanged = true;
                    }
                }
                self.deliver_navigation(
                    mounted.navigation,
                    mounted.flash,
                    Step::frames(frames),
                    now,
                )
                .await
            }
            Err(refusal) => self.refuse_mount(refusal, &url),
        }
    }

    /// The live session of the route of `factory`'s view matching `url`,
    /// and the URL's parameters; `(None, None)` when the view has routes
    /// and none matches. A view served without a route takes any URL:
    /// only its query's parameters.
    fn route_of(&self, factory: ViewFactory, url: &str) -> (Option<usize>, Option<Params>) {
        let name = factory.meta().name;
        let routes = self.endpoint.routes();
        if !routes.serves(name) {
            return (None, Some(url_params(url, Vec::new())));
        }
        match routes.resolve(url) {
            Ok(resolved) if resolved.route.view.meta().name == name => {
                (Some(resolved.route.group), Some(resolved.params))
            }
            _ => (None, None),
        }
    }

    /// The frames and close for a refused mount (or restore) at `url`.
    fn refuse_mount(&mut self, refusal: MountRefusal, url: &str) -> Step {
        let step = match &refusal {
            MountRefusal::LoginRequired { login_url } => {
                let to = login_redirect_target(login_url, url);
                let mut step = self.close(close::FORBIDDEN, "login required");
                step.frames
                    .push(ServerMessage::Navigate { to, replace: false });
                step
            }
            MountRefusal::PermissionDenied => self.error_and_close(
                SafeError::PermissionDenied,
                close::FORBIDDEN,
                "permission denied",
            ),
            MountRefusal::BadRequest(_) | MountRefusal::NotFound => {
                let frame = self.error(refusal_error(&refusal), None);
                let mut step = self.close(close::NORMAL, "bad request");
                step.frames.push(frame);
                step
            }
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

/// The error a client is told for a refused mount or navigation.
fn refusal_error(refusal: &MountRefusal) -> SafeError {
    match refusal {
        MountRefusal::LoginRequired { .. } => SafeError::LoginRequired,
        MountRefusal::PermissionDenied => SafeError::PermissionDenied,
        MountRefusal::BadRequest(error) | MountRefusal::Failed(error) => *error,
        MountRefusal::NotFound => SafeError::NotFound,
    }
}

/// Keeps `frames` for a detached client, within the limits; past them,
/// only that it missed too much.
fn keep_missed(detached: &mut Detached, frames: Vec<ServerMessage>) {
    detached.streamed |= frames
        .iter()
        .any(|frame| matches!(frame, ServerMessage::Stream { .. }));
    if detached.overflow {
        return;
    }
    for frame in frames {
        let bytes = frame.to_json().len();
        if detached.missed.len() >= MAX_MISSED_FRAMES
            || detached.missed_bytes + bytes > MAX_MISSED_BYTES
        {
            detached.overflow = true;
            detached.missed = Vec::new();
            detached.missed_bytes = 0;
            return;
        }
        detached.missed_bytes += bytes;
        detached.missed.push(frame);
    }
}

/// The frame for a refused or aborted upload.
fn upload_error(reference: Option<&str>, error: &crate::upload::UploadError) -> Step {
    Step::frame(ServerMessage::UploadError {
        reference: reference.map(str::to_owned),
        error: error.to_string(),
    })
}
