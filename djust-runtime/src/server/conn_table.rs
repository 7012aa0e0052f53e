//! Admission and bookkeeping of HTTP connections: the global cap, the cap
//! per client address, and what each open connection is doing (waiting
//! for a request, serving one, blocked writing, upgraded).
//!
//! When the global cap is reached (or the process runs out of file
//! descriptors) the connection that has waited longest with no request in
//! progress is closed to make room: an attacker holding idle or
//! half-sent connections cannot lock legitimate clients out, and a
//! connection serving a request is never cut for a newcomer. If every
//! connection is serving a request, the newcomer is refused.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::limits::{IpRefusal, IpSlot, IpTracker};

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its address holds `DJUST_HTTP_MAX_CONNECTIONS_PER_IP` connections.
    PerIp,
    /// `DJUST_HTTP_MAX_CONNECTIONS` are open and every one is serving a request.
    Full,
}

/// Every open HTTP connection of the process.
#[derive(Debug)]
pub(crate) struct ConnectionTable {
    max: usize,
    per_ip: Option<IpTracker>,
    state: Mutex<TableState>,
    next_id: AtomicU64,
    drained: Notify,
}

#[derive(Debug, Default)]
struct TableState {
    /// Connections counted against the cap (evicted ones no longer are).
    open: usize,
    /// Connections with no request in progress, oldest first.
    idle: BTreeMap<(Instant, u64), Arc<Conn>>,
}

impl ConnectionTable {
    /// A table admitting `max` connections, and `per_ip` per address when
    /// set (none behind trusted proxies: the peers are the proxies).
    pub(crate) fn new(max: usize, per_ip: Option<u32>) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            per_ip: per_ip.map(|max_per_ip| {
                IpTracker::new(crate::limits::IpTrackerConfig {
                    max_per_ip,
                    cooldown: Duration::ZERO,
                    ..crate::limits::IpTrackerConfig::default()
                })
            }),
            state: Mutex::new(TableState::default()),
            next_id: AtomicU64::new(0),
            drained: Notify::new(),
        })
    }

    /// Admits a connection from `ip`, closing the longest-idle connection
    /// when the table is full.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnGuard, Refusal> {
        let ip_slot = match &self.per_ip {
            Some(tracker) => match tracker.try_acquire(ip) {
                Ok(slot) => Some(slot),
                Err(IpRefusal::TooManyConnections | IpRefusal::CoolingDown) => {
                    return Err(Refusal::PerIp)
                }
            },
            None => None,
        };
        let now = Instant::now();
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            activity: Activity::new(now),
        });
        let mut state = self.lock();
        if state.open >= self.max && !evict_oldest(&mut state) {
            return Err(Refusal::Full);
        }
        state.open += 1;
        state.idle.insert((now, conn.id), Arc::clone(&conn));
        drop(state);
        Ok(ConnGuard {
            table: Arc::clone(self),
            conn,
            _ip_slot: ip_slot,
        })
    }

    /// Closes the connection that has waited longest with no request in
    /// progress (to free a file descriptor); `false` if there is none.
    pub(crate) fn evict_oldest_idle(&self) -> bool {
        evict_oldest(&mut self.lock())
    }

    /// Connections counted against the cap.
    pub(crate) fn open(&self) -> usize {
        self.lock().open
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

    /// `conn` started a request: it is no longer idle.
    fn busy(&self, conn: &Conn) {
        let mut state = self.lock();
        if let Some(since) = conn.activity.take_idle_since() {
            state.idle.remove(&(since, conn.id));
        }
    }

    /// `conn` finished its requests and waits for the next one.
    fn idle(&self, conn: &Arc<Conn>) {
        if conn.activity.evicted.load(Ordering::Acquire)
            || conn.activity.upgraded.load(Ordering::Acquire)
        {
            return;
        }
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(since) = conn.activity.take_idle_since() {
            state.idle.remove(&(since, conn.id));
        }
        conn.activity.set_idle_since(now);
        state.idle.insert((now, conn.id), Arc::clone(conn));
    }
}

/// Marks the oldest idle connection evicted and tells it to close.
fn evict_oldest(state: &mut TableState) -> bool {
    let Some((_, conn)) = state.idle.pop_first() else {
        return false;
    };
    conn.activity.take_idle_since();
    conn.activity.evicted.store(true, Ordering::Release);
    state.open = state.open.saturating_sub(1);
    conn.activity.evict.notify_one();
    true
}

/// One open connection, shared by its task, its requests and its socket.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    /// What the connection is doing.
    pub(crate) activity: Activity,
}

