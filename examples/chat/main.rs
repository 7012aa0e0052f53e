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
//! What people type is shown to others, so it goes through `djust::text`
//! (docs/security.md, "Display-safe text"):
//!
//! - a nick must be an identifier ([`identifier_with_max`], 24 characters:
//!   NFKC; no invisible, bidi-control or control characters), and a
//!   refusal says why under the join form;
//! - a nick that looks like the nick of someone in the room (`Ann`, `ann`,
//!   `ＡＮＮ`, a Cyrillic `Аnn` are one nick) is refused: it belongs to its
//!   holder's session (every view of it may join with it again) or, for a
//!   visitor without a session, to the one view that joined, until the
//!   last of those views leaves (`room/nicks.rs`); with `--redis` every
//!   process sees the same holds (`room/cluster.rs`);
//! - messages go through [`display_text`], so a right-to-left override
//!   cannot turn `gnp.exe` into "exe.png" and BEL or ESC never reach
//!   anyone.
//!
//! The presence count reaches each view at most once per
//! [`PRESENCE_INTERVAL`] (a `djust::Coalescer`, see `room.rs`), so a client
//! opening and closing pages in a loop cannot make every viewer receive a
//! frame per page.
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
use djust::text::{display_text, identifier_with_max, IdentifierError};

pub use self::room::{
    Line, NickClaim, NickOwner, NickRefused, Presence, Room, RoomEvent, HISTORY, MAX_MESSAGE_CHARS,
    MAX_NICK_CHARS, PRESENCE_INTERVAL,
};

/// How long "… is typing" stays up without another keystroke.
const TYPING_TTL: Duration = Duration::from_secs(3);

struct Chat {
    nick: String,
    /// Why the last `join` was refused (shown under the form).
    join_error: String,
    /// Holds `nick` in the room while this view lives.
    _nick_claim: Private<Option<NickClaim>>,
    typing: BTreeMap<String, Instant>,
    online: usize,
    /// Keeps this view counted in the room; also the way to the room.
    _presence: Private<Presence>,
}

impl Chat {
    /// Takes `name` as this view's nick (returned as it is shown), or says
    /// why not.
    async fn claim_nick(&mut self, ctx: &Ctx, name: &str) -> std::result::Result<String, String> {
        let nick = identifier_with_max(name, MAX_NICK_CHARS)
            .map_err(|refused: IdentifierError| refused.to_string())?;
        let presence = self._presence.expose();
        let owner = match ctx.session_id() {
            Some(session) if !session.is_empty() => NickOwner::Session(session.to_owned()),
            _ => NickOwner::View(presence.id()),
        };
        let claim = presence
            .room()
            .claim_nick(&nick, owner)
            .await
            .map_err(|refused: NickRefused| refused.to_string())?;
        // The new claim is taken before the old one goes, so a re-join
        // with the same nick never lets it go in between.
        *self._nick_claim.expose_mut() = Some(claim);
        Ok(nick.into_string())
    }

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
        // The history goes out once, as stream items: the view keeps no
        // message, so its memory does not grow with the conversation.
        for line in room.recent() {
            ctx.stream_insert("messages", line.id, message_item(&line))?;
        }
        Ok(Chat {
            nick: String::new(),
            join_error: String::new(),
            _nick_claim: Private::new(None),
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
                <ul class="messages" id="messages" dj-stream="messages" dj-stream-limit="50"></ul>
                if self.nick.is_empty() {
                    <form id="join" class="toolbar" dj-submit="join">
                        <input name="name" id="name" placeholder="Your name" maxlength="24" autocomplete="off">
                        <button type="submit" id="join-button">"Join"</button>
                    </form>
                    if !self.join_error.is_empty() {
                        <p class="error" id="join-error" role="alert">{self.join_error}</p>
                    }
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
                ctx.stream_insert("messages", line.id, message_item(&line))?;
                ctx.push_event("scroll", serde_json::json!({}))?;
            }
            RoomEvent::Typing(from) => {
                if from != self.nick {
                    self.typing.insert(from, Instant::now());
                }
            }
            RoomEvent::Presence(online) => self.online = online,
            RoomEvent::NicksLost => {
                let lost = self
                    ._nick_claim
                    .expose()
                    .as_ref()
                    .is_some_and(|claim| !claim.is_held());
                if lost {
                    *self._nick_claim.expose_mut() = None;
                    self.nick.clear();
                    self.join_error = "Your name was given to someone else while the chat \
                        was briefly unavailable; pick it again or another."
                        .to_owned();
                }
            }
        }
        Ok(())
    }

