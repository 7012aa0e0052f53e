//! The views served by `djust-bench`'s own server (in process or `--spawn`).
//!
//! They mirror the examples but carry no `#[rate_limit]` on their handlers:
//! every load-test client comes from 127.0.0.1 and anonymous clients without
//! a session share one IP bucket, so a handler limit would measure the
//! limiter, not the runtime. The one exception is [`BenchLimited`], which
//! exists to measure the limiter (in memory or in Redis) with limits that
//! never refuse.
//!
//! [`BenchChat`] is the message path of `examples/chat.rs` (post, broadcast
//! to the room, `handle_info`) over [`ChatRooms`]: `tokio::sync::broadcast`
//! rooms in memory, or `RedisBroadcast` rooms with `--redis` (feature
//! `redis`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use djust::prelude::*;
use serde_json::Value;
use tokio::sync::broadcast;

/// `examples/counter.rs` without the handler rate limits (served at `/`).
pub struct BenchCounter {
    count: i64,
}

#[live_view(public, name = "bench_counter")]
impl BenchCounter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(BenchCounter { count: 0 })
    }

    fn render(&self) -> Html {
        html! {
            <main class="counter">
                <h1>"Counter"</h1>
                <p class="count" id="count">{self.count}</p>
                <button id="decrement" dj-click="decrement">"−1"</button>
                <button id="increment" dj-click="increment">"+1"</button>
                <button id="add10" dj-click="increment" dj-value-by="10">"+10"</button>
                <button id="reset" dj-click="reset">"Reset"</button>
            </main>
        }
    }

    #[event_handler]
    fn increment(&mut self, #[default(1)] by: i64) {
        self.count = self.count.saturating_add(by.clamp(-1000, 1000));
    }

    #[event_handler]
    fn decrement(&mut self) {
        self.count = self.count.saturating_sub(1);
    }

    #[event_handler]
    fn reset(&mut self) {
        self.count = 0;
    }
}

/// The counter with `#[live_view(persist)]` (served at `/persisted`): with
/// a view-state store (`--redis`), every event that changes the count
/// writes the view's sealed state before its reply (issue 20), so runs of
/// this and `counter` give the cost of write-through persistence.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BenchPersisted {
    count: i64,
}

#[live_view(public, name = "bench_persisted", persist)]
impl BenchPersisted {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(BenchPersisted { count: 0 })
    }

    fn render(&self) -> Html {
        html! {
            <main class="counter">
                <h1>"Counter"</h1>
                <p class="count" id="count">{self.count}</p>
                <button id="decrement" dj-click="decrement">"−1"</button>
                <button id="increment" dj-click="increment">"+1"</button>
                <button id="add10" dj-click="increment" dj-value-by="10">"+10"</button>
                <button id="reset" dj-click="reset">"Reset"</button>
            </main>
        }
    }

    #[event_handler]
    fn increment(&mut self, #[default(1)] by: i64) {
        self.count = self.count.saturating_add(by.clamp(-1000, 1000));
    }

    #[event_handler]
    fn decrement(&mut self) {
        self.count = self.count.saturating_sub(1);
    }

    #[event_handler]
    fn reset(&mut self) {
        self.count = 0;
    }
}

/// The counter with `#[rate_limit]` on `increment` (served at `/limited`):
/// every event takes a token from the configured limiter, in memory or, with
/// `--redis`, one `EVALSHA` in Redis.
///
/// The limit (10⁶ tokens/s, burst 10⁶) is far above what two cores can
/// send, so it never refuses. Every bench client is anonymous (the bench
/// pages create no session), so the bucket key falls back to the IP,
/// `bench_limited:increment:ip:127.0.0.1` (`__rate_limit` in
/// `djust-runtime/src/view/context.rs`): one bucket shared by every session
/// of the run, i.e. one hot key.
pub struct BenchLimited {
    count: i64,
}

