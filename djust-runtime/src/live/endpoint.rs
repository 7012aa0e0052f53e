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
use crate::view::{AppState, ViewFactory};

/// Shared by the connections of one app (hold it in an `Arc`).
pub struct Endpoint {
    pub(crate) config: Config,
    pub(crate) views: HashMap<&'static str, ViewFactory>,
    pub(crate) signer: Signer,
    pub(crate) revoked: Arc<Revoked>,
    pub(crate) limiter: Arc<dyn HandlerRateLimiter>,
    pub(crate) state: AppState,
    pub(crate) auth: Option<Arc<dyn AuthBackend>>,
}

impl Endpoint {
    /// An endpoint serving no view yet, with `config`'s limits, mount tokens
    /// checked with `signer`, an in-memory `#[rate_limit]` store and no
    /// app state.
    pub fn new(config: Config, signer: Signer) -> Self {
        Endpoint {
            revoked: Arc::new(Revoked::new(config.heartbeat_timeout_secs)),
            config,
            views: HashMap::new(),
            signer,
            limiter: Arc::new(MemoryRateLimiter::new(DEFAULT_LIMITER_CAPACITY)),
            state: AppState::default(),
            auth: None,
        }
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

    /// Reloads users from `backend` before each event of a
    /// `reauth_each_event` view, so a permission removed or an account
    /// deactivated while the socket is open counts from the next event.
    pub fn auth_backend(mut self, backend: Arc<dyn AuthBackend>) -> Self {
        self.auth = Some(backend);
        self
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
