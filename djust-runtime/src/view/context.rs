//! What mount, handlers and ticks can see and do: the connection's identity,
//! session, URL and app state ([`Ctx`]); subscriptions at mount
//! ([`MountCtx`]); pushed events, navigation and the generated checks for
//! `#[permission_required]` and `#[rate_limit]` ([`EventCtx`]).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

use super::error::{Error, Result};
use super::meta::RateKey;
use super::params::Params;
use super::EventError;
use crate::auth::{safe_next_path, Identity, User};
use crate::limits::{handler_key, HandlerRateLimiter, RateSubject};

/// Shared application state, by type (like axum's `Extension`).
#[derive(Clone, Default)]
pub struct AppState {
    values: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl AppState {
    /// Adds (or replaces) the value of type `T`.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        Arc::make_mut(&mut self.values).insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if the app registered one.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("values", &self.values.len())
            .finish()
    }
}

/// The connection a view serves: who, from where, on which URL.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    identity: Identity,
    session_id: Option<String>,
    url: String,
    client_ip: Option<IpAddr>,
    state: AppState,
    debug: bool,
    csrf_token: Option<String>,
}

impl Ctx {
    /// A context; used by the server and the test client.
    pub fn new(
        identity: Identity,
        session_id: Option<String>,
        url: impl Into<String>,
        client_ip: Option<IpAddr>,
        state: AppState,
        debug: bool,
    ) -> Self {
        Ctx {
            identity,
            session_id,
            url: url.into(),
            client_ip,
            state,
            debug,
            csrf_token: None,
        }
    }

    /// The same context with the session's CSRF token (for forms posting to the app).
    pub fn with_csrf_token(mut self, token: Option<String>) -> Self {
        self.csrf_token = token;
        self
    }

    /// The same context for another identity: the user as reloaded from
    /// the auth backend before an event of a `reauth_each_event` view.
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    /// The session's CSRF token: put it in forms that POST to the app, e.g.
    /// with `djust::runtime::server::csrf_field`. `None` without a session.
    pub fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }

    /// The logged-in user, if any (inactive users count as anonymous).
    pub fn user(&self) -> Option<&User> {
        self.identity.user().filter(|user| user.is_authenticated())
    }

    /// The identity (anonymous or a user).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// `true` when an active user is logged in.
    pub fn is_authenticated(&self) -> bool {
        self.identity.is_authenticated()
    }

    /// Whether the user holds permission `perm` (`app.codename`).
    pub fn has_perm(&self, perm: &str) -> bool {
        self.identity.has_perm(perm)
    }

    /// The session id, if the client has a session.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The page URL (path and query) the view was mounted for.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The first value of query parameter `name` in [`Ctx::url`], decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.url.split_once('?')?.1;
        let query = query.split('#').next().unwrap_or_default();
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The client's IP address, when known.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// Application state of type `T` registered with `App::state`.
    pub fn state<T: Any + Send + Sync>(&self) -> Result<&T> {
        self.state.get::<T>().ok_or_else(|| {
            Error::msg(format!(
                "no app state of type {} was registered",
                std::any::type_name::<T>()
            ))
        })
    }

    /// `true` when the server runs in debug mode.
    pub fn debug(&self) -> bool {
        self.debug
    }
}

/// Side effects a view asked for, sent after the current render.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    /// `push_event` calls: event name and JSON payload.
    pub pushed: Vec<(String, Value)>,
    /// The last `navigate` target.
    pub navigate: Option<String>,
}

impl Effects {
    fn push_event(&mut self, name: &str, payload: impl Serialize) -> Result<()> {
        if !crate::security::is_safe_event_name(name) {
            return Err(Error::msg(format!(
                "push_event name {name:?} must match ^[a-z][a-z0-9_]*$"
            )));
        }
        let payload = serde_json::to_value(payload)?;
        self.pushed.push((name.to_owned(), payload));
        Ok(())
    }

    fn navigate(&mut self, path: &str) -> Result<()> {
        // Same-origin paths only: `safe_next_path` returns "/" for anything else.
        if safe_next_path(path) != path {
            return Err(Error::bad_request(
                "navigate() takes a same-origin path such as \"/contacts\"",
            ));
        }
        self.navigate = Some(path.to_owned());
        Ok(())
    }

    /// `true` when nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.pushed.is_empty() && self.navigate.is_none()
    }
}

/// A stream of messages for `handle_info`, type-erased.
pub type InfoStream = Pin<Box<dyn Stream<Item = Box<dyn Any + Send>> + Send>>;

/// What `mount` receives.
pub struct MountCtx {
    ctx: Arc<Ctx>,
    params: Params,
    subscriptions: Vec<InfoStream>,
    effects: Effects,
}

