//! [`TestClient`]: drives one live view in-process, without sockets.
//!
//! It runs the same [`LiveSession`] the server runs behind a WebSocket (auth
//! checks, the allowlist, parameter decoding, render, diff, frames), so a
//! test sees exactly the frames a browser would get. Each client owns a
//! small single-threaded tokio runtime, so tests stay plain `#[test]`s.

use std::sync::Arc;

use djust_runtime::auth::{Identity, User};
use djust_runtime::limits::MemoryRateLimiter;
use djust_runtime::live::{LiveSession, MountRefusal};
use djust_runtime::protocol::{ClientMessage, Patch, ServerMessage};
use djust_runtime::security::SafeError;
use djust_runtime::view::{AppState, Ctx, InfoStream, LiveView, Params, ViewFactory, ViewMeta};
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;

/// Builds a [`TestClient`]: who is logged in, URL, mount params, app state.
pub struct TestClientBuilder {
    factory: ViewFactory,
    identity: Identity,
    url: String,
    params: Params,
    state: AppState,
    debug: bool,
    session_id: Option<String>,
}

impl TestClientBuilder {
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
        self.debug = debug;
        self
    }

    /// Mounts the view.
    pub fn mount(self) -> Result<TestClient, MountRefusal> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|_| MountRefusal::Failed(SafeError::Internal))?;
        let ctx = Arc::new(Ctx::new(
            self.identity,
            self.session_id,
            self.url,
            None,
            self.state,
            self.debug,
        ));
        let limiter = Arc::new(MemoryRateLimiter::new(10_000));
        let (session, frames, subscriptions) = runtime.block_on(LiveSession::mount(
            self.factory,
            ctx,
            self.params,
            limiter,
            "/login",
        ))?;
        Ok(TestClient {
            runtime,
            session,
            frames,
            subscriptions,
            next_ref: 1,
            closed: false,
        })
    }
}

/// What one event produced.
#[derive(Debug, Clone)]
pub struct EventResult {
    /// Frames sent in reply, in order.
    pub frames: Vec<ServerMessage>,
    /// The server would close the connection after these frames.
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

/// One mounted view, driven in-process.
pub struct TestClient {
    runtime: tokio::runtime::Runtime,
    session: LiveSession,
    frames: Vec<ServerMessage>,
    subscriptions: Vec<InfoStream>,
    next_ref: u64,
    closed: bool,
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
            debug: false,
            session_id: Some("test-session".to_owned()),
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
        self.session.meta()
    }

    /// Sends event `name` with `params` (a JSON object, as the browser sends).
    pub fn event(&mut self, name: &str, params: Value) -> EventResult {
        let reference = self.next_ref;
        self.next_ref += 1;
        let Value::Object(params) = params else {
            let frame = ServerMessage::Error {
                error: SafeError::MalformedMessage.public_message(false, None),
                reference: Some(reference),
            };
            return self.record(vec![frame], false);
        };
        let outcome =
            self.runtime
                .block_on(self.session.handle_event(name, &params, Some(reference)));
        self.record(outcome.frames, outcome.close)
    }

    /// Sends a raw text frame exactly as a browser would (parsed by the
    /// protocol; only `event` and `request_html` frames are handled here).
    pub fn send_raw(&mut self, text: &str) -> EventResult {
        match ClientMessage::from_json(text) {
            Ok(ClientMessage::Event {
                event,
                params,
                reference,
            }) => {
                let outcome = self
                    .runtime
                    .block_on(self.session.handle_event(&event, &params, reference));
                self.record(outcome.frames, outcome.close)
            }
            Ok(ClientMessage::RequestHtml) => {
                let frame = self.session.html_update();
                self.record(vec![frame], false)
            }
            Ok(_) => self.record(Vec::new(), false),
            Err(_) => {
                let frame = ServerMessage::Error {
                    error: SafeError::MalformedMessage.public_message(false, None),
                    reference: None,
                };
                self.record(vec![frame], false)
            }
        }
    }

    /// Runs one tick (`handle_tick`).
    pub fn tick(&mut self) -> EventResult {
        let outcome = self.runtime.block_on(self.session.handle_tick());
        self.record(outcome.frames, outcome.close)
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
            let outcome = self.runtime.block_on(self.session.handle_info(message));
            self.record(outcome.frames, outcome.close);
            delivered += 1;
        }
        delivered
    }

    fn record(&mut self, frames: Vec<ServerMessage>, close: bool) -> EventResult {
        self.frames.extend(frames.iter().cloned());
        self.closed |= close;
        EventResult {
            frames,
            closed: close,
        }
    }

    /// The view's current HTML (what the browser shows).
    pub fn html(&self) -> String {
        self.session.html()
    }

    /// The current HTML parsed with html5ever.
    pub fn document(&self) -> scraper::Html {
        scraper::Html::parse_fragment(&self.html())
    }

    /// The version of the current tree.
    pub fn version(&self) -> u64 {
        self.session.version()
    }

    /// Every frame sent so far, starting with `mount`.
    pub fn frames(&self) -> &[ServerMessage] {
        &self.frames
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

    /// Every `navigate` target so far.
    pub fn navigations(&self) -> Vec<String> {
        self.frames
            .iter()
            .filter_map(|frame| match frame {
                ServerMessage::Navigate { to } => Some(to.clone()),
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
