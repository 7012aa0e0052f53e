//! Shared state in Redis, for several server processes behind one load
//! balancer (cargo feature `redis`, setting `DJUST_REDIS_URL`; TLS with the
//! `redis-tls` feature and a `rediss://` URL, `DJUST_REDIS_CA_FILE` for a
//! private CA).
//!
//! * [`Redis`]: one lazily connected, self-reconnecting handle (a
//!   [`::redis::aio::ConnectionManager`] with bounded timeouts and backoff).
//! * [`RedisSessionStore`]: sessions as JSON under `djust:session:{id}`, TTL =
//!   idle timeout.
//! * [`RedisRateLimiter`]: `#[rate_limit]` token buckets under
//!   `djust:rate:{key}`, taken atomically by one Lua script (one `EVALSHA`
//!   round trip per check).
//! * [`RedisRevocations`]: logout on one process closes the session's
//!   sockets on every process (pub/sub channel `djust:revoked`, plus
//!   `djust:revoked:{id}` keys replayed when a subscriber reconnects).
//! * [`RedisBroadcast`]: a `tokio::sync::broadcast` channel whose messages
//!   travel through `djust:pubsub:{topic}`, so `handle_info` reaches views
//!   on every process.
//! * [`RedisIpLimiter`]: per-IP connection counts and cooldowns shared by
//!   every process (`djust:ip:{ip}`, `djust:cooldown:{ip}`).
//! * [`RedisLoginThrottle`]: login attempt budgets per client address and
//!   per user name shared by every process (`djust:login:{key}`).
//! * [`RedisKeyValueStore`]: the application's [`KeyValueStore`] under
//!   `djust:kv:{key}` with a TTL; wrapped in a
//!   [`TenantScopedStore`] its keys become `djust:kv:tenant:{tenant}:{key}`.
//!
//! * [`RedisIdempotencyStore`]: the idempotency keys of replayed offline
//!   actions (`djust:offline:{session}:key:{key}`, under a tenant
//!   `djust:offline:tenant:{tenant}:{session}:key:{key}`), so a sync batch
//!   retried on another process applies once.
//!
//! [`KeyValueStore`]: crate::session::KeyValueStore
//! [`TenantScopedStore`]: crate::session::TenantScopedStore
//!
//! Every key is namespaced `djust:{purpose}:...` and carries a TTL.
//!
//! When Redis is down or slow (every command is bounded by a timeout):
//! rate-limited handlers, new per-IP slots and replayed offline actions are
//! refused (fail closed),
//! requests whose session cannot be loaded are anonymous, sockets already
//! mounted keep working except for those checks, and everything recovers by
//! itself when Redis is back. See `docs/deploy.md`.

mod broadcast;
mod idempotency;
mod ip;
mod kv;
mod login;
mod rate;
mod revoke;
mod session;
mod subscriber;
mod view_state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use self::broadcast::{PublishError, RedisBroadcast};
pub use self::idempotency::{RedisIdempotencyStore, OFFLINE_PREFIX};
pub use self::ip::{RedisIpLimiter, RedisIpSlot};
pub use self::kv::RedisKeyValueStore;
pub use self::login::{RedisLoginThrottle, LOGIN_PREFIX};
pub use self::rate::RedisRateLimiter;
pub use self::revoke::RedisRevocations;
pub use self::session::RedisSessionStore;
pub use self::view_state::RedisViewStateStore;
use crate::config::{Config, ConfigError};
use crate::session::StoreError;

/// The underlying client crate, for applications that need raw commands.
pub use ::redis as client;

/// Pub/sub channel carrying logged-out session ids.
pub const REVOKED_CHANNEL: &str = "djust:revoked";

/// Timeouts and reconnection backoff of a [`Redis`] handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOptions {
    /// Longest wait for a TCP connection to Redis (default 1 s).
    pub connect_timeout: Duration,
    /// Longest wait for one command's reply (default 1 s). A slow Redis is
    /// treated like a down one: the operation fails closed.
    pub response_timeout: Duration,
    /// First reconnection delay; doubles per failed try (default 100 ms).
    pub min_backoff: Duration,
    /// Longest reconnection delay (default 2 s).
    pub max_backoff: Duration,
    /// How often an idle subscription is checked with `PING` (default 5 s):
    /// a half-open TCP connection would otherwise go unnoticed.
    pub health_check_interval: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            health_check_interval: Duration::from_secs(5),
        }
    }
}

