//! [`TestClient`]: drives one live view in-process, without sockets.
//!
//! It drives the same protocol core the server drives behind a WebSocket
//! ([`Connection`]): every frame is a JSON text frame meeting every gate a
//! browser's frame meets (the per-connection token bucket, size and depth
//! limits, parsing, the signed mount token, the allowlist, parameter
//! decoding, permissions, rate limits), then render, diff and frames. So a
//! test sees exactly the frames a browser would get. Each client owns a
//! small single-threaded tokio runtime, so tests stay plain `#[test]`s.
//!
//! Time is virtual: each frame is sent [`TestClientBuilder::frame_spacing`]
//! after the previous one (10 ms by default: a fast user, well inside the
//! default 100 frames/s), and [`TestClient::advance`] moves the clock, so
//! rate-limit and heartbeat tests need no sleeps.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use djust_runtime::auth::{generate_token, Identity, MountToken, SecretKey, Signer, User};
use djust_runtime::config::Config;
use djust_runtime::live::{
    Connection, Endpoint, LiveGroup, LiveSession, MountRefusal, Peer, Router, Step,
};
use djust_runtime::protocol::{FlashFrame, Patch, ServerMessage};
use djust_runtime::security::SafeError;
use djust_runtime::session::Session;
use djust_runtime::tenant::Tenant;
use djust_runtime::upload::{UploadDir, MAX_CHUNK_BYTES};
use djust_runtime::view::{AppState, InfoStream, LiveView, Params, ViewFactory, ViewMeta};
use futures_util::{FutureExt, StreamExt};
use serde_json::{json, Value};

/// Builds a [`TestClient`]: who is logged in, URL, mount params, app state.
pub struct TestClientBuilder {
    factory: ViewFactory,
    identity: Identity,
    url: String,
    params: Params,
    state: AppState,
    config: Config,
    session_id: Option<String>,
    ip: IpAddr,
    frame_spacing: Duration,
    routes: Vec<(String, ViewFactory)>,
    groups: Vec<LiveGroup>,
    tenant: Option<Tenant>,
}

impl TestClientBuilder {
    /// Mounts as a request of `tenant` would (`ctx.tenant()`, its
    /// rate-limit buckets and keys; see `djust::tenant`).
    pub fn tenant(mut self, tenant: Tenant) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// Serves the mounted view at route `pattern` (`/contacts/{id}`), in
    /// the default live session: its path parameters reach
    /// `handle_params` (mount at a matching [`url`](Self::url)).
    pub fn route(mut self, pattern: &str) -> Self {
        self.routes.push((pattern.to_owned(), self.factory));
        self
    }

    /// Serves another view at `pattern` in the default live session, for
    /// live navigation tests.
    pub fn live(mut self, pattern: &str, view: ViewFactory) -> Self {
        self.routes.push((pattern.to_owned(), view));
        self
    }

    /// Serves a live session (its routes added with [`LiveGroup::live`]).
    pub fn live_session(mut self, group: LiveGroup) -> Self {
        self.groups.push(group);
        self
    }

    /// Mounts as this user (anonymous by default).
    pub fn user(mut self, user: User) -> Self {
        self.identity = Identity::User(user);
        self
    }

    /// The page URL (path and query) the view is mounted for.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// The `params` of the mount frame (must be a JSON object; others are ignored).
    pub fn params(mut self, params: Value) -> Self {
        if let Value::Object(map) = params {
            self.params = map;
        }
        self
    }

    /// Registers application state (like `App::state`).
    pub fn state<T: std::any::Any + Send + Sync>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Debug mode: error frames carry details.
    pub fn debug(mut self, debug: bool) -> Self {
        self.config.debug = debug;
        self
    }

    /// The server settings (limits, timeouts); the default is `Config::default()`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The client's address (127.0.0.1 by default).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// The virtual time between two frames (10 ms by default). Zero sends
    /// every frame at the same instant, as a flooding client would.
    pub fn frame_spacing(mut self, spacing: Duration) -> Self {
        self.frame_spacing = spacing;
        self
    }

