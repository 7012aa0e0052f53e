//! [`Config`]: every limit of the security model, with safe
//! defaults, loadable from `DJUST_*` environment variables.
//!
//! A bad value is a startup error naming the variable and what it accepts,
//! never a silent fallback. Every field is overridable in code too.
//!
//! The defaults are the constants of the modules that enforce them
//! ([`crate::limits`], [`crate::session`], [`crate::auth`]), so a limit has
//! one default wherever it is read.

use std::fmt;

use crate::auth::DEFAULT_MOUNT_TOKEN_TTL_SECS;
use crate::limits::{
    default_login_concurrency, default_login_queue, DEFAULT_BURST, DEFAULT_HTTP_BODY_TIMEOUT,
    DEFAULT_HTTP_HEADER_TIMEOUT, DEFAULT_HTTP_IDLE_TIMEOUT, DEFAULT_HTTP_MAX_BODY_BYTES,
    DEFAULT_HTTP_MAX_CONNECTIONS, DEFAULT_HTTP_MAX_CONNECTIONS_PER_IP, DEFAULT_HTTP_MAX_FORM_BYTES,
    DEFAULT_HTTP_MAX_HEADER_BYTES, DEFAULT_IP_COOLDOWN, DEFAULT_LOGIN_PER_IP_PER_MINUTE,
    DEFAULT_LOGIN_PER_MINUTE, DEFAULT_LOGIN_PER_USER_PER_MINUTE, DEFAULT_MAX_CONNECTIONS_PER_IP,
    DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_LIVE_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_MAX_WARNINGS, DEFAULT_NAVIGATIONS_PER_SECOND, DEFAULT_NAVIGATION_BURST,
    DEFAULT_RATE_PER_SECOND, DEFAULT_REFUSALS_BEFORE_COOLDOWN,
};
use crate::session::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_SESSIONS};

/// Default reconnect grace (`DJUST_RECONNECT_GRACE_SECS`).
pub const DEFAULT_RECONNECT_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a mounted view stays idle before it drops its rendered page
/// (`DJUST_HIBERNATE_AFTER_SECS`): Phoenix LiveView's `hibernate_after`.
pub const DEFAULT_HIBERNATE_AFTER: std::time::Duration = std::time::Duration::from_secs(15);
/// Default longest wait of a reply for its `persist` view's state to reach
/// the view-state store before the socket closes with 1013
/// (`DJUST_DURABLE_WAIT_MS`).
pub const DEFAULT_DURABLE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest `DJUST_DURABLE_WAIT_MS` accepted: a minute. A reply held longer
/// pins its socket and its view while users see nothing happen.
pub const MAX_DURABLE_WAIT_MS: u64 = 60_000;
/// Default detached views per session (`DJUST_MAX_DETACHED_PER_SESSION`).
pub const DEFAULT_MAX_DETACHED_PER_SESSION: usize = 4;
/// Default detached views per client address (`DJUST_MAX_DETACHED_PER_IP`).
pub const DEFAULT_MAX_DETACHED_PER_IP: usize = 32;
/// Default detached views in all (`DJUST_MAX_DETACHED_VIEWS`).
pub const DEFAULT_MAX_DETACHED_VIEWS: usize = 10_000;
/// Default memory of all detached views (`DJUST_MAX_DETACHED_BYTES`): 256 MiB.
pub const DEFAULT_MAX_DETACHED_BYTES: usize = 256 * 1024 * 1024;
/// Default disk for all uploads (`DJUST_UPLOAD_QUOTA_BYTES`): 4 GiB.
pub const DEFAULT_UPLOAD_QUOTA_BYTES: u64 = 4 << 30;
/// Default disk for one connection's uploads (`DJUST_UPLOAD_CONNECTION_QUOTA_BYTES`): 256 MiB.
pub const DEFAULT_UPLOAD_CONNECTION_QUOTA_BYTES: u64 = 256 << 20;
/// Default files one connection uploads at once (`DJUST_UPLOAD_MAX_ENTRIES`).
pub const DEFAULT_UPLOAD_MAX_ENTRIES: usize = 4;
/// Default upload bytes per second and connection (`DJUST_UPLOAD_BYTES_PER_SECOND`): 32 MiB.
pub const DEFAULT_UPLOAD_BYTES_PER_SECOND: u64 = 32 << 20;
/// Default idle time before an upload is dropped (`DJUST_UPLOAD_IDLE_SECS`).
pub const DEFAULT_UPLOAD_IDLE: std::time::Duration = std::time::Duration::from_secs(60);
/// Default actions in one offline sync batch (`DJUST_OFFLINE_MAX_ACTIONS`).
pub const DEFAULT_OFFLINE_MAX_ACTIONS: usize = 100;
/// Default age limit of a queued offline action (`DJUST_OFFLINE_MAX_AGE_SECS`): a day.
pub const DEFAULT_OFFLINE_MAX_AGE_SECS: u64 = 24 * 60 * 60;
/// Default body limit of the offline sync endpoint (`DJUST_OFFLINE_MAX_BODY_BYTES`): 256 KiB.
pub const DEFAULT_OFFLINE_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default idempotency keys remembered per session (`DJUST_OFFLINE_KEYS_PER_SESSION`).
pub const DEFAULT_OFFLINE_KEYS_PER_SESSION: usize = 1000;
/// Default sessions whose idempotency keys are remembered (`DJUST_OFFLINE_KEY_SESSIONS`).
pub const DEFAULT_OFFLINE_KEY_SESSIONS: usize = 10_000;

