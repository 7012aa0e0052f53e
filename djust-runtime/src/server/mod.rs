//! The warp server: [`App`] serves live views (first paint by server-side
//! rendering, then a WebSocket sending patches) behind every defence layer
//! of the security model, plus login/logout, static files and your own
//! routes.
//!
//! Layers, in the order a WebSocket frame meets them: Origin check before
//! the upgrade; per-IP connection limit and cooldown (4429); frame size
//! before parsing (1009) and binary refusal; the per-connection token bucket
//! counting every frame, with warnings then 4429; JSON depth; the protocol
//! parse; the mount token; the event-name check and the generated
//! allowlist; permissions; per-handler rate limits; safe errors; sanitised
//! logs. See `docs/security.md`.
//!
//! Connections come through our own accept loop (`accept.rs`), not
//! `warp::serve`: it bounds every plain HTTP connection in time (header,
//! idle, body and send timeouts), size (431, 413) and number (global and
//! per-address caps, file-descriptor exhaustion handled as load), then
//! serves the warp routes on hyper's HTTP/1 connection.

mod accept;
mod body;
mod conn_table;
mod connection;
mod detached;
mod durable;
mod extensions;
pub mod files;
mod flash;
mod http;
pub mod layout;
mod login;
mod offline;
pub mod origin;
pub mod page;
mod path_prefix;
mod reply;
mod request;
pub mod stores;
mod ws;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::{Filter, Reply};

pub use crate::config::{Config, ConfigError};
pub use layout::{LayoutCtx, LayoutFn};
pub use offline::{Pwa, ICON_SVG, OFFLINE_HTML, SERVICE_WORKER_JS};
pub use page::{csrf_field, LoginForm, CONTENT_SECURITY_POLICY};

use crate::auth::{AuthBackend, Identity, SecretKey, Signer};
use crate::limits::{
    HandlerRateLimiter, IpTracker, IpTrackerConfig, LoginGate, LoginThrottle, MemoryLoginThrottle,
    MemoryRateLimiter, SharedIpLimiter,
};
use crate::live::{Endpoint, LiveGroup, Router, ViewStateStore};
use crate::security::LogThrottle;
use crate::session::{
    CookieOptions, MemorySessionStore, RevocationBroadcast, Revoked, RevokedSessions, Session,
    SessionConfig, SessionCookie, SessionStore,
};
use crate::view::{AppState, Error, Result, ViewFactory};

/// A route added with [`App::route`].
type UserRoute = BoxedFilter<(warp::reply::Response,)>;

/// A stored-file route added with [`App::stored_files`].
struct FileRoute {
    prefix: String,
    login_required: bool,
    permission: Option<&'static str>,
    loader: files::FileLoader,
}

/// What [`App::into_inner`] hands to the filter builder.
type Parts = (
    Arc<AppInner>,
    Vec<UserRoute>,
    Vec<(String, PathBuf)>,
    Vec<FileRoute>,
);

/// Builds and serves an application.
///
/// ```no_run
/// # use djust_runtime::server::App;
/// # async fn run(counter: djust_runtime::view::ViewFactory) -> djust_runtime::view::Result<()> {
/// App::new().title("Demo").live("/", counter).serve("127.0.0.1:8000").await
/// # }
/// ```
pub struct App {
    pages: Vec<(String, ViewFactory)>,
    groups: Vec<LiveGroup>,
    root_layout: Option<LayoutFn>,
    routes: Vec<UserRoute>,
    static_dirs: Vec<(String, PathBuf)>,
    file_routes: Vec<FileRoute>,
    pub(crate) config: Option<Config>,
    state: AppState,
    auth: Option<Arc<dyn AuthBackend>>,
    sessions: Option<Arc<dyn SessionStore>>,
    limiter: Option<Arc<dyn HandlerRateLimiter>>,
    revocations: Option<Arc<dyn RevocationBroadcast>>,
    shared_ip_limiter: Option<Arc<dyn SharedIpLimiter>>,
    view_states: Option<Arc<dyn ViewStateStore>>,
    login_throttle: Option<Arc<dyn LoginThrottle>>,
    idempotency: Option<Arc<dyn crate::offline::IdempotencyStore>>,
    tenant_resolver: Option<crate::tenant::TenantResolver>,
    known_tenants: Option<crate::tenant::TenantCheck>,
    title: String,
    stylesheets: Vec<String>,
    scripts: Vec<String>,
    login_note_html: String,
    pwa: Option<Pwa>,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

/// A running server (from [`App::bind`]).
pub struct Server {
    addr: SocketAddr,
    inner: Arc<AppInner>,
    /// Turns true to stop accepting; dropping it stops the server too.
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Views whose socket dropped, waiting for their client to resume
    /// them, and their estimated memory in bytes.
    pub fn detached_views(&self) -> (usize, usize) {
        self.inner.detached.usage()
    }

