//! Per-IP connection slots and reconnect cooldowns, and choosing which
//! address counts as "the client's IP".

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Clock, SystemClock};

/// Default connections allowed per IP (`DJUST_MAX_CONNECTIONS_PER_IP`).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: u32 = 10;

/// Default reconnect cooldown after a rate-limit close.
pub const DEFAULT_IP_COOLDOWN: Duration = Duration::from_secs(5);

/// Default refusals before an address at its limit cools down
/// (`DJUST_REFUSALS_BEFORE_COOLDOWN`).
pub const DEFAULT_REFUSALS_BEFORE_COOLDOWN: u32 = 5;

/// The address a per-address limit counts: IPv4-mapped IPv6 as IPv4,
/// other IPv6 truncated to `ipv6_prefix_len` bits (one host usually owns a
/// whole /64).
pub fn address_group(ip: IpAddr, ipv6_prefix_len: u8) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u32::from(ipv6_prefix_len.min(128));
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// Settings of an [`IpTracker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpTrackerConfig {
    /// Open connections allowed per IP (0 refuses every connection).
    pub max_per_ip: u32,
    /// How long [`IpTracker::start_cooldown`] refuses an IP.
    pub cooldown: Duration,
    /// IPv6 addresses are grouped by this prefix length (0..=128). One host
    /// usually owns a whole /64, so counting single IPv6 addresses would let
    /// it open 2^64 "different" clients. Default 64; 128 counts exact
    /// addresses. IPv4-mapped IPv6 addresses always count as their IPv4.
    pub ipv6_prefix_len: u8,
    /// Refusals for too many connections an address may collect before it
    /// is put into cooldown: a client churning handshakes while at its
    /// limit is made to wait instead of costing a refusal each time.
    /// 0 never starts a cooldown for refusals.
    pub refusals_before_cooldown: u32,
}

impl Default for IpTrackerConfig {
    fn default() -> Self {
        Self {
            max_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            cooldown: DEFAULT_IP_COOLDOWN,
            ipv6_prefix_len: 64,
            refusals_before_cooldown: DEFAULT_REFUSALS_BEFORE_COOLDOWN,
        }
    }
}

/// Why a connection was refused (the server closes it with 4429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRefusal {
    /// The IP already holds `max_per_ip` connections.
    TooManyConnections,
    /// The IP was closed for a limit recently and is still cooling down.
    CoolingDown,
}

impl std::fmt::Display for IpRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TooManyConnections => "too many connections from this address",
            Self::CoolingDown => "address is cooling down after a limit",
        })
    }
}

impl std::error::Error for IpRefusal {}

/// Process-wide per-IP connection counter with cooldowns.
///
/// A concrete in-memory type rather than a Redis-ready trait on purpose: a
/// slot is released in [`IpSlot`]'s `Drop`, which cannot await network I/O,
/// and the limit guards this process's sockets and memory, which is a
/// per-process resource. A cluster-wide limit belongs in front of the
/// processes (load balancer) or in a separate async check.
///
/// Cheap to clone; clones share the same counts.
#[derive(Debug, Clone)]
pub struct IpTracker {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: IpTrackerConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<IpAddr, IpEntry>,
    /// Cooldowns in the order they end (the duration is fixed, so start order
    /// is end order); drained as time passes so idle entries are dropped.
    cooldowns: VecDeque<(Instant, IpAddr)>,
}

#[derive(Debug, Default)]
struct IpEntry {
    connections: u32,
    cooldown_until: Option<Instant>,
    /// Refusals since the last accepted connection or cooldown.
    refusals: u32,
}

impl IpEntry {
    fn cooling_at(&self, now: Instant) -> bool {
        self.cooldown_until.is_some_and(|until| now < until)
    }
}

/// One connection slot of one IP. Dropping it frees exactly this slot.
///
/// Only [`IpTracker::try_acquire`] creates slots and they cannot be cloned,
/// so a refused connection (which never got a slot) can never free one.
#[derive(Debug)]
#[must_use = "dropping the slot frees it immediately; keep it for the connection's lifetime"]
pub struct IpSlot {
    shared: Arc<Shared>,
    key: IpAddr,
}

impl IpSlot {
    /// The (normalised) address this slot counts against.
    pub fn ip(&self) -> IpAddr {
        self.key
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let now = self.shared.clock.now();
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let remove = match state.entries.get_mut(&self.key) {
            Some(entry) => {
                entry.connections = entry.connections.saturating_sub(1);
                entry.connections == 0 && !entry.cooling_at(now)
            }
            None => false,
        };
        if remove {
            state.entries.remove(&self.key);
        }
    }
}

