//! A chat room: several browsers, one room, live.
//!
//! Run: `cargo run --example chat` and open the printed URL in two or more
//! browser windows. Pick a name in each and talk. Messages are broadcast to
//! every connected view through a `tokio::sync::broadcast` channel the app
//! owns and delivered to each view's `handle_info`; the presence count
//! updates as windows open and close; "… is typing" expires after 3 s on
//! the view's `tick`; the server pushes a `scroll` event so the client
//! hook in `examples/static/chat.js` keeps the newest message in view.
//! Sending is rate limited per user (1 message/s, burst 5): send quickly to
//! see the error. Options: `--addr HOST:PORT`.

// Example code: public items are documented where it helps the reader.
#![allow(missing_docs)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use djust::prelude::*;
use tokio::sync::broadcast;

/// How long "… is typing" stays up without another keystroke.
const TYPING_TTL: Duration = Duration::from_secs(3);
/// Messages each view keeps and new views receive.
const HISTORY: usize = 50;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    id: u64,
    from: String,
    text: String,
}

/// What the room broadcasts to every view.
#[derive(Debug, Clone)]
enum RoomEvent {
    Message(Line),
    Typing(String),
    Presence(usize),
}

/// The room: one broadcast channel, the presence count and recent history.
pub struct Room {
    sender: broadcast::Sender<RoomEvent>,
    online: AtomicUsize,
    next_id: AtomicU64,
    history: Mutex<VecDeque<Line>>,
}

impl Default for Room {
    fn default() -> Self {
        Room::new()
    }
}

impl Room {
    /// An empty room.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(256);
        Room {
            sender,
            online: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            history: Mutex::new(VecDeque::new()),
        }
    }

    fn post(&self, from: &str, text: &str) {
        let line = Line {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            from: from.to_owned(),
            text: text.to_owned(),
        };
        {
            let mut history = self
                .history
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            history.push_back(line.clone());
            while history.len() > HISTORY {
                history.pop_front();
            }
        }
        // No receivers is fine: nobody is in the room.
        let _ = self.sender.send(RoomEvent::Message(line));
    }

    fn recent(&self) -> Vec<Line> {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// Counts this view in the room while it lives; leaving (the socket closes
/// and the view is dropped) updates everyone's presence count.
struct Presence(Arc<Room>);

impl Presence {
    fn enter(room: Arc<Room>) -> Self {
        let online = room.online.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = room.sender.send(RoomEvent::Presence(online));
        Presence(room)
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let online = self
            .0
            .online
            .fetch_sub(1, Ordering::Relaxed)
            .saturating_sub(1);
        let _ = self.0.sender.send(RoomEvent::Presence(online));
    }
}

struct Chat {
    nick: String,
    lines: Vec<Line>,
    typing: BTreeMap<String, Instant>,
    online: usize,
    _room: Arc<Room>,
    _presence: Presence,
}

impl Chat {
    fn typing_text(&self) -> String {
        let names: Vec<&str> = self.typing.keys().map(String::as_str).collect();
        match names.as_slice() {
            [] => String::new(),
            [one] => format!("{one} is typing…"),
            many => format!("{} are typing…", many.join(", ")),
        }
    }
}

#[live_view(public, tick = 1000)]
impl Chat {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let room = ctx.state::<Arc<Room>>()?.clone();
        ctx.subscribe(room.sender.subscribe());
        let presence = Presence::enter(room.clone());
        Ok(Chat {
            nick: String::new(),
            lines: room.recent(),
            typing: BTreeMap::new(),
            online: room.online.load(Ordering::Relaxed),
            _room: room,
            _presence: presence,
        })
    }

    fn render(&self) -> Html {
        html! {
            <main class="chat">
                <h1>"Chat"</h1>
                <p class="muted" id="online">{self.online} " online"</p>
                <ul class="messages" id="messages">
                    for line in &self.lines key = line.id {
                        <li><b>{line.from}</b> ": " {line.text}</li>
                    }
                </ul>
                if self.nick.is_empty() {
                    <form id="join" class="toolbar" dj-submit="join">
                        <input name="name" id="name" placeholder="Your name" maxlength="24" autocomplete="off">
                        <button type="submit" id="join-button">"Join"</button>
                    </form>
                } else {
                    <p class="muted" id="typing">{self.typing_text()}</p>
                    <form id="send" class="toolbar" dj-submit="send">
                        <span>"You are " <b id="nick">{self.nick}</b></span>
                        <input name="text" id="text" maxlength="500" autocomplete="off" dj-input="typing" dj-debounce="400">
                        <button type="submit" id="send-button">"Send"</button>
                    </form>
                }
            </main>
        }
    }

    fn handle_tick(&mut self) {
        let now = Instant::now();
        self.typing
            .retain(|_, since| now.duration_since(*since) < TYPING_TTL);
    }

    fn handle_info(&mut self, ctx: &mut EventCtx, event: RoomEvent) -> Result<()> {
        match event {
            RoomEvent::Message(line) => {
                self.typing.remove(&line.from);
                self.lines.push(line);
                if self.lines.len() > HISTORY {
                    let excess = self.lines.len() - HISTORY;
                    self.lines.drain(..excess);
                }
                ctx.push_event("scroll", serde_json::json!({}))?;
            }
            RoomEvent::Typing(from) => {
                if from != self.nick {
                    self.typing.insert(from, Instant::now());
                }
            }
            RoomEvent::Presence(online) => self.online = online,
        }
        Ok(())
    }

    #[event_handler]
    #[rate_limit(rate = 1, burst = 3)]
    fn join(&mut self, name: String) -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 24 || name.chars().any(char::is_control) {
            return Err(Error::bad_request("pick a name of 1 to 24 characters"));
        }
        self.nick = name.to_owned();
        Ok(())
    }

    #[event_handler]
    #[rate_limit(rate = 1, burst = 5)]
    fn send(&mut self, ctx: &mut EventCtx, text: String) -> Result<()> {
        if self.nick.is_empty() {
            return Err(Error::bad_request("join first"));
        }
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let text: String = text.chars().take(500).collect();
        self._room.post(&self.nick, &text);
        ctx.push_event("sent", serde_json::json!({}))
    }

    #[event_handler]
    #[rate_limit(rate = 2, burst = 4)]
    fn typing(&mut self) {
        if !self.nick.is_empty() {
            let _ = self._room.sender.send(RoomEvent::Typing(self.nick.clone()));
        }
    }
}