    /// Stops accepting connections, closes live sockets (1012, so clients
    /// reconnect) and waits for open requests to finish (at most 5 s, then
    /// the rest are closed).
    pub async fn shutdown(mut self) {
        self.inner.closing.send_replace(true);
        self.stop.send_replace(true);
        let _ = (&mut self.task).await;
        // WebSockets run in their own tasks; each gives up its shared IP slot
        // as it starts closing (1012). Wait (bounded) until those releases
        // reached the shared store, so a stopped process leaves no count.
        // ...and `persist` views save their state first: wait (bounded)
        // until those writes are done, so a deploy loses none.
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.inner.persisting.idle()).await;
        if let Some(limiter) = &self.inner.shared_ip_limiter {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, limiter.drain()).await;
        }
    }

    /// Waits until the server stops.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// A count of tasks doing something shutdown must wait for, with a way to
/// wait until there is none.
#[derive(Debug, Default)]
pub(crate) struct Busy {
    count: AtomicUsize,
    idle: tokio::sync::Notify,
}

/// One task counted in a [`Busy`]; uncounted on drop.
pub(crate) struct BusyGuard<'a>(&'a Busy);

impl Busy {
    /// Counts one more task until the guard drops.
    pub(crate) fn enter(&self) -> BusyGuard<'_> {
        self.count.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        BusyGuard(self)
    }

    /// Waits until no task is counted.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count.load(std::sync::atomic::Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Busy {
    fn leave(&self) {
        if self.count.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// A task counted in the app's `persisting` [`Busy`], for a task that
/// owns its app (a detached view's); uncounted on drop.
pub(crate) struct PersistingGuard(Arc<AppInner>);

impl PersistingGuard {
    pub(crate) fn new(inner: &Arc<AppInner>) -> Self {
        inner
            .persisting
            .count
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        PersistingGuard(inner.clone())
    }
}

impl Drop for PersistingGuard {
    fn drop(&mut self) {
        self.0.persisting.leave();
    }
}

/// Longest wait of [`Server::shutdown`] for shared IP slots to be released.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Everything a request handler needs, shared.
pub(crate) struct AppInner {
    pub(crate) config: Config,
    pub(crate) layout: page::Layout,
    /// What every socket's protocol core shares (views by name, signer,
    /// revocations, `#[rate_limit]` store, state).
    pub(crate) live: Arc<Endpoint>,
    /// Signs without tenancy; [`AppInner::signer`] derives per tenant.
    pub(crate) base_signer: Signer,
    /// How tenants are resolved, if the app has tenants.
    pub(crate) tenancy: Option<crate::tenant::Tenancy>,
    pub(crate) cookie: CookieOptions,
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) auth: Option<Arc<dyn AuthBackend>>,
    pub(crate) ip_tracker: IpTracker,
    /// Repeated warnings (refused handshakes) are logged once a second.
    pub(crate) log_throttle: LogThrottle,
    /// Views whose socket dropped, waiting for their client.
    pub(crate) detached: detached::DetachedViews,
    pub(crate) revoked: Arc<Revoked>,
    pub(crate) revocations: Option<Arc<dyn RevocationBroadcast>>,
    pub(crate) shared_ip_limiter: Option<Arc<dyn SharedIpLimiter>>,
    /// Login attempt budgets per address and per user name (shared).
    pub(crate) login_throttle: Arc<dyn LoginThrottle>,
    /// The process-wide login attempt budget (always this process's own).
    pub(crate) login_global: MemoryLoginThrottle,
    /// Admission to password hashing.
    pub(crate) login_gate: LoginGate,
    pub(crate) state: AppState,
    pub(crate) live_connections: AtomicUsize,
    /// Sockets and detached views holding a `persist` view: shutdown waits
    /// for them to save their state.
    pub(crate) persisting: Busy,
    /// Stops `persist` views from waiting on a view-state store that just
    /// failed (see `durable.rs`).
    pub(crate) persist_breaker: durable::Breaker,
    /// Flips to `true` when the server shuts down: live sockets close (1012)
    /// so clients reconnect elsewhere instead of hanging on.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
    pub(crate) login_note_html: String,
    /// The web app manifest's settings, when the app is installable.
    pub(crate) pwa: Option<Pwa>,
}