impl IpTracker {
    /// A tracker with `config` on the system clock.
    pub fn new(config: IpTrackerConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A tracker with `config` on `clock`.
    pub fn with_clock(config: IpTrackerConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                clock,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> IpTrackerConfig {
        self.shared.config
    }

    /// Takes a slot for `ip` now; see [`IpTracker::try_acquire_at`].
    pub fn try_acquire(&self, ip: IpAddr) -> Result<IpSlot, IpRefusal> {
        self.try_acquire_at(ip, self.shared.clock.now())
    }

    /// Takes a slot for `ip` at `now`, unless the IP is cooling down or
    /// already holds `max_per_ip` slots.
    pub fn try_acquire_at(&self, ip: IpAddr, now: Instant) -> Result<IpSlot, IpRefusal> {
        let key = self.key(ip);
        let mut state = self.lock();
        state.expire(now);
        let entry = state.entries.entry(key).or_default();
        let refusal = if entry.cooling_at(now) {
            Some(IpRefusal::CoolingDown)
        } else if entry.connections >= self.shared.config.max_per_ip {
            Some(IpRefusal::TooManyConnections)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            let config = self.shared.config;
            let mut cooled = false;
            if refusal == IpRefusal::TooManyConnections && config.refusals_before_cooldown > 0 {
                entry.refusals += 1;
                if entry.refusals >= config.refusals_before_cooldown {
                    entry.refusals = 0;
                    let until = now + config.cooldown;
                    entry.cooldown_until = Some(until);
                    cooled = true;
                }
            }
            if entry.connections == 0 && !entry.cooling_at(now) {
                state.entries.remove(&key);
            }
            if cooled {
                state.cooldowns.push_back((now + config.cooldown, key));
            }
            return Err(refusal);
        }
        entry.refusals = 0;
        entry.connections += 1;
        Ok(IpSlot {
            shared: Arc::clone(&self.shared),
            key,
        })
    }

    /// Refuses new connections from `ip` for the configured cooldown, from now.
    /// Existing slots are unaffected (the server closes the offending socket).
    pub fn start_cooldown(&self, ip: IpAddr) {
        self.start_cooldown_at(ip, self.shared.clock.now());
    }

    /// Refuses new connections from `ip` for the configured cooldown, from `now`.
    pub fn start_cooldown_at(&self, ip: IpAddr, now: Instant) {
        let key = self.key(ip);
        let until = now + self.shared.config.cooldown;
        let mut state = self.lock();
        state.expire(now);
        let entry = state.entries.entry(key).or_default();
        entry.cooldown_until = Some(entry.cooldown_until.map_or(until, |old| old.max(until)));
        state.cooldowns.push_back((until, key));
    }

    /// Open connections counted for `ip`.
    pub fn connections(&self, ip: IpAddr) -> u32 {
        let key = self.key(ip);
        self.lock()
            .entries
            .get(&key)
            .map_or(0, |entry| entry.connections)
    }

    /// Whether `ip` is cooling down at `now`.
    pub fn is_cooling_down_at(&self, ip: IpAddr, now: Instant) -> bool {
        let key = self.key(ip);
        self.lock()
            .entries
            .get(&key)
            .is_some_and(|entry| entry.cooling_at(now))
    }

    /// Number of addresses tracked (with open slots or a cooldown not yet
    /// swept). Finished cooldowns are swept on every acquire and cooldown call.
    pub fn tracked(&self) -> usize {
        self.lock().entries.len()
    }

    /// Drops finished cooldowns of idle addresses at `now` (also done on
    /// every acquire and cooldown call).
    pub fn purge_at(&self, now: Instant) {
        self.lock().expire(now);
    }

    /// The address a limit counts: see [`address_group`].
    fn key(&self, ip: IpAddr) -> IpAddr {
        address_group(ip, self.shared.config.ipv6_prefix_len)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for IpTracker {
    /// 10 connections per IP, 5 s cooldown, IPv6 grouped by /64.
    fn default() -> Self {
        Self::new(IpTrackerConfig::default())
    }
}

impl State {
    fn expire(&mut self, now: Instant) {
        while let Some(&(until, ip)) = self.cooldowns.front() {
            if until > now {
                break;
            }
            self.cooldowns.pop_front();
            let idle = self
                .entries
                .get(&ip)
                .is_some_and(|entry| entry.connections == 0 && !entry.cooling_at(now));
            if idle {
                self.entries.remove(&ip);
            }
        }
    }
}

/// The client address to use for per-IP limits and logs.
///
/// With `trusted_proxies = 0` the `X-Forwarded-For` header is ignored (anyone
/// can send it) and the socket's peer address is used. With `N` trusted
/// proxies in front of the server, each appends the address it saw, so the
/// N-th entry from the right is the last one a trusted proxy wrote; entries
/// further left are client-supplied and never used. Entries are trimmed and
/// may carry a port (`1.2.3.4:5678`, `[::1]:80`) or brackets (`[::1]`). If the
/// header is missing, has fewer than `N` entries, or that entry is not an IP
/// address, the peer address is used. Several `X-Forwarded-For` headers must
/// be joined with `,` in order before calling. IPv4-mapped IPv6 addresses are
/// returned as IPv4.
pub fn client_ip(
    remote: SocketAddr,
    x_forwarded_for: Option<&str>,
    trusted_proxies: usize,
) -> IpAddr {
    let fallback = remote.ip().to_canonical();
    if trusted_proxies == 0 {
        return fallback;
    }
    let Some(header) = x_forwarded_for else {
        return fallback;
    };
    header
        .rsplit(',')
        .nth(trusted_proxies - 1)
        .and_then(parse_forwarded_entry)
        .map_or(fallback, |ip| ip.to_canonical())
}

fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if entry.is_empty() || entry.len() > 64 {
        return None;
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
        .map(IpAddr::V6)
}