    /// Opens the connection and mounts the view with a mount token signed
    /// for this session and user, as the page would embed it.
    pub fn mount(self) -> Result<TestClient, MountRefusal> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|_| MountRefusal::Failed(SafeError::Internal))?;
        let signer = Signer::from_key(&SecretKey::generate());
        let meta = self.factory.meta();
        let mut router = Router::new();
        for (pattern, view) in &self.routes {
            router
                .add(pattern, *view, 0)
                .map_err(|_| MountRefusal::Failed(SafeError::Internal))?;
        }
        for group in self.groups {
            router
                .add_group(group)
                .map_err(|_| MountRefusal::Failed(SafeError::Internal))?;
        }
        let mut endpoint = Endpoint::new(self.config, signer.clone())
            .view(self.factory)
            .router(router)
            .state(self.state);
        // A private upload directory for a view that takes uploads.
        let upload_root = (!meta.uploads.is_empty())
            .then(|| std::env::temp_dir().join(format!("djust-testclient-{}", generate_token())));
        if let Some(root) = &upload_root {
            let dir = UploadDir::open(root, u64::MAX / 2)
                .map_err(|_| MountRefusal::Failed(SafeError::Internal))?;
            endpoint = endpoint.upload_dir(dir);
        }
        let endpoint = Arc::new(endpoint);
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        let session = self.session_id.map(|id| Session {
            id,
            user_id: self.identity.user_id().map(str::to_owned),
            csrf_token: generate_token(),
            data: Default::default(),
            expires_at: u64::MAX,
        });
        let token = MountToken::new(
            meta.name,
            session.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
            self.identity.user_id().map(str::to_owned),
            unix_now,
        )
        .encode(&endpoint.signer_for(self.tenant.as_ref()));
        let now = Instant::now();
        let peer = Peer {
            ip: self.ip,
            session,
            identity: self.identity,
            tenant: self.tenant,
        };
        let mut client = TestClient {
            hibernated_html: None,
            runtime,
            connection: Connection::new(endpoint, peer, now, unix_now),
            now,
            frame_spacing: self.frame_spacing,
            frames: Vec::new(),
            subscriptions: Vec::new(),
            next_ref: 1,
            closed: false,
            upload_root,
        };
        let mount = json!({
            "type": "mount",
            "view": meta.name,
            "params": Value::Object(self.params),
            "url": self.url,
            "mount_token": token,
        });
        client.send_raw(&mount.to_string());
        if let Some(refusal) = client.connection.take_mount_refusal() {
            return Err(refusal);
        }
        if client.connection.live().is_none() {
            return Err(MountRefusal::Failed(SafeError::Internal));
        }
        Ok(client)
    }
}

/// What one frame produced.
#[derive(Debug, Clone)]
pub struct EventResult {
    /// Frames sent in reply, in order.
    pub frames: Vec<ServerMessage>,
    /// The server closed the connection after these frames.
    pub closed: bool,
}

impl EventResult {
    /// The error message, if the reply was an error frame.
    pub fn error(&self) -> Option<&str> {
        self.frames.iter().find_map(|frame| match frame {
            ServerMessage::Error { error, .. } => Some(error.as_str()),
            _ => None,
        })
    }