impl AppInner {
    /// The signer for the request being handled: derived for its tenant
    /// (see [`crate::tenant`]), so a token of one tenant is invalid under
    /// every other.
    pub(crate) fn signer(&self) -> Signer {
        match crate::tenant::current() {
            Some(tenant) => self
                .base_signer
                .derive(&crate::tenant::signing_purpose(&tenant)),
            None => self.base_signer.clone(),
        }
    }

    /// The session named by the request's cookie, and who is logged in.
    pub(crate) async fn resolve(&self, cookie_header: Option<&str>) -> (Option<Session>, Identity) {
        let Some(value) = cookie_header
            .and_then(|header| crate::session::cookie_value(header, &self.cookie.name))
        else {
            return (None, Identity::Anonymous);
        };
        let Some(session_id) = SessionCookie::decode(&self.signer(), value) else {
            return (None, Identity::Anonymous);
        };
        let session = match self.sessions.load(&session_id).await {
            Ok(Some(session)) => session,
            Ok(None) => return (None, Identity::Anonymous),
            Err(error) => {
                // Fail closed: a session store outage logs the user out.
                tracing::error!(error = %error, "session store unavailable; treating request as anonymous");
                return (None, Identity::Anonymous);
            }
        };
        let identity = match (&session.user_id, &self.auth) {
            (Some(user_id), Some(auth)) => match auth.load_user(user_id).await {
                Some(user) if user.is_active => Identity::User(user),
                _ => Identity::Anonymous,
            },
            _ => Identity::Anonymous,
        };
        (Some(session), identity)
    }

    /// Logs `session_id` out of this process's sockets and, with a
    /// [`RevocationBroadcast`], of every other process's.
    pub(crate) async fn revoke(&self, session_id: &str) {
        self.revoked.revoke(session_id);
        if let Some(broadcast) = &self.revocations {
            broadcast.publish(session_id, self.revoked.keep_for()).await;
        }
    }

    /// `Set-Cookie` value for a session.
    pub(crate) fn session_cookie(&self, session_id: &str) -> Option<String> {
        crate::session::set_cookie_header(
            &self.cookie,
            &SessionCookie::encode(&self.signer(), session_id),
        )
        .ok()
    }
}

impl App {
    /// An empty application with the default secure configuration.
    pub fn new() -> Self {
        App {
            pages: Vec::new(),
            groups: Vec::new(),
            root_layout: None,
            routes: Vec::new(),
            static_dirs: Vec::new(),
            file_routes: Vec::new(),
            config: None,
            state: AppState::default(),
            auth: None,
            sessions: None,
            limiter: None,
            revocations: None,
            shared_ip_limiter: None,
            view_states: None,
            login_throttle: None,
            idempotency: None,
            tenant_resolver: None,
            known_tenants: None,
            title: "djust".to_owned(),
            stylesheets: Vec::new(),
            scripts: Vec::new(),
            login_note_html: String::new(),
            pwa: None,
        }
    }

    /// Makes the app installable (a Progressive Web App): pages link the
    /// web app manifest (`/djust/manifest.webmanifest`, from `pwa`) and
    /// the client registers the service worker (`/djust/sw.js`), which
    /// keeps an app shell for offline use, shows an offline page and
    /// delivers queued `#[event_handler(offline)]` actions with Background
    /// Sync. See `docs/offline.md`.
    pub fn pwa(mut self, pwa: Pwa) -> Self {
        self.pwa = Some(pwa);
        self
    }

    /// Serves the live view `view` (from `MyView::view()`) at `path`: a
    /// path whose segments are literal or named parameters
    /// (`/contacts/{id}`), handed to the view's `handle_params`. Views
    /// added here form the default live session: live navigation moves
    /// between them over one socket.
    pub fn live(mut self, path: &str, view: ViewFactory) -> Self {
        self.pages.push((path.to_owned(), view));
        self
    }

    /// Serves a live session: views that share an auth posture and mount
    /// hooks (Phoenix's `live_session`), added with [`LiveGroup::live`].
    /// Live navigation stays on the socket between the views of one live
    /// session; going to another one is a full page load, so its checks
    /// run as for a fresh page.
    pub fn live_session(mut self, group: LiveGroup) -> Self {
        self.groups.push(group);
        self
    }

