//! The chat room: recent history, presence, and fan-out of messages to every
//! view — inside one process, or across processes through Redis
//! (`--redis URL`, cargo feature `redis`).
//!
//! Views only ever see [`RoomEvent`]s on [`Room::subscribe`]. With Redis,
//! a message is first published to every process (and stored in the shared
//! history list in the same `MULTI`), and each process hands what it
//! receives to its own views, so every view in every process sees the same
//! messages in the same order.

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

/// A message was not posted: with Redis, Redis did not acknowledge it, so
/// no view anywhere received it and the sender may retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotSent;

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("message not sent: the chat is briefly unavailable, try again")
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

#[cfg(feature = "redis")]
pub use cluster::connect;

/// The Redis side of a room shared by several processes.
#[cfg(feature = "redis")]
mod cluster {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
    use std::time::{Duration, Instant};

    use djust::runtime::redis::client::{cmd, pipe};
    use djust::runtime::redis::{Redis, RedisBroadcast};
    use serde::{Deserialize, Serialize};
    use tokio::sync::broadcast::error::RecvError;

    use super::{Line, NotSent, Room, RoomEvent, HISTORY};

    /// Pub/sub topic of the room (channel `djust:pubsub:chat:room`).
    const TOPIC: &str = "chat:room";
    /// The shared history list.
    const HISTORY_KEY: &str = "djust:chat:history";
    /// The history expires a day after the last message.
    const HISTORY_TTL_SECS: u64 = 24 * 60 * 60;
    /// Each process announces its presence count this often…
    const HEARTBEAT: Duration = Duration::from_secs(5);
    /// …and a process not heard of for this long counts as gone.
    const PEER_TTL: Duration = Duration::from_secs(15);
    /// Messages buffered per process before the relay falls behind.
    const BUS_CAPACITY: usize = 1024;
    /// How long startup waits for the subscription before going on.
    const STARTUP_WAIT: Duration = Duration::from_secs(3);