/// A handle on one Redis server, shared by the stores of one process.
///
/// Cheap to clone. The connection is opened on first use (so a process can
/// start while Redis is down) and re-opened with exponential backoff after
/// a failure; commands meanwhile fail with [`StoreError::Unavailable`].
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    client: ::redis::Client,
    options: RedisOptions,
    manager: tokio::sync::OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: show where, never how.
        let info = self.inner.client.get_connection_info();
        f.debug_struct("Redis")
            .field("addr", &info.addr().to_string())
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Redis {
    /// A handle on the server at `url` (`redis://[:password@]host:port[/db]`)
    /// with default [`RedisOptions`]. Does not connect yet.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, RedisOptions::default())
    }

    /// Like [`Redis::open`] with explicit timeouts and backoff.
    ///
    /// A `rediss://` URL (TLS) needs the `redis-tls` feature; the server's
    /// certificate is then checked against the system's trust store (see
    /// [`Redis::open_with_ca`] for a private CA).
    pub fn open_with(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        if url.starts_with("rediss://") && !cfg!(feature = "redis-tls") {
            return Err(StoreError::Unavailable(
                "a rediss:// (TLS) URL needs djust's `redis-tls` feature (features = [\"redis-tls\"])".to_owned(),
            ));
        }
        #[cfg(feature = "redis-tls")]
        install_crypto_provider();
        let client = ::redis::Client::open(url)
            .map_err(|error| StoreError::Unavailable(format!("invalid Redis URL: {error}")))?;
        Ok(Self::with_client(client, options))
    }

    /// Like [`Redis::open_with`] for a `rediss://` URL whose server
    /// certificate is signed by the CA in `root_ca_pem` (PEM) rather than
    /// one the system trusts (feature `redis-tls`).
    #[cfg(feature = "redis-tls")]
    pub fn open_with_ca(
        url: &str,
        options: RedisOptions,
        root_ca_pem: Vec<u8>,
    ) -> Result<Self, StoreError> {
        if !url.starts_with("rediss://") {
            return Err(StoreError::Unavailable(
                "a CA certificate is only used with a rediss:// (TLS) URL".to_owned(),
            ));
        }
        install_crypto_provider();
        let certificates = ::redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(root_ca_pem),
        };
        let client = ::redis::Client::build_with_tls(url, certificates).map_err(|error| {
            StoreError::Unavailable(format!("invalid Redis URL or CA certificate: {error}"))
        })?;
        Ok(Self::with_client(client, options))
    }

    /// The handle `config` names: `DJUST_REDIS_URL`, with
    /// `DJUST_REDIS_CA_FILE` read for a private CA; `None` without a URL.
    /// The error names the setting at fault.
    pub fn from_config(config: &Config) -> Result<Option<Self>, ConfigError> {
        let invalid = |variable: &str, problem: String| ConfigError {
            variable: variable.to_owned(),
            problem,
        };
        let Some(url) = &config.redis_url else {
            return Ok(None);
        };
        let options = RedisOptions::default();
        let Some(path) = &config.redis_ca_file else {
            return Self::open_with(url, options)
                .map(Some)
                .map_err(|error| invalid("DJUST_REDIS_URL", reason(error)));
        };
        #[cfg(feature = "redis-tls")]
        {
            let pem = std::fs::read(path).map_err(|error| {
                invalid(
                    "DJUST_REDIS_CA_FILE",
                    format!("cannot read {}: {error}", path.display()),
                )
            })?;
            Self::open_with_ca(url, options, pem)
                .map(Some)
                .map_err(|error| invalid("DJUST_REDIS_CA_FILE", reason(error)))
        }
        #[cfg(not(feature = "redis-tls"))]
        {
            let _ = path;
            Err(invalid(
                "DJUST_REDIS_CA_FILE",
                "needs djust's `redis-tls` feature (features = [\"redis-tls\"])".to_owned(),
            ))
        }
    }

    fn with_client(client: ::redis::Client, options: RedisOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                options,
                manager: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The timeouts and backoff in use.
    pub fn options(&self) -> RedisOptions {
        self.inner.options
    }

    /// The client, for opening dedicated connections (pub/sub).
    pub fn client(&self) -> &::redis::Client {
        &self.inner.client
    }

    /// A connection from the shared manager, connecting on first use.
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let options = self.inner.options;
        let manager = self
            .inner
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(options.connect_timeout))
                    .set_response_timeout(Some(options.response_timeout))
                    .set_min_delay(options.min_backoff)
                    .set_max_delay(options.max_backoff)
                    .set_number_of_retries(2);
                let connect = self.inner.client.get_connection_manager_with_config(config);
                match tokio::time::timeout(options.connect_timeout.saturating_mul(4), connect).await
                {
                    Ok(Ok(manager)) => Ok(manager),
                    Ok(Err(error)) => Err(unavailable(&error)),
                    Err(_) => Err(StoreError::Unavailable("connect timed out".to_owned())),
                }
            })
            .await?;
        Ok(manager.clone())
    }

    /// Runs one command with this handle's timeouts, on the shared
    /// connection. For application data kept next to djust's (use your own
    /// key prefix, e.g. `myapp:…`, and give every key a TTL).
    pub async fn query<T: ::redis::FromRedisValue>(
        &self,
        cmd: &::redis::Cmd,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        self.bounded(cmd.query_async(&mut connection)).await
    }

    /// Runs a pipeline (one round trip; `MULTI`/`EXEC` when built with
    /// [`::redis::Pipeline::atomic`]) with this handle's timeouts.
    pub async fn query_pipeline<T: ::redis::FromRedisValue>(
        &self,
        pipeline: &::redis::Pipeline,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        self.bounded(pipeline.query_async(&mut connection)).await
    }

    /// Awaits `future` for at most twice the response timeout (the manager
    /// has its own per-command timeout; this also bounds reconnect waits).
    pub(crate) async fn bounded<T>(
        &self,
        future: impl std::future::Future<Output = ::redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let limit = self.inner.options.response_timeout.saturating_mul(2);
        match tokio::time::timeout(limit, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(unavailable(&error)),
            Err(_) => Err(StoreError::Unavailable("command timed out".to_owned())),
        }
    }

    /// Invokes a Lua script (`EVALSHA`, falling back to `EVAL` once when
    /// the server does not have it cached yet).
    pub(crate) async fn invoke<T: ::redis::FromRedisValue>(
        &self,
        invocation: &::redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        self.bounded(invocation.invoke_async(&mut connection)).await
    }

    /// `PING`: whether Redis answers now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self.query(&::redis::cmd("PING")).await?;
        Ok(())
    }
}

