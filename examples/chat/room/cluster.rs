//! The Redis side of a room shared by several processes: one pub/sub topic,
//! the shared history list, presence heartbeats, and catching up on the
//! history after the subscription reconnects.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use djust::runtime::redis::client::{cmd, pipe};
use djust::runtime::redis::{Redis, RedisBroadcast};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

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
    /// The relay, heartbeat and catch-up tasks, stopped with the room.
    tasks: OnceLock<Vec<tokio::task::AbortHandle>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for task in self.tasks.get().into_iter().flatten() {
            task.abort();
        }
    }
}

/// A room shared through `redis`. Starts even while Redis is down (logged):
/// the room joins, and loads the history, when Redis is back.
pub async fn connect(redis: Redis) -> Result<Arc<Room>, String> {
    let bus = RedisBroadcast::new(&redis, TOPIC, BUS_CAPACITY).map_err(|e| e.to_string())?;
    let relay = bus.subscribe();
    let subscription = bus.subscription();
    let mut room = Room::new();
    room.cluster = Some(Cluster {
        redis,
        bus,
        peers: Mutex::new(HashMap::new()),
        tasks: OnceLock::new(),
    });
    // The Arc exists before any task starts, so every task can upgrade.
    let room = Arc::new(room);
    let Some(cluster) = &room.cluster else {
        return Err("room built without its cluster".to_owned());
    };
    let weak = Arc::downgrade(&room);
    let _ = cluster.tasks.set(vec![
        tokio::spawn(relay_loop(weak.clone(), relay)).abort_handle(),
        tokio::spawn(heartbeat_loop(weak.clone())).abort_handle(),
        tokio::spawn(catch_up_loop(weak, subscription)).abort_handle(),
    ]);
    if !cluster.bus.wait_subscribed(STARTUP_WAIT).await {
        tracing::warn!("Redis is not reachable yet: the chat room will join when it is");
        return Ok(room);
    }
    // Once here so the first page served already shows the history; the
    // catch-up task does it again after every reconnection.
    room.catch_up().await;
    let hello = Wire::Hello {
        process: room.process,
    };
    if let Err(error) = cluster.bus.publish(&hello).await {
        tracing::warn!(%error, "could not greet the other processes");
    }
    Ok(room)
}

/// Hands what Redis delivers to this process's views.
async fn relay_loop(room: Weak<Room>, mut bus: broadcast::Receiver<Wire>) {
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
            cluster.announce(room.process, room.here.load(Ordering::Relaxed));
            if forgot {
                let _ = room.views.send(RoomEvent::Presence(room.online()));
            }
        }
    }
}

/// Re-reads the shared history each time the subscription comes back:
/// pub/sub is at most once, so whatever was published meanwhile (this
/// process's own messages included) would otherwise never show here.
async fn catch_up_loop(room: Weak<Room>, mut subscription: watch::Receiver<bool>) {
    while subscription.changed().await.is_ok() {
        if !*subscription.borrow_and_update() {
            continue;
        }
        let Some(room) = room.upgrade() else {
            return;
        };
        room.catch_up().await;
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
                cluster.announce(self.process, self.here.load(Ordering::Relaxed));
            }
            Wire::Here { .. } | Wire::Hello { .. } => {}
        }
    }

    /// Merges the shared history into this process's (see `merge_history`).
    async fn catch_up(&self) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        match cluster.load_history().await {
            Ok(lines) => self.merge_history(lines),
            Err(error) => tracing::warn!(%error, "could not load the chat history"),
        }
    }
}

impl Cluster {
    /// Stores `line` in the shared history and publishes it, in one `MULTI`
    /// round trip: acknowledged means stored and sent.
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
                tracing::warn!(%error, "chat message not confirmed");
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
        // Presence changes when a view is dropped, which can happen outside
        // the runtime (at shutdown): then there is no one to tell.
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
