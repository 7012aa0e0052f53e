//! The Redis side of a room shared by several processes: one pub/sub topic,
//! the shared history list, presence heartbeats, catching up on the
//! history after the subscription reconnects, and nick holds.
//!
//! Presence: each process announces its own count (coalesced, like the
//! views' counts, plus a heartbeat) and adds up the others' counts.
//!
//! Nicks: one hash per nick, `djust:chat:nick:{look-alike key}`, holding
//! the owner (a SHA-256 of the session id, or the process and view number
//! for a visitor without a session), the nick as first shown, and one
//! field per process hold with its expiry (`h:{process}:{hold}` → Redis
//! time in ms). A Lua script takes a nick in one step: free, or held by the
//! same owner, it adds the hold; held by another owner with a live hold,
//! it answers who. The heartbeat refreshes this process's holds (and puts
//! them back if Redis lost them); a hold not refreshed for [`NICK_TTL`]
//! (the process died, or cannot reach Redis) no longer counts, and the
//! whole key expires with the last one. While Redis cannot be reached no
//! nick is handed out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use djust::runtime::redis::client::Cmd;
use djust::runtime::redis::client::{cmd, pipe};
use djust::runtime::redis::{Redis, RedisBroadcast};
use djust::text::{display_text, Identifier};
use djust::Coalescer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use super::{
    Line, NickOwner, NickRefused, NotSent, Room, RoomEvent, HISTORY, MAX_NICK_CHARS,
    PRESENCE_INTERVAL,
};

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
/// Nick holds: one hash per nick under this prefix.
const NICK_PREFIX: &str = "djust:chat:nick:";
/// A process's hold on a nick counts this long after its last refresh
/// (every [`HEARTBEAT`]).
pub(super) const NICK_TTL: Duration = PEER_TTL;

/// Takes or refreshes a hold. KEYS[1] = the nick's hash; ARGV[1] = owner,
/// ARGV[2] = nick as shown, ARGV[3] = hold field, ARGV[4] = TTL (ms).
/// Returns {1, shown} when held by ARGV[1], {0, shown} when someone else's,
/// `shown` being the nick as its first holder wrote it.
const CLAIM_NICK: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 'h:' and (tonumber(fields[i + 1]) or 0) > now then
      return {0, redis.call('HGET', KEYS[1], 'shown') or ''}
    end
  end
  redis.call('DEL', KEYS[1])
  owner = false
end
if not owner then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'shown', ARGV[2])
end
redis.call('HSET', KEYS[1], ARGV[3], string.format('%d', now + ttl))
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, redis.call('HGET', KEYS[1], 'shown') or ''}
";

/// Drops a hold. KEYS[1] = the nick's hash; ARGV[1] = owner, ARGV[2] = hold
/// field. The key goes with its last live hold.
const RELEASE_NICK: &str = r"
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 2) == 'h:' and (tonumber(fields[i + 1]) or 0) > now then
    return 1
  end
