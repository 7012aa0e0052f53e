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
//!
//! Presence (the "N online" count) changes on every mount and close; it
//! goes out through a [`Coalescer`], at most once per
//! [`PRESENCE_INTERVAL`], so a client opening and closing pages in a loop
//! cannot make every view render and send a frame per page. Nicks are
//! held per session (`room/nicks.rs`), and every line is display-safe
//! text ([`display_text`]) whichever process wrote it.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use djust::text::display_text;
use djust::Coalescer;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Messages each view keeps and new views receive.
pub const HISTORY: usize = 50;

/// Events buffered per view before a slow view starts missing some.
const VIEW_CHANNEL_CAPACITY: usize = 256;

/// Longest nick, in characters (after NFKC).
pub const MAX_NICK_CHARS: usize = 24;

/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// Presence counts reach the views at most this often (the latest count
/// wins; the final one always arrives).
pub const PRESENCE_INTERVAL: Duration = Duration::from_millis(500);

/// One chat message. `id` is unique across processes: the process's random
/// 32-bit tag in the high half, a counter in the low half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub id: u64,
    pub from: String,
    pub text: String,
}

impl Line {
    /// The line with display-safe `from` and `text`, cut to the lengths
    /// the chat allows: lines from Redis may have been written by another
    /// version of the chat, or by anyone with access to Redis.
    pub fn display_safe(mut self) -> Line {
        self.from = display_safe_cut(&self.from, MAX_NICK_CHARS);
        self.text = display_safe_cut(&self.text, MAX_MESSAGE_CHARS);
        self
    }
}

/// `text` made display-safe and cut to `max_chars` characters.
fn display_safe_cut(text: &str, max_chars: usize) -> String {
    display_text(text).chars().take(max_chars).collect()
}

