//! Admission and bookkeeping of HTTP connections: the global cap, the cap
//! per client address, and what each open connection is doing (waiting on
//! its client, being served, blocked writing, upgraded).
//!
//! When the global cap is reached (or the process runs out of file
//! descriptors) a connection that is waiting on its client (for a request,
//! for the rest of a request head, or for a request body) is closed to make
//! room: one of the address holding the most connections, the one that
//! has waited longest, and only if that address holds more connections
//! than the newcomer's. So an attacker holding idle, half-sent or stalled
//! connections from many addresses cannot lock out a client that holds
//! fewer, an attacker reconnecting in a loop is refused at once (cheaply)
//! rather than churning the table, and a connection the server is working
//! for is never cut for a newcomer. Otherwise the newcomer is refused.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::limits::address_group;

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its address holds `DJUST_HTTP_MAX_CONNECTIONS_PER_IP` connections.
    PerIp,
    /// `DJUST_HTTP_MAX_CONNECTIONS` are open and none waits on its client.
    Full,
}

/// Every open HTTP connection of the process.
#[derive(Debug)]
pub(crate) struct ConnectionTable {
    max: usize,
    max_per_ip: Option<u32>,
    state: Mutex<TableState>,
    next_id: AtomicU64,
    drained: Notify,
    /// Woken when an evicted connection has closed (its descriptor is free).
    evicted_closed: Notify,
}

/// Where an address stands in the eviction order: most connections first,
/// then the longest wait.
type Load = (u32, Reverse<Instant>, IpAddr);

#[derive(Debug, Default)]
struct TableState {
    /// Connections counted against the cap (evicted ones no longer are).
    open: usize,
    addresses: HashMap<IpAddr, Address>,
    /// Addresses with at least one connection waiting on its client.
    by_load: BTreeSet<Load>,
}

#[derive(Debug, Default)]
struct Address {
    open: u32,
    /// Its connections waiting on their client, longest first.
    waiting: BTreeMap<(Instant, u64), Arc<Conn>>,
}

impl Address {
    fn load(&self, ip: IpAddr) -> Option<Load> {
        let ((since, _), _) = self.waiting.first_key_value()?;
        Some((self.open, Reverse(*since), ip))
    }
}

impl TableState {
    /// Applies `change` to `ip`'s entry, keeping the eviction order right.
    fn update<R>(&mut self, ip: IpAddr, change: impl FnOnce(&mut Address) -> R) -> R {
        let address = self.addresses.entry(ip).or_default();
        if let Some(load) = address.load(ip) {
            self.by_load.remove(&load);
        }
        let result = change(address);
        if let Some(load) = address.load(ip) {
            self.by_load.insert(load);
        }
        if address.open == 0 && address.waiting.is_empty() {
            self.addresses.remove(&ip);
        }
        result
    }

    /// Closes the connection that should make room, if any waits on its
    /// client: marks it evicted, uncounts it and tells its task.
    fn evict(&mut self) -> bool {
        self.evict_for(None)
    }

    /// Like [`TableState::evict`] for a newcomer whose address already
    /// holds `held` connections: only from an address holding more (trading
    /// a connection of one address for another of an address as busy would
    /// only feed a flood).
    fn evict_for(&mut self, held: Option<u32>) -> bool {
        let Some(&(busiest, _, ip)) = self.by_load.last() else {
            return false;
        };
        if held.is_some_and(|held| held >= busiest) {
            return false;
        }
        let evicted = self.update(ip, |address| {
            let (_, conn) = address.waiting.pop_first()?;
            address.open = address.open.saturating_sub(1);
            Some(conn)
        });
        let Some(conn) = evicted else {
            return false;
        };
        conn.activity.times().waiting_since = None;
        conn.activity.evicted.store(true, Ordering::Release);
        self.open = self.open.saturating_sub(1);
        conn.activity.evict.notify_one();
        true
    }
}

