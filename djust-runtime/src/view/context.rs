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
use super::flash::{push_flash, Flash, FlashKind};
use super::meta::RateKey;
use super::params::Params;
use super::EventError;
use crate::auth::{same_origin_url, Identity, User};
pub use crate::protocol::HistoryKind;

use crate::limits::{handler_key, HandlerRateLimiter, RateSubject};
use crate::tenant::Tenant;
use crate::upload::{CompletedUpload, UploadedFile};

/// Shared application state, by type (like axum's `Extension`).
///
/// Values the server marks as stores shared by every tenant
/// ([`AppState::mark_unscoped`]: djust's key-value stores, a raw Redis
/// handle) are refused by [`Ctx::state`] under a tenant: a view reaches the
/// key-value store through [`Ctx::kv`], scoped to its tenant.
#[derive(Clone, Default)]
pub struct AppState {
    values: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// Types of unscoped shared stores, with their names (for errors and
    /// the audit).
    unscoped: Arc<HashMap<TypeId, &'static str>>,
}

/// The app's key-value store ([`App::kv_store`](crate::server::App::kv_store)),
/// held under a type no application can name, so views only reach it
/// through [`Ctx::kv`].
pub(crate) struct KvSlot(pub(crate) Arc<dyn crate::session::KeyValueStore>);

impl AppState {
    /// Adds (or replaces) the value of type `T`.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        Arc::make_mut(&mut self.values).insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// Marks the type `T` as a store shared by every tenant without
    /// scoping: under a tenant, [`Ctx::state`] refuses it, and the audit
    /// reports it (`DJ011`) when the app serves tenants.
    pub fn mark_unscoped<T: Any + Send + Sync>(&mut self) {
        Arc::make_mut(&mut self.unscoped).insert(TypeId::of::<T>(), std::any::type_name::<T>());
    }

    /// The names of the unscoped shared stores held, sorted.
    pub fn unscoped_stores(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self
            .unscoped
            .iter()
            .filter(|(type_id, _)| self.values.contains_key(type_id))
            .map(|(_, name)| *name)
            .collect();
        names.sort_unstable();
        names
    }

    /// The name of `T` when it is a marked unscoped store.
    fn unscoped_name<T: Any>(&self) -> Option<&'static str> {
        self.unscoped.get(&TypeId::of::<T>()).copied()
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
    tenant: Option<Tenant>,
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
            tenant: None,
        }
    }

    /// The same context for `tenant` (see [`crate::tenant`]).
    pub fn with_tenant(mut self, tenant: Option<Tenant>) -> Self {
        self.tenant = tenant;
        self
    }

    /// The request's tenant, when the app resolves tenants
    /// ([`App::tenancy`](crate::server::App::tenancy)). Scope your own keys,
    /// queries and topics with it, e.g. [`Tenant::scoped`].
    pub fn tenant(&self) -> Option<&Tenant> {
        self.tenant.as_ref()
    }

    /// The URL the browser uses for the app path `path` (a route as
    /// declared, `/notes/2`): under a path-prefix tenant
    /// ([`TenantResolver::path_prefix`](crate::tenant::TenantResolver::path_prefix))
    /// `/t/acme/notes/2`, else `path` itself. Write links with it
    /// (`href={ctx.path("/notes")}`, kept in a field at mount) so they
    /// keep the tenant, with or without JavaScript.
    pub fn path(&self, path: &str) -> String {
        match &self.tenant {
            Some(tenant) => tenant.path(path),
            None => path.to_owned(),
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
    ///
    /// Under a tenant, a store shared by every tenant without scoping
    /// (djust's key-value stores, a raw Redis handle: see
    /// [`AppState::mark_unscoped`]) is refused: use [`Ctx::kv`], which
    /// scopes the app's key-value store to the tenant.
    pub fn state<T: Any + Send + Sync>(&self) -> Result<&T> {
        if let (Some(tenant), Some(name)) = (&self.tenant, self.state.unscoped_name::<T>()) {
            tracing::error!(
                tenant = tenant.id(),
                store = name,
                "unscoped shared store refused under a tenant"
            );
            return Err(Error::msg(format!(
                "app state {name} is a store shared by every tenant: under a tenant, reach it scoped with ctx.kv() (App::kv_store), never with ctx.state()"
            )));
        }
        self.state.get::<T>().ok_or_else(|| {
            Error::msg(format!(
                "no app state of type {} was registered",
                std::any::type_name::<T>()
            ))
        })
    }

    /// The app's key-value store ([`App::kv_store`](crate::server::App::kv_store)),
    /// scoped to the request's tenant when the app serves tenants: keys
    /// become `tenant:{id}:{key}` ([`TenantScopedStore`](crate::session::TenantScopedStore)),
    /// so no key a view passes can reach another tenant's values. Without
    /// tenancy, the store itself. An error when the app registered none.
    pub fn kv(&self) -> Result<Arc<dyn crate::session::KeyValueStore>> {
        let Some(KvSlot(store)) = self.state.get::<KvSlot>() else {
            return Err(Error::msg(
                "no key-value store was registered: App::kv_store(...)",
            ));
        };
        match &self.tenant {
            None => Ok(store.clone()),
            Some(tenant) => crate::session::TenantScopedStore::new(store.clone(), tenant.id())
                .map(|scoped| Arc::new(scoped) as Arc<dyn crate::session::KeyValueStore>)
                .map_err(|_| Error::msg("the tenant id cannot scope a key-value store")),
        }
    }

    /// `true` when the server runs in debug mode.
    pub fn debug(&self) -> bool {
        self.debug
    }
}

/// Where a view asked to go (the last request of a callback wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Navigation {
    /// The same view at a new URL: its `handle_params` runs, nothing is
    /// remounted (`push_patch`, `replace_patch`).
    Patch {
        /// The same-origin URL (path and query).
        url: String,
        /// How the browser's history records it.
        history: HistoryKind,
    },
    /// Another live view of the same live session, mounted over the same
    /// socket after its auth checks (`push_navigate`, `replace_navigate`);
    /// a route of another live session is a full page load.
    Navigate {
        /// The same-origin path.
        url: String,
        /// How the browser's history records it.
        history: HistoryKind,
    },
    /// A full page load of a same-origin path (`redirect`).
    Redirect {
        /// The same-origin path.
        url: String,
    },
}