#[live_view(public, name = "bench_limited")]
impl BenchLimited {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(BenchLimited { count: 0 })
    }

    fn render(&self) -> Html {
        html! {
            <main class="counter">
                <h1>"Counter"</h1>
                <p class="count" id="count">{self.count}</p>
                <button id="decrement" dj-click="decrement">"−1"</button>
                <button id="increment" dj-click="increment">"+1"</button>
                <button id="add10" dj-click="increment" dj-value-by="10">"+10"</button>
                <button id="reset" dj-click="reset">"Reset"</button>
            </main>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 1000000, burst = 1000000)]
    fn increment(&mut self, #[default(1)] by: i64) {
        self.count = self.count.saturating_add(by.clamp(-1000, 1000));
    }

    #[event_handler]
    fn decrement(&mut self) {
        self.count = self.count.saturating_sub(1);
    }

    #[event_handler]
    fn reset(&mut self) {
        self.count = 0;
    }
}

/// Side of the big table.
const TABLE_SIZE: usize = 100;

/// The rosetta-rs 100×100 big table (served at `/table`); every `bump`
/// event changes exactly one cell, walking through the cells in order.
pub struct BenchTable {
    cells: Vec<Vec<u32>>,
    next: usize,
}

#[live_view(public, name = "bench_table")]
impl BenchTable {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(BenchTable {
            cells: (0..TABLE_SIZE)
                .map(|_| (0..TABLE_SIZE as u32).collect())
                .collect(),
            next: 0,
        })
    }

    fn render(&self) -> Html {
        html! {
            <table>
                <tbody>
                    for row in &self.cells {
                        <tr>
                            for col in row { <td>{col}</td> }
                        </tr>
                    }
                </tbody>
            </table>
        }
    }

    #[event_handler]
    fn bump(&mut self) {
        let cell = self.next % (TABLE_SIZE * TABLE_SIZE);
        self.next = self.next.wrapping_add(1);
        if let Some(value) = self
            .cells
            .get_mut(cell / TABLE_SIZE)
            .and_then(|row| row.get_mut(cell % TABLE_SIZE))
        {
            *value = value.wrapping_add(1);
        }
    }
}

/// One row of the in-memory contact list.
pub struct Contact {
    /// Stable id (the loop key).
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Phone number.
    pub phone: String,
    /// Lower-cased `name email`, searched by substring.
    haystack: String,
}

/// Number of contacts in the shared list.
pub const CONTACTS: usize = 1_000;
/// Rows shown per page of results.
const PER_PAGE: usize = 20;

const FIRST: &[&str] = &[
    "Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yolanda",
];
const LAST: &[&str] = &[
    "Anderson", "Brown", "Clark", "Davis", "Evans", "Fisher", "Garcia", "Harris", "Jackson",
    "Johnson", "King", "Lewis", "Martin", "Miller", "Moore", "Nelson", "Parker", "Smith", "Taylor",
    "Wilson",
];

/// The shared contact list (built once, deterministic).
pub fn contacts() -> &'static [Contact] {
    static CONTACT_LIST: OnceLock<Vec<Contact>> = OnceLock::new();
    CONTACT_LIST.get_or_init(|| {
        (0..CONTACTS)
            .map(|i| {
                let first = FIRST[i % FIRST.len()];
                let last = LAST[(i / FIRST.len() + i * 7) % LAST.len()];
                let name = format!("{first} {last}");
                let email = format!(
                    "{}.{}{}@example.com",
                    first.to_ascii_lowercase(),
                    last.to_ascii_lowercase(),
                    i
                );
                let haystack = format!("{} {}", name.to_lowercase(), email);
                Contact {
                    id: i as u32 + 1,
                    name,
                    email,
                    phone: format!("+1 555 {:04}", i),
                    haystack,
                }
            })
            .collect()
    })
}

/// Contacts-style search (served at `/search`): a search box filtering a
/// shared list of 1,000 contacts by substring of name or email, showing the
/// first 20 matches in a keyed table and the match count. Each `search`
/// event is one keystroke of the user typing.
pub struct BenchSearch {
    query: String,
    rows: Vec<&'static Contact>,
    total: usize,
}

