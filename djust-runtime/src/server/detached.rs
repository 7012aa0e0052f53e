//! Views whose socket dropped, waiting for their client: the registry the
//! new socket's driver looks a resume token up in, and its caps.
//!
//! Each detached view keeps running in its own task (its ticks and
//! subscription messages still apply, see `ws.rs`), reachable through a
//! [`Control`] channel registered here under its resume id. The registry
//! caps detached views per session, per client address (IPv6 by /64) and
//! in all, by count and by estimated memory; making room evicts the oldest
//! first, so abandoned sockets cannot pile up into a memory DoS.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use futures_util::stream::SelectAll;
use tokio::sync::{mpsc, oneshot};

use super::durable::Durable;
use crate::config::Config;
use crate::limits::address_group;
use crate::live::{Connection, Peer, ResumeRefusal, Step};
use crate::view::InfoStream;

/// What a resumed view hands to its new socket's driver.
pub(crate) type Handover =
    Result<(Connection, Step, SelectAll<InfoStream>, Durable), ResumeRefusal>;

/// A message to a detached view's task.
pub(crate) enum Control {
    /// A new socket of `peer` wants the view back at `version`.
    Resume {
        peer: Box<Peer>,
        version: u64,
        reply: oneshot::Sender<Handover>,
    },
    /// Room was needed: drop the view.
    Evict,
}

/// Bytes one allocation costs beyond what it asks for (glibc malloc on
/// 64-bit: an 8-byte header, sizes rounded up to 16).
const ALLOCATION_OVERHEAD: usize = 16;

/// Allocations a detached view holds besides its tree and state (task,
/// channel, registry entries, context, ids), about.
const FIXED_ALLOCATIONS: usize = 24;

/// What keeping one view detached costs besides the view and its task,
/// estimated: its registry entry and indexes (the id four times, the
/// session twice), its control channel (tokio's first block of 32 slots),
/// and the allocator's overhead on the view's allocations.
pub(crate) fn overhead_bytes(id: &str, session: Option<&str>) -> usize {
    use std::mem::size_of;
    // A hash table slot at 7/8 load; B-tree nodes about half full.
    let entry = size_of::<(String, Entry)>() * 8 / 7;
    let indexes = 3 * 2 * (size_of::<u64>() + size_of::<String>());
    let strings = 4 * id.len() + 2 * session.map_or(0, str::len);
    let channel = 32 * size_of::<Control>() + 256;
    entry + indexes + strings + channel + FIXED_ALLOCATIONS * ALLOCATION_OVERHEAD
}

/// The caps, from [`Config`].
#[derive(Debug, Clone, Copy)]
struct Caps {
    per_session: usize,
    per_ip: usize,
    views: usize,
    bytes: usize,
}

struct Entry {
    order: u64,
    session: Option<String>,
    ip: IpAddr,
    bytes: usize,
    control: mpsc::Sender<Control>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Resume ids by insertion order, oldest first: in all, per session,
    /// per address group.
    by_age: BTreeMap<u64, String>,
    by_session: HashMap<String, BTreeMap<u64, String>>,
    by_ip: HashMap<IpAddr, BTreeMap<u64, String>>,
    next_order: u64,
    bytes: usize,
}

impl State {
    fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.by_age.remove(&entry.order);
        if let Some(session) = &entry.session {
            if let Some(group) = self.by_session.get_mut(session) {
                group.remove(&entry.order);
                if group.is_empty() {
                    self.by_session.remove(session);
                }
            }
        }
        if let Some(group) = self.by_ip.get_mut(&entry.ip) {
            group.remove(&entry.order);
            if group.is_empty() {
                self.by_ip.remove(&entry.ip);
            }
        }
        self.bytes -= entry.bytes;
        Some(entry)
    }

    fn evict(&mut self, id: &str) {
        if let Some(entry) = self.remove(id) {
            tracing::debug!("detached view evicted to stay within the caps");
            let _ = entry.control.try_send(Control::Evict);
        }
    }

    /// The oldest id of a group holding more than `cap`.
    fn oldest_over(group: Option<&BTreeMap<u64, String>>, cap: usize) -> Option<String> {
        group
            .filter(|group| group.len() > cap)
            .and_then(|group| group.values().next().cloned())
    }
}

/// The detached views of one app (see the module docs).
pub(crate) struct DetachedViews {
    caps: Caps,
    state: Mutex<State>,
    /// Resume ids of views attached to a socket of this process: a resume
    /// of one of them waits for its old socket to be noticed gone; any
    /// other id that is not detached here is looked up in the store at
    /// once.
    attached: Mutex<HashSet<String>>,
}

impl DetachedViews {
    pub(crate) fn new(config: &Config) -> Self {
        DetachedViews {
            caps: Caps {
                per_session: config.max_detached_per_session,
                per_ip: config.max_detached_per_ip,
                views: config.max_detached_views,
                bytes: config.max_detached_bytes,
            },
            state: Mutex::new(State::default()),
            attached: Mutex::new(HashSet::new()),
        }
    }