end
redis.call('DEL', KEYS[1])
return 1
";

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
    /// This process's count to the others, coalesced like the views' counts.
    announcer: Coalescer<usize>,
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
    let announcer = Coalescer::new(PRESENCE_INTERVAL, {
        let bus = bus.clone();
        let process = room.process;
        move |online| spawn_publish(&bus, Wire::Here { process, online })
    });
    room.cluster = Some(Cluster {
        redis,
        bus,
        peers: Mutex::new(HashMap::new()),
        announcer,
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
                room.publish_presence();
            }
        }
        room.refresh_nicks().await;
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
        // Redis may have restarted empty: put the holds back at once.
        room.refresh_nicks().await;
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
                let from = display_text(&from).into_owned();
                let _ = self.views.send(RoomEvent::Typing(from));
            }
            Wire::Here { process, online } if process != self.process => {
                cluster.peers().insert(process, (online, Instant::now()));
                self.publish_presence();
            }
            Wire::Hello { process } if process != self.process => {
                cluster.announce(self.process, self.here.load(Ordering::Relaxed));
            }
            Wire::Here { .. } | Wire::Hello { .. } => {}
        }
    }

    /// Refreshes this process's nick holds in Redis (one round trip), and
    /// puts back those Redis lost. A nick someone else holds by now (this
    /// process could not refresh in time) is taken from its views here:
    /// they are told with [`RoomEvent::NicksLost`].
    async fn refresh_nicks(&self) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let held = self.nicks.snapshot();
        if held.is_empty() {
            return;
        }
        let mut pipeline = pipe();
        for nick in &held {
            pipeline.add_command(claim_command(
                self.process,
                &nick.key,
                &nick.shown_as,
                &nick.owner,
                nick.hold,
            ));
        }
        let replies: Vec<(i64, String)> = match cluster.redis.query_pipeline(&pipeline).await {
            Ok(replies) => replies,
            Err(error) => {
                tracing::warn!(%error, "chat nick holds not refreshed");
                return;
            }
        };
        let mut lost = false;
        for (nick, (held_here, _)) in held.iter().zip(replies) {
            if held_here != 1 && self.nicks.forget(&nick.key, nick.hold) {
                tracing::warn!("a chat nick was taken by another session while its hold lapsed");
                lost = true;
            }
        }
        if lost {
            let _ = self.views.send(RoomEvent::NicksLost);
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

    /// Takes hold `hold` of `nick` for `owner` in Redis, unless another
    /// owner holds it there; the nick as every process shows it (as its
    /// first holder wrote it). Refused while Redis cannot be reached.
    pub(super) async fn claim_nick(
        &self,
        process: u32,
        nick: &Identifier,
        owner: &NickOwner,
        hold: u64,
    ) -> Result<String, NickRefused> {
        let command = claim_command(process, nick.key(), nick.as_str(), owner, hold);
        // Whatever Redis holds is shown to a user: made safe.
        let shown =
            |text: &str| -> String { display_text(text).chars().take(MAX_NICK_CHARS).collect() };
        match self.redis.query::<(i64, String)>(&command).await {
            Ok((1, held_as)) if !held_as.is_empty() => Ok(shown(&held_as)),
            Ok((1, _)) => Ok(nick.as_str().to_owned()),
            Ok((_, held_as)) => Err(NickRefused::Taken {
                held_as: shown(&held_as),
            }),
            Err(error) => {
                tracing::warn!(%error, "chat nick not checked (Redis); refused");
                Err(NickRefused::Unchecked)
            }
        }
    }

    /// Drops hold `hold` of the nick with look-alike key `key` in Redis,
    /// without waiting. If that fails (Redis down, or no runtime at
    /// shutdown), the hold lapses after [`NICK_TTL`].
    pub(super) fn release_nick(&self, process: u32, key: &str, owner: &NickOwner, hold: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut command = cmd("EVAL");
        command
            .arg(RELEASE_NICK)
            .arg(1)
            .arg(nick_key(key))
            .arg(owner_token(process, owner))
            .arg(hold_field(process, hold));
        let redis = self.redis.clone();
        runtime.spawn(async move {
            if let Err(error) = redis.query::<i64>(&command).await {
                tracing::debug!(%error, "chat nick not released (it lapses)");
            }
        });
    }

    /// Publishes "`from` is typing" without waiting (best effort).
    pub(super) fn typing(&self, from: &str) {
        self.spawn_publish(Wire::Typing(from.to_owned()));
    }

    /// Publishes this process's presence count without waiting (the
    /// heartbeat, and answers to a `Hello`).
    pub(super) fn announce(&self, process: u32, online: usize) {
        self.spawn_publish(Wire::Here { process, online });
    }

    /// This process's count changed: announced, coalesced.
    pub(super) fn count_changed(&self, here: &AtomicUsize) {
        self.announcer.publish_with(|| here.load(Ordering::Relaxed));
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
        spawn_publish(&self.bus, wire);
    }

    fn peers(&self) -> MutexGuard<'_, HashMap<u32, (usize, Instant)>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The Redis key of the nick with look-alike key `key`.
fn nick_key(key: &str) -> String {
    format!("{NICK_PREFIX}{key}")
}

/// Who holds a nick, as Redis stores it: never a raw session id.
fn owner_token(process: u32, owner: &NickOwner) -> String {
    match owner {
        NickOwner::Session(session) => {
            let digest = Sha256::digest(session.as_bytes());
            let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("s:{hex}")
        }
        // View numbers are per process: the process tag makes them unique.
        NickOwner::View(view) => format!("v:{process:08x}:{view}"),
    }
}

/// The field of one process's hold in a nick's hash.
fn hold_field(process: u32, hold: u64) -> String {
    format!("h:{process:08x}:{hold}")
}

/// `EVAL CLAIM_NICK` for one hold.
fn claim_command(process: u32, key: &str, shown_as: &str, owner: &NickOwner, hold: u64) -> Cmd {
    let mut command = cmd("EVAL");
    command
        .arg(CLAIM_NICK)
        .arg(1)
        .arg(nick_key(key))
        .arg(owner_token(process, owner))
        .arg(shown_as)
        .arg(hold_field(process, hold))
        .arg(NICK_TTL.as_millis() as u64);
    command
}

/// Publishes `wire` on `bus` without waiting (best effort).
fn spawn_publish(bus: &RedisBroadcast<Wire>, wire: Wire) {
    // Presence changes when a view is dropped, which can happen outside
    // the runtime (at shutdown): then there is no one to tell.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let bus = bus.clone();
    runtime.spawn(async move {
        if let Err(error) = bus.publish(&wire).await {
            tracing::debug!(%error, "chat presence/typing not sent");
        }
    });
}