/// What the room tells every view (delivered to `handle_info`).
#[derive(Debug, Clone)]
pub enum RoomEvent {
    Message(Line),
    Typing(String),
    /// People in the room, in every process.
    Presence(usize),
    /// Some nick held here was given to someone else (with Redis: this
    /// process could not refresh its hold in time): a view whose
    /// [`NickClaim::is_held`] is now `false` must pick another.
    NicksLost,
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
    /// Numbers views in this process (see [`Presence::id`]).
    next_view: AtomicU64,
    /// Presence counts to the views, coalesced.
    presence: Coalescer<usize>,
    nicks: nicks::Nicks,
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
        Room::with_presence_interval(PRESENCE_INTERVAL)
    }

    /// A room whose presence counts reach the views at most once per
    /// `interval` (every change at once with `Duration::ZERO`).
    pub fn with_presence_interval(interval: Duration) -> Self {
        let (views, _) = broadcast::channel(VIEW_CHANNEL_CAPACITY);
        let presence = Coalescer::new(interval, {
            let views = views.clone();
            move |online| {
                // No receivers is fine: nobody is in the room.
                let _ = views.send(RoomEvent::Presence(online));
            }
        });
        // A randomly seeded hasher is a random number generator good
        // enough for a tag that only has to differ between processes.
        let process = std::collections::hash_map::RandomState::new()
            .hash_one((std::process::id(), std::time::SystemTime::now()))
            as u32;
        Room {
            views,
            here: AtomicUsize::new(0),
            next_view: AtomicU64::new(1),
            presence,
            nicks: nicks::Nicks::default(),
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
        let _ = self
            .views
            .send(RoomEvent::Typing(display_text(from).into_owned()));
    }

    /// Counts a view in the room while the returned guard lives.
    pub fn enter(self: &Arc<Self>) -> Presence {
        self.here.fetch_add(1, Ordering::Relaxed);
        self.presence_changed();
        Presence {
            room: Arc::clone(self),
            id: self.next_view.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Adds a message to this process's history (once, whatever the number
    /// of times it arrives) and hands it to this process's views.
    fn deliver(&self, line: Line) {
        let line = line.display_safe();
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
        let canonical: Vec<Line> = canonical.into_iter().map(Line::display_safe).collect();
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

    /// This process's count changed: tell the views (and, with Redis, the
    /// other processes), coalesced.
    fn presence_changed(&self) {
        self.publish_presence();
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            cluster.count_changed(&self.here);
        }
    }

    /// Sends the views the count, coalesced. It is read under the
    /// coalescer's lock, so the last count sent is the current one even
    /// when views come and go on several threads at once.
    fn publish_presence(&self) {
        self.presence.publish_with(|| self.online());
    }

    fn history(&self) -> MutexGuard<'_, VecDeque<Line>> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts one view in the room while it lives; dropping it (the socket
/// closed and the view went away) updates everyone's presence count.
pub struct Presence {
    room: Arc<Room>,
    id: u64,
}

impl Presence {
    /// The room this guard counts in.
    pub fn room(&self) -> &Arc<Room> {
        &self.room
    }

    /// The view's number, unique in this process's room.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let _ = self
            .room
            .here
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        self.room.presence_changed();
    }
}

// Explicit paths, so the modules are found the same way whether this file
// is the example's `room` module or is included by a test with `#[path]`.
#[path = "room/nicks.rs"]
mod nicks;
pub use nicks::{NickClaim, NickOwner, NickRefused};

#[cfg(feature = "redis")]
#[path = "room/cluster.rs"]
mod cluster;
#[cfg(feature = "redis")]
pub use cluster::connect;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    /// The presence counts `view` has received so far.
    fn presence_counts(view: &mut broadcast::Receiver<RoomEvent>) -> Vec<usize> {
        let mut counts = Vec::new();
        loop {
            match view.try_recv() {
                Ok(RoomEvent::Presence(online)) => counts.push(online),
                Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => return counts,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn presence_churn_reaches_views_at_most_once_per_interval_and_ends_right() {
        const INTERVALS: u32 = 10;
        const STEPS_PER_INTERVAL: u32 = 50;
        const CYCLES_PER_STEP: usize = 20;
        let room = Arc::new(Room::new());
        let mut view = room.subscribe();
        let viewers: Vec<Presence> = (0..3).map(|_| room.enter()).collect();
        // Two intervals: the held count is due after at most one.
        tokio::time::sleep(PRESENCE_INTERVAL * 2).await;
        assert_eq!(presence_counts(&mut view).last(), Some(&3));

        // A quiet room sends nothing, and runs no timer.
        tokio::time::sleep(PRESENCE_INTERVAL * INTERVALS).await;
        assert_eq!(presence_counts(&mut view), Vec::<usize>::new());

        // One client mounts and closes 10,000 times in 10 intervals.
        let start = tokio::time::Instant::now();
        for _ in 0..INTERVALS * STEPS_PER_INTERVAL {
            for _ in 0..CYCLES_PER_STEP {
                drop(room.enter());
            }
            tokio::time::sleep(PRESENCE_INTERVAL / STEPS_PER_INTERVAL).await;
        }
        // The last change is delivered at most one interval later.
        tokio::time::sleep(PRESENCE_INTERVAL * 2).await;
        let elapsed = start.elapsed();
        let counts = presence_counts(&mut view);
        // Deliveries are an interval apart: at most elapsed / interval + 1.
        let bound = (elapsed.as_nanos() / PRESENCE_INTERVAL.as_nanos()) as usize + 1;
        assert!(
            counts.len() <= bound,
            "{} counts in {elapsed:?} ({bound} at most): {counts:?}",
            counts.len()
        );
        // ... and at least one per interval while it changes.
        assert!(counts.len() >= INTERVALS as usize, "{counts:?}");
        assert_eq!(counts.last(), Some(&3), "the final count always arrives");
        assert!(!room.presence.is_holding());

        // The viewers leave: the view (if anyone were left) sees 0.
        drop(viewers);
        tokio::time::sleep(PRESENCE_INTERVAL * 2).await;
        assert_eq!(presence_counts(&mut view).last(), Some(&0));
    }

    #[tokio::test(start_paused = true)]
    async fn an_interval_of_zero_sends_every_change() {
        let room = Arc::new(Room::with_presence_interval(Duration::ZERO));
        let mut view = room.subscribe();
        let first = room.enter();
        let second = room.enter();
        drop(first);
        drop(second);
        assert_eq!(presence_counts(&mut view), vec![1, 2, 1, 0]);
    }

    #[test]
    fn lines_from_redis_are_made_display_safe() {
        let line = Line {
            id: 1,
            from: "Ann\u{202E}\u{7}".to_owned(),
            text: "invoice_\u{202E}gnp.exe\u{1B}[2J\u{200B}".to_owned(),
        }
        .display_safe();
        assert_eq!(line.from, "Ann");
        assert_eq!(line.text, "invoice_gnp.exe[2J");
    }

    #[test]
    fn oversized_lines_from_redis_are_cut() {
        let line = Line {
            id: 1,
            from: "A".repeat(10_000),
            text: "\u{202E}x".repeat(100_000),
        }
        .display_safe();
        assert_eq!(line.from.chars().count(), MAX_NICK_CHARS);
        assert_eq!(line.text, "x".repeat(MAX_MESSAGE_CHARS));
    }
}