    /// The root layout around every live view (see [`LayoutCtx`]):
    /// written with `html!`, rendered on the first paint, kept in place
    /// during live navigation. Without one, pages hold the flash area and
    /// the view.
    pub fn layout(
        mut self,
        layout: impl Fn(&LayoutCtx<'_>) -> crate::template::Html + Send + Sync + 'static,
    ) -> Self {
        self.root_layout = Some(Arc::new(layout));
        self
    }

    /// Adds an ordinary warp route. Requests with unsafe methods
    /// (POST/PUT/PATCH/DELETE) must carry the session's CSRF token in an
    /// `X-CSRF-Token` header or they are refused with 403 before the route runs.
    pub fn route<F, R>(mut self, filter: F) -> Self
    where
        F: Filter<Extract = (R,), Error = warp::Rejection> + Clone + Send + Sync + 'static,
        R: Reply + 'static,
    {
        self.routes
            .push(filter.map(|reply: R| reply.into_response()).boxed());
        self
    }

    /// Serves the files of `dir` under the URL prefix `prefix` (e.g. `"static"`).
    pub fn static_dir(mut self, prefix: &str, dir: impl Into<PathBuf>) -> Self {
        self.static_dirs
            .push((prefix.trim_matches('/').to_owned(), dir.into()));
        self
    }

    /// Serves files the app stored (e.g. uploads it consumed) at
    /// `GET /<prefix>/<id>`, loaded by `loader` (`None` answers 404), only
    /// to logged-in users holding `permission` (`None`: to every logged-in
    /// user), with headers that keep a stored file from acting as a page:
    /// see [`files`].
    pub fn stored_files(
        mut self,
        prefix: &str,
        permission: Option<&'static str>,
        loader: impl Fn(&str) -> Option<files::StoredFile> + Send + Sync + 'static,
    ) -> Self {
        self.file_routes.push(FileRoute {
            prefix: prefix.trim_matches('/').to_owned(),
            login_required: true,
            permission,
            loader: Arc::new(loader),
        });
        self
    }

    /// Uses `config` instead of [`Config::from_env`].
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Makes `value` available to views through `ctx.state::<T>()`.
    ///
    /// A store shared by every tenant without scoping (djust's key-value
    /// stores, a raw `Redis` handle: see [`stores::is_unscoped_store`]) is
    /// refused by `ctx.state` under a tenant and reported by the audit
    /// (`DJ011`) when the app serves tenants: give a key-value store to
    /// [`App::kv_store`] instead, which views reach scoped with `ctx.kv()`.
    pub fn state<T: std::any::Any + Send + Sync>(mut self, value: T) -> Self {
        self.state.insert(value);
        if stores::is_unscoped_store::<T>() {
            self.state.mark_unscoped::<T>();
        }
        self
    }

    /// The application's key-value store (e.g. a `RedisKeyValueStore`),
    /// which views reach with `ctx.kv()`: scoped to the request's tenant
    /// when the app serves tenants (keys `tenant:{id}:{key}`), the store
    /// itself otherwise.
    pub fn kv_store(mut self, store: Arc<dyn crate::session::KeyValueStore>) -> Self {
        self.state.insert(crate::view::KvSlot(store));
        self
    }

    /// Enables login (`GET`/`POST /login`) and logout (`POST /logout`) with `backend`.
    pub fn auth(mut self, backend: impl AuthBackend + 'static) -> Self {
        self.auth = Some(Arc::new(backend));
        self
    }

    /// Uses another session store (the default is in memory, bounded).
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(store);
        self
    }