    /// The patches of the reply (empty for `noop` and errors).
    pub fn patches(&self) -> Vec<Patch> {
        self.frames
            .iter()
            .flat_map(|frame| match frame {
                ServerMessage::Patch { patches, .. } => patches.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// `true` when the event ran and changed nothing.
    pub fn is_noop(&self) -> bool {
        self.frames
            .iter()
            .any(|frame| matches!(frame, ServerMessage::Noop { .. }))
    }
}

/// One mounted view, driven in-process through the protocol core.
pub struct TestClient {
    runtime: tokio::runtime::Runtime,
    connection: Connection,
    now: Instant,
    frame_spacing: Duration,
    frames: Vec<ServerMessage>,
    subscriptions: Vec<InfoStream>,
    next_ref: u64,
    closed: bool,
    /// The private upload directory, removed on drop.
    upload_root: Option<std::path::PathBuf>,
    /// The page while the view hibernates (it keeps no tree then; this is
    /// what the browser still shows).
    hibernated_html: Option<String>,
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if let Some(root) = &self.upload_root {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

impl TestClient {
    /// A builder for view `V`.
    pub fn build<V: LiveView>() -> TestClientBuilder {
        Self::build_factory(ViewFactory::of::<V>())
    }

    /// A builder for a view by factory (e.g. from the registry).
    pub fn build_factory(factory: ViewFactory) -> TestClientBuilder {
        TestClientBuilder {
            factory,
            identity: Identity::Anonymous,
            url: "/".to_owned(),
            params: Params::new(),
            state: AppState::default(),
            config: Config::default(),
            session_id: Some("test-session".to_owned()),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            frame_spacing: Duration::from_millis(10),
            routes: Vec::new(),
            groups: Vec::new(),
            tenant: None,
        }
    }

    /// Mounts `V` as an anonymous user.
    pub fn mount<V: LiveView>() -> Result<Self, MountRefusal> {
        Self::build::<V>().mount()
    }

    /// Mounts `V` as `user`.
    pub fn mount_as<V: LiveView>(user: User) -> Result<Self, MountRefusal> {
        Self::build::<V>().user(user).mount()
    }

    /// The view's metadata.
    pub fn meta(&self) -> &'static ViewMeta {
        self.session().meta()
    }

    fn session(&self) -> &LiveSession {
        match self.connection.live() {
            Some(live) => live,
            // `mount` returns an error unless the view mounted, and a
            // mounted view stays mounted.
            None => unreachable!("TestClient exists only for a mounted view"),
        }
    }

    /// The components the view has mounted: id and metadata, by id.
    pub fn components(&self) -> Vec<(String, &'static djust_runtime::view::ComponentMeta)> {
        self.session().components()
    }

    /// The protocol core this client drives (e.g. to read its peer).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Moves the virtual clock forward by `by`.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// The clock for the next frame: `frame_spacing` after the last one.
    fn tick_clock(&mut self) -> Instant {
        self.now += self.frame_spacing;
        self.now
    }

    /// Sends event `name` with `params` (a JSON object, as the browser
    /// sends) as an `event` frame with the next `ref`.
    pub fn event(&mut self, name: &str, params: Value) -> EventResult {
        let reference = self.next_ref;
        self.next_ref += 1;
        let frame = json!({
            "type": "event",
            "event": name,
            "params": params,
            "ref": reference,
        });
        self.send_raw(&frame.to_string())
    }

    /// Sends event `name` with `params` to the component mounted as
    /// `target` (what the browser sends for `dj-target="cart"` or an
    /// element inside the component), as an `event` frame with the next `ref`.
    pub fn event_to(&mut self, target: &str, name: &str, params: Value) -> EventResult {
        let reference = self.next_ref;
        self.next_ref += 1;
        let frame = json!({
            "type": "event",
            "event": name,
            "params": params,
            "target": target,
            "ref": reference,
        });
        self.send_raw(&frame.to_string())
    }

    /// Sends a raw text frame exactly as a browser would: through every
    /// gate of the protocol core.
    pub fn send_raw(&mut self, text: &str) -> EventResult {
        let now = self.tick_clock();
        let step = self.runtime.block_on(self.connection.on_text(text, now));
        self.record(step)
    }

    /// Sends a binary frame (refused: the protocol is JSON text).
    pub fn send_binary(&mut self, bytes: &[u8]) -> EventResult {
        let now = self.tick_clock();
        let step = self.runtime.block_on(self.connection.on_binary(bytes, now));
        self.record(step)
    }

    /// Uploads `bytes` as file `name` of type `mime` into `slot`, as the
    /// browser client does: an `upload` announcement, then binary chunks of
    /// at most 64 KiB, each sent after the previous one's `upload_ack`.
    /// Stops at the first refusal. Returns every frame of the exchange (the
    /// last is `upload_done` or `upload_error`).
    pub fn upload(&mut self, slot: &str, name: &str, mime: &str, bytes: &[u8]) -> EventResult {
        let reference = format!("u{}", self.next_ref);
        self.next_ref += 1;
        let announce = json!({
            "type": "upload",
            "slot": slot,
            "ref": reference,
            "name": name,
            "size": bytes.len(),
            "mime": mime,
        });
        let mut all = self.send_raw(&announce.to_string());
        let acked = |result: &EventResult| {
            result
                .frames
                .iter()
                .any(|frame| matches!(frame, ServerMessage::UploadAck { .. }))
        };
        if !acked(&all) {
            return all;
        }
        for chunk in bytes.chunks(MAX_CHUNK_BYTES - 1 - reference.len()) {
            let mut frame = Vec::with_capacity(1 + reference.len() + chunk.len());
            frame.push(reference.len() as u8);
            frame.extend_from_slice(reference.as_bytes());
            frame.extend_from_slice(chunk);
            let wait = all.frames.iter().rev().find_map(|frame| match frame {
                ServerMessage::UploadAck { wait_ms, .. } => Some(*wait_ms),
                _ => None,
            });
            self.advance(Duration::from_millis(wait.unwrap_or(0)));
            let result = self.send_binary(&frame);
            let ok = acked(&result);
            all.frames.extend(result.frames);
            all.closed |= result.closed;
            if !ok {
                break;
            }
        }
        all
    }

    /// Follows a `dj-patch` link to `url`: a `live_patch` frame (the view's
    /// `handle_params` runs with the new URL).
    pub fn patch(&mut self, url: &str) -> EventResult {
        let frame = json!({ "type": "live_patch", "url": url, "kind": "push" });
        self.send_raw(&frame.to_string())
    }

    /// Follows a `dj-navigate` link to `url`: a `live_navigate` frame
    /// (another view of the live session is mounted on this connection).
    pub fn navigate(&mut self, url: &str) -> EventResult {
        let frame = json!({ "type": "live_navigate", "url": url, "kind": "push" });
        self.send_raw(&frame.to_string())
    }

    /// The browser's Back or Forward to `url`, which showed view `view`:
    /// a `live_patch` (same view) or `live_navigate` frame of kind `pop`.
    pub fn pop_to(&mut self, url: &str, view: &str) -> EventResult {
        let kind = if view == self.meta().name {
            "live_patch"
        } else {
            "live_navigate"
        };
        let frame = json!({ "type": kind, "url": url, "kind": "pop" });
        self.send_raw(&frame.to_string())
    }

    /// The URL the mounted view is at.
    pub fn url(&self) -> &str {
        self.session().url()
    }

    /// The page title's view part.
    pub fn title(&self) -> &str {
        self.session().title()
    }

    /// Every flash message shown so far (`flash` frames and those arriving
    /// with a live navigation), oldest first.
    pub fn flashes(&self) -> Vec<FlashFrame> {
        self.frames
            .iter()
            .flat_map(|frame| match frame {
                ServerMessage::Flash { flash } | ServerMessage::LiveNavigate { flash, .. } => {
                    flash.clone()
                }
                _ => Vec::new(),
            })
            .collect()
    }

    /// Every URL the history recorded by a live patch or navigation.
    pub fn live_urls(&self) -> Vec<String> {
        self.frames
            .iter()
            .filter_map(|frame| match frame {
                ServerMessage::LivePatch { to, .. } | ServerMessage::LiveNavigate { to, .. } => {
                    Some(to.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// Runs one tick (`handle_tick`) now.
    pub fn tick(&mut self) -> EventResult {
        let now = self.tick_clock();
        let step = self.runtime.block_on(self.connection.on_tick(now));
        self.record(step)
    }

    /// Delivers every message already waiting on the view's subscriptions to
    /// `handle_info`; returns how many were delivered.
    pub fn deliver_messages(&mut self) -> usize {
        let mut delivered = 0;
        loop {
            let mut message = None;
            for stream in &mut self.subscriptions {
                if let Some(Some(next)) = stream.next().now_or_never() {
                    message = Some(next);
                    break;
                }
            }
            let Some(message) = message else { break };
            let now = self.tick_clock();
            let step = self.runtime.block_on(self.connection.on_info(message, now));
            self.record(step);
            delivered += 1;
        }
        delivered
    }

    fn record(&mut self, step: Step) -> EventResult {
        if step.unsubscribe_all {
            self.subscriptions.clear();
        }
        self.subscriptions
            .extend(self.connection.take_subscriptions());
        self.frames.extend(step.frames.iter().cloned());
        let closed = step.close.is_some();
        self.closed |= closed;
        EventResult {
            frames: step.frames,
            closed,
        }
    }

    /// The view's current HTML (what the browser shows).
    pub fn html(&self) -> String {
        match &self.hibernated_html {
            Some(html) if self.session().is_hibernating() => html.clone(),
            _ => self.session().html(),
        }
    }

    /// Hibernates the view as `DJUST_HIBERNATE_AFTER_SECS` without input
    /// would: it drops its rendered page and keeps its state; the next
    /// event, message or tick renders the page again first. `false` when
    /// it was hibernating already.
    pub fn hibernate(&mut self) -> bool {
        let html = self.html();
        let hibernated = self.connection.hibernate();
        if hibernated {
            self.hibernated_html = Some(html);
        }
        hibernated
    }

    /// Whether the view is hibernating (see [`TestClient::hibernate`]).
    pub fn is_hibernating(&self) -> bool {
        self.session().is_hibernating()
    }

    /// The current HTML parsed with html5ever.
    pub fn document(&self) -> scraper::Html {
        scraper::Html::parse_fragment(&self.html())
    }

    /// The version of the current tree.
    pub fn version(&self) -> u64 {
        self.session().version()
    }

    /// Every frame sent so far, starting with `mount`.
    pub fn frames(&self) -> &[ServerMessage] {
        &self.frames
    }

    /// The items of the stream container `dj-stream="name"` as the
    /// browser holds them (the server keeps none: [`html`](Self::html)
    /// shows the container empty).
    pub fn stream(&self, name: &str) -> Vec<crate::StreamItem> {
        crate::streams::stream_items(&self.frames, name)
    }

    /// Every `push_event` so far: (name, payload).
    pub fn pushed_events(&self) -> Vec<(String, Value)> {
        self.frames
            .iter()
            .filter_map(|frame| match frame {
                ServerMessage::PushEvent { event, payload } => {
                    Some((event.clone(), payload.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Every full page load asked for so far (`navigate` frames: a
    /// `redirect`, the login page, another live session).
    pub fn navigations(&self) -> Vec<String> {
        self.frames
            .iter()
            .filter_map(|frame| match frame {
                ServerMessage::Navigate { to, .. } => Some(to.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every error message so far.
    pub fn errors(&self) -> Vec<String> {
        self.frames
            .iter()
            .filter_map(|frame| match frame {
                ServerMessage::Error { error, .. } => Some(error.clone()),
                _ => None,
            })
            .collect()
    }

    /// `true` once the server would have closed the connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}