/// Server configuration. `Config::default()` is the secure default; see
/// [`Config::from_env`] for the variables.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// `DJUST_DEBUG`: detailed error messages to clients (never in production).
    pub debug: bool,
    /// `DJUST_SECRET_KEY`: signs session cookies and mount tokens (≥ 32 bytes).
    /// Missing in a debug build: a random key is generated with a warning.
    /// Missing or short in a release build: startup error.
    pub secret_key: Option<String>,
    /// `DJUST_MAX_MESSAGE_BYTES` (65536): larger frames get an error and close 1009.
    pub max_message_bytes: usize,
    /// `DJUST_MAX_JSON_DEPTH` (32): deeper JSON frames are refused before parsing.
    pub max_json_depth: usize,
    /// `DJUST_RATE_PER_SECOND` (100): per-connection token bucket rate; every frame counts.
    pub rate_per_second: f64,
    /// `DJUST_RATE_BURST` (20): per-connection bucket size.
    pub rate_burst: u32,
    /// `DJUST_MAX_RATE_WARNINGS` (3): warnings before close 4429 and IP cooldown.
    pub max_rate_warnings: u32,
    /// `DJUST_NAVIGATIONS_PER_SECOND` (4): live patches and navigations one
    /// connection may ask for per second (each runs `handle_params`, a
    /// navigation mounts a view); past it, the same warnings and close as
    /// for frames.
    pub navigations_per_second: f64,
    /// `DJUST_NAVIGATION_BURST` (8): the navigation bucket's size.
    pub navigation_burst: u32,
    /// `DJUST_MAX_CONNECTIONS_PER_IP` (10).
    pub max_connections_per_ip: u32,
    /// `DJUST_RECONNECT_COOLDOWN_SECS` (5): refusal period after a rate-limit close.
    pub reconnect_cooldown_secs: u64,
    /// `DJUST_REFUSALS_BEFORE_COOLDOWN` (5): WebSocket handshakes an address
    /// at its connection limit may have refused before it cools down for
    /// `reconnect_cooldown_secs` (0: never).
    pub refusals_before_cooldown: u32,
    /// `DJUST_TRUSTED_PROXIES` (0): read the Nth `X-Forwarded-For` entry from the right.
    pub trusted_proxies: usize,
    /// `DJUST_ALLOWED_ORIGINS` (comma separated; empty = the server's own origin).
    pub allowed_origins: Vec<String>,
    /// `DJUST_ALLOW_MISSING_ORIGIN` (false): accept sockets without an `Origin`
    /// header (non-browser clients). Browsers always send one.
    pub allow_missing_origin: bool,
    /// `DJUST_MAX_SESSIONS` (100000): sessions kept per process.
    pub max_sessions: usize,
    /// `DJUST_SESSION_IDLE_SECS` (86400): idle sessions expire.
    pub session_idle_secs: u64,
    /// `DJUST_HEARTBEAT_TIMEOUT_SECS` (60): a socket silent this long is closed.
    pub heartbeat_timeout_secs: u64,
    /// `DJUST_SEND_TIMEOUT_SECS` (10): a socket whose client does not read
    /// a frame within this time (its TCP buffers are full) is dropped, so a
    /// slow reader cannot pin the connection's task and memory.
    pub send_timeout_secs: u64,
    /// `DJUST_MOUNT_TOKEN_TTL_SECS` (3600).
    pub mount_token_ttl_secs: u64,
    /// `DJUST_RECONNECT_GRACE_SECS` (30): a view whose socket dropped
    /// without a close from the user is kept, detached, this long for its
    /// client to resume it (0: never kept).
    pub reconnect_grace_secs: u64,
    /// `DJUST_HIBERNATE_AFTER_SECS` (15): a mounted view that got no event,
    /// message or tick this long drops its rendered page and keeps only
    /// its state, and a view whose socket dropped does so at once; its
    /// next input renders the page again before it runs (0: never).
    pub hibernate_after_secs: u64,
    /// `DJUST_DURABLE_WAIT_MS` (5000): how long a reply waits, at most,
    /// while its `persist` view's state is written again to a view-state
    /// store that failed; past it the reply is dropped and the socket
    /// closes with 1013 (the view waits detached). 0: no retry, the first
    /// failed write closes the socket. At most 60000.
    pub durable_wait_ms: u64,
    /// `DJUST_MAX_DETACHED_PER_SESSION` (4): detached views kept per
    /// session; the oldest is dropped first.
    pub max_detached_per_session: usize,
    /// `DJUST_MAX_DETACHED_PER_IP` (32): detached views kept per client
    /// address (IPv6 by /64).
    pub max_detached_per_ip: usize,
    /// `DJUST_MAX_DETACHED_VIEWS` (10000): detached views kept in all.
    pub max_detached_views: usize,
    /// `DJUST_MAX_DETACHED_BYTES` (268435456): estimated memory of all
    /// detached views (their last tree and the frames they missed).
    pub max_detached_bytes: usize,
    /// `DJUST_UPLOAD_DIR` (the system temp directory's `djust-uploads`):
    /// where uploads stream to; its leftovers are removed at startup.
    pub upload_dir: Option<std::path::PathBuf>,
    /// `DJUST_UPLOAD_QUOTA_BYTES` (4294967296): disk all uploads in progress
    /// or not yet consumed may take.
    pub upload_quota_bytes: u64,
    /// `DJUST_UPLOAD_CONNECTION_QUOTA_BYTES` (268435456): the same per connection.
    pub upload_connection_quota_bytes: u64,
    /// `DJUST_UPLOAD_MAX_ENTRIES` (4): files one connection may upload at
    /// once (in progress or waiting to be consumed).
    pub upload_max_entries: usize,
    /// `DJUST_UPLOAD_BYTES_PER_SECOND` (33554432): upload bytes one
    /// connection may send per second.
    pub upload_bytes_per_second: u64,
    /// `DJUST_UPLOAD_IDLE_SECS` (60): an upload that receives nothing this
    /// long is dropped.
    pub upload_idle_secs: u64,
    /// `DJUST_OFFLINE_MAX_ACTIONS` (100): queued offline actions one sync
    /// request may carry; a longer batch is refused whole (413).
    pub offline_max_actions: usize,
    /// `DJUST_OFFLINE_MAX_AGE_SECS` (86400): a queued offline action older
    /// than this (by its timestamp) is refused as `expired`.
    pub offline_max_age_secs: u64,
    /// `DJUST_OFFLINE_MAX_BODY_BYTES` (262144): body limit of the offline
    /// sync endpoint (413 past it).
    pub offline_max_body_bytes: usize,
    /// `DJUST_OFFLINE_KEYS_PER_SESSION` (1000): idempotency keys remembered
    /// per session and tenant (the oldest is forgotten first).
    pub offline_keys_per_session: usize,
    /// `DJUST_OFFLINE_KEY_SESSIONS` (10000): sessions whose idempotency keys
    /// are remembered (the least recently used is forgotten first).
    pub offline_key_sessions: usize,
    /// `DJUST_LOGIN_URL` ("/login"): where `login_required` views send anonymous users.
    pub login_url: String,
    /// `DJUST_SECURE_COOKIES` (false): the site is served over TLS: cookies get
    /// `Secure` and the default WebSocket origin check expects `https://`.
    pub secure_cookies: bool,
    /// `DJUST_MAX_LIVE_CONNECTIONS` (10000): sockets per process.
    pub max_live_connections: usize,
    /// `DJUST_HTTP_HEADER_TIMEOUT_SECS` (10): a request head must be complete
    /// this long after the server starts waiting for it (a new connection,
    /// or the end of the previous response); otherwise the connection is closed.
    pub http_header_timeout_secs: u64,
    /// `DJUST_HTTP_IDLE_TIMEOUT_SECS` (5): a connection with no request in
    /// progress and no byte of a next one is closed after this long. At most
    /// `DJUST_HTTP_HEADER_TIMEOUT_SECS`, which also runs while waiting.
    pub http_idle_timeout_secs: u64,
    /// `DJUST_HTTP_BODY_TIMEOUT_SECS` (15): a request body must be complete
    /// this long after its head; otherwise the request gets 408 and the
    /// connection is closed.
    pub http_body_timeout_secs: u64,
    /// `DJUST_HTTP_MAX_HEADER_BYTES` (16384): larger request heads get 431.
    pub http_max_header_bytes: usize,
    /// `DJUST_HTTP_MAX_BODY_BYTES` (1048576): the largest body any route
    /// receives (413 above it); a route sets a lower limit of its own with
    /// `warp::body::content_length_limit`.
    pub http_max_body_bytes: usize,
    /// `DJUST_HTTP_MAX_FORM_BYTES` (16384): the largest urlencoded form the
    /// server parses itself (login, logout, and the `csrf_token` field of
    /// forms posted to `App::route` routes); 413 above it.
    pub http_max_form_bytes: usize,
    /// `DJUST_HTTP_MAX_CONNECTIONS` (1000): open HTTP connections per process
    /// (upgraded WebSockets are counted by `DJUST_MAX_LIVE_CONNECTIONS`
    /// instead). At the limit the connection that has waited longest
    /// without a request in progress is closed for the new one.
    pub http_max_connections: usize,
    /// `DJUST_HTTP_MAX_CONNECTIONS_PER_IP` (32): open HTTP connections per
    /// client address; more are closed at once. Behind
    /// `DJUST_TRUSTED_PROXIES`, requests in progress per forwarded address.
    pub http_max_connections_per_ip: u32,
    /// `DJUST_LOGIN_CONCURRENCY` (the number of cores): passwords hashed at once.
    pub login_concurrency: usize,
    /// `DJUST_LOGIN_QUEUE` (twice the concurrency): logins waiting for a
    /// hashing slot; beyond it a login gets 503 with `Retry-After` at once.
    pub login_queue: usize,
    /// `DJUST_LOGIN_PER_MINUTE` (600): login attempts per minute for the
    /// whole process (503 with `Retry-After` beyond, before hashing).
    pub login_per_minute: u32,
    /// `DJUST_LOGIN_PER_IP_PER_MINUTE` (20): login attempts per minute from
    /// one client address (429 with `Retry-After` beyond, before hashing).
    pub login_per_ip_per_minute: u32,
    /// `DJUST_LOGIN_PER_USER_PER_MINUTE` (10): login attempts per minute for
    /// one user name from any address (429 with `Retry-After` beyond,
    /// before hashing). Shared through Redis with `DJUST_REDIS_URL`.
    pub login_per_user_per_minute: u32,
    /// `DJUST_REDIS_URL` (unset): `redis://[:password@]host:port[/db]`. When
    /// set, sessions, `#[rate_limit]` buckets, logouts and per-IP counts are
    /// shared through Redis by every process (cargo feature `redis`; a
    /// startup error without it). See `docs/deploy.md`.
    pub redis_url: Option<String>,
    /// `DJUST_REDIS_CA_FILE` (unset): a PEM file of the CA that signed the
    /// Redis server's certificate, for a `rediss://` URL whose server is not
    /// trusted by the system store (cargo feature `redis-tls`).
    pub redis_ca_file: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            debug: false,
            secret_key: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            rate_burst: DEFAULT_BURST,
            max_rate_warnings: DEFAULT_MAX_WARNINGS,
            navigations_per_second: DEFAULT_NAVIGATIONS_PER_SECOND,
            navigation_burst: DEFAULT_NAVIGATION_BURST,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            reconnect_cooldown_secs: DEFAULT_IP_COOLDOWN.as_secs(),
            refusals_before_cooldown: DEFAULT_REFUSALS_BEFORE_COOLDOWN,
            trusted_proxies: 0,
            allowed_origins: Vec::new(),
            allow_missing_origin: false,
            max_sessions: DEFAULT_MAX_SESSIONS,
            session_idle_secs: DEFAULT_IDLE_TIMEOUT.as_secs(),
            heartbeat_timeout_secs: 60,
            send_timeout_secs: 10,
            mount_token_ttl_secs: DEFAULT_MOUNT_TOKEN_TTL_SECS,
            reconnect_grace_secs: DEFAULT_RECONNECT_GRACE.as_secs(),
            hibernate_after_secs: DEFAULT_HIBERNATE_AFTER.as_secs(),
            durable_wait_ms: u64::try_from(DEFAULT_DURABLE_WAIT.as_millis()).unwrap_or(u64::MAX),
            max_detached_per_session: DEFAULT_MAX_DETACHED_PER_SESSION,
            max_detached_per_ip: DEFAULT_MAX_DETACHED_PER_IP,
            max_detached_views: DEFAULT_MAX_DETACHED_VIEWS,
            max_detached_bytes: DEFAULT_MAX_DETACHED_BYTES,
            upload_dir: None,
            upload_quota_bytes: DEFAULT_UPLOAD_QUOTA_BYTES,
            upload_connection_quota_bytes: DEFAULT_UPLOAD_CONNECTION_QUOTA_BYTES,
            upload_max_entries: DEFAULT_UPLOAD_MAX_ENTRIES,
            upload_bytes_per_second: DEFAULT_UPLOAD_BYTES_PER_SECOND,
            upload_idle_secs: DEFAULT_UPLOAD_IDLE.as_secs(),
            offline_max_actions: DEFAULT_OFFLINE_MAX_ACTIONS,
            offline_max_age_secs: DEFAULT_OFFLINE_MAX_AGE_SECS,
            offline_max_body_bytes: DEFAULT_OFFLINE_MAX_BODY_BYTES,
            offline_keys_per_session: DEFAULT_OFFLINE_KEYS_PER_SESSION,
            offline_key_sessions: DEFAULT_OFFLINE_KEY_SESSIONS,
            login_url: "/login".to_owned(),
            secure_cookies: false,
            max_live_connections: DEFAULT_MAX_LIVE_CONNECTIONS,
            http_header_timeout_secs: DEFAULT_HTTP_HEADER_TIMEOUT.as_secs(),
            http_idle_timeout_secs: DEFAULT_HTTP_IDLE_TIMEOUT.as_secs(),
            http_body_timeout_secs: DEFAULT_HTTP_BODY_TIMEOUT.as_secs(),
            http_max_header_bytes: DEFAULT_HTTP_MAX_HEADER_BYTES,
            http_max_body_bytes: DEFAULT_HTTP_MAX_BODY_BYTES,
            http_max_form_bytes: DEFAULT_HTTP_MAX_FORM_BYTES,
            http_max_connections: DEFAULT_HTTP_MAX_CONNECTIONS,
            http_max_connections_per_ip: DEFAULT_HTTP_MAX_CONNECTIONS_PER_IP,
            login_concurrency: default_login_concurrency(),
            login_queue: default_login_queue(),
            login_per_minute: DEFAULT_LOGIN_PER_MINUTE,
            login_per_ip_per_minute: DEFAULT_LOGIN_PER_IP_PER_MINUTE,
            login_per_user_per_minute: DEFAULT_LOGIN_PER_USER_PER_MINUTE,
            redis_url: None,
            redis_ca_file: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("debug", &self.debug)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_json_depth", &self.max_json_depth)
            .field("rate_per_second", &self.rate_per_second)
            .field("rate_burst", &self.rate_burst)
            .field("max_rate_warnings", &self.max_rate_warnings)
            .field("navigations_per_second", &self.navigations_per_second)
            .field("navigation_burst", &self.navigation_burst)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("reconnect_cooldown_secs", &self.reconnect_cooldown_secs)
            .field("refusals_before_cooldown", &self.refusals_before_cooldown)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("allowed_origins", &self.allowed_origins)
            .field("allow_missing_origin", &self.allow_missing_origin)
            .field("max_sessions", &self.max_sessions)
            .field("session_idle_secs", &self.session_idle_secs)
            .field("heartbeat_timeout_secs", &self.heartbeat_timeout_secs)
            .field("send_timeout_secs", &self.send_timeout_secs)
            .field("mount_token_ttl_secs", &self.mount_token_ttl_secs)
            .field("reconnect_grace_secs", &self.reconnect_grace_secs)
            .field("hibernate_after_secs", &self.hibernate_after_secs)
            .field("durable_wait_ms", &self.durable_wait_ms)
            .field("max_detached_per_session", &self.max_detached_per_session)
            .field("max_detached_per_ip", &self.max_detached_per_ip)
            .field("max_detached_views", &self.max_detached_views)
            .field("max_detached_bytes", &self.max_detached_bytes)
            .field("upload_dir", &self.upload_dir)
            .field("upload_quota_bytes", &self.upload_quota_bytes)
            .field(
                "upload_connection_quota_bytes",
                &self.upload_connection_quota_bytes,
            )
            .field("upload_max_entries", &self.upload_max_entries)
            .field("upload_bytes_per_second", &self.upload_bytes_per_second)
            .field("upload_idle_secs", &self.upload_idle_secs)
            .field("offline_max_actions", &self.offline_max_actions)
            .field("offline_max_age_secs", &self.offline_max_age_secs)
            .field("offline_max_body_bytes", &self.offline_max_body_bytes)
            .field("offline_keys_per_session", &self.offline_keys_per_session)
            .field("offline_key_sessions", &self.offline_key_sessions)
            .field("login_url", &self.login_url)
            .field("secure_cookies", &self.secure_cookies)
            .field("max_live_connections", &self.max_live_connections)
            .field("http_header_timeout_secs", &self.http_header_timeout_secs)
            .field("http_idle_timeout_secs", &self.http_idle_timeout_secs)
            .field("http_body_timeout_secs", &self.http_body_timeout_secs)
            .field("http_max_header_bytes", &self.http_max_header_bytes)
            .field("http_max_body_bytes", &self.http_max_body_bytes)
            .field("http_max_form_bytes", &self.http_max_form_bytes)
            .field("http_max_connections", &self.http_max_connections)
            .field(
                "http_max_connections_per_ip",
                &self.http_max_connections_per_ip,
            )
            .field("login_concurrency", &self.login_concurrency)
            .field("login_queue", &self.login_queue)
            .field("login_per_minute", &self.login_per_minute)
            .field("login_per_ip_per_minute", &self.login_per_ip_per_minute)
            .field("login_per_user_per_minute", &self.login_per_user_per_minute)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_ca_file", &self.redis_ca_file)
            .finish()
    }
}