impl MountCtx {
    /// A mount context; used by the server and the test client.
    pub fn new(ctx: Arc<Ctx>, params: Params) -> Self {
        MountCtx {
            ctx,
            params,
            subscriptions: Vec::new(),
            effects: Effects::default(),
        }
    }

    /// The `params` the client sent with `mount` (untrusted input).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Delivers every message of `receiver` to the view's `handle_info`
    /// while it is mounted (e.g. a chat room's `broadcast::Sender::subscribe()`).
    /// Messages missed because the view fell behind are skipped.
    pub fn subscribe<T: Clone + Send + 'static>(&mut self, receiver: broadcast::Receiver<T>) {
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(message) => {
                        return Some((Box::new(message) as Box<dyn Any + Send>, receiver))
                    }
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        tracing::warn!(
                            skipped,
                            "live view fell behind its subscription; messages skipped"
                        );
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        self.subscriptions.push(Box::pin(stream));
    }

    /// Sends an event to the client's `window.djust.on(name, ...)` hooks.
    pub fn push_event(&mut self, name: &str, payload: impl Serialize) -> Result<()> {
        self.effects.push_event(name, payload)
    }

    /// Sends the client to another same-origin path after mounting.
    pub fn navigate(&mut self, path: &str) -> Result<()> {
        self.effects.navigate(path)
    }

    /// The subscriptions and effects gathered during mount.
    pub fn into_parts(self) -> (Vec<InfoStream>, Effects) {
        (self.subscriptions, self.effects)
    }
}

impl Deref for MountCtx {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

/// What handlers, `handle_tick` and `handle_info` receive.
pub struct EventCtx {
    ctx: Arc<Ctx>,
    view: &'static str,
    limiter: Arc<dyn HandlerRateLimiter>,
    effects: Effects,
}

impl EventCtx {
    /// An event context for one mounted view; used by the server and the test client.
    pub fn new(ctx: Arc<Ctx>, view: &'static str, limiter: Arc<dyn HandlerRateLimiter>) -> Self {
        EventCtx {
            ctx,
            view,
            limiter,
            effects: Effects::default(),
        }
    }

    /// Sends an event to the client's `window.djust.on(name, ...)` hooks.
    /// Treat the payload like an API response: send only what the client needs.
    pub fn push_event(&mut self, name: &str, payload: impl Serialize) -> Result<()> {
        self.effects.push_event(name, payload)
    }

    /// Sends the client to another same-origin path (`/contacts/3`).
    pub fn navigate(&mut self, path: &str) -> Result<()> {
        self.effects.navigate(path)
    }

    /// Takes the effects asked for since the last call.
    pub fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    /// Replaces the connection context (e.g. after the user's session changed).
    pub fn set_ctx(&mut self, ctx: Arc<Ctx>) {
        self.ctx = ctx;
    }

    /// The shared connection context.
    pub fn ctx_arc(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// Generated by `#[permission_required]`: refuses users without `perm`.
    #[doc(hidden)]
    pub fn __require_permission(&self, perm: &'static str) -> std::result::Result<(), EventError> {
        if !self.ctx.is_authenticated() {
            return Err(EventError::LoginRequired);
        }
        if self.ctx.has_perm(perm) {
            Ok(())
        } else {
            Err(EventError::PermissionDenied)
        }
    }

    /// Generated by `#[rate_limit]`: takes a token from the handler's bucket
    /// for this user, session or IP, shared across all their connections.
    #[doc(hidden)]
    pub async fn __rate_limit(
        &self,
        handler: &'static str,
        rate: f64,
        burst: u32,
        key: RateKey,
    ) -> std::result::Result<(), EventError> {
        let unknown_ip = IpAddr::from([0, 0, 0, 0]);
        let ip = RateSubject::Ip(self.ctx.client_ip.unwrap_or(unknown_ip));
        let session = self.ctx.session_id().map(RateSubject::Session);
        let subject = match key {
            RateKey::User => self
                .ctx
                .identity
                .user_id()
                .map(RateSubject::User)
                .or(session)
                .unwrap_or(ip),
            RateKey::Session => session.unwrap_or(ip),
            RateKey::Ip => ip,
        };
        let bucket = handler_key(self.view, handler, subject);
        if self.limiter.check(&bucket, rate, burst).await {
            Ok(())
        } else {
            Err(EventError::RateLimited)
        }
    }
}

impl Deref for EventCtx {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

impl fmt::Debug for EventCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventCtx")
            .field("view", &self.view)
            .field("effects", &self.effects)
            .finish()
    }
}
