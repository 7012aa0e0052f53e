//! The chat room: recent history, presence, and fan-out of messages to every
//! view — inside one process, or across processes through Redis
//! (`--redis URL`, cargo feature `redis`).
//!
//! Views only ever see [`RoomEvent`]s on [`Room::subscribe`]. With Redis,
//! a message is first published to every process (and stored in the shared
//! history list in the same `MULTI`), and each process hands what it
//! receives to its own views, so every view in every process sees the same
//! messages in the same order. A process whose subscription dropped (Redis
//! restarted, network) re-reads the history when it is back and hands its
//! views what they missed, late (see `room/cluster.rs`).

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Messages each view keeps and new views receive.
pub const HISTORY: usize = 50;

/// Events buffered per view before a slow view starts missing some.
const VIEW_CHANNEL_CAPACITY: usize = 256;

/// One chat message. `id` is unique across processes: the process's random
/// 32-bit tag in the high half, a counter in the low half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub id: u64,
    pub from: String,
    pub text: String,
}

/// What the room tells every view (delivered to `handle_info`).
#[derive(Debug, Clone)]
pub enum RoomEvent {
    Message(Line),
    Typing(String),
    /// People in the room, in every process.
    Presence(usize),
}

/// A message was not confirmed: with Redis, Redis did not acknowledge it.
/// Usually nobody received it, but when the reply alone was lost (a time-out
/// after Redis ran the command) it was delivered: a retry then posts it
/// twice, which is the lesser evil for a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotSent;

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the chat did not confirm your message (it is briefly unavailable): try again")
    }
}

impl std::error::Error for NotSent {}

/// The room of this process.
pub struct Room {
    views: broadcast::Sender<RoomEvent>,
    /// Views in this process.
    here: AtomicUsize,
    /// This process's random tag (high half of line ids).
    process: u32,
    next_line: AtomicU64,
    history: Mutex<VecDeque<Line>>,
    #[cfg(feature = "redis")]
    cluster: Option<cluster::Cluster>,
}

impl Default for Room {
    fn default() -> Self {
        Room::new()
    }
}

impl Room {
    /// A room living in this process only.
    pub fn new() -> Self {
        let (views, _) = broadcast::channel(VIEW_CHANNEL_CAPACITY);
        // A randomly seeded hasher is a random number generator good
        // enough for a tag that only has to differ between processes.
        let process = std::collections::hash_map::RandomState::new()
            .hash_one((std::process::id(), std::time::SystemTime::now()))
            as u32;
        Room {
            views,
            here: AtomicUsize::new(0),
            process,
            next_line: AtomicU64::new(1),
            history: Mutex::new(VecDeque::with_capacity(HISTORY + 1)),
            #[cfg(feature = "redis")]
            cluster: None,
        }
    }

    /// Events for one view, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RoomEvent> {
        self.views.subscribe()
    }

    /// The most recent messages, oldest first.
    pub fn recent(&self) -> Vec<Line> {
        self.history().iter().cloned().collect()
    }

    /// People in the room, in every process.
    pub fn online(&self) -> usize {
        let here = self.here.load(Ordering::Relaxed);
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            return here + cluster.peers_online();
        }
        here
    }

    /// Posts a message to everyone. `Err` means nobody received it.
    pub async fn post(&self, from: &str, text: &str) -> Result<(), NotSent> {
        let counter = self.next_line.fetch_add(1, Ordering::Relaxed) & u64::from(u32::MAX);
        let line = Line {
            id: (u64::from(self.process) << 32) | counter,
            from: from.to_owned(),
            text: text.to_owned(),
        };
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            return cluster.post(&line).await;
        }
        self.deliver(line);
        Ok(())
    }

    /// Tells everyone `from` is typing (best effort: lost if Redis is down).
    pub fn typing(&self, from: &str) {
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            cluster.typing(from);
            return;
        }
        // No receivers is fine: nobody is in the room.
        let _ = self.views.send(RoomEvent::Typing(from.to_owned()));
    }

    /// Counts a view in the room while the returned guard lives.
    pub fn enter(self: &Arc<Self>) -> Presence {
        self.here.fetch_add(1, Ordering::Relaxed);
        self.presence_changed();
        Presence(Arc::clone(self))
    }

    /// Adds a message to this process's history (once, whatever the number
    /// of times it arrives) and hands it to this process's views.
    fn deliver(&self, line: Line) {
        {
            let mut history = self.history();
            if history.iter().any(|known| known.id == line.id) {
                return;
            }
            history.push_back(line.clone());
            while history.len() > HISTORY {
                history.pop_front();
            }
        }
        let _ = self.views.send(RoomEvent::Message(line));
    }

    /// Makes `canonical` (the shared history, oldest first) this process's
    /// history, keeping after it the lines received meanwhile, and hands the
    /// views the lines they missed (late: after a reconnection they arrive
    /// after what the view already shows).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    fn merge_history(&self, canonical: Vec<Line>) {
        let missed: Vec<Line> = {
            let mut history = self.history();
            let missed = canonical
                .iter()
                .filter(|line| history.iter().all(|known| known.id != line.id))
                .cloned()
                .collect();
            let newer: Vec<Line> = history
                .drain(..)
                .filter(|known| canonical.iter().all(|line| line.id != known.id))
                .collect();
            history.extend(canonical);
            history.extend(newer);
            while history.len() > HISTORY {
                history.pop_front();
            }
            missed
        };
        for line in missed {
            let _ = self.views.send(RoomEvent::Message(line));
        }
    }

    fn presence_changed(&self) {
        let _ = self.views.send(RoomEvent::Presence(self.online()));
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            cluster.announce(self.process, self.here.load(Ordering::Relaxed));
        }
    }

    fn history(&self) -> MutexGuard<'_, VecDeque<Line>> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts one view in the room while it lives; dropping it (the socket
/// closed and the view went away) updates everyone's presence count.
pub struct Presence(Arc<Room>);

impl Presence {
    /// The room this guard counts in.
    pub fn room(&self) -> &Arc<Room> {
        &self.0
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let _ = self
            .0
            .here
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        self.0.presence_changed();
    }
}

// An explicit path, so the module is found the same way whether this file
// is the example's `room` module or is included by a test with `#[path]`.
#[cfg(feature = "redis")]
#[path = "room/cluster.rs"]
mod cluster;
#[cfg(feature = "redis")]
pub use cluster::connect;