impl ConnectionTable {
    /// A table admitting `max` connections, and `per_ip` per address when
    /// set (none behind trusted proxies: the peers are the proxies).
    pub(crate) fn new(max: usize, per_ip: Option<u32>) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            max_per_ip: per_ip,
            state: Mutex::new(TableState::default()),
            next_id: AtomicU64::new(0),
            drained: Notify::new(),
            evicted_closed: Notify::new(),
        })
    }

    /// Admits a connection from `ip`, closing a connection that waits on
    /// its client when the table is full.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnGuard, Refusal> {
        let ip = address_group(ip, 64);
        let now = Instant::now();
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            ip,
            activity: Activity::new(now),
        });
        let mut state = self.lock();
        let held = state.addresses.get(&ip).map_or(0, |address| address.open);
        if self.max_per_ip.is_some_and(|max| held >= max) {
            return Err(Refusal::PerIp);
        }
        if state.open >= self.max && !state.evict_for(Some(held)) {
            return Err(Refusal::Full);
        }
        state.open += 1;
        let waiting = Arc::clone(&conn);
        state.update(ip, |address| {
            address.open += 1;
            address.waiting.insert((now, waiting.id), waiting);
        });
        drop(state);
        Ok(ConnGuard {
            table: Arc::clone(self),
            conn,
        })
    }

    /// Closes a connection waiting on its client (to free a file
    /// descriptor); `false` if there is none.
    pub(crate) fn evict_one(&self) -> bool {
        self.lock().evict()
    }

    /// Connections counted against the cap.
    pub(crate) fn open(&self) -> usize {
        self.lock().open
    }

    /// Resolves when the next evicted connection has closed; create it
    /// before evicting so that no close is missed.
    pub(crate) fn evicted_closed(&self) -> tokio::sync::futures::Notified<'_> {
        self.evicted_closed.notified()
    }

    /// Waits until every admitted connection has ended or been evicted.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TableState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `conn` in or out of the eviction candidates after its state changed.
    fn refresh(&self, conn: &Arc<Conn>) {
        let activity = &conn.activity;
        let mut state = self.lock();
        if activity.evicted.load(Ordering::Acquire) {
            return;
        }
        let waiting = activity.waits_on_client();
        let mut times = activity.times();
        match (waiting, times.waiting_since) {
            (true, None) => {
                let now = Instant::now();
                times.waiting_since = Some(now);
                drop(times);
                let candidate = Arc::clone(conn);
                state.update(conn.ip, |address| {
                    address.waiting.insert((now, conn.id), candidate);
                });
            }
            (false, Some(since)) => {
                times.waiting_since = None;
                drop(times);
                state.update(conn.ip, |address| {
                    address.waiting.remove(&(since, conn.id));
                });
            }
            _ => {}
        }
    }
}

/// One open connection, shared by its task, its requests and its socket.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    /// The address it counts against (IPv6 by /64).
    ip: IpAddr,
    /// What the connection is doing.
    pub(crate) activity: Activity,
}

/// The state the connection's watchdog and the eviction order read.
#[derive(Debug)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    body_waiting: AtomicBool,
    upgraded: AtomicBool,
    evicted: AtomicBool,
    bytes_read: AtomicU64,
    /// `bytes_read` when the connection last became idle.
    bytes_at_idle: AtomicU64,
    times: Mutex<Times>,
    /// Notified when the connection is evicted.
    pub(crate) evict: Notify,
    /// Notified when the state changes (a deadline may have moved).
    pub(crate) changed: Notify,
}