impl Navigation {
    /// The target URL.
    pub fn url(&self) -> &str {
        match self {
            Navigation::Patch { url, .. }
            | Navigation::Navigate { url, .. }
            | Navigation::Redirect { url } => url,
        }
    }
}

/// Longest page title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// Side effects a view asked for, sent after the current render.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    /// `push_event` calls: event name and JSON payload.
    pub pushed: Vec<(String, Value)>,
    /// The last navigation asked for.
    pub navigation: Option<Navigation>,
    /// Flash messages to show once.
    pub flash: Vec<Flash>,
    /// A new page title.
    pub title: Option<String>,
    /// Changes to stream containers, in order.
    pub streams: Vec<super::stream::StreamBatch>,
}

/// The URL when it is a same-origin path, else the error `what` explains.
fn checked_url(url: &str, what: &str) -> Result<String> {
    same_origin_url(url).ok_or_else(|| {
        Error::bad_request(format!(
            "{what}() takes a same-origin path such as \"/contacts?page=2\""
        ))
    })
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

    fn redirect(&mut self, path: &str) -> Result<()> {
        let url = checked_url(path, "redirect")?;
        self.navigation = Some(Navigation::Redirect { url });
        Ok(())
    }

    fn patch(&mut self, url: &str, history: HistoryKind, what: &str) -> Result<()> {
        let url = checked_url(url, what)?;
        self.navigation = Some(Navigation::Patch { url, history });
        Ok(())
    }

    fn navigate(&mut self, url: &str, history: HistoryKind, what: &str) -> Result<()> {
        let url = checked_url(url, what)?;
        self.navigation = Some(Navigation::Navigate { url, history });
        Ok(())
    }

    fn put_flash(&mut self, kind: FlashKind, message: &str) {
        push_flash(&mut self.flash, Flash::new(kind, message));
    }

    fn set_title(&mut self, title: &str) {
        let title = title
            .chars()
            .filter(|c| !c.is_control() && !crate::security::is_format_char(*c))
            .take(MAX_TITLE_CHARS)
            .collect();
        self.title = Some(title);
    }

    /// `true` when nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.pushed.is_empty()
            && self.navigation.is_none()
            && self.flash.is_empty()
            && self.title.is_none()
    }
}