impl BenchSearch {
    fn reload(&mut self) {
        let needle = self.query.to_lowercase();
        let all = contacts();
        self.rows.clear();
        self.total = 0;
        for contact in all {
            if needle.is_empty() || contact.haystack.contains(&needle) {
                if self.rows.len() < PER_PAGE {
                    self.rows.push(contact);
                }
                self.total += 1;
            }
        }
    }
}

#[live_view(public, name = "bench_search")]
impl BenchSearch {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        let mut view = BenchSearch {
            query: String::new(),
            rows: Vec::with_capacity(PER_PAGE),
            total: 0,
        };
        view.reload();
        Ok(view)
    }

    fn render(&self) -> Html {
        html! {
            <div class="toolbar">
                <input type="search" id="search" name="q" placeholder="Search name or email" autocomplete="off"
                    value={self.query} dj-input="search">
                <span class="muted" id="total">{self.total} " contacts"</span>
            </div>
            <table>
                <thead>
                    <tr><th>"Name"</th><th>"Email"</th><th>"Phone"</th></tr>
                </thead>
                <tbody id="rows">
                    for c in &self.rows key = c.id {
                        <tr data-id={c.id}>
                            <td class="name">{c.name}</td>
                            <td class="email">{c.email}</td>
                            <td class="phone">{c.phone}</td>
                        </tr>
                    }
                </tbody>
            </table>
            if self.rows.is_empty() { <p id="empty">"No contacts."</p> }
        }
    }

    #[event_handler]
    fn search(&mut self, q: String) {
        self.query = q.trim().chars().take(100).collect();
        self.reload();
    }
}

/// Messages each chat view keeps (as `examples/chat.rs`).
const CHAT_HISTORY: usize = 50;
/// Messages a room's local channel holds per receiver before a slow view lags.
const CHAT_CAPACITY: usize = 256;
/// Longest message kept, in characters (as `examples/chat.rs`).
const CHAT_MAX_CHARS: usize = 500;

/// One chat message as it travels through a room: `(id, from, text)`.
///
/// A tuple, so `RedisBroadcast` can serialise it without a serde derive in
/// this crate.
pub type ChatLine = (u64, String, String);

/// How a room reaches its views.
enum ChatBus {
    /// This process only.
    Memory(broadcast::Sender<ChatLine>),
    /// Every process, through the Redis channel `djust:pubsub:djust-bench:chat:{room}`.
    #[cfg(feature = "redis")]
    Redis(djust::runtime::redis::RedisBroadcast<ChatLine>),
}

/// One chat room: its bus and the counters that name messages and members.
pub struct ChatRoom {
    bus: ChatBus,
    next_id: AtomicU64,
    next_member: AtomicU64,
}