/// Makes ring the process's rustls crypto provider unless one is installed.
/// redis-rs builds its TLS configs with `ClientConfig::builder()`, which
/// panics at the first connection when the application's dependency graph
/// enables a second provider (aws-lc-rs, common with AWS SDKs) and nobody
/// chose; an application that installed its own keeps it.
#[cfg(feature = "redis-tls")]
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The text of a store error, without the "store unavailable" prefix.
fn reason(error: StoreError) -> String {
    match error {
        StoreError::Unavailable(reason) => reason,
        other => other.to_string(),
    }
}

fn unavailable(error: &::redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// Logs a Redis outage at most once per second per call site (with how many
/// failures were not logged), so an outage under load does not flood logs.
#[derive(Debug, Default)]
pub(crate) struct OutageLog {
    last_second: AtomicU64,
    suppressed: AtomicU64,
}

impl OutageLog {
    /// `Some(suppressed count)` when this failure should be logged.
    pub(crate) fn should_log(&self) -> Option<u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let last = self.last_second.swap(now, Ordering::Relaxed);
        if last == now {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        } else {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        }
    }
}

/// Seconds as a Redis TTL: at least 1 (0 would mean "no expiry" to some
/// commands or an error to others).
pub(crate) fn ttl_secs(duration: Duration) -> u64 {
    duration.as_secs().max(1)
}

/// Unix seconds now (0 if the clock is before 1970).
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(all(test, not(feature = "redis-tls")))]
mod tls_feature_tests {
    use super::Redis;
    use crate::config::Config;

    #[test]
    fn tls_settings_without_the_feature_say_which_feature() {
        let error = Redis::open("rediss://cache.internal:6380/0").expect_err("no TLS support");
        assert!(error.to_string().contains("`redis-tls` feature"), "{error}");
        let config = Config {
            redis_url: Some("rediss://cache.internal:6380/0".to_owned()),
            redis_ca_file: Some("ca.pem".into()),
            ..Config::default()
        };
        let error = Redis::from_config(&config).expect_err("no TLS support");
        assert_eq!(error.variable, "DJUST_REDIS_CA_FILE");
        assert!(error.problem.contains("`redis-tls` feature"), "{error}");
    }
}

#[cfg(test)]
mod url_tests {
    use super::Redis;

    #[test]
    fn hostile_urls_are_errors_or_inert_never_panics_and_never_leak_the_password() {
        let long_host = format!("redis://{}:6379/0", "a".repeat(10_000));
        let hostile = [
            "",
            "redis://",
            "redis://:@",
            "redis://127.0.0.1:99999/0",
            "redis://127.0.0.1:6379/not-a-db",
            "redis://[::1:6379/0",
            "redis://127.0.0.1:6379/0\r\nFLUSHALL\r\n",
            "redis://h\u{0}st:6379/0",
            "redis://exämple.test:6379/0",
            "redis://127.0.0.1:6379/0?protocol=<script>",
            long_host.as_str(),
        ];
        for url in hostile {
            // Either refused now or a handle whose first command fails: both
            // are fine; a panic or a password in the Debug output is not.
            if let Ok(redis) = Redis::open(url) {
                let debug = format!("{redis:?}");
                assert!(!debug.contains("FLUSHALL\r\n"), "{debug}");
            }
        }
        let redis = Redis::open("redis://:hunter2@10.0.0.5:6379/0").expect("valid");
        let debug = format!("{redis:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("10.0.0.5"), "{debug}");
    }
}