    /// Uses another store for `#[rate_limit]` buckets (the default is in memory, bounded).
    pub fn rate_limiter(mut self, limiter: Arc<dyn HandlerRateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Shares logouts with other processes (see [`RevocationBroadcast`]).
    pub fn revocation_broadcast(mut self, broadcast: Arc<dyn RevocationBroadcast>) -> Self {
        self.revocations = Some(broadcast);
        self
    }

    /// Counts per-IP connections across processes too (see [`SharedIpLimiter`]).
    pub fn shared_ip_limiter(mut self, limiter: Arc<dyn SharedIpLimiter>) -> Self {
        self.shared_ip_limiter = Some(limiter);
        self
    }

    /// Keeps the sealed state of `#[live_view(persist)]` views here when
    /// their socket drops and at shutdown, so a reconnect on any process
    /// resumes them (the default with `DJUST_REDIS_URL` is Redis; without
    /// it, none: persisted views then only resume on their own process).
    pub fn view_state_store(mut self, store: Arc<dyn ViewStateStore>) -> Self {
        self.view_states = Some(store);
        self
    }

    /// Claims the idempotency keys of replayed offline actions here (see
    /// [`IdempotencyStore`](crate::offline::IdempotencyStore); the default is
    /// in memory, or Redis with `DJUST_REDIS_URL`, so that a sync batch
    /// retried on another process applies once).
    pub fn idempotency_store(mut self, store: Arc<dyn crate::offline::IdempotencyStore>) -> Self {
        self.idempotency = Some(store);
        self
    }

    /// Serves several tenants (customers) from one app: every request's
    /// tenant is resolved by `resolver` (a subdomain, a header set by
    /// your proxy, or a path prefix such as `/t/acme/`), is in every
    /// context (`ctx.tenant()`), and scopes the tokens, rate limits,
    /// persisted state and uploads the framework keeps (see
    /// [`crate::tenant`]). A request without a valid tenant gets 404.
    pub fn tenancy(mut self, resolver: crate::tenant::TenantResolver) -> Self {
        self.tenant_resolver = Some(resolver);
        self
    }

    /// Which tenants exist (a list, a database lookup): any other gets 404
    /// before any work is done. Without it, every valid tenant id is served.
    /// Needs [`App::tenancy`] (without it, starting the app is an error).
    pub fn tenants(
        mut self,
        known: impl Fn(&crate::tenant::Tenant) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.known_tenants = Some(Arc::new(known));
        self
    }

    /// Uses another store for the login attempt budgets per address and per
    /// user name (see [`LoginThrottle`]; the default is in memory, bounded,
    /// or Redis with `DJUST_REDIS_URL`).
    pub fn login_throttle(mut self, throttle: Arc<dyn LoginThrottle>) -> Self {
        self.login_throttle = Some(throttle);
        self
    }

    /// The site name shown in page titles.
    pub fn title(mut self, title: &str) -> Self {
        self.title = title.to_owned();
        self
    }

    /// Adds a stylesheet (a same-origin path) to every page.
    pub fn stylesheet(mut self, href: &str) -> Self {
        self.stylesheets.push(href.to_owned());
        self
    }

    /// Adds a script (a same-origin path, e.g. from [`App::static_dir`]) to
    /// every page, loaded after the djust client: the place for
    /// `window.djust.on(name, fn)` hooks. Inline scripts are not allowed by
    /// the Content-Security-Policy.
    pub fn script(mut self, src: &str) -> Self {
        self.scripts.push(src.to_owned());
        self
    }

    /// Trusted HTML shown under the login form (e.g. demo accounts).
    pub fn login_note(mut self, html: crate::template::SafeHtml) -> Self {
        self.login_note_html = html.as_str().to_owned();
        self
    }

    fn into_inner(self) -> Result<Parts> {
        let config = match self.config {
            Some(config) => config,
            None => Config::from_env().map_err(Error::config)?,
        };
        config.validate().map_err(Error::config)?;
        let key = match &config.secret_key {
            Some(secret) => SecretKey::new(secret.as_bytes().to_vec()).map_err(|error| Error::config(format!("DJUST_SECRET_KEY: {error}")))?,
            None if cfg!(debug_assertions) => {
                tracing::warn!("DJUST_SECRET_KEY is not set: using a random key for this run (debug build only). Sessions and pages will not survive a restart. Set DJUST_SECRET_KEY to at least 32 random bytes in production.");
                SecretKey::generate()
            }
            None => return Err(Error::config("DJUST_SECRET_KEY is required in release builds: set it to at least 32 random bytes (e.g. `openssl rand -hex 32`)")),
        };
        if config.debug {
            tracing::warn!("DJUST_DEBUG is on: error messages sent to clients include details. Never enable it in production.");
        }
        let router = build_router(self.pages, self.groups)?;
        let mut views: HashMap<&'static str, ViewFactory> = HashMap::new();
        for route in router.routes() {
            let meta = route.view.meta();
            if let Some(existing) = views.insert(meta.name, route.view) {
                if existing.meta().type_name != meta.type_name {
                    return Err(Error::config(format!(
                        "two live views are named `{}`",
                        meta.name
                    )));
                }
            }
        }
        let signer = Signer::from_key(&key);
        let shared = SharedStores::from_config(
            &config,
            SharedStores {
                sessions: self.sessions,
                limiter: self.limiter,
                revocations: self.revocations,
                ip_limiter: self.shared_ip_limiter,
                view_states: self.view_states,
                login_throttle: self.login_throttle,
                idempotency: self.idempotency,
            },
        )?;
        let sessions = shared.sessions.unwrap_or_else(|| {
            Arc::new(MemorySessionStore::new(SessionConfig {
                max_sessions: config.max_sessions,
                idle_timeout: std::time::Duration::from_secs(config.session_idle_secs),
            }))
        });
        let limiter = shared.limiter.unwrap_or_else(|| {
            Arc::new(MemoryRateLimiter::new(
                crate::limits::DEFAULT_LIMITER_CAPACITY,
            ))
        });
        let ip_tracker = IpTracker::new(IpTrackerConfig {
            max_per_ip: config.max_connections_per_ip,
            cooldown: std::time::Duration::from_secs(config.reconnect_cooldown_secs),
            refusals_before_cooldown: config.refusals_before_cooldown,
            ..IpTrackerConfig::default()
        });
        let cookie = CookieOptions {
            secure: config.secure_cookies,
            ..CookieOptions::default()
        };
        let revoked = Arc::new(Revoked::new(config.heartbeat_timeout_secs));
        let mut live = Endpoint::new(config.clone(), signer.clone())
            .rate_limiter(limiter)
            .revocations(revoked.clone())
            .state(self.state.clone());
        if let Some(auth) = &self.auth {
            live = live.auth_backend(auth.clone());
        }
        if let Some(store) = shared.view_states {
            live = live.view_state_store(store);
        }
        if let Some(store) = shared.idempotency {
            live = live.idempotency_store(store);
        }
        if views.values().any(|view| !view.meta().uploads.is_empty()) {
            let dir = config
                .upload_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("djust-uploads"));
            let uploads = crate::upload::UploadDir::open(&dir, config.upload_quota_bytes).map_err(
                |error| {
                    Error::config(format!(
                        "DJUST_UPLOAD_DIR: cannot use {}: {error}",
                        dir.display()
                    ))
                },
            )?;
            live = live.upload_dir(uploads);
        }
        let live = Arc::new(live.router(router).site_title(self.title.clone()));
        let login_throttle = shared
            .login_throttle
            .unwrap_or_else(|| Arc::new(MemoryLoginThrottle::default()));
        let tenancy = match (self.tenant_resolver, self.known_tenants) {
            (Some(resolver), known) => {
                resolver.check().map_err(Error::config)?;
                Some(crate::tenant::Tenancy { resolver, known })
            }
            (None, Some(_)) => {
                return Err(Error::config(
                    "App::tenants needs App::tenancy: say how tenants are resolved",
                ))
            }
            (None, None) => None,
        };
        let inner = AppInner {
            layout: page::Layout {
                title: self.title,
                stylesheets: self.stylesheets,
                scripts: self.scripts,
                root: self.root_layout,
                manifest: self.pwa.is_some(),
            },
            pwa: self.pwa,
            live,
            base_signer: signer,
            tenancy,
            cookie,
            sessions,
            auth: self.auth,
            ip_tracker,
            log_throttle: LogThrottle::default(),
            detached: detached::DetachedViews::new(&config),
            revoked,
            revocations: shared.revocations,
            shared_ip_limiter: shared.ip_limiter,
            login_throttle,
            login_global: MemoryLoginThrottle::new(1),
            login_gate: LoginGate::new(config.login_concurrency, config.login_queue),
            state: self.state,
            live_connections: AtomicUsize::new(0),
            persisting: Busy::default(),
            persist_breaker: durable::Breaker::default(),
            closing: tokio::sync::watch::Sender::new(false),
            login_note_html: self.login_note_html,
            config,
        };
        Ok((
            Arc::new(inner),
            self.routes,
            self.static_dirs,
            self.file_routes,
        ))
    }