/// A setting that is looser than its secure default (listed by the audit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loosened {
    /// The variable, e.g. `DJUST_RATE_BURST`.
    pub variable: &'static str,
    /// The value in use.
    pub value: String,
    /// The secure default.
    pub default: String,
    /// What the looser value allows.
    pub risk: &'static str,
}

impl Config {
    /// Every setting looser than [`Config::default`]: a higher limit, a
    /// longer timeout, or a protection turned off. `debug` is not listed
    /// (the audit reports it on its own, as an error).
    pub fn loosened(&self) -> Vec<Loosened> {
        let default = Config::default();
        let mut out = Vec::new();
        let mut above = |variable: &'static str,
                         value: String,
                         default: String,
                         looser: bool,
                         risk: &'static str| {
            if looser {
                out.push(Loosened {
                    variable,
                    value,
                    default,
                    risk,
                });
            }
        };
        macro_rules! higher_is_looser {
            ($field:ident, $variable:literal, $risk:literal) => {
                above(
                    $variable,
                    self.$field.to_string(),
                    default.$field.to_string(),
                    self.$field > default.$field,
                    $risk,
                )
            };
        }
        higher_is_looser!(
            rate_per_second,
            "DJUST_RATE_PER_SECOND",
            "one connection may send more frames per second"
        );
        higher_is_looser!(
            rate_burst,
            "DJUST_RATE_BURST",
            "one connection may send a larger burst of frames"
        );
        higher_is_looser!(
            max_rate_warnings,
            "DJUST_MAX_RATE_WARNINGS",
            "a flooding connection is closed later"
        );
        higher_is_looser!(
            navigations_per_second,
            "DJUST_NAVIGATIONS_PER_SECOND",
            "one connection may mount views faster"
        );
        higher_is_looser!(
            navigation_burst,
            "DJUST_NAVIGATION_BURST",
            "one connection may mount more views in a burst"
        );
        higher_is_looser!(
            max_message_bytes,
            "DJUST_MAX_MESSAGE_BYTES",
            "larger frames are buffered and parsed"
        );
        higher_is_looser!(
            max_json_depth,
            "DJUST_MAX_JSON_DEPTH",
            "deeper JSON is parsed"
        );
        higher_is_looser!(
            max_connections_per_ip,
            "DJUST_MAX_CONNECTIONS_PER_IP",
            "one address may hold more sockets (fine for a load test, not for production)"
        );
        higher_is_looser!(
            max_live_connections,
            "DJUST_MAX_LIVE_CONNECTIONS",
            "the process accepts more sockets than it was sized for"
        );
        higher_is_looser!(
            max_sessions,
            "DJUST_MAX_SESSIONS",
            "more sessions are kept in memory"
        );
        higher_is_looser!(
            session_idle_secs,
            "DJUST_SESSION_IDLE_SECS",
            "idle sessions live longer"
        );
        higher_is_looser!(
            heartbeat_timeout_secs,
            "DJUST_HEARTBEAT_TIMEOUT_SECS",
            "silent sockets are held longer"
        );
        higher_is_looser!(
            send_timeout_secs,
            "DJUST_SEND_TIMEOUT_SECS",
            "a client that does not read holds its socket longer"
        );
        higher_is_looser!(
            reconnect_grace_secs,
            "DJUST_RECONNECT_GRACE_SECS",
            "views of dropped sockets are kept longer"
        );
        higher_is_looser!(
            durable_wait_ms,
            "DJUST_DURABLE_WAIT_MS",
            "a reply waits longer for a failing view-state store, holding its socket"
        );
        higher_is_looser!(
            max_detached_per_session,
            "DJUST_MAX_DETACHED_PER_SESSION",
            "one session may keep more views of dropped sockets"
        );
        higher_is_looser!(
            max_detached_per_ip,
            "DJUST_MAX_DETACHED_PER_IP",
            "one address may keep more views of dropped sockets"
        );
        higher_is_looser!(
            max_detached_views,
            "DJUST_MAX_DETACHED_VIEWS",
            "more views of dropped sockets are kept"
        );
        higher_is_looser!(
            max_detached_bytes,
            "DJUST_MAX_DETACHED_BYTES",
            "views of dropped sockets may take more memory"
        );
        higher_is_looser!(
            upload_quota_bytes,
            "DJUST_UPLOAD_QUOTA_BYTES",
            "uploads may take more disk"
        );
        higher_is_looser!(
            upload_connection_quota_bytes,
            "DJUST_UPLOAD_CONNECTION_QUOTA_BYTES",
            "one connection's uploads may take more disk"
        );
        higher_is_looser!(
            upload_max_entries,
            "DJUST_UPLOAD_MAX_ENTRIES",
            "one connection may upload more files at once"
        );
        higher_is_looser!(
            upload_bytes_per_second,
            "DJUST_UPLOAD_BYTES_PER_SECOND",
            "one connection may upload faster"
        );
        higher_is_looser!(
            upload_idle_secs,
            "DJUST_UPLOAD_IDLE_SECS",
            "a stalled upload holds its disk longer"
        );
        higher_is_looser!(
            offline_max_actions,
            "DJUST_OFFLINE_MAX_ACTIONS",
            "one offline sync request may carry more actions"
        );
        higher_is_looser!(
            offline_max_age_secs,
            "DJUST_OFFLINE_MAX_AGE_SECS",
            "older queued offline actions are applied"
        );
        higher_is_looser!(
            offline_max_body_bytes,
            "DJUST_OFFLINE_MAX_BODY_BYTES",
            "larger offline sync bodies are read and parsed"
        );
        higher_is_looser!(
            mount_token_ttl_secs,
            "DJUST_MOUNT_TOKEN_TTL_SECS",
            "a leaked page can be mounted for longer"
        );
        higher_is_looser!(
            http_header_timeout_secs,
            "DJUST_HTTP_HEADER_TIMEOUT_SECS",
            "a client may take longer to send its request head, holding a connection and its buffer (slowloris)"
        );
        higher_is_looser!(
            http_idle_timeout_secs,
            "DJUST_HTTP_IDLE_TIMEOUT_SECS",
            "idle kept-alive connections are held longer"
        );
        higher_is_looser!(
            http_body_timeout_secs,
            "DJUST_HTTP_BODY_TIMEOUT_SECS",
            "a client may take longer to send a request body, holding a connection and a task"
        );
        higher_is_looser!(
            http_max_header_bytes,
            "DJUST_HTTP_MAX_HEADER_BYTES",
            "larger request heads are buffered per connection"
        );
        higher_is_looser!(
            http_max_body_bytes,
            "DJUST_HTTP_MAX_BODY_BYTES",
            "larger request bodies reach the routes"
        );
        higher_is_looser!(
            http_max_form_bytes,
            "DJUST_HTTP_MAX_FORM_BYTES",
            "larger forms are buffered and parsed"
        );
        higher_is_looser!(
            http_max_connections,
            "DJUST_HTTP_MAX_CONNECTIONS",
            "more HTTP connections (file descriptors and buffers) are held at once"
        );
        higher_is_looser!(
            http_max_connections_per_ip,
            "DJUST_HTTP_MAX_CONNECTIONS_PER_IP",
            "one address may hold more HTTP connections"
        );
        higher_is_looser!(
            login_concurrency,
            "DJUST_LOGIN_CONCURRENCY",
            "more password hashes (19 MiB of memory and one core each) run at once"
        );
        higher_is_looser!(
            login_queue,
            "DJUST_LOGIN_QUEUE",
            "more logins wait for a hashing slot instead of being refused"
        );
        higher_is_looser!(
            login_per_minute,
            "DJUST_LOGIN_PER_MINUTE",
            "more passwords are hashed per minute (CPU spent on logins)"
        );
        higher_is_looser!(
            login_per_ip_per_minute,
            "DJUST_LOGIN_PER_IP_PER_MINUTE",
            "one address may guess more passwords per minute"
        );
        higher_is_looser!(
            login_per_user_per_minute,
            "DJUST_LOGIN_PER_USER_PER_MINUTE",
            "more passwords may be guessed per minute for one account"
        );
        above(
            "DJUST_RECONNECT_COOLDOWN_SECS",
            self.reconnect_cooldown_secs.to_string(),
            default.reconnect_cooldown_secs.to_string(),
            self.reconnect_cooldown_secs < default.reconnect_cooldown_secs,
            "an address closed for flooding may reconnect sooner",
        );
        above(
            "DJUST_REFUSALS_BEFORE_COOLDOWN",
            self.refusals_before_cooldown.to_string(),
            default.refusals_before_cooldown.to_string(),
            self.refusals_before_cooldown == 0
                || self.refusals_before_cooldown > default.refusals_before_cooldown,
            "an address at its connection limit may churn more refused handshakes before it has to wait",
        );
        above(
            "DJUST_TRUSTED_PROXIES",
            self.trusted_proxies.to_string(),
            default.trusted_proxies.to_string(),
            self.trusted_proxies > 0,
            "the client address is read from X-Forwarded-For: correct only if every request comes through that many proxies, otherwise a client can pick its own address and escape the per-IP limits",
        );
        above(
            "DJUST_ALLOW_MISSING_ORIGIN",
            self.allow_missing_origin.to_string(),
            default.allow_missing_origin.to_string(),
            self.allow_missing_origin,
            "sockets without an Origin header are accepted (non-browser clients); a browser always sends one",
        );
        above(
            "DJUST_SECURE_COOKIES",
            self.secure_cookies.to_string(),
            default.secure_cookies.to_string(),
            !self.secure_cookies,
            "session cookies lack `Secure` and may travel over plain HTTP: set it to true when the site is served over TLS",
        );
        out
    }
}