#[derive(Debug, Default)]
struct Times {
    /// Since when no request is in progress (the idle timeout counts from here).
    idle_since: Option<Instant>,
    /// Since when the connection waits on its client (its place in the
    /// eviction order); set only while it is a candidate.
    waiting_since: Option<Instant>,
    write_blocked_since: Option<Instant>,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            body_waiting: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            bytes_read: AtomicU64::new(0),
            bytes_at_idle: AtomicU64::new(0),
            times: Mutex::new(Times {
                idle_since: Some(now),
                waiting_since: Some(now),
                write_blocked_since: None,
            }),
            evict: Notify::new(),
            changed: Notify::new(),
        }
    }

    fn times(&self) -> std::sync::MutexGuard<'_, Times> {
        self.times.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// No request in progress, or the one in progress waits for its body.
    fn waits_on_client(&self) -> bool {
        !self.is_upgraded()
            && (self.in_flight.load(Ordering::Acquire) == 0
                || self.body_waiting.load(Ordering::Acquire))
    }

    /// `bytes` more were read from the socket.
    pub(crate) fn read(&self, bytes: usize) {
        self.bytes_read
            .fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::AcqRel);
    }

    /// A write could not proceed (the client is not reading) or did.
    pub(crate) fn write_blocked(&self, blocked: bool) {
        let mut times = self.times();
        match (blocked, times.write_blocked_since) {
            (true, None) => {
                times.write_blocked_since = Some(Instant::now());
                drop(times);
                self.changed.notify_one();
            }
            (false, Some(_)) => times.write_blocked_since = None,
            _ => {}
        }
    }

    /// Whether the connection was handed to a WebSocket.
    pub(crate) fn is_upgraded(&self) -> bool {
        self.upgraded.load(Ordering::Acquire)
    }

    /// When the connection must close if nothing changes: `idle_timeout`
    /// after it became idle if no byte of a next request arrived since,
    /// `send_timeout` after a write blocked. `None` while neither applies.
    pub(crate) fn deadline(
        &self,
        idle_timeout: Duration,
        send_timeout: Duration,
    ) -> Option<Instant> {
        if self.is_upgraded() {
            return None;
        }
        let times = self.times();
        let idle = times.idle_since.filter(|_| {
            self.in_flight.load(Ordering::Acquire) == 0
                && self.bytes_read.load(Ordering::Acquire)
                    == self.bytes_at_idle.load(Ordering::Acquire)
        });
        let idle = idle.map(|since| since + idle_timeout);
        let stalled = times.write_blocked_since.map(|since| since + send_timeout);
        match (idle, stalled) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The table's hold on one admitted connection: dropping it (the
/// connection ended) frees its place and its address's slot.
#[derive(Debug)]
pub(crate) struct ConnGuard {
    table: Arc<ConnectionTable>,
    conn: Arc<Conn>,
}

impl ConnGuard {
    /// The connection's shared state.
    pub(crate) fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }

    /// A handle that starts requests (for the connection's service).
    pub(crate) fn requests(&self) -> Requests {
        Requests {
            table: Arc::clone(&self.table),
            conn: Arc::clone(&self.conn),
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut state = self.table.lock();
        if !self.conn.activity.evicted.load(Ordering::Acquire) {
            let since = self.conn.activity.times().waiting_since.take();
            let id = self.conn.id;
            state.update(self.conn.ip, |address| {
                if let Some(since) = since {
                    address.waiting.remove(&(since, id));
                }
                address.open = address.open.saturating_sub(1);
            });
            state.open = state.open.saturating_sub(1);
        }
        let empty = state.open == 0;
        let evicted = self.conn.activity.evicted.load(Ordering::Acquire);
        drop(state);
        if empty {
            self.table.drained.notify_waiters();
        }
        if evicted {
            // The stream closed before this guard (it is dropped first).
            self.table.evicted_closed.notify_waiters();
        }
    }
}

/// What a connection's service tells the table (held by the service).
#[derive(Debug, Clone)]
pub(crate) struct Requests {
    table: Arc<ConnectionTable>,
    conn: Arc<Conn>,
}

impl Requests {
    /// A request started; the returned guard ends it when dropped.
    pub(crate) fn start(&self) -> RequestGuard {
        let activity = &self.conn.activity;
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        self.table.refresh(&self.conn);
        activity.changed.notify_one();
        RequestGuard {
            requests: self.clone(),
        }
    }

    /// The request's handler waits for body bytes from the client (`true`)
    /// or got some (`false`): while it waits, the connection may be evicted.
    pub(crate) fn waiting_for_body(&self, waiting: bool) {
        self.conn
            .activity
            .body_waiting
            .store(waiting, Ordering::Release);
        self.table.refresh(&self.conn);
    }

    /// The connection's response was `101 Switching Protocols`: from now on
    /// it belongs to a WebSocket and no HTTP deadline applies.
    pub(crate) fn upgraded(&self) {
        self.conn.activity.upgraded.store(true, Ordering::Release);
        self.table.refresh(&self.conn);
        self.conn.activity.changed.notify_one();
    }
}

/// One request in progress; dropped when its response was written (or the
/// request was abandoned), making the connection idle again.
#[derive(Debug)]
pub(crate) struct RequestGuard {
    requests: Requests,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let conn = &self.requests.conn;
        let activity = &conn.activity;
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.body_waiting.store(false, Ordering::Release);
            activity.bytes_at_idle.store(
                activity.bytes_read.load(Ordering::Acquire),
                Ordering::Release,
            );
            activity.times().idle_since = Some(Instant::now());
            self.requests.table.refresh(conn);
            activity.changed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn evicted(guard: &ConnGuard) -> bool {
        guard.conn().activity.evicted.load(Ordering::Acquire)
    }

    #[tokio::test]
    async fn a_connection_waiting_on_its_client_makes_room_and_busy_ones_never_do() {
        let table = ConnectionTable::new(2, Some(10));
        let first = table.admit(ip(1)).expect("first");
        let second = table.admit(ip(2)).expect("second");
        // The first is being served: the second (idle) is evicted.
        let request = first.requests().start();
        let third = table.admit(ip(3)).expect("room made");
        assert!(evicted(&second));
        assert_eq!(table.open(), 2);
        // Both remaining are busy: a fourth is refused.
        let busy = third.requests().start();
        assert_eq!(table.admit(ip(4)).err(), Some(Refusal::Full));
        // A request waiting for its body waits on its client: evictable.
        third.requests().waiting_for_body(true);
        let fourth = table.admit(ip(4)).expect("room made");
        assert!(evicted(&third));
        drop((busy, request));
        // The first is idle again, but only since now: the fourth has
        // waited longer and goes.
        let _fifth = table.admit(ip(5)).expect("room made");
        assert!(evicted(&fourth));
        assert!(!evicted(&first));
        drop((first, second, third, fourth));
        assert_eq!(table.open(), 1, "evicted ones were already uncounted");
    }

    #[tokio::test]
    async fn the_address_holding_the_most_connections_loses_one_first() {
        let table = ConnectionTable::new(4, None);
        let legitimate = table.admit(ip(1)).expect("oldest, alone on its address");
        let attackers: Vec<_> = (0..3)
            .map(|_| table.admit(ip(9)).expect("attacker"))
            .collect();
        let _newcomer = table.admit(ip(2)).expect("room made");
        assert!(
            !evicted(&legitimate),
            "the oldest, but its address holds one"
        );
        assert!(
            evicted(&attackers[0]),
            "the longest waiting of the busiest address"
        );
        assert!(!evicted(&attackers[1]) && !evicted(&attackers[2]));
    }

    #[tokio::test]
    async fn a_newcomer_never_evicts_an_address_holding_no_more_than_its_own() {
        let table = ConnectionTable::new(2, None);
        let _a = table.admit(ip(1)).expect("a");
        let _b = table.admit(ip(2)).expect("b");
        // ip(1) already holds one, as many as anyone: refused, not swapped.
        assert_eq!(table.admit(ip(1)).err(), Some(Refusal::Full));
        assert_eq!(table.open(), 2);
        // A new address holds none: it gets a place.
        assert!(table.admit(ip(3)).is_ok());
    }

    #[tokio::test]
    async fn the_per_address_cap_counts_open_connections() {
        let table = ConnectionTable::new(100, Some(2));
        let a = table.admit(ip(1)).expect("a");
        let _b = table.admit(ip(1)).expect("b");
        assert_eq!(table.admit(ip(1)).err(), Some(Refusal::PerIp));
        assert!(table.admit(ip(2)).is_ok(), "another address");
        drop(a);
        assert!(table.admit(ip(1)).is_ok(), "a slot was freed");
        // IPv6 addresses count by /64, IPv4-mapped ones as IPv4.
        let v6 = ConnectionTable::new(100, Some(1));
        let _one = v6.admit("2001:db8::1".parse().expect("ip")).expect("first");
        assert_eq!(
            v6.admit("2001:db8::2".parse().expect("ip")).err(),
            Some(Refusal::PerIp)
        );
        let _v4 = v6.admit(ip(7)).expect("v4");
        assert_eq!(
            v6.admit("::ffff:10.0.0.7".parse().expect("ip")).err(),
            Some(Refusal::PerIp)
        );
    }

    #[tokio::test]
    async fn deadlines_follow_what_the_connection_does() {
        let table = ConnectionTable::new(10, None);
        let guard = table.admit(ip(1)).expect("admitted");
        let activity = &guard.conn().activity;
        let (idle, send) = (Duration::from_secs(5), Duration::from_secs(10));
        assert!(activity.deadline(idle, send).is_some(), "fresh: idle");
        activity.read(3);
        assert_eq!(activity.deadline(idle, send), None, "a head is arriving");
        let request = guard.requests().start();
        assert_eq!(activity.deadline(idle, send), None, "serving");
        activity.write_blocked(true);
        assert!(activity.deadline(idle, send).is_some(), "stalled write");
        activity.write_blocked(false);
        drop(request);
        assert!(activity.deadline(idle, send).is_some(), "idle again");
        guard.requests().upgraded();
        assert_eq!(activity.deadline(idle, send), None, "a WebSocket now");
        assert!(
            !table.evict_one(),
            "an upgraded connection is never evicted"
        );
        drop(guard);
        assert_eq!(table.open(), 0);
        tokio::time::timeout(Duration::from_secs(1), table.drained())
            .await
            .expect("drained");
    }
}