    /// All routes as one warp filter.
    fn filter(
        inner: Arc<AppInner>,
        routes: Vec<UserRoute>,
        static_dirs: Vec<(String, PathBuf)>,
        file_routes: Vec<FileRoute>,
    ) -> BoxedFilter<(warp::reply::Response,)> {
        let mut filter = http::djust_js()
            .or(ws::route(inner.clone()))
            .unify()
            .boxed();
        filter = filter.or(http::live_pages(inner.clone())).unify().boxed();
        filter = filter.or(flash::route(inner.clone())).unify().boxed();
        filter = filter.or(login::auth_routes(inner.clone())).unify().boxed();
        filter = filter.or(offline::files(inner.clone())).unify().boxed();
        filter = filter
            .or(offline::sync_route(inner.clone()))
            .unify()
            .boxed();
        for (prefix, dir) in static_dirs {
            let files = warp::path(prefix)
                .and(warp::fs::dir(dir))
                .map(|file: warp::fs::File| file.into_response());
            filter = filter.or(files).unify().boxed();
        }
        for route in file_routes {
            let files = files::route(
                inner.clone(),
                route.prefix,
                route.login_required,
                route.permission,
                route.loader,
            );
            filter = filter.or(files).unify().boxed();
        }
        for route in routes {
            filter = filter
                .or(http::csrf_guard(inner.clone()).and(route))
                .unify()
                .boxed();
        }
        let recover_inner = inner.clone();
        let security = page::security_headers();
        filter
            .recover(move |rejection| http::recover(recover_inner.clone(), rejection))
            .unify()
            .map(move |reply: warp::reply::Response| {
                // Every response gets the security headers it did not set
                // itself (a stored file sets a stricter policy).
                let mut response = reply.into_response();
                for (name, value) in &security {
                    if !response.headers().contains_key(name) {
                        response.headers_mut().insert(name.clone(), value.clone());
                    }
                }
                response
            })
            .boxed()
    }