/// The navigation methods of [`MountCtx`] and [`EventCtx`], written once.
macro_rules! navigation_methods {
    () => {
        /// Sends an event to the client's `window.djust.on(name, ...)` hooks.
        /// Treat the payload like an API response: send only what the client needs.
        pub fn push_event(&mut self, name: &str, payload: impl Serialize) -> Result<()> {
            self.effects.push_event(name, payload)
        }

        /// Renders `item` (one element) into the stream container
        /// `dj-stream="name"`, last; an item with the same `id` is
        /// replaced where it is. The view keeps nothing of it (see
        /// [`stream`](crate::view::stream)).
        pub fn stream_insert(
            &mut self,
            name: &str,
            id: impl std::fmt::Display,
            item: crate::template::Html,
        ) -> Result<()> {
            self.stream_insert_at(name, id, item, -1)
        }

        /// Like [`stream_insert`](Self::stream_insert), at position `at`:
        /// 0 first, -1 last.
        pub fn stream_insert_at(
            &mut self,
            name: &str,
            id: impl std::fmt::Display,
            item: crate::template::Html,
            at: i64,
        ) -> Result<()> {
            crate::view::stream::insert(&mut self.effects.streams, name, &id.to_string(), item, at)
        }

        /// Removes the item `id` from the stream container `name`.
        pub fn stream_delete(&mut self, name: &str, id: impl std::fmt::Display) -> Result<()> {
            crate::view::stream::delete(&mut self.effects.streams, name, &id.to_string())
        }

        /// Removes every item of the stream container `name`.
        pub fn stream_reset(&mut self, name: &str) -> Result<()> {
            crate::view::stream::reset(&mut self.effects.streams, name)
        }

        /// Changes the URL to `url` (same view, a new path or query)
        /// without remounting: the view's `handle_params` runs with it and
        /// the browser's history gets a new entry, so Back returns here.
        pub fn push_patch(&mut self, url: &str) -> Result<()> {
            self.effects.patch(url, HistoryKind::Push, "push_patch")
        }

        /// Like [`push_patch`](Self::push_patch), replacing the current
        /// history entry instead of adding one.
        pub fn replace_patch(&mut self, url: &str) -> Result<()> {
            self.effects
                .patch(url, HistoryKind::Replace, "replace_patch")
        }

        /// Goes to the live view at `path` without a page load when it is
        /// in the same live session (its auth checks, `mount` and
        /// `handle_params` run as for a fresh page); otherwise loads the
        /// page. Adds a history entry.
        pub fn push_navigate(&mut self, path: &str) -> Result<()> {
            self.effects
                .navigate(path, HistoryKind::Push, "push_navigate")
        }

        /// Like [`push_navigate`](Self::push_navigate), replacing the
        /// current history entry.
        pub fn replace_navigate(&mut self, path: &str) -> Result<()> {
            self.effects
                .navigate(path, HistoryKind::Replace, "replace_navigate")
        }

        /// Loads the same-origin page at `path` (a full page load: for
        /// routes that are not live views, such as `/logout`).
        pub fn redirect(&mut self, path: &str) -> Result<()> {
            self.effects.redirect(path)
        }

        /// Shows `message` once in the page's flash area, now or, with a
        /// navigation or redirect asked for in the same callback, on the
        /// next page. Plain text: it is escaped like any text.
        pub fn put_flash(&mut self, kind: FlashKind, message: &str) {
            self.effects.put_flash(kind, message)
        }

        /// Sets the page's `<title>` (the app's name is appended); the
        /// browser's title follows live.
        pub fn set_title(&mut self, title: &str) {
            self.effects.set_title(title)
        }
    };
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

    navigation_methods!();

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

/// A replayed action's identity, as the handler sees it
/// ([`EventCtx::offline`](EventCtx::offline)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineStamp {
    key: String,
    at_ms: u64,
}

impl OfflineStamp {
    /// A stamp (the server makes them after the checks).
    pub fn new(key: &str, at_ms: u64) -> Self {
        OfflineStamp {
            key: key.to_owned(),
            at_ms,
        }
    }

    /// The action's idempotency key (random, chosen by the client).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// When the user did it, in milliseconds since the Unix epoch, by the
    /// client's clock (within the age limit and at most
    /// `CLOCK_SKEW_MS` (`crate::offline`) ahead of the server's).
    pub fn at_ms(&self) -> u64 {
        self.at_ms
    }

    /// [`OfflineStamp::at_ms`] as a `SystemTime`.
    pub fn at(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.at_ms)
    }
}

