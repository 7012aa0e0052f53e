//! [`Endpoint`]: what every [`Connection`](super::Connection) of one app
//! shares: the settings, the views by wire name, the mount-token signer,
//! the logged-out sessions, the `#[rate_limit]` store, the app state and
//! the auth backend (to reload users for `reauth_each_event` views).

use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::{AuthBackend, Signer};
use crate::config::Config;
use crate::limits::{HandlerRateLimiter, MemoryRateLimiter, DEFAULT_LIMITER_CAPACITY};
use crate::session::Revoked;

use super::persist::ViewStateStore;
use super::router::Router;
use crate::upload::{UploadDir, UploadLimits};
use crate::view::{AppState, ViewFactory};

/// Shared by the connections of one app (hold it in an `Arc`).
pub struct Endpoint {
    pub(crate) config: Config,
    pub(crate) views: HashMap<&'static str, ViewFactory>,
    pub(crate) signer: Signer,
    pub(crate) revoked: Arc<Revoked>,
    pub(crate) limiter: Arc<dyn HandlerRateLimiter>,
    pub(crate) state: AppState,
    pub(crate) view_states: Option<Arc<dyn ViewStateStore>>,
    pub(crate) upload_dir: Option<UploadDir>,
    pub(crate) router: Router,
    pub(crate) site_title: String,
    pub(crate) auth: Option<Arc<dyn AuthBackend>>,
    /// Idempotency keys of replayed offline actions, per session and
    /// tenant (shared by sockets and the sync endpoint; in memory unless
    /// [`Endpoint::idempotency_store`] says otherwise).
    pub(crate) offline_keys: Arc<dyn crate::offline::IdempotencyStore>,
}

/// The `<title>` of a page: the view's title, then the site's name (when
/// there is one and it differs).
pub fn page_title(view_title: &str, site_title: &str) -> String {
    if site_title.is_empty() || site_title == view_title {
        view_title.to_owned()
    } else {
        format!("{view_title} · {site_title}")
    }
}

impl Endpoint {
    /// An endpoint serving no view yet, with `config`'s limits, mount tokens
    /// checked with `signer`, an in-memory `#[rate_limit]` store and no
    /// app state.
    pub fn new(config: Config, signer: Signer) -> Self {
        Endpoint {
            revoked: Arc::new(Revoked::new(config.heartbeat_timeout_secs)),
            offline_keys: Arc::new(crate::offline::IdempotencyKeys::from_config(&config)),
            config,
            views: HashMap::new(),
            signer,
            limiter: Arc::new(MemoryRateLimiter::new(DEFAULT_LIMITER_CAPACITY)),
            state: AppState::default(),
            view_states: None,
            upload_dir: None,
            router: Router::new(),
            site_title: String::new(),
            auth: None,
        }
    }

    /// Uses `router` for live navigation (and registers its views).
    pub fn router(mut self, router: Router) -> Self {
        for route in router.routes() {
            self.views.insert(route.view.meta().name, route.view);
        }
        self.router = router;
        self
    }

    /// The site's name, appended to page titles.
    pub fn site_title(mut self, title: impl Into<String>) -> Self {
        self.site_title = title.into();
        self
    }

    /// Where the idempotency keys of replayed offline actions are claimed.
    pub fn offline_keys(&self) -> &dyn crate::offline::IdempotencyStore {
        self.offline_keys.as_ref()
    }

    /// Claims the idempotency keys of replayed offline actions in `store`
    /// (shared by every process of a site: a Redis store).
    pub fn idempotency_store(mut self, store: Arc<dyn crate::offline::IdempotencyStore>) -> Self {
        self.offline_keys = store;
        self
    }

    /// The live routes.
    pub fn routes(&self) -> &Router {
        &self.router
    }

    /// The full page title for a view's title.
    pub fn page_title(&self, view_title: &str) -> String {
        page_title(view_title, &self.site_title)
    }

    /// Serves `view` under its wire name (`ViewMeta::name`). A second view
    /// with the same name replaces the first; `App` refuses that earlier.
    pub fn view(mut self, view: ViewFactory) -> Self {
        self.views.insert(view.meta().name, view);
        self
    }

    /// Uses `limiter` for `#[rate_limit]` buckets.
    pub fn rate_limiter(mut self, limiter: Arc<dyn HandlerRateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// Consults `revoked` for logged-out sessions.
    pub fn revocations(mut self, revoked: Arc<Revoked>) -> Self {
        self.revoked = revoked;
        self
    }

    /// Hands `state` to views (`ctx.state::<T>()`).
    pub fn state(mut self, state: AppState) -> Self {
        self.state = state;
        self
    }

    /// Keeps the sealed state of `persist` views in `store` when their
    /// socket drops and at shutdown, for a resume on any process.
    pub fn view_state_store(mut self, store: Arc<dyn ViewStateStore>) -> Self {
        self.view_states = Some(store);
        self
    }

    /// Streams uploads into `dir` (needed when a view declares upload slots).
    pub fn upload_dir(mut self, dir: UploadDir) -> Self {
        self.upload_dir = Some(dir);
        self
    }

    /// The bounds on one connection's uploads, from the settings.
    pub fn upload_limits(&self) -> UploadLimits {
        let config = &self.config;
        UploadLimits {
            max_entries: config.upload_max_entries,
            bytes_per_second: config.upload_bytes_per_second,
            quota: config.upload_connection_quota_bytes,
            idle: std::time::Duration::from_secs(config.upload_idle_secs),
        }
    }

    /// Where `persist` views wait, if anywhere.
    pub fn view_states(&self) -> Option<&Arc<dyn ViewStateStore>> {
        self.view_states.as_ref()
    }

    /// Reloads users from `backend` before each event of a
    /// `reauth_each_event` view, so a permission removed or an account
    /// deactivated while the socket is open counts from the next event.
    pub fn auth_backend(mut self, backend: Arc<dyn AuthBackend>) -> Self {
        self.auth = Some(backend);
        self
    }

    /// The signer of tokens issued under `tenant` (the base signer
    /// without tenancy): a token of one tenant is invalid under another.
    pub fn signer_for(&self, tenant: Option<&crate::tenant::Tenant>) -> Signer {
        match tenant {
            Some(tenant) => self.signer.derive(&crate::tenant::signing_purpose(tenant)),
            None => self.signer.clone(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The view served under `name`.
    pub fn find_view(&self, name: &str) -> Option<ViewFactory> {
        self.views.get(name).copied()
    }

    /// The logged-out sessions.
    pub fn revoked(&self) -> &Arc<Revoked> {
        &self.revoked
    }

    /// The mount-token signer.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }
}