    /// Binds `addr` and serves in the background; for tests and embedding.
    /// Dropping the returned [`Server`] stops it like [`Server::shutdown`]
    /// (without waiting).
    pub async fn bind(self, addr: impl tokio::net::ToSocketAddrs) -> Result<Server> {
        let (inner, routes, static_dirs, file_routes) = self.into_inner()?;
        if let Some(broadcast) = &inner.revocations {
            broadcast.listen(RevokedSessions::new(&inner.revoked));
        }
        let listener = listen(addr).await?;
        let local = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let filter = Self::filter(inner.clone(), routes, static_dirs, file_routes);
        let task = tokio::spawn(accept::run(listener, inner.clone(), filter, stopped));
        Ok(Server {
            addr: local,
            inner,
            stop,
            task,
        })
    }

    /// Serves on `addr` until Ctrl-C or SIGTERM, then shuts down
    /// gracefully. Reads no command line: `djust::cli::run` adds `--addr`
    /// and the `audit` subcommand.
    pub async fn serve(self, addr: impl tokio::net::ToSocketAddrs) -> Result<()> {
        let server = self.bind(addr).await?;
        tracing::info!(addr = %server.local_addr(), "djust listening");
        shutdown_signal().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(())
    }

    /// The security audit of this app's views and configuration (the
    /// [`App::config`] given in code, else the `DJUST_*` variables; an
    /// invalid configuration is itself an error finding).
    pub fn audit_report(&self) -> crate::audit::AuditReport {
        let config = match &self.config {
            Some(config) => config.validate().map(|()| config.clone()),
            None => Config::from_env(),
        };
        let mut views: Vec<&'static crate::view::ViewMeta> = self
            .pages
            .iter()
            .chain(self.groups.iter().flat_map(LiveGroup::pending_routes))
            .map(|(_, factory)| factory.meta())
            .collect();
        views.sort_by_key(|meta| meta.name);
        views.dedup_by_key(|meta| meta.name);
        let mut report = match &config {
            Ok(config) => crate::audit::audit(&views, config),
            Err(error) => {
                let mut report = crate::audit::audit(&views, &Config::default());
                report.add_finding(crate::audit::invalid_config(error));
                report
            }
        };
        report.components = crate::audit::registered_component_audits();
        if let Some(resolver) = &self.tenant_resolver {
            for store in self.state.unscoped_stores() {
                report.add_finding(crate::audit::unscoped_store(store));
            }
            let proxies = config.as_ref().map_or(0, |config| config.trusted_proxies);
            report.add_finding(crate::audit::tenancy_mode(
                resolver,
                self.known_tenants.is_some(),
                proxies,
            ));
        }
        report
    }
}

/// The live routes: `App::live`'s in the default live session, then each
/// live session's. Bad patterns, two routes matching the same paths and
/// unnamed or twice-named live sessions are startup errors.
fn build_router(pages: Vec<(String, ViewFactory)>, groups: Vec<LiveGroup>) -> Result<Router> {
    let mut router = Router::new();
    for (path, factory) in pages {
        router.add(&path, factory, 0)?;
    }
    for group in groups {
        router.add_group(group)?;
    }
    Ok(router)
}

/// The stores that must be shared when several processes serve one site.
struct SharedStores {
    sessions: Option<Arc<dyn SessionStore>>,
    limiter: Option<Arc<dyn HandlerRateLimiter>>,
    revocations: Option<Arc<dyn RevocationBroadcast>>,
    ip_limiter: Option<Arc<dyn SharedIpLimiter>>,
    view_states: Option<Arc<dyn ViewStateStore>>,
    login_throttle: Option<Arc<dyn LoginThrottle>>,
    idempotency: Option<Arc<dyn crate::offline::IdempotencyStore>>,
}