impl ChatRoom {
    fn new(bus: ChatBus) -> Self {
        ChatRoom {
            bus,
            next_id: AtomicU64::new(1),
            next_member: AtomicU64::new(1),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<ChatLine> {
        match &self.bus {
            ChatBus::Memory(sender) => sender.subscribe(),
            #[cfg(feature = "redis")]
            ChatBus::Redis(bus) => bus.subscribe(),
        }
    }

    /// Sends `text` from `from` to every view of the room. With Redis the
    /// message is acknowledged only once Redis took it (`PUBLISH` awaited).
    async fn post(&self, from: &str, text: String) -> Result<()> {
        let line = (
            self.next_id.fetch_add(1, Ordering::Relaxed),
            from.to_owned(),
            text,
        );
        match &self.bus {
            ChatBus::Memory(sender) => {
                // No receivers is fine: nobody is in the room.
                let _ = sender.send(line);
                Ok(())
            }
            #[cfg(feature = "redis")]
            ChatBus::Redis(bus) => match bus.publish(&line).await {
                Ok(_) => Ok(()),
                Err(_) => Err(Error::bad_request(
                    "message not sent: chat unavailable, retry",
                )),
            },
        }
    }
}

/// The chat rooms of the bench server (app state), numbered from 0.
pub struct ChatRooms {
    rooms: Vec<Arc<ChatRoom>>,
}

impl ChatRooms {
    /// `count` (at least 1) in-memory rooms.
    pub fn memory(count: usize) -> Self {
        ChatRooms {
            rooms: (0..count.max(1))
                .map(|_| {
                    let (sender, _) = broadcast::channel(CHAT_CAPACITY);
                    Arc::new(ChatRoom::new(ChatBus::Memory(sender)))
                })
                .collect(),
        }
    }

    /// `count` (at least 1) rooms bridged through the Redis at `url`, each on
    /// its own pub/sub subscription (one Redis connection per room). Returns
    /// once every subscription is active, so no message of the run is lost
    /// to a subscription still being set up.
    #[cfg(feature = "redis")]
    pub async fn redis(url: &str, count: usize) -> std::result::Result<Self, String> {
        use djust::runtime::redis::{Redis, RedisBroadcast};
        let redis = Redis::open(url).map_err(|e| format!("--redis {url}: {e}"))?;
        let mut rooms = Vec::with_capacity(count.max(1));
        for room in 0..count.max(1) {
            let bus =
                RedisBroadcast::new(&redis, &format!("djust-bench:chat:{room}"), CHAT_CAPACITY)
                    .map_err(|e| format!("chat room {room}: {e}"))?;
            rooms.push(Arc::new(ChatRoom::new(ChatBus::Redis(bus))));
        }
        for (room, chat) in rooms.iter().enumerate() {
            if let ChatBus::Redis(bus) = &chat.bus {
                if !bus
                    .wait_subscribed(std::time::Duration::from_secs(10))
                    .await
                {
                    return Err(format!(
                        "chat room {room}: Redis subscription not active within 10 s"
                    ));
                }
            }
        }
        Ok(ChatRooms { rooms })
    }
}

/// One message in a chat view.
struct ChatEntry {
    id: u64,
    from: String,
    text: String,
}

/// The message path of `examples/chat.rs` (served at `/chat`), without
/// presence, typing or history replay: mount joins room `params.room`
/// (modulo the number of rooms) under a generated name, `send` posts one
/// message to the room (an `async` handler: with Redis the `PUBLISH` is
/// awaited before the reply), and every view of the room, the sender's
/// included, appends it in `handle_info` and pushes `scroll`.
pub struct BenchChat {
    nick: String,
    lines: Vec<ChatEntry>,
    room: Arc<ChatRoom>,
}

#[live_view(public, name = "bench_chat")]
impl BenchChat {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let rooms = ctx.state::<ChatRooms>()?;
        let index = ctx
            .params()
            .get("room")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let room = usize::try_from(index)
            .ok()
            .and_then(|index| rooms.rooms.get(index % rooms.rooms.len().max(1)))
            .cloned()
            .ok_or_else(|| Error::bad_request("no such room"))?;
        ctx.subscribe(room.subscribe());
        let nick = format!("user{}", room.next_member.fetch_add(1, Ordering::Relaxed));
        Ok(BenchChat {
            nick,
            lines: Vec::new(),
            room,
        })
    }

    fn render(&self) -> Html {
        html! {
            <main class="chat">
                <h1>"Chat"</h1>
                <ul class="messages" id="messages">
                    for line in &self.lines key = line.id {
                        <li><b>{line.from}</b> ": " {line.text}</li>
                    }
                </ul>
                <form id="send" class="toolbar" dj-submit="send">
                    <span>"You are " <b id="nick">{self.nick}</b></span>
                    <input name="text" id="text" maxlength="500" autocomplete="off">
                    <button type="submit" id="send-button">"Send"</button>
                </form>
            </main>
        }
    }

    fn handle_info(&mut self, ctx: &mut EventCtx, line: ChatLine) -> Result<()> {
        let (id, from, text) = line;
        self.lines.push(ChatEntry { id, from, text });
        if self.lines.len() > CHAT_HISTORY {
            let excess = self.lines.len() - CHAT_HISTORY;
            self.lines.drain(..excess);
        }
        ctx.push_event("scroll", serde_json::json!({}))
    }

    #[event_handler]
    async fn send(&mut self, ctx: &mut EventCtx, text: String) -> Result<()> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let text: String = text.chars().take(CHAT_MAX_CHARS).collect();
        self.room.post(&self.nick, text).await?;
        ctx.push_event("sent", serde_json::json!({}))
    }
}