    fn attached(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.attached.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A socket of this process holds the view of resume id `id`.
    pub(crate) fn attach(&self, id: &str) {
        self.attached().insert(id.to_owned());
    }

    /// No socket of this process holds `id`'s view any more.
    pub(crate) fn unattach(&self, id: &str) {
        self.attached().remove(id);
    }

    /// Whether a socket of this process holds `id`'s view.
    pub(crate) fn is_attached(&self, id: &str) -> bool {
        self.attached().contains(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the view detached under `id`, evicting the oldest views
    /// its session, its address or the whole app holds beyond the caps.
    pub(crate) fn insert(
        &self,
        id: String,
        session: Option<String>,
        ip: IpAddr,
        bytes: usize,
        control: mpsc::Sender<Control>,
    ) {
        let ip = address_group(ip, 64);
        let mut state = self.lock();
        // An id is random; a repeat replaces (and drops) the old view.
        state.evict(&id);
        let order = state.next_order;
        state.next_order += 1;
        state.bytes += bytes;
        state.by_age.insert(order, id.clone());
        if let Some(session) = &session {
            state
                .by_session
                .entry(session.clone())
                .or_default()
                .insert(order, id.clone());
        }
        state.by_ip.entry(ip).or_default().insert(order, id.clone());
        state.entries.insert(
            id,
            Entry {
                order,
                session: session.clone(),
                ip,
                bytes,
                control,
            },
        );
        while let Some(victim) = session.as_ref().and_then(|session| {
            State::oldest_over(state.by_session.get(session), self.caps.per_session)
        }) {
            state.evict(&victim);
        }
        while let Some(victim) = State::oldest_over(state.by_ip.get(&ip), self.caps.per_ip) {
            state.evict(&victim);
        }
        self.within_totals(&mut state);
    }

    /// The view's estimated memory changed (it kept frames for its client).
    pub(crate) fn update_bytes(&self, id: &str, bytes: usize) {
        let mut state = self.lock();
        let Some(entry) = state.entries.get_mut(id) else {
            return;
        };
        let before = std::mem::replace(&mut entry.bytes, bytes);
        state.bytes = state.bytes - before + bytes;
        self.within_totals(&mut state);
    }

    /// Forgets `id` (resumed, grace over, or evicted).
    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The channel to the view detached under `id`.
    pub(crate) fn control(&self, id: &str) -> Option<mpsc::Sender<Control>> {
        self.lock()
            .entries
            .get(id)
            .map(|entry| entry.control.clone())
    }

    /// Detached views now, and their estimated bytes.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let state = self.lock();
        (state.entries.len(), state.bytes)
    }

    /// Evicts oldest-first until the count and the bytes are within caps.
    fn within_totals(&self, state: &mut State) {
        while state.entries.len() > self.caps.views || state.bytes > self.caps.bytes {
            let Some(oldest) = state.by_age.values().next().cloned() else {
                return;
            };
            state.evict(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views(per_session: usize, per_ip: usize, views: usize, bytes: usize) -> DetachedViews {
        DetachedViews::new(&Config {
            max_detached_per_session: per_session,
            max_detached_per_ip: per_ip,
            max_detached_views: views,
            max_detached_bytes: bytes,
            ..Config::default()
        })
    }

    fn add(
        registry: &DetachedViews,
        id: &str,
        session: &str,
        ip: &str,
        bytes: usize,
    ) -> mpsc::Receiver<Control> {
        let (tx, rx) = mpsc::channel(1);
        registry.insert(
            id.to_owned(),
            Some(session.to_owned()),
            ip.parse().expect("ip"),
            bytes,
            tx,
        );
        rx
    }

    fn evicted(rx: &mut mpsc::Receiver<Control>) -> bool {
        matches!(rx.try_recv(), Ok(Control::Evict))
    }

    #[test]
    fn each_cap_evicts_the_oldest_first() {
        // Per session.
        let registry = views(2, 100, 100, usize::MAX);
        let mut a = add(&registry, "a", "s1", "10.0.0.1", 10);
        let mut b = add(&registry, "b", "s1", "10.0.0.2", 10);
        let mut c = add(&registry, "c", "s2", "10.0.0.3", 10);
        let mut d = add(&registry, "d", "s1", "10.0.0.4", 10);
        assert!(evicted(&mut a) && !evicted(&mut b) && !evicted(&mut c) && !evicted(&mut d));
        assert!(registry.control("a").is_none() && registry.control("d").is_some());
        // Per address, IPv6 by /64.
        let registry = views(100, 2, 100, usize::MAX);
        let mut a = add(&registry, "a", "s1", "2001:db8::1", 10);
        let _b = add(&registry, "b", "s2", "2001:db8::2", 10);
        let _c = add(&registry, "c", "s3", "2001:db8::3", 10);
        assert!(evicted(&mut a));
        assert_eq!(registry.usage(), (2, 20));
        // In all, by count and by bytes.
        let registry = views(100, 100, 2, 25);
        let mut a = add(&registry, "a", "s1", "10.0.0.1", 10);
        let mut b = add(&registry, "b", "s2", "10.0.0.2", 10);
        let _c = add(&registry, "c", "s3", "10.0.0.3", 10);
        assert!(evicted(&mut a) && !evicted(&mut b));
        registry.update_bytes("c", 20);
        assert!(evicted(&mut b), "bytes over the cap evict the oldest");
        assert_eq!(registry.usage(), (1, 20));
        registry.remove("c");
        assert_eq!(registry.usage(), (0, 0));
    }
}