impl SharedStores {
    /// With `DJUST_REDIS_URL` set, fills every store not set in code with
    /// its Redis implementation (feature `redis`; without the feature the
    /// setting is a startup error rather than silently per-process state).
    fn from_config(config: &Config, explicit: SharedStores) -> Result<SharedStores> {
        if config.redis_url.is_none() {
            return Ok(explicit);
        }
        #[cfg(feature = "redis")]
        {
            use crate::redis as r;
            let Some(redis) = r::Redis::from_config(config).map_err(Error::config)? else {
                return Ok(explicit);
            };
            let idle = std::time::Duration::from_secs(config.session_idle_secs);
            Ok(SharedStores {
                sessions: explicit
                    .sessions
                    .or_else(|| Some(Arc::new(r::RedisSessionStore::new(redis.clone(), idle)))),
                limiter: explicit
                    .limiter
                    .or_else(|| Some(Arc::new(r::RedisRateLimiter::new(redis.clone())))),
                revocations: explicit
                    .revocations
                    .or_else(|| Some(Arc::new(r::RedisRevocations::new(redis.clone())))),
                ip_limiter: explicit
                    .ip_limiter
                    .or_else(|| Some(Arc::new(r::RedisIpLimiter::new(redis.clone())))),
                view_states: explicit
                    .view_states
                    .or_else(|| Some(Arc::new(r::RedisViewStateStore::new(redis.clone())))),
                login_throttle: explicit
                    .login_throttle
                    .or_else(|| Some(Arc::new(r::RedisLoginThrottle::new(redis.clone())))),
                idempotency: explicit.idempotency.or_else(|| {
                    Some(Arc::new(r::RedisIdempotencyStore::from_config(
                        redis.clone(),
                        config,
                    )))
                }),
            })
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = explicit;
            Err(Error::config(
                "DJUST_REDIS_URL is set but djust was built without the `redis` feature: enable it (features = [\"redis\"]) or unset the variable",
            ))
        }
    }
}

/// Connections the kernel queues for `accept`. Under a flood of
/// reconnecting clients the queue stays full whatever its length (they
/// outnumber it), and a legitimate client whose SYN is dropped waits for
/// its 1 s retransmission; a longer queue (4096 was measured) only adds
/// the wait behind the attackers queued before it. See BENCHMARKS.md,
/// "Resource exhaustion".
const LISTEN_BACKLOG: u32 = 1024;

/// A listening socket on the first of `addr`'s addresses that binds, with
/// `TCP_NODELAY` set so accepted sockets inherit it (Linux, the BSDs and
/// Windows copy it from the listener; warp offers no hook per connection).
/// Without it, a second frame written right after a first (an event's
/// patch, then a `push_event`) waits for the client's delayed ACK, ~40 ms.
async fn listen(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<tokio::net::TcpListener> {
    let mut last_error = None;
    for address in tokio::net::lookup_host(addr).await? {
        let socket = if address.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restarted server can bind at once.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        socket.set_nodelay(true)?;
        match socket.bind(address) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod listen_tests {
    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let listener = super::listen("127.0.0.1:0").await.expect("listen");
        let address = listener.local_addr().expect("address");
        let _client = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        assert!(
            accepted.nodelay().expect("nodelay"),
            "inherited from the listener"
        );
    }

    #[tokio::test]
    async fn unresolvable_and_taken_addresses_are_errors() {
        assert!(super::listen("no-such-host.invalid:80").await.is_err());
        let taken = super::listen("127.0.0.1:0").await.expect("listen");
        let address = taken.local_addr().expect("address");
        assert!(super::listen(address).await.is_err(), "port in use");
    }
}

#[cfg(all(test, not(feature = "redis")))]
mod redis_setting_tests {
    use super::{App, Config};

    #[tokio::test]
    async fn djust_redis_url_without_the_feature_is_a_startup_error() {
        let config = Config {
            secret_key: Some("k".repeat(40)),
            redis_url: Some("redis://127.0.0.1:6379/0".to_owned()),
            ..Config::default()
        };
        let error = App::new()
            .config(config)
            .bind("127.0.0.1:0")
            .await
            .err()
            .map(|error| error.message().to_owned())
            .unwrap_or_default();
        assert!(error.contains("`redis` feature"), "{error}");
    }
}