    /// What processes tell each other.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub(super) enum Wire {
        Message(Line),
        Typing(String),
        /// Process `process` has `online` views in the room.
        Here {
            process: u32,
            online: usize,
        },
        /// Process `process` started: everyone announces their count.
        Hello {
            process: u32,
        },
    }

    pub(super) struct Cluster {
        redis: Redis,
        bus: RedisBroadcast<Wire>,
        /// Other processes' counts and when they were last heard of.
        peers: Mutex<HashMap<u32, (usize, Instant)>>,
        tasks: Vec<tokio::task::AbortHandle>,
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            for task in &self.tasks {
                task.abort();
            }
        }
    }

    /// A room shared through `redis`. Starts even while Redis is down
    /// (logged): the room joins when Redis is back.
    pub async fn connect(redis: Redis) -> Result<Arc<Room>, String> {
        let bus = RedisBroadcast::new(&redis, TOPIC, BUS_CAPACITY).map_err(|e| e.to_string())?;
        let relay = bus.subscribe();
        let room = Arc::new_cyclic(|weak: &Weak<Room>| {
            let mut room = Room::new();
            let tasks = vec![
                tokio::spawn(relay_loop(weak.clone(), relay)).abort_handle(),
                tokio::spawn(heartbeat_loop(weak.clone())).abort_handle(),
            ];
            room.cluster = Some(Cluster {
                redis,
                bus,
                peers: Mutex::new(HashMap::new()),
                tasks,
            });
            room
        });
        let Some(cluster) = &room.cluster else {
            return Err("room built without its cluster".to_owned());
        };
        if !cluster.bus.wait_subscribed(STARTUP_WAIT).await {
            tracing::warn!("Redis is not reachable yet: the chat room will join when it is");
            return Ok(room);
        }
        match cluster.load_history().await {
            Ok(lines) => lines.into_iter().for_each(|line| room.deliver(line)),
            Err(error) => tracing::warn!(%error, "could not load the chat history"),
        }
        let hello = Wire::Hello {
            process: room.process,
        };
        if let Err(error) = cluster.bus.publish(&hello).await {
            tracing::warn!(%error, "could not greet the other processes");
        }
        Ok(room)
    }

    /// Hands what Redis delivers to this process's views.
    async fn relay_loop(room: Weak<Room>, mut bus: tokio::sync::broadcast::Receiver<Wire>) {
        loop {
            let wire = match bus.recv().await {
                Ok(wire) => wire,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "chat relay fell behind; messages skipped");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let Some(room) = room.upgrade() else {
                return;
            };
            room.receive(wire);
        }
    }

    /// Announces this process's count and forgets silent processes.
    async fn heartbeat_loop(room: Weak<Room>) {
        let mut interval = tokio::time::interval(HEARTBEAT);
        loop {
            interval.tick().await;
            let Some(room) = room.upgrade() else {
                return;
            };
            if let Some(cluster) = &room.cluster {
                let forgot = cluster.forget_silent_peers();
                cluster.announce(
                    room.process,
                    room.here.load(std::sync::atomic::Ordering::Relaxed),
                );
                if forgot {
                    let _ = room.views.send(RoomEvent::Presence(room.online()));
                }
            }
        }
    }

    impl Room {
        /// One message from the bus (this process's own included).
        fn receive(&self, wire: Wire) {
            let Some(cluster) = &self.cluster else {
                return;
            };
            match wire {
                Wire::Message(line) => self.deliver(line),
                Wire::Typing(from) => {
                    let _ = self.views.send(RoomEvent::Typing(from));
                }
                Wire::Here { process, online } if process != self.process => {
                    cluster.peers().insert(process, (online, Instant::now()));
                    let _ = self.views.send(RoomEvent::Presence(self.online()));
                }
                Wire::Hello { process } if process != self.process => {
                    cluster.announce(
                        self.process,
                        self.here.load(std::sync::atomic::Ordering::Relaxed),
                    );
                }
                Wire::Here { .. } | Wire::Hello { .. } => {}
            }
        }
    }

    impl Cluster {
        /// Stores `line` in the shared history and publishes it, in one
        /// `MULTI` round trip: acknowledged means stored and sent.
        pub(super) async fn post(&self, line: &Line) -> Result<(), NotSent> {
            let stored = serde_json::to_string(line).map_err(|_| NotSent)?;
            let wire = serde_json::to_string(&Wire::Message(line.clone())).map_err(|_| NotSent)?;
            let mut pipeline = pipe();
            pipeline
                .atomic()
                .cmd("RPUSH")
                .arg(HISTORY_KEY)
                .arg(stored)
                .ignore()
                .cmd("LTRIM")
                .arg(HISTORY_KEY)
                .arg(-(HISTORY as i64))
                .arg(-1)
                .ignore()
                .cmd("EXPIRE")
                .arg(HISTORY_KEY)
                .arg(HISTORY_TTL_SECS)
                .ignore()
                .cmd("PUBLISH")
                .arg(self.bus.channel())
                .arg(wire)
                .ignore();
            self.redis
                .query_pipeline::<()>(&pipeline)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "chat message not sent");
                    NotSent
                })
        }

        /// Publishes "`from` is typing" without waiting (best effort).
        pub(super) fn typing(&self, from: &str) {
            self.spawn_publish(Wire::Typing(from.to_owned()));
        }

        /// Publishes this process's presence count without waiting.
        pub(super) fn announce(&self, process: u32, online: usize) {
            self.spawn_publish(Wire::Here { process, online });
        }

        /// Views in the other processes heard of recently.
        pub(super) fn peers_online(&self) -> usize {
            self.peers()
                .values()
                .filter(|(_, seen)| seen.elapsed() < PEER_TTL)
                .map(|(online, _)| online)
                .sum()
        }

        /// Drops processes not heard of within [`PEER_TTL`]; `true` if any.
        fn forget_silent_peers(&self) -> bool {
            let mut peers = self.peers();
            let before = peers.len();
            peers.retain(|_, (_, seen)| seen.elapsed() < PEER_TTL);
            peers.len() != before
        }

        async fn load_history(&self) -> Result<Vec<Line>, String> {
            let raw: Vec<String> = self
                .redis
                .query(
                    cmd("LRANGE")
                        .arg(HISTORY_KEY)
                        .arg(-(HISTORY as i64))
                        .arg(-1),
                )
                .await
                .map_err(|error| error.to_string())?;
            // A line that does not decode (another version wrote it) is skipped.
            Ok(raw
                .iter()
                .filter_map(|json| serde_json::from_str(json).ok())
                .collect())
        }

        fn spawn_publish(&self, wire: Wire) {
            // Presence changes when a view is dropped, which can happen
            // outside the runtime (at shutdown): then there is no one to tell.
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let bus = self.bus.clone();
            runtime.spawn(async move {
                if let Err(error) = bus.publish(&wire).await {
                    tracing::debug!(%error, "chat presence/typing not sent");
                }
            });
        }

        fn peers(&self) -> MutexGuard<'_, HashMap<u32, (usize, Instant)>> {
            self.peers.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }
}