/// The state the connection's watchdog reads.
#[derive(Debug)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
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
    idle_since: Option<Instant>,
    write_blocked_since: Option<Instant>,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            upgraded: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            bytes_read: AtomicU64::new(0),
            bytes_at_idle: AtomicU64::new(0),
            times: Mutex::new(Times {
                idle_since: Some(now),
                write_blocked_since: None,
            }),
            evict: Notify::new(),
            changed: Notify::new(),
        }
    }

    fn times(&self) -> std::sync::MutexGuard<'_, Times> {
        self.times.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_idle_since(&self) -> Option<Instant> {
        self.times().idle_since.take()
    }

    fn set_idle_since(&self, now: Instant) {
        self.bytes_at_idle
            .store(self.bytes_read.load(Ordering::Acquire), Ordering::Release);
        self.times().idle_since = Some(now);
        self.changed.notify_one();
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
    _ip_slot: Option<IpSlot>,
}

impl ConnGuard {
    /// The connection's shared state.
    pub(crate) fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }

    /// A request started on the connection; the returned guard ends it.
    #[cfg(test)]
    pub(crate) fn request(&self) -> RequestGuard {
        start_request(&self.table, &self.conn)
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
        if let Some(since) = self.conn.activity.take_idle_since() {
            state.idle.remove(&(since, self.conn.id));
        }
        if !self.conn.activity.evicted.load(Ordering::Acquire) {
            state.open = state.open.saturating_sub(1);
        }
        let empty = state.open == 0;
        drop(state);
        if empty {
            self.table.drained.notify_waiters();
        }
    }
}

/// Starts requests on one connection (held by its service).
#[derive(Debug, Clone)]
pub(crate) struct Requests {
    table: Arc<ConnectionTable>,
    conn: Arc<Conn>,
}

impl Requests {
    /// A request started; the returned guard ends it when dropped.
    pub(crate) fn start(&self) -> RequestGuard {
        start_request(&self.table, &self.conn)
    }

    /// The connection's response was `101 Switching Protocols`: from now on
    /// it belongs to a WebSocket and no HTTP deadline applies.
    pub(crate) fn upgraded(&self) {
        self.conn.activity.upgraded.store(true, Ordering::Release);
        self.conn.activity.changed.notify_one();
    }
}

fn start_request(table: &Arc<ConnectionTable>, conn: &Arc<Conn>) -> RequestGuard {
    if conn.activity.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
        table.busy(conn);
    }
    conn.activity.changed.notify_one();
    RequestGuard {
        table: Arc::clone(table),
        conn: Arc::clone(conn),
    }
}

/// One request in progress; dropped when its response was written (or the
/// request was abandoned), making the connection idle again.
#[derive(Debug)]
pub(crate) struct RequestGuard {
    table: Arc<ConnectionTable>,
    conn: Arc<Conn>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        if self.conn.activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.table.idle(&self.conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[tokio::test]
    async fn the_oldest_idle_connection_makes_room_and_busy_ones_never_do() {
        let table = ConnectionTable::new(2, Some(10));
        let first = table.admit(ip(1)).expect("first");
        let second = table.admit(ip(2)).expect("second");
        // The first is serving a request: the second (idle) is evicted.
        let request = first.request();
        let third = table.admit(ip(3)).expect("room made");
        assert!(second.conn().activity.evicted.load(Ordering::Acquire));
        assert_eq!(table.open(), 2);
        // Both remaining are busy: a fourth is refused.
        let _busy = third.request();
        assert_eq!(table.admit(ip(4)).err(), Some(Refusal::Full));
        drop(request);
        // The first is idle again and goes next.
        let _fourth = table.admit(ip(4)).expect("room made");
        assert!(first.conn().activity.evicted.load(Ordering::Acquire));
        drop((first, second));
        assert_eq!(table.open(), 2, "evicted ones were already uncounted");
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
        let request = guard.request();
        assert_eq!(activity.deadline(idle, send), None, "serving");
        activity.write_blocked(true);
        assert!(activity.deadline(idle, send).is_some(), "stalled write");
        activity.write_blocked(false);
        drop(request);
        assert!(activity.deadline(idle, send).is_some(), "idle again");
        guard.requests().upgraded();
        assert_eq!(activity.deadline(idle, send), None, "a WebSocket now");
        drop(guard);
        assert_eq!(table.open(), 0);
        tokio::time::timeout(Duration::from_secs(1), table.drained())
            .await
            .expect("drained");
    }
}