fn address() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--addr" {
            if let Some(addr) = args.next() {
                return addr;
            }
        }
    }
    "127.0.0.1:8000".to_owned()
}

/// The chat application around `room` (also used by the example tests).
pub fn app(room: Arc<Room>) -> App {
    App::new()
        .title("Chat")
        .stylesheet("/static/demo.css")
        .script("/static/chat.js")
        .static_dir(
            "static",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/static"),
        )
        .state(room)
        .live("/", Chat::view())
}

#[tokio::main]
async fn main() -> djust::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = address();
    if std::env::args().nth(1).as_deref() != Some("audit") {
        println!("Chat on http://{addr}/  (open it in two windows)");
    }
    app(Arc::new(Room::new())).serve(&addr).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use djust_testing::TestClient;
    use serde_json::json;

    fn with_room(builder: djust_testing::TestClientBuilder) -> djust_testing::TestClientBuilder {
        builder.state(Arc::new(Room::new()))
    }

    djust_testing::smoke_tests!(Chat with fixture = with_room);

    #[test]
    fn messages_reach_every_view_in_the_room() {
        let room = Arc::new(Room::new());
        let mut ann = TestClient::build::<Chat>()
            .state(room.clone())
            .mount()
            .expect("mount");
        let mut bob = TestClient::build::<Chat>()
            .state(room.clone())
            .mount()
            .expect("mount");
        assert!(ann
            .event("join", json!({ "name": "Ann" }))
            .error()
            .is_none());
        assert!(bob
            .event("join", json!({ "name": "Bob" }))
            .error()
            .is_none());
        ann.deliver_messages();
        assert!(ann.html().contains("2 online"), "{}", ann.html());
        let sent = ann.event("send", json!({ "text": "<b>hi</b> Bob" }));
        assert!(sent.error().is_none(), "{sent:?}");
        assert!(bob.deliver_messages() >= 1);
        assert!(
            bob.html().contains("<b>Ann</b>: &lt;b&gt;hi&lt;/b&gt; Bob"),
            "{}",
            bob.html()
        );
        assert!(bob.pushed_events().iter().any(|(name, _)| name == "scroll"));
        drop(bob);
        ann.deliver_messages();
        assert!(ann.html().contains("1 online"), "{}", ann.html());
    }

    #[test]
    fn typing_expires_on_tick() {
        let room = Arc::new(Room::new());
        let mut ann = TestClient::build::<Chat>()
            .state(room.clone())
            .mount()
            .expect("mount");
        let mut bob = TestClient::build::<Chat>()
            .state(room.clone())
            .mount()
            .expect("mount");
        ann.event("join", json!({ "name": "Ann" }));
        bob.event("join", json!({ "name": "Bob" }));
        ann.event("typing", json!({}));
        bob.deliver_messages();
        assert!(bob.html().contains("Ann is typing…"), "{}", bob.html());
        bob.tick();
        assert!(
            bob.html().contains("Ann is typing…"),
            "a fresh entry survives a tick"
        );
    }

    #[test]
    fn audit_is_clean_in_strict_mode() {
        let config = djust::Config {
            secret_key: Some("x".repeat(32)),
            ..djust::Config::default()
        };
        let report = app(Arc::new(Room::new())).config(config).audit_report();
        assert!(
            !report.has_findings_at_least(djust::runtime::audit::Severity::Warning),
            "{}",
            report.to_text(true)
        );
        djust_testing::assert_snapshot!(
            "tests/snapshots/example_chat_audit.txt",
            report.to_text(true)
        );
        djust_testing::assert_snapshot!(
            "tests/snapshots/example_chat_audit.json",
            format!("{:#}\n", report.to_json())
        );
    }
}