    /// Joins (or re-joins) as `name`: a display-safe name that nobody
    /// else in the room uses, in any look-alike form. The nick belongs to
    /// the session (every view of a logged-in session may use it) or, for
    /// a visitor without a session, to this view. A refusal is shown in
    /// the page: error frames carry no details outside debug mode.
    #[event_handler]
    #[rate_limit(rate = 1, burst = 3)]
    async fn join(&mut self, ctx: &EventCtx, name: String) {
        match self.claim_nick(ctx, &name).await {
            Ok(nick) => {
                self.nick = nick;
                self.join_error.clear();
            }
            Err(reason) => self.join_error = format!("Cannot join: {reason}."),
        }
    }

    #[event_handler]
    #[rate_limit(rate = 1, burst = 5)]
    async fn send(&mut self, ctx: &mut EventCtx, text: String) -> Result<()> {
        if self.nick.is_empty() {
            return Err(Error::bad_request("join first"));
        }
        let text = display_text(&text);
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let text: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
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

// `dj-stream-limit` in `render` is a literal: it must stay the room's
// history length, so the browser keeps what a fresh page would show.
const _: () = assert!(HISTORY == 50, "update dj-stream-limit in Chat::render");

/// One message as a stream item. The browser keeps the last
/// [`HISTORY`] (`dj-stream-limit`), as the room does.
fn message_item(line: &Line) -> Html {
    html! { <li><b>{line.from}</b> ": " {line.text}</li> }
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

    /// The messages `client`'s browser holds: the `messages` stream's items.
    fn messages(client: &TestClient) -> String {
        client
            .stream("messages")
            .into_iter()
            .map(|item| item.html)
            .collect()
    }

    /// A chat view mounted in `room`.
    fn in_room(room: &Arc<Room>) -> TestClient {
        TestClient::build::<Chat>()
            .state(room.clone())
            .mount()
            .expect("mount")
    }

    /// A room that sends every presence change at once: each TestClient
    /// runs its own runtime only during its calls, so a count held for the
    /// interval would wait on another client's runtime. Coalescing is
    /// tested over real sockets in tests/e2e_examples.rs.
    fn uncoalesced_room() -> Arc<Room> {
        Arc::new(Room::with_presence_interval(Duration::ZERO))
    }

    #[test]
    fn messages_reach_every_view_in_the_room() {
        let room = uncoalesced_room();
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
            messages(&bob).contains("<b>Ann</b>: &lt;b&gt;hi&lt;/b&gt; Bob"),
            "{}",
            bob.html()
        );
        assert!(bob.pushed_events().iter().any(|(name, _)| name == "scroll"));
        drop(bob);
        ann.deliver_messages();
        assert!(ann.html().contains("1 online"), "{}", ann.html());
    }

    #[test]
    fn hidden_characters_in_a_nick_are_refused_with_a_reason() {
        let room = Arc::new(Room::new());
        let mut ann = in_room(&room);
        for (spoof, reason) in [
            ("Ann\u{200B}", "invisible character (U+200B)"),
            ("A\u{200D}nn", "invisible character (U+200D)"),
            ("\u{FEFF}Ann", "invisible character (U+FEFF)"),
            ("An\u{AD}n", "invisible character (U+00AD)"),
            ("\u{202E}nnA", "bidirectional control character (U+202E)"),
            ("Ann\u{2066}", "bidirectional control character (U+2066)"),
            ("Ann\u{7}", "control character or line break (U+0007)"),
            ("\u{1B}[2JAnn", "control character or line break (U+001B)"),
            // A Hangul filler; NFKC makes it U+1160, another filler.
            ("\u{3164}", "invisible character (U+1160)"),
            ("   ", "the name is empty"),
            (
                "Annabel Lee of the Kingdom by the Sea",
                "longer than 24 characters",
            ),
        ] {
            let refused = ann.event("join", json!({ "name": spoof }));
            assert!(refused.error().is_none(), "{refused:?}");
            let error = ann
                .document()
                .select(&scraper::Selector::parse("#join-error").expect("selector"))
                .next()
                .map(|element| element.text().collect::<String>())
                .unwrap_or_default();
            assert!(error.starts_with("Cannot join: the name "), "{error:?}");
            assert!(error.contains(reason), "{spoof:?}: {error:?}");
            assert!(!ann.html().contains("id=\"nick\""), "{spoof:?} joined");
            // The rate limit (burst 3) is not what this test is about.
            ann = in_room(&room);
        }
    }

    #[test]
    fn nicks_are_normalised_and_a_session_may_rejoin_with_its_own() {
        let room = Arc::new(Room::new());
        let mut first_tab = in_room(&room);
        let joined = first_tab.event("join", json!({ "name": "  ＡＮＮ  " }));
        assert!(joined.error().is_none(), "{joined:?}");
        assert!(first_tab.html().contains("<b id=\"nick\">ANN</b>"));
        // TestClients share one session ("test-session"): a second tab of
        // the same session may use the nick, in any of its forms.
        let mut second_tab = in_room(&room);
        let again = second_tab.event("join", json!({ "name": "ann" }));
        assert!(again.error().is_none(), "{again:?}");
        // The same view may join again with it, or change it.
        assert!(first_tab
            .event("join", json!({ "name": "ANN" }))
            .error()
            .is_none());
        assert!(first_tab
            .event("join", json!({ "name": "Annie" }))
            .error()
            .is_none());
        assert!(first_tab.html().contains("<b id=\"nick\">Annie</b>"));
    }

    #[test]
    fn messages_lose_bidi_controls_and_terminal_escapes() {
        let room = uncoalesced_room();
        let mut ann = in_room(&room);
        let mut bob = in_room(&room);
        ann.event("join", json!({ "name": "Ann" }));
        bob.deliver_messages();
        let sent = ann.event(
            "send",
            json!({ "text": "see invoice_\u{202E}gnp.exe\u{7}\u{1B}[2J \u{200B}now\u{FEFF}" }),
        );
        assert!(sent.error().is_none(), "{sent:?}");
        bob.deliver_messages();
        let html = messages(&bob);
        assert!(
            html.contains("<b>Ann</b>: see invoice_gnp.exe[2J now"),
            "{html}"
        );
        for hidden in ['\u{202E}', '\u{7}', '\u{1B}', '\u{200B}', '\u{FEFF}'] {
            assert!(
                !html.contains(hidden),
                "U+{:04X} rendered",
                u32::from(hidden)
            );
        }
        // Right-to-left scripts are text, not controls: they stay.
        ann.event("send", json!({ "text": "שלום مرحبا" }));
        bob.deliver_messages();
        assert!(
            messages(&bob).contains("<b>Ann</b>: שלום مرحبا"),
            "{}",
            messages(&bob)
        );
        // A message of nothing but hidden characters is not sent.
        let before = messages(&bob);
        ann.event("send", json!({ "text": "\u{202E}\u{200B}\u{7}" }));
        assert_eq!(bob.deliver_messages(), 0);
        assert_eq!(messages(&bob), before);
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
            djust_testing::snapshot::example_paths(&report.to_text(true), module_path!(), "chat")
        );
        djust_testing::assert_snapshot!(
            "tests/snapshots/example_chat_audit.json",
            djust_testing::snapshot::example_paths(
                &format!("{:#}\n", report.to_json()),
                module_path!(),
                "chat"
            )
        );
    }
}