/// What handlers, `handle_tick` and `handle_info` receive.
pub struct EventCtx {
    ctx: Arc<Ctx>,
    view: &'static str,
    limiter: Arc<dyn HandlerRateLimiter>,
    effects: Effects,
    /// Finished uploads, lent by the connection while a handler runs.
    uploads: Vec<CompletedUpload>,
    /// Messages a component's handler sent its parent view
    /// ([`EventCtx::notify_parent`]), delivered to the view's `handle_info`.
    /// (A `Mutex` only so the context stays `Sync`; always reached
    /// through `&mut self`, never locked.)
    parent_messages: std::sync::Mutex<Vec<Box<dyn std::any::Any + Send>>>,
    /// The queued offline action being replayed, if this event is one.
    offline: Option<OfflineStamp>,
}

impl EventCtx {
    /// An event context for one mounted view; used by the server and the test client.
    pub fn new(ctx: Arc<Ctx>, view: &'static str, limiter: Arc<dyn HandlerRateLimiter>) -> Self {
        EventCtx {
            ctx,
            view,
            limiter,
            effects: Effects::default(),
            uploads: Vec::new(),
            parent_messages: std::sync::Mutex::new(Vec::new()),
            offline: None,
        }
    }

    /// From a `#[live_component]`'s handler: sends `message` to the view
    /// the component is embedded in, whose `handle_info` receives it after
    /// the handler returns (then the view re-renders, and its components
    /// get their new props). A message of a type `handle_info` does not
    /// take is dropped with a warning; from a view's own handler the call
    /// does nothing (a view has no parent).
    pub fn notify_parent<M: std::any::Any + Send>(&mut self, message: M) {
        match self.parent_messages.get_mut() {
            Ok(messages) => messages.push(Box::new(message)),
            Err(poisoned) => poisoned.into_inner().push(Box::new(message)),
        }
    }

    /// The messages [`EventCtx::notify_parent`] collected, in order.
    pub fn take_parent_messages(&mut self) -> Vec<Box<dyn std::any::Any + Send>> {
        match self.parent_messages.get_mut() {
            Ok(messages) => std::mem::take(messages),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        }
    }

    /// When this event is a replayed offline action
    /// (`#[event_handler(offline)]`): its idempotency key and when the user
    /// did it (client clock, checked against the age limit). A handler
    /// compares [`OfflineStamp::at`](OfflineStamp::at) with
    /// the record's last change and returns
    /// [`Error::conflict`](crate::view::Error::conflict) for a stale edit.
    /// `None` for a live event.
    pub fn offline(&self) -> Option<&OfflineStamp> {
        self.offline.as_ref()
    }

    /// Marks the next dispatch as the replay of `stamp` (the server does).
    pub(crate) fn set_offline(&mut self, stamp: Option<OfflineStamp>) {
        self.offline = stamp;
    }

    /// The finished uploads of `slot`, waiting to be consumed (the client's
    /// name is metadata: escape it wherever it is shown, as `html!` does).
    pub fn uploads(&self, slot: &str) -> Vec<&UploadedFile> {
        self.uploads
            .iter()
            .filter(|upload| upload.file.slot == slot)
            .map(|upload| &upload.file)
            .collect()
    }

    /// Consumes the finished uploads of `slot`: `store` gets each file's
    /// description and the temp file holding its bytes, and must copy or
    /// move it (e.g. `std::fs::rename` into the app's storage, under a name
    /// the app chooses). Afterwards the temp files are deleted, whether
    /// `store` succeeded or not. Returns what `store` returned, in order; the
    /// first error stops and is returned (the remaining uploads are
    /// dropped too: a refused form starts over).
    pub fn consume_uploads<T>(
        &mut self,
        slot: &str,
        mut store: impl FnMut(&UploadedFile, &std::path::Path) -> Result<T>,
    ) -> Result<Vec<T>> {
        let (mine, others): (Vec<CompletedUpload>, Vec<CompletedUpload>) =
            std::mem::take(&mut self.uploads)
                .into_iter()
                .partition(|upload| upload.file.slot == slot);
        self.uploads = others;
        mine.iter()
            .map(|upload| store(&upload.file, upload.path()))
            .collect()
    }

    /// Lends finished uploads for the next handler (the connection does).
    pub fn lend_uploads(&mut self, uploads: Vec<CompletedUpload>) {
        self.uploads = uploads;
    }

    /// Takes back the uploads no handler consumed.
    pub fn reclaim_uploads(&mut self) -> Vec<CompletedUpload> {
        std::mem::take(&mut self.uploads)
    }

    navigation_methods!();

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
        // Each tenant has its own buckets: one tenant's users never spend
        // another's.
        let bucket = match &self.ctx.tenant {
            Some(tenant) => tenant.scoped(&bucket),
            None => bucket,
        };
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