/// `scheme://host...` with any `user:password@` replaced by `<redacted>@`.
fn redact_url(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://<redacted>@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable (or field) name.
    pub variable: String,
    /// What is wrong and what is accepted.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

fn error(variable: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        problem: problem.into(),
    }
}

fn parse_bool(variable: &str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(error(
            variable,
            "expected true/false, 1/0, yes/no or on/off",
        )),
    }
}

fn parse_number<T: std::str::FromStr>(
    variable: &str,
    raw: &str,
    what: &str,
) -> Result<T, ConfigError> {
    raw.trim()
        .parse::<T>()
        .map_err(|_| error(variable, format!("expected {what}")))
}

/// `scheme://host[:port]` with scheme http or https, no path.
pub fn is_valid_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' ', '\\'])
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

impl Config {
    /// Reads every `DJUST_*` variable from the process environment over the defaults.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`] with any variable source (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        if let Some(raw) = get("DJUST_DEBUG") {
            config.debug = parse_bool("DJUST_DEBUG", &raw)?;
        }
        if let Some(raw) = lookup("DJUST_SECRET_KEY") {
            config.secret_key = Some(raw);
        }
        if let Some(raw) = get("DJUST_MAX_MESSAGE_BYTES") {
            config.max_message_bytes =
                parse_number("DJUST_MAX_MESSAGE_BYTES", &raw, "a number of bytes")?;
        }
        if let Some(raw) = get("DJUST_MAX_JSON_DEPTH") {
            config.max_json_depth =
                parse_number("DJUST_MAX_JSON_DEPTH", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_RATE_PER_SECOND") {
            config.rate_per_second =
                parse_number("DJUST_RATE_PER_SECOND", &raw, "a positive number")?;
        }
        if let Some(raw) = get("DJUST_RATE_BURST") {
            config.rate_burst = parse_number("DJUST_RATE_BURST", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_NAVIGATIONS_PER_SECOND") {
            config.navigations_per_second =
                parse_number("DJUST_NAVIGATIONS_PER_SECOND", &raw, "a positive number")?;
        }
        if let Some(raw) = get("DJUST_NAVIGATION_BURST") {
            config.navigation_burst =
                parse_number("DJUST_NAVIGATION_BURST", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_MAX_RATE_WARNINGS") {
            config.max_rate_warnings =
                parse_number("DJUST_MAX_RATE_WARNINGS", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_MAX_CONNECTIONS_PER_IP") {
            config.max_connections_per_ip =
                parse_number("DJUST_MAX_CONNECTIONS_PER_IP", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_RECONNECT_COOLDOWN_SECS") {
            config.reconnect_cooldown_secs =
                parse_number("DJUST_RECONNECT_COOLDOWN_SECS", &raw, "a number of seconds")?;
        }
        if let Some(raw) = get("DJUST_REFUSALS_BEFORE_COOLDOWN") {
            config.refusals_before_cooldown = parse_number(
                "DJUST_REFUSALS_BEFORE_COOLDOWN",
                &raw,
                "a number of refusals (0 = never cool down for refusals)",
            )?;
        }
        if let Some(raw) = get("DJUST_TRUSTED_PROXIES") {
            config.trusted_proxies = parse_number(
                "DJUST_TRUSTED_PROXIES",
                &raw,
                "a number of proxies (0 = ignore X-Forwarded-For)",
            )?;
        }
        if let Some(raw) = get("DJUST_ALLOWED_ORIGINS") {
            config.allowed_origins = raw
                .split(',')
                .map(|origin| origin.trim().to_owned())
                .filter(|origin| !origin.is_empty())
                .collect();
        }
        if let Some(raw) = get("DJUST_ALLOW_MISSING_ORIGIN") {
            config.allow_missing_origin = parse_bool("DJUST_ALLOW_MISSING_ORIGIN", &raw)?;
        }
        if let Some(raw) = get("DJUST_MAX_SESSIONS") {
            config.max_sessions = parse_number("DJUST_MAX_SESSIONS", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_SESSION_IDLE_SECS") {
            config.session_idle_secs =
                parse_number("DJUST_SESSION_IDLE_SECS", &raw, "a number of seconds")?;
        }
        if let Some(raw) = get("DJUST_HEARTBEAT_TIMEOUT_SECS") {
            config.heartbeat_timeout_secs =
                parse_number("DJUST_HEARTBEAT_TIMEOUT_SECS", &raw, "a number of seconds")?;
        }
        if let Some(raw) = get("DJUST_SEND_TIMEOUT_SECS") {
            config.send_timeout_secs =
                parse_number("DJUST_SEND_TIMEOUT_SECS", &raw, "a number of seconds")?;
        }
        if let Some(raw) = get("DJUST_MOUNT_TOKEN_TTL_SECS") {
            config.mount_token_ttl_secs =
                parse_number("DJUST_MOUNT_TOKEN_TTL_SECS", &raw, "a number of seconds")?;
        }
        if let Some(raw) = get("DJUST_RECONNECT_GRACE_SECS") {
            config.reconnect_grace_secs = parse_number(
                "DJUST_RECONNECT_GRACE_SECS",
                &raw,
                "a number of seconds (0 = no grace)",
            )?;
        }
        if let Some(raw) = get("DJUST_HIBERNATE_AFTER_SECS") {
            config.hibernate_after_secs = parse_number(
                "DJUST_HIBERNATE_AFTER_SECS",
                &raw,
                "a number of seconds (0 = never)",
            )?;
        }
        if let Some(raw) = get("DJUST_DURABLE_WAIT_MS") {
            config.durable_wait_ms = parse_number(
                "DJUST_DURABLE_WAIT_MS",
                &raw,
                "a number of milliseconds (0 to 60000)",
            )?;
        }
        if let Some(raw) = get("DJUST_MAX_DETACHED_PER_SESSION") {
            config.max_detached_per_session =
                parse_number("DJUST_MAX_DETACHED_PER_SESSION", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_MAX_DETACHED_PER_IP") {
            config.max_detached_per_ip =
                parse_number("DJUST_MAX_DETACHED_PER_IP", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_MAX_DETACHED_VIEWS") {
            config.max_detached_views =
                parse_number("DJUST_MAX_DETACHED_VIEWS", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_MAX_DETACHED_BYTES") {
            config.max_detached_bytes =
                parse_number("DJUST_MAX_DETACHED_BYTES", &raw, "a number of bytes")?;
        }
        if let Some(raw) = get("DJUST_UPLOAD_DIR") {
            config.upload_dir = Some(std::path::PathBuf::from(raw.trim()));
        }
        if let Some(raw) = get("DJUST_UPLOAD_QUOTA_BYTES") {
            config.upload_quota_bytes =
                parse_number("DJUST_UPLOAD_QUOTA_BYTES", &raw, "a number of bytes")?;
        }
        if let Some(raw) = get("DJUST_UPLOAD_CONNECTION_QUOTA_BYTES") {
            config.upload_connection_quota_bytes = parse_number(
                "DJUST_UPLOAD_CONNECTION_QUOTA_BYTES",
                &raw,
                "a number of bytes",
            )?;
        }
        if let Some(raw) = get("DJUST_UPLOAD_MAX_ENTRIES") {
            config.upload_max_entries =
                parse_number("DJUST_UPLOAD_MAX_ENTRIES", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_UPLOAD_BYTES_PER_SECOND") {
            config.upload_bytes_per_second =
                parse_number("DJUST_UPLOAD_BYTES_PER_SECOND", &raw, "a number of bytes")?;
        }
        if let Some(raw) = get("DJUST_OFFLINE_MAX_ACTIONS") {
            config.offline_max_actions =
                parse_number("DJUST_OFFLINE_MAX_ACTIONS", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_OFFLINE_MAX_AGE_SECS") {
            config.offline_max_age_secs =
                parse_number("DJUST_OFFLINE_MAX_AGE_SECS", &raw, "a number of seconds")?;
        }
        if let Some(raw) = get("DJUST_OFFLINE_MAX_BODY_BYTES") {
            config.offline_max_body_bytes =
                parse_number("DJUST_OFFLINE_MAX_BODY_BYTES", &raw, "a number of bytes")?;
        }
        if let Some(raw) = get("DJUST_OFFLINE_KEYS_PER_SESSION") {
            config.offline_keys_per_session =
                parse_number("DJUST_OFFLINE_KEYS_PER_SESSION", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_OFFLINE_KEY_SESSIONS") {
            config.offline_key_sessions =
                parse_number("DJUST_OFFLINE_KEY_SESSIONS", &raw, "a positive integer")?;
        }
        if let Some(raw) = get("DJUST_UPLOAD_IDLE_SECS") {
            config.upload_idle_secs =
                parse_number("DJUST_UPLOAD_IDLE_SECS", &raw, "a number of seconds")?;
        }
        if let Some(raw) = get("DJUST_LOGIN_URL") {
            config.login_url = raw;
        }
        if let Some(raw) = get("DJUST_SECURE_COOKIES") {
            config.secure_cookies = parse_bool("DJUST_SECURE_COOKIES", &raw)?;
        }
        if let Some(raw) = get("DJUST_MAX_LIVE_CONNECTIONS") {
            config.max_live_connections =
                parse_number("DJUST_MAX_LIVE_CONNECTIONS", &raw, "a positive integer")?;
        }
        macro_rules! number {
            ($field:ident, $variable:literal, $what:literal) => {
                if let Some(raw) = get($variable) {
                    config.$field = parse_number($variable, &raw, $what)?;
                }
            };
        }
        number!(
            http_header_timeout_secs,
            "DJUST_HTTP_HEADER_TIMEOUT_SECS",
            "a number of seconds"
        );
        number!(
            http_idle_timeout_secs,
            "DJUST_HTTP_IDLE_TIMEOUT_SECS",
            "a number of seconds"
        );
        number!(
            http_body_timeout_secs,
            "DJUST_HTTP_BODY_TIMEOUT_SECS",
            "a number of seconds"
        );
        number!(
            http_max_header_bytes,
            "DJUST_HTTP_MAX_HEADER_BYTES",
            "a number of bytes"
        );
        number!(
            http_max_body_bytes,
            "DJUST_HTTP_MAX_BODY_BYTES",
            "a number of bytes"
        );
        number!(
            http_max_form_bytes,
            "DJUST_HTTP_MAX_FORM_BYTES",
            "a number of bytes"
        );
        number!(
            http_max_connections,
            "DJUST_HTTP_MAX_CONNECTIONS",
            "a positive integer"
        );
        number!(
            http_max_connections_per_ip,
            "DJUST_HTTP_MAX_CONNECTIONS_PER_IP",
            "a positive integer"
        );
        number!(
            login_concurrency,
            "DJUST_LOGIN_CONCURRENCY",
            "a positive integer"
        );
        number!(
            login_queue,
            "DJUST_LOGIN_QUEUE",
            "an integer (0 = no queue)"
        );
        number!(
            login_per_minute,
            "DJUST_LOGIN_PER_MINUTE",
            "a positive integer"
        );
        number!(
            login_per_ip_per_minute,
            "DJUST_LOGIN_PER_IP_PER_MINUTE",
            "a positive integer"
        );
        number!(
            login_per_user_per_minute,
            "DJUST_LOGIN_PER_USER_PER_MINUTE",
            "a positive integer"
        );
        if let Some(raw) = get("DJUST_REDIS_URL") {
            config.redis_url = Some(raw.trim().to_owned());
        }
        if let Some(raw) = get("DJUST_REDIS_CA_FILE") {
            config.redis_ca_file = Some(std::path::PathBuf::from(raw.trim()));
        }
        config.validate()?;
        Ok(config)
    }

    /// The offline replay limits (see `docs/offline.md`).
    fn validate_offline(&self) -> Result<(), ConfigError> {
        if !(1..=10_000).contains(&self.offline_max_actions) {
            return Err(error(
                "DJUST_OFFLINE_MAX_ACTIONS",
                "must be between 1 and 10000",
            ));
        }
        if !(60..=30 * 24 * 60 * 60).contains(&self.offline_max_age_secs) {
            return Err(error(
                "DJUST_OFFLINE_MAX_AGE_SECS",
                "must be between 60 and 2592000 (30 days)",
            ));
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.offline_max_body_bytes) {
            return Err(error(
                "DJUST_OFFLINE_MAX_BODY_BYTES",
                "must be between 1024 and 16777216",
            ));
        }
        if self.offline_keys_per_session < self.offline_max_actions {
            return Err(error(
                "DJUST_OFFLINE_KEYS_PER_SESSION",
                "must be at least DJUST_OFFLINE_MAX_ACTIONS, or a retried batch could apply twice",
            ));
        }
        if self.offline_key_sessions == 0 {
            return Err(error("DJUST_OFFLINE_KEY_SESSIONS", "must be at least 1"));
        }
        Ok(())
    }

    /// Checks every value; the error names the variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1024..=16 * 1024 * 1024).contains(&self.max_message_bytes) {
            return Err(error(
                "DJUST_MAX_MESSAGE_BYTES",
                "must be between 1024 and 16777216",
            ));
        }
        if !(2..=512).contains(&self.max_json_depth) {
            return Err(error("DJUST_MAX_JSON_DEPTH", "must be between 2 and 512"));
        }
        if !(self.rate_per_second.is_finite() && self.rate_per_second > 0.0) {
            return Err(error("DJUST_RATE_PER_SECOND", "must be a positive number"));
        }
        if self.rate_burst == 0 {
            return Err(error("DJUST_RATE_BURST", "must be at least 1"));
        }
        if !(self.navigations_per_second.is_finite() && self.navigations_per_second > 0.0) {
            return Err(error(
                "DJUST_NAVIGATIONS_PER_SECOND",
                "must be a positive number",
            ));
        }
        if self.navigation_burst == 0 {
            return Err(error("DJUST_NAVIGATION_BURST", "must be at least 1"));
        }
        if self.max_rate_warnings == 0 {
            return Err(error("DJUST_MAX_RATE_WARNINGS", "must be at least 1"));
        }
        if self.max_connections_per_ip == 0 {
            return Err(error("DJUST_MAX_CONNECTIONS_PER_IP", "must be at least 1"));
        }
        if self.trusted_proxies > 32 {
            return Err(error("DJUST_TRUSTED_PROXIES", "must be at most 32"));
        }
        if let Some(origin) = self
            .allowed_origins
            .iter()
            .find(|origin| !is_valid_origin(origin))
        {
            return Err(error("DJUST_ALLOWED_ORIGINS", format!("`{origin}` is not an origin: use scheme://host[:port], e.g. https://example.com")));
        }
        if self.max_sessions == 0 {
            return Err(error("DJUST_MAX_SESSIONS", "must be at least 1"));
        }
        if self.heartbeat_timeout_secs == 0 {
            return Err(error("DJUST_HEARTBEAT_TIMEOUT_SECS", "must be at least 1"));
        }
        if self.send_timeout_secs == 0 {
            return Err(error("DJUST_SEND_TIMEOUT_SECS", "must be at least 1"));
        }
        if self.mount_token_ttl_secs == 0 {
            return Err(error("DJUST_MOUNT_TOKEN_TTL_SECS", "must be at least 1"));
        }
        if crate::auth::safe_next_path(&self.login_url) != self.login_url {
            return Err(error(
                "DJUST_LOGIN_URL",
                "must be a same-origin path such as /login",
            ));
        }
        if self.reconnect_grace_secs > 3_600 {
            return Err(error(
                "DJUST_RECONNECT_GRACE_SECS",
                "must be at most 3600 (an hour)",
            ));
        }
        if self.hibernate_after_secs > 86_400 {
            return Err(error(
                "DJUST_HIBERNATE_AFTER_SECS",
                "must be at most 86400 (a day); 0 turns hibernation off",
            ));
        }
        if self.durable_wait_ms > MAX_DURABLE_WAIT_MS {
            return Err(error(
                "DJUST_DURABLE_WAIT_MS",
                format!("must be at most {MAX_DURABLE_WAIT_MS} (a minute): a reply held longer pins its socket while the user waits"),
            ));
        }
        for (variable, value) in [
            (
                "DJUST_MAX_DETACHED_PER_SESSION",
                self.max_detached_per_session,
            ),
            ("DJUST_MAX_DETACHED_PER_IP", self.max_detached_per_ip),
            ("DJUST_MAX_DETACHED_VIEWS", self.max_detached_views),
            ("DJUST_MAX_DETACHED_BYTES", self.max_detached_bytes),
        ] {
            if value == 0 {
                return Err(error(
                    variable,
                    "must be at least 1 (set DJUST_RECONNECT_GRACE_SECS=0 to keep no detached view)",
                ));
            }
        }
        for (variable, value) in [
            ("DJUST_UPLOAD_QUOTA_BYTES", self.upload_quota_bytes),
            (
                "DJUST_UPLOAD_CONNECTION_QUOTA_BYTES",
                self.upload_connection_quota_bytes,
            ),
            ("DJUST_UPLOAD_MAX_ENTRIES", self.upload_max_entries as u64),
            (
                "DJUST_UPLOAD_BYTES_PER_SECOND",
                self.upload_bytes_per_second,
            ),
            ("DJUST_UPLOAD_IDLE_SECS", self.upload_idle_secs),
        ] {
            if value == 0 {
                return Err(error(variable, "must be at least 1"));
            }
        }
        if self
            .upload_dir
            .as_deref()
            .is_some_and(|dir| dir.as_os_str().is_empty() || dir.to_string_lossy().contains('\0'))
        {
            return Err(error("DJUST_UPLOAD_DIR", "must be a directory path"));
        }
        if self.max_live_connections == 0 {
            return Err(error("DJUST_MAX_LIVE_CONNECTIONS", "must be at least 1"));
        }
        self.validate_offline()?;
        self.validate_http()?;
        self.validate_login()?;
        if let Some(url) = &self.redis_url {
            let scheme_ok = ["redis://", "rediss://", "redis+unix://", "unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme));
            if !scheme_ok {
                return Err(error(
                    "DJUST_REDIS_URL",
                    "must be a Redis URL such as redis://127.0.0.1:6379/0",
                ));
            }
            if self.redis_ca_file.is_some() && !url.starts_with("rediss://") {
                return Err(error(
                    "DJUST_REDIS_CA_FILE",
                    "is only used for TLS: set DJUST_REDIS_URL to a rediss:// URL, or unset DJUST_REDIS_CA_FILE",
                ));
            }
            if self.secret_key.is_none() {
                return Err(error(
                    "DJUST_SECRET_KEY",
                    "must be set when DJUST_REDIS_URL is: every process sharing Redis signs and checks session cookies and mount tokens with it, so all of them need the same key (generate one with `openssl rand -hex 32`)",
                ));
            }
        }
        if self.redis_ca_file.is_some() && self.redis_url.is_none() {
            return Err(error(
                "DJUST_REDIS_CA_FILE",
                "needs DJUST_REDIS_URL (a rediss:// URL) to be set",
            ));
        }
        if let Some(key) = &self.secret_key {
            if key.len() < crate::auth::MIN_KEY_LEN {
                return Err(error(
                    "DJUST_SECRET_KEY",
                    format!(
                        "must be at least {} bytes (generate one with `openssl rand -hex 32`)",
                        crate::auth::MIN_KEY_LEN
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `Err` naming `variable` unless `value` is within `range`.
fn within<T: PartialOrd + fmt::Display>(
    variable: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(error(
            variable,
            format!("must be between {} and {}", range.start(), range.end()),
        ))
    }
}

impl Config {
    /// `DJUST_DURABLE_WAIT_MS` as a duration.
    pub fn durable_wait(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.durable_wait_ms)
    }

    /// The bounds of the plain HTTP path.
    fn validate_http(&self) -> Result<(), ConfigError> {
        within(
            "DJUST_HTTP_HEADER_TIMEOUT_SECS",
            self.http_header_timeout_secs,
            1..=300,
        )?;
        within(
            "DJUST_HTTP_IDLE_TIMEOUT_SECS",
            self.http_idle_timeout_secs,
            1..=300,
        )?;
        if self.http_idle_timeout_secs > self.http_header_timeout_secs {
            return Err(error(
                "DJUST_HTTP_IDLE_TIMEOUT_SECS",
                "must not exceed DJUST_HTTP_HEADER_TIMEOUT_SECS: the header timeout also runs while a connection waits for its next request, so a longer idle time would never be reached",
            ));
        }
        within(
            "DJUST_HTTP_BODY_TIMEOUT_SECS",
            self.http_body_timeout_secs,
            1..=3600,
        )?;
        within(
            "DJUST_HTTP_MAX_HEADER_BYTES",
            self.http_max_header_bytes,
            1024..=1024 * 1024,
        )?;
        within(
            "DJUST_HTTP_MAX_BODY_BYTES",
            self.http_max_body_bytes,
            1024..=1024 * 1024 * 1024,
        )?;
        within(
            "DJUST_HTTP_MAX_FORM_BYTES",
            self.http_max_form_bytes,
            1024..=16 * 1024 * 1024,
        )?;
        if self.http_max_form_bytes > self.http_max_body_bytes {
            return Err(error(
                "DJUST_HTTP_MAX_FORM_BYTES",
                "must not exceed DJUST_HTTP_MAX_BODY_BYTES",
            ));
        }
        within(
            "DJUST_HTTP_MAX_CONNECTIONS",
            self.http_max_connections,
            1..=1_000_000,
        )?;
        within(
            "DJUST_HTTP_MAX_CONNECTIONS_PER_IP",
            self.http_max_connections_per_ip,
            1..=1_000_000,
        )
    }

    /// The bounds of the login path.
    fn validate_login(&self) -> Result<(), ConfigError> {
        within("DJUST_LOGIN_CONCURRENCY", self.login_concurrency, 1..=1024)?;
        within("DJUST_LOGIN_QUEUE", self.login_queue, 0..=100_000)?;
        within(
            "DJUST_LOGIN_PER_MINUTE",
            self.login_per_minute,
            1..=1_000_000,
        )?;
        within(
            "DJUST_LOGIN_PER_IP_PER_MINUTE",
            self.login_per_ip_per_minute,
            1..=1_000_000,
        )?;
        within(
            "DJUST_LOGIN_PER_USER_PER_MINUTE",
            self.login_per_user_per_minute,
            1..=1_000_000,
        )
    }
}

#[cfg(test)]
mod redis_url_tests {
    use super::Config;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn with(url: &str) -> Result<Config, super::ConfigError> {
        Config::from_lookup(|name| match name {
            "DJUST_REDIS_URL" => Some(url.to_owned()),
            "DJUST_SECRET_KEY" => Some(KEY.to_owned()),
            _ => None,
        })
    }

    #[test]
    fn a_redis_ca_file_goes_with_a_tls_url_only() {
        let lookup = |url: &'static str| {
            move |name: &str| match name {
                "DJUST_REDIS_URL" => Some(url.to_owned()),
                "DJUST_REDIS_CA_FILE" => Some(" /etc/djust/redis-ca.pem ".to_owned()),
                "DJUST_SECRET_KEY" => Some(KEY.to_owned()),
                _ => None,
            }
        };
        let config = Config::from_lookup(lookup("rediss://cache.internal:6380/0")).expect("tls");
        assert_eq!(
            config.redis_ca_file.as_deref(),
            Some(std::path::Path::new("/etc/djust/redis-ca.pem"))
        );
        let error = Config::from_lookup(lookup("redis://cache.internal:6379/0"))
            .expect_err("plain URL with a CA file");
        assert_eq!(error.variable, "DJUST_REDIS_CA_FILE");
        let alone = Config {
            redis_ca_file: Some("ca.pem".into()),
            ..Config::default()
        };
        assert_eq!(
            alone.validate().expect_err("no URL").variable,
            "DJUST_REDIS_CA_FILE"
        );
    }

    #[test]
    fn processes_sharing_redis_must_share_a_secret_key() {
        let config = Config {
            redis_url: Some("redis://127.0.0.1:6379/0".to_owned()),
            ..Config::default()
        };
        let error = config.validate().expect_err("no key");
        assert_eq!(error.variable, "DJUST_SECRET_KEY");
        assert!(error.to_string().contains("same key"), "{error}");
        let keyed = Config {
            secret_key: Some(KEY.to_owned()),
            ..config
        };
        assert!(keyed.validate().is_ok());
    }

    #[test]
    fn djust_redis_url_is_read_checked_and_its_password_redacted() {
        let config = with("redis://:hunter2@10.0.0.5:6379/0").expect("valid");
        assert_eq!(
            config.redis_url.as_deref(),
            Some("redis://:hunter2@10.0.0.5:6379/0")
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("redis://<redacted>@10.0.0.5:6379/0"),
            "{debug}"
        );
        let error = with("http://10.0.0.5").expect_err("not redis");
        assert_eq!(error.variable, "DJUST_REDIS_URL");
        assert_eq!(with("").expect("empty is unset").redis_url, None);
        assert_eq!(Config::default().redis_url, None);
    }
}

#[cfg(test)]
mod hostile_env_tests {
    use super::Config;

    fn with(name: &str, value: &str) -> Result<Config, super::ConfigError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        Config::from_lookup(move |asked| (asked == name).then(|| value.clone()))
    }

    /// Every integer setting refuses text, signs, floats, non-ASCII digits,
    /// overflow, embedded spaces and NUL, naming itself in the error.
    #[test]
    fn every_number_setting_refuses_hostile_values_and_names_itself() {
        let numeric = [
            "DJUST_MAX_MESSAGE_BYTES",
            "DJUST_MAX_JSON_DEPTH",
            "DJUST_RATE_BURST",
            "DJUST_NAVIGATION_BURST",
            "DJUST_MAX_RATE_WARNINGS",
            "DJUST_MAX_CONNECTIONS_PER_IP",
            "DJUST_RECONNECT_COOLDOWN_SECS",
            "DJUST_REFUSALS_BEFORE_COOLDOWN",
            "DJUST_TRUSTED_PROXIES",
            "DJUST_MAX_SESSIONS",
            "DJUST_SESSION_IDLE_SECS",
            "DJUST_HEARTBEAT_TIMEOUT_SECS",
            "DJUST_SEND_TIMEOUT_SECS",
            "DJUST_MOUNT_TOKEN_TTL_SECS",
            "DJUST_MAX_LIVE_CONNECTIONS",
            "DJUST_RECONNECT_GRACE_SECS",
            "DJUST_HIBERNATE_AFTER_SECS",
            "DJUST_DURABLE_WAIT_MS",
            "DJUST_MAX_DETACHED_PER_SESSION",
            "DJUST_MAX_DETACHED_PER_IP",
            "DJUST_MAX_DETACHED_VIEWS",
            "DJUST_MAX_DETACHED_BYTES",
            "DJUST_UPLOAD_QUOTA_BYTES",
            "DJUST_UPLOAD_CONNECTION_QUOTA_BYTES",
            "DJUST_UPLOAD_MAX_ENTRIES",
            "DJUST_UPLOAD_BYTES_PER_SECOND",
            "DJUST_UPLOAD_IDLE_SECS",
            "DJUST_OFFLINE_MAX_ACTIONS",
            "DJUST_OFFLINE_MAX_AGE_SECS",
            "DJUST_OFFLINE_MAX_BODY_BYTES",
            "DJUST_OFFLINE_KEYS_PER_SESSION",
            "DJUST_OFFLINE_KEY_SESSIONS",
            "DJUST_HTTP_HEADER_TIMEOUT_SECS",
            "DJUST_HTTP_IDLE_TIMEOUT_SECS",
            "DJUST_HTTP_BODY_TIMEOUT_SECS",
            "DJUST_HTTP_MAX_HEADER_BYTES",
            "DJUST_HTTP_MAX_BODY_BYTES",
            "DJUST_HTTP_MAX_FORM_BYTES",
            "DJUST_HTTP_MAX_CONNECTIONS",
            "DJUST_HTTP_MAX_CONNECTIONS_PER_IP",
            "DJUST_LOGIN_CONCURRENCY",
            "DJUST_LOGIN_QUEUE",
            "DJUST_LOGIN_PER_MINUTE",
            "DJUST_LOGIN_PER_IP_PER_MINUTE",
            "DJUST_LOGIN_PER_USER_PER_MINUTE",
        ];
        let hostile = [
            "abc",
            "-1",
            "1e3",
            "1.5",
            "\u{ff11}\u{ff12}",
            "18446744073709551616",
            "5 5",
            "5\u{0}",
            "0x10",
            "'; DROP TABLE users; --",
        ];
        for name in numeric {
            for value in hostile {
                let error = with(name, value).expect_err(&format!("{name}={value:?}"));
                assert_eq!(error.variable, name, "{name}={value:?}: {error}");
            }
        }
        // Surrounding spaces are trimmed; an empty value means "unset".
        assert_eq!(
            with("DJUST_SEND_TIMEOUT_SECS", " 7 ")
                .expect("trimmed")
                .send_timeout_secs,
            7
        );
        assert_eq!(
            with("DJUST_SEND_TIMEOUT_SECS", "")
                .expect("unset")
                .send_timeout_secs,
            10
        );
    }

    #[test]
    fn durable_wait_is_parsed_bounded_and_defaulted_from_one_constant() {
        assert_eq!(
            Config::default().durable_wait(),
            super::DEFAULT_DURABLE_WAIT
        );
        let parsed = with("DJUST_DURABLE_WAIT_MS", "250").expect("valid");
        assert_eq!(parsed.durable_wait(), std::time::Duration::from_millis(250));
        assert_eq!(
            with("DJUST_DURABLE_WAIT_MS", "0")
                .expect("no retry")
                .durable_wait_ms,
            0
        );
        assert_eq!(
            with("DJUST_DURABLE_WAIT_MS", "60000")
                .expect("a minute")
                .durable_wait_ms,
            60_000
        );
        for hostile in [
            "60001",
            "18446744073709551615",
            "-5",
            "5s",
            "2.5",
            "\u{661}",
        ] {
            let error = with("DJUST_DURABLE_WAIT_MS", hostile).expect_err(hostile);
            assert_eq!(
                error.variable, "DJUST_DURABLE_WAIT_MS",
                "{hostile}: {error}"
            );
            assert!(error.problem.contains("60000"), "{hostile}: {error}");
        }
        // Set in code, the same bound holds.
        let in_code = Config {
            durable_wait_ms: 3_600_000,
            ..Config::default()
        };
        assert_eq!(
            in_code.validate().expect_err("too long").variable,
            "DJUST_DURABLE_WAIT_MS"
        );
        // Longer than the default is looser (the audit's DJ006).
        let longer = Config {
            durable_wait_ms: 10_000,
            ..Config::default()
        };
        assert!(
            longer
                .loosened()
                .iter()
                .any(|loose| loose.variable == "DJUST_DURABLE_WAIT_MS"),
            "{:?}",
            longer.loosened()
        );
    }

    #[test]
    fn limits_that_must_be_positive_refuse_zero_and_floats_refuse_nan() {
        for name in [
            "DJUST_RATE_BURST",
            "DJUST_NAVIGATION_BURST",
            "DJUST_MAX_RATE_WARNINGS",
            "DJUST_MAX_CONNECTIONS_PER_IP",
            "DJUST_MAX_SESSIONS",
            "DJUST_HEARTBEAT_TIMEOUT_SECS",
            "DJUST_SEND_TIMEOUT_SECS",
            "DJUST_MOUNT_TOKEN_TTL_SECS",
            "DJUST_MAX_LIVE_CONNECTIONS",
            "DJUST_HTTP_HEADER_TIMEOUT_SECS",
            "DJUST_HTTP_IDLE_TIMEOUT_SECS",
            "DJUST_HTTP_BODY_TIMEOUT_SECS",
            "DJUST_HTTP_MAX_HEADER_BYTES",
            "DJUST_HTTP_MAX_BODY_BYTES",
            "DJUST_HTTP_MAX_FORM_BYTES",
            "DJUST_HTTP_MAX_CONNECTIONS",
            "DJUST_HTTP_MAX_CONNECTIONS_PER_IP",
            "DJUST_LOGIN_CONCURRENCY",
            "DJUST_LOGIN_PER_MINUTE",
            "DJUST_LOGIN_PER_IP_PER_MINUTE",
            "DJUST_LOGIN_PER_USER_PER_MINUTE",
        ] {
            assert_eq!(with(name, "0").expect_err(name).variable, name);
        }
        for value in ["NaN", "inf", "-inf", "-1", "0", "abc", "1e400"] {
            for name in ["DJUST_RATE_PER_SECOND", "DJUST_NAVIGATIONS_PER_SECOND"] {
                let error = with(name, value).expect_err(value);
                assert_eq!(error.variable, name);
            }
        }
        assert_eq!(
            with("DJUST_RATE_PER_SECOND", "2.5")
                .expect("float")
                .rate_per_second,
            2.5
        );
    }

    #[test]
    fn hibernation_is_on_by_default_and_can_be_turned_off() {
        assert_eq!(Config::default().hibernate_after_secs, 15);
        assert_eq!(
            with("DJUST_HIBERNATE_AFTER_SECS", "0")
                .expect("0 turns it off")
                .hibernate_after_secs,
            0
        );
        assert_eq!(
            with("DJUST_HIBERNATE_AFTER_SECS", "86400")
                .expect("a day")
                .hibernate_after_secs,
            86_400
        );
    }

    /// Values that parse but would disable a bound: absurdly high, below
    /// what the server needs, or contradicting another setting.
    #[test]
    fn http_and_login_bounds_refuse_values_that_would_disable_them() {
        for (name, value) in [
            ("DJUST_HTTP_HEADER_TIMEOUT_SECS", "301"),
            ("DJUST_HTTP_HEADER_TIMEOUT_SECS", "18446744073709551615"),
            ("DJUST_HTTP_BODY_TIMEOUT_SECS", "3601"),
            ("DJUST_HTTP_MAX_HEADER_BYTES", "1023"),
            ("DJUST_HTTP_MAX_HEADER_BYTES", "1048577"),
            ("DJUST_HTTP_MAX_BODY_BYTES", "1073741825"),
            ("DJUST_HTTP_MAX_FORM_BYTES", "100"),
            ("DJUST_HTTP_MAX_CONNECTIONS", "1000001"),
            ("DJUST_LOGIN_CONCURRENCY", "1025"),
            ("DJUST_LOGIN_QUEUE", "100001"),
            ("DJUST_LOGIN_PER_MINUTE", "1000001"),
            ("DJUST_HIBERNATE_AFTER_SECS", "86401"),
            ("DJUST_HIBERNATE_AFTER_SECS", "18446744073709551615"),
        ] {
            let error = with(name, value).expect_err(&format!("{name}={value}"));
            assert_eq!(error.variable, name, "{name}={value}: {error}");
        }
        // The idle timeout cannot outlast the header timeout that also runs
        // while waiting, and a form is a body.
        let idle = Config {
            http_idle_timeout_secs: 11,
            ..Config::default()
        };
        assert_eq!(
            idle.validate().expect_err("idle > header").variable,
            "DJUST_HTTP_IDLE_TIMEOUT_SECS"
        );
        let form = Config {
            http_max_body_bytes: 4096,
            http_max_form_bytes: 8192,
            ..Config::default()
        };
        assert_eq!(
            form.validate().expect_err("form > body").variable,
            "DJUST_HTTP_MAX_FORM_BYTES"
        );
        // A queue of 0 is allowed: refuse whatever cannot hash at once.
        assert_eq!(
            with("DJUST_LOGIN_QUEUE", "0")
                .expect("no queue")
                .login_queue,
            0
        );
        assert_eq!(
            with("DJUST_HTTP_MAX_CONNECTIONS_PER_IP", " 64 ")
                .expect("trimmed")
                .http_max_connections_per_ip,
            64
        );
    }

    #[test]
    fn flags_origins_and_paths_refuse_hostile_text() {
        for value in ["maybe", "2", "tru e", "\u{0}", "ｔｒｕｅ"] {
            assert_eq!(
                with("DJUST_DEBUG", value).expect_err(value).variable,
                "DJUST_DEBUG"
            );
        }
        for value in [
            "javascript:alert(1)",
            "https://example.com/path",
            "https://user@example.com",
            "null",
            "https://exa mple.com",
            "https://example.com\\@evil.com",
        ] {
            let error = with("DJUST_ALLOWED_ORIGINS", value).expect_err(value);
            assert_eq!(error.variable, "DJUST_ALLOWED_ORIGINS", "{value}");
        }
        for value in [
            "https://evil.com/login",
            "//evil.com",
            "/\\evil.com",
            "javascript:x",
        ] {
            let error = with("DJUST_LOGIN_URL", value).expect_err(value);
            assert_eq!(error.variable, "DJUST_LOGIN_URL", "{value}");
        }
        // A secret that is too short is named, and never echoed back.
        let error = with("DJUST_SECRET_KEY", "hunter2").expect_err("short");
        assert_eq!(error.variable, "DJUST_SECRET_KEY");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}

#[cfg(test)]
mod loosened_tests {
    use super::Config;

    /// Every HTTP and login bound raised above its default is listed (and
    /// so reported by the audit, DJ006), naming its variable.
    #[test]
    fn raising_an_http_or_login_bound_is_listed() {
        let default = Config::default();
        let raised: [(&str, Config); 13] = [
            (
                "DJUST_HTTP_HEADER_TIMEOUT_SECS",
                Config {
                    http_header_timeout_secs: 60,
                    ..default.clone()
                },
            ),
            (
                "DJUST_HTTP_IDLE_TIMEOUT_SECS",
                Config {
                    http_idle_timeout_secs: 9,
                    ..default.clone()
                },
            ),
            (
                "DJUST_HTTP_BODY_TIMEOUT_SECS",
                Config {
                    http_body_timeout_secs: 600,
                    ..default.clone()
                },
            ),
            (
                "DJUST_HTTP_MAX_HEADER_BYTES",
                Config {
                    http_max_header_bytes: 65_536,
                    ..default.clone()
                },
            ),
            (
                "DJUST_HTTP_MAX_BODY_BYTES",
                Config {
                    http_max_body_bytes: 1 << 30,
                    ..default.clone()
                },
            ),
            (
                "DJUST_HTTP_MAX_FORM_BYTES",
                Config {
                    http_max_form_bytes: 65_536,
                    ..default.clone()
                },
            ),
            (
                "DJUST_HTTP_MAX_CONNECTIONS",
                Config {
                    http_max_connections: 100_000,
                    ..default.clone()
                },
            ),
            (
                "DJUST_HTTP_MAX_CONNECTIONS_PER_IP",
                Config {
                    http_max_connections_per_ip: 1000,
                    ..default.clone()
                },
            ),
            (
                "DJUST_LOGIN_CONCURRENCY",
                Config {
                    login_concurrency: default.login_concurrency + 1,
                    ..default.clone()
                },
            ),
            (
                "DJUST_LOGIN_QUEUE",
                Config {
                    login_queue: default.login_queue + 1,
                    ..default.clone()
                },
            ),
            (
                "DJUST_LOGIN_PER_MINUTE",
                Config {
                    login_per_minute: 6000,
                    ..default.clone()
                },
            ),
            (
                "DJUST_LOGIN_PER_IP_PER_MINUTE",
                Config {
                    login_per_ip_per_minute: 1000,
                    ..default.clone()
                },
            ),
            (
                "DJUST_LOGIN_PER_USER_PER_MINUTE",
                Config {
                    login_per_user_per_minute: 1000,
                    ..default.clone()
                },
            ),
        ];
        let baseline: Vec<&str> = default.loosened().iter().map(|l| l.variable).collect();
        for (variable, config) in raised {
            assert!(config.validate().is_ok(), "{variable}");
            let listed: Vec<&str> = config
                .loosened()
                .iter()
                .map(|l| l.variable)
                .filter(|v| !baseline.contains(v))
                .collect();
            assert_eq!(listed, [variable]);
        }
        // Tighter than the default is never listed.
        let tight = Config {
            http_header_timeout_secs: 5,
            http_idle_timeout_secs: 2,
            http_max_connections: 10,
            login_per_user_per_minute: 3,
            login_queue: 0,
            ..default.clone()
        };
        assert_eq!(tight.loosened(), default.loosened());
    }
}
