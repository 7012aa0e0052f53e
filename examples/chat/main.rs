//! A chat room: several browsers, one room, live.
//!
//! Run: `cargo run --example chat` and open the printed URL in two or more
//! browser windows. Pick a name in each and talk. Messages are broadcast to
//! every connected view through the [`Room`] (`room.rs`) and delivered to
//! each view's `handle_info`; the presence count updates as windows open
//! and close; "… is typing" expires after 3 s on the view's `tick`; the
//! server pushes a `scroll` event so the client hook in
//! `examples/static/chat.js` keeps the newest message in view. Sending is
//! rate limited per user (1 message/s, burst 5): send quickly to see the
//! error.
//!
//! Options: `--addr HOST:PORT` (default 127.0.0.1:8000) and `--redis URL`:
//! several chat processes sharing one Redis form one room (messages,
//! history, presence, sessions and rate limits are shared), e.g.
//!
//! ```text
//! export DJUST_SECRET_KEY=$(openssl rand -hex 32)
//! cargo run --example chat --features redis -- --redis redis://127.0.0.1:6379/0 --addr 127.0.0.1:8001
//! cargo run --example chat --features redis -- --redis redis://127.0.0.1:6379/0 --addr 127.0.0.1:8002
//! ```

// Example code: public items are documented where it helps the reader.
#![allow(missing_docs)]

pub mod room;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use djust::prelude::*;

pub use self::room::{Line, Presence, Room, RoomEvent, HISTORY};

/// How long "… is typing" stays up without another keystroke.
const TYPING_TTL: Duration = Duration::from_secs(3);

struct Chat {
    nick: String,
    lines: Vec<Line>,
    typing: BTreeMap<String, Instant>,
    online: usize,
    /// Keeps this view counted in the room; also the way to the room.
    _presence: Private<Presence>,
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
        ctx.subscribe(room.subscribe());
        let presence = room.enter();
        Ok(Chat {
            nick: String::new(),
            lines: room.recent(),
            typing: BTreeMap::new(),
            online: room.online(),
            _presence: Private::new(presence),
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
    async fn send(&mut self, ctx: &mut EventCtx, text: String) -> Result<()> {
        if self.nick.is_empty() {
            return Err(Error::bad_request("join first"));
        }
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let text: String = text.chars().take(500).collect();
        self._presence
            .expose()
            .room()
            .post(&self.nick, &text)
            .await
            .map_err(Error::bad_request)?;
        ctx.push_event("sent", serde_json::json!({}))
    }

    #[event_handler]
    #[rate_limit(rate = 2, burst = 4)]
    fn typing(&mut self) {
        if !self.nick.is_empty() {
            self._presence.expose().room().typing(&self.nick);
        }
    }
}

/// The room: in this process, or shared through the Redis `config` names
/// (`--redis` or `DJUST_REDIS_URL`).
async fn open_room(config: &djust::Config) -> djust::Result<Arc<Room>> {
    #[cfg(feature = "redis")]
    if let Some(redis) = djust::runtime::redis::Redis::from_config(config).map_err(Error::config)? {
        return room::connect(redis).await.map_err(Error::config);
    }
    #[cfg(not(feature = "redis"))]
    if config.redis_url.is_some() {
        return Err(Error::config(
            "--redis needs the `redis` feature: cargo run --example chat --features redis -- --redis URL",
        ));
    }
    Ok(Arc::new(Room::new()))
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
async fn main() -> std::process::ExitCode {
    djust::cli::Cli::new("chat")
        .run(|args| async move {
            // `--redis URL` (or DJUST_REDIS_URL): the room, sessions, rate
            // limits and logouts are shared through Redis.
            let config = args.config()?;
            let room = open_room(&config).await?;
            if args.serves() {
                let shared = if config.redis_url.is_some() {
                    "  (room shared through Redis)"
                } else {
                    "  (open it in two windows)"
                };
                println!("Chat on http://{}/{shared}", args.addr());
            }
            Ok(app(room).config(config))
        })
        .await
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

    /// A chat view mounted in `room`.
    fn in_room(room: &Arc<Room>) -> TestClient {
        TestClient::build::<Chat>()
            .state(room.clone())
            .mount()
            .expect("mount")
    }

    #[test]
    fn messages_reach_every_view_in_the_room() {
        let room = Arc::new(Room::new());
        let mut ann = in_room(&room);
        let mut bob = in_room(&room);
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
        let mut ann = in_room(&room);
        let mut bob = in_room(&room);
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
