//! The sans-IO protocol core (`djust::runtime::live::Connection`) driven
//! directly: frames and instants in, frames and close decisions out, no
//! socket and no sleep. Each gate in its order, and a property test over
//! random frame sequences: the core never panics, and once a step carried a
//! close nothing more is processed.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use djust::prelude::*;
use djust::runtime::auth::{Identity, MountToken, SecretKey, Signer};
use djust::runtime::live::{Connection, Endpoint, Peer, Step};
use djust::runtime::protocol::{close, ServerMessage};
use djust::runtime::security::SafeError;
use djust::runtime::session::Session;
use djust::Config;
use proptest::prelude::*;
use serde_json::json;

struct Clock {
    ticks: u64,
}

#[live_view(public, name = "clock", tick = 1000)]
impl Clock {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Clock { ticks: 0 })
    }

    fn render(&self) -> Html {
        html! { <p id="ticks">{self.ticks}</p><button dj-click="bump">"+"</button> }
    }

    fn handle_tick(&mut self) {
        self.ticks += 1;
    }

    #[event_handler]
    fn bump(&mut self) {
        self.ticks += 100;
    }

    #[event_handler]
    fn explode(&mut self) {
        panic!("handler bug with user input");
    }
}

const UNIX_NOW: u64 = 1_800_000_000;
const SESSION: &str = "session-1";

struct Harness {
    conn: Connection,
    signer: Signer,
    endpoint: Arc<Endpoint>,
    now: Instant,
    runtime: tokio::runtime::Runtime,
}

fn harness_with(config: Config) -> Harness {
    let signer = Signer::from_key(&SecretKey::generate());
    let endpoint = Arc::new(Endpoint::new(config, signer.clone()).view(Clock::view()));
    let now = Instant::now();
    let peer = Peer {
        tenant: None,
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        session: Some(Session {
            id: SESSION.to_owned(),
            user_id: None,
            csrf_token: "csrf".to_owned(),
            data: Default::default(),
            expires_at: u64::MAX,
        }),
        identity: Identity::Anonymous,
    };
    Harness {
        conn: Connection::new(endpoint.clone(), peer, now, UNIX_NOW),
        signer,
        endpoint,
        now,
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    }
}

fn harness() -> Harness {
    harness_with(Config::default())
}

impl Harness {
    fn token(&self, view: &str, session: &str, issued: u64) -> String {
        MountToken::new(view, session.to_owned(), None, issued).encode(&self.signer)
    }

    fn mount_frame(&self) -> String {
        json!({"type": "mount", "view": "clock", "url": "/", "mount_token": self.token("clock", SESSION, UNIX_NOW)}).to_string()
    }

    fn later(&mut self, by: Duration) -> Instant {
        self.now += by;
        self.now
    }

    fn text(&mut self, text: &str) -> Step {
        let now = self.later(Duration::from_millis(20));
        self.runtime.block_on(self.conn.on_text(text, now))
    }

    fn mount(&mut self) -> Step {
        let frame = self.mount_frame();
        let step = self.text(&frame);
        assert!(self.conn.live().is_some(), "{step:?}");
        step
    }
}

fn errors(step: &Step) -> Vec<String> {
    step.frames
        .iter()
        .filter_map(|frame| match frame {
            ServerMessage::Error { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect()
}

fn message(error: SafeError) -> String {
    error.public_message(false, None)
}

#[test]
fn a_valid_mount_sends_the_view_and_events_patch_it() {
    let mut h = harness();
    assert!(matches!(h.conn.greeting(), ServerMessage::Connect { .. }));
    let step = h.mount();
    assert!(matches!(
        step.frames[0],
        ServerMessage::Mount { version: 1, .. }
    ));
    assert_eq!(step.close, None);
    let step = h.text(r#"{"type":"event","event":"bump","params":{},"ref":4}"#);
    assert!(
        matches!(
            &step.frames[0],
            ServerMessage::Patch {
                version: 2,
                reference: Some(4),
                ..
            }
        ),
        "{step:?}"
    );
    let step = h.text(r#"{"type":"request_html"}"#);
    assert!(
        matches!(&step.frames[0], ServerMessage::HtmlUpdate { html, version: 2 } if html.contains(">100<"))
    );
    let step = h.text(r#"{"type":"ping"}"#);
    assert_eq!(step.frames, vec![ServerMessage::Pong]);
}

#[test]
fn the_bucket_warns_then_closes_4429_with_a_cooldown() {
    let mut h = harness_with(Config {
        rate_burst: 2,
        rate_per_second: 1.0,
        max_rate_warnings: 2,
        ..Config::default()
    });
    let now = h.now;
    let ping = r#"{"type":"ping"}"#;
    let mut steps = Vec::new();
    for _ in 0..5 {
        steps.push(h.runtime.block_on(h.conn.on_text(ping, now)));
    }
    assert_eq!(steps[0].frames, vec![ServerMessage::Pong]);
    assert_eq!(steps[1].frames, vec![ServerMessage::Pong]);
    assert!(matches!(
        steps[2].frames[0],
        ServerMessage::RateLimitExceeded { .. }
    ));
    assert_eq!(steps[2].close, None);
    let close = steps[3].close.expect("closed at the second warning");
    assert_eq!((close.code, close.cooldown), (close::RATE_LIMITED, true));
    // Nothing is processed after the close.
    assert!(steps[4].frames.is_empty() && steps[4].close.is_none());
    assert!(h.conn.is_closed());
}

#[test]
fn transport_pings_count_against_the_bucket() {
    let mut h = harness_with(Config {
        rate_burst: 1,
        rate_per_second: 1.0,
        ..Config::default()
    });
    let now = h.now;
    assert!(h.conn.on_control(now).frames.is_empty());
    let step = h.conn.on_control(now);
    assert!(
        matches!(step.frames[0], ServerMessage::RateLimitExceeded { .. }),
        "{step:?}"
    );
}

#[test]
fn size_is_checked_before_parsing_and_closes_1009() {
    let mut h = harness();
    let huge = format!("{{\"type\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(70_000));
    let step = h.text(&huge);
    assert_eq!(errors(&step), [message(SafeError::MessageTooLarge)]);
    assert_eq!(step.close.map(|c| c.code), Some(close::TOO_BIG));
    // Above the transport's backstop the driver reports it the same way.
    let mut h = harness();
    let now = h.now;
    let step = h.conn.on_oversize(now);
    assert_eq!(step.close.map(|c| c.code), Some(close::TOO_BIG));
}

#[test]
fn deep_malformed_and_binary_frames() {
    let mut h = harness();
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let step = h.text(&deep);
    assert_eq!(errors(&step), [message(SafeError::MalformedMessage)]);
    assert_eq!(step.close, None);
    for bad in [
        "",
        "nope",
        "{",
        r#"{"type":"unknown"}"#,
        r#"{"type":"event"}"#,
        "\u{0}",
    ] {
        let step = h.text(bad);
        assert_eq!(
            errors(&step),
            [message(SafeError::MalformedMessage)],
            "{bad:?}"
        );
        assert_eq!(step.close, None, "{bad:?}");
    }
    let now = h.later(Duration::from_millis(20));
    let step = h.runtime.block_on(h.conn.on_binary(&[0, 1, 2], now));
    assert_eq!(errors(&step), [message(SafeError::UnsupportedFrame)]);
    assert_eq!(step.close.map(|c| c.code), Some(close::UNSUPPORTED));
}

#[test]
fn events_before_mount_and_a_second_mount_are_refused() {
    let mut h = harness();
    let step = h.text(r#"{"type":"event","event":"bump","params":{},"ref":1}"#);
    assert_eq!(errors(&step), [message(SafeError::NotMounted)]);
    h.mount();
    let frame = h.mount_frame();
    let step = h.text(&frame);
    assert_eq!(errors(&step), [message(SafeError::MalformedMessage)]);
    assert_eq!(step.close, None);
}

#[test]
fn mount_tokens_for_another_view_session_or_time_are_refused_4403() {
    type MakeToken = fn(&Harness) -> String;
    let cases: [(&str, MakeToken); 6] = [
        ("forged", |_| "not-a-token".to_owned()),
        ("other session", |h| h.token("clock", "session-2", UNIX_NOW)),
        ("other view", |h| h.token("other", SESSION, UNIX_NOW)),
        ("expired", |h| {
            h.token("clock", SESSION, UNIX_NOW - 2 * 3600)
        }),
        ("from the future", |h| {
            h.token("clock", SESSION, UNIX_NOW + 3600)
        }),
        ("another key", |_| {
            MountToken::new("clock", SESSION.to_owned(), None, UNIX_NOW)
                .encode(&Signer::from_key(&SecretKey::generate()))
        }),
    ];
    for (what, make) in cases {
        let mut h = harness();
        let frame = json!({"type": "mount", "view": "clock", "mount_token": make(&h)}).to_string();
        let step = h.text(&frame);
        assert_eq!(
            errors(&step),
            [message(SafeError::InvalidMountToken)],
            "{what}"
        );
        assert_eq!(step.close.map(|c| c.code), Some(close::FORBIDDEN), "{what}");
        assert!(h.conn.live().is_none(), "{what}");
    }
    let mut h = harness();
    let step = h.text(r#"{"type":"mount","view":"nope","mount_token":"x"}"#);
    assert_eq!(step.close.map(|c| c.code), Some(close::UNKNOWN_VIEW));
}

#[test]
fn a_logged_out_session_closes_4403_at_its_next_frame_tick_or_message() {
    let mut h = harness();
    h.mount();
    h.endpoint.revoked().revoke(SESSION);
    let step = h.text(r#"{"type":"ping"}"#);
    assert_eq!(errors(&step), [message(SafeError::LoginRequired)]);
    assert_eq!(step.close.map(|c| c.code), Some(close::FORBIDDEN));

    let mut h = harness();
    h.mount();
    h.endpoint.revoked().revoke(SESSION);
    let now = h.later(Duration::from_secs(1));
    let step = h.runtime.block_on(h.conn.on_tick(now));
    assert_eq!(step.close.map(|c| c.code), Some(close::FORBIDDEN));
    assert!(!step
        .frames
        .iter()
        .any(|f| matches!(f, ServerMessage::Patch { .. })));
}

#[test]
fn timeouts_run_ticks_and_close_silent_sockets_4408() {
    let mut h = harness_with(Config {
        heartbeat_timeout_secs: 5,
        ..Config::default()
    });
    h.mount();
    let tick_at = h.conn.poll_timeout().expect("a deadline");
    assert!(tick_at <= h.now + Duration::from_secs(1));
    let step = h.runtime.block_on(h.conn.on_timeout(tick_at));
    assert!(
        matches!(step.frames[0], ServerMessage::Patch { .. }),
        "{step:?}"
    );
    // Early wake-ups do nothing.
    let early = h.now;
    assert!(h
        .runtime
        .block_on(h.conn.on_timeout(early))
        .frames
        .is_empty());
    let silent = h.now + Duration::from_secs(5);
    let step = h.runtime.block_on(h.conn.on_timeout(silent));
    assert_eq!(step.close.map(|c| c.code), Some(close::TIMEOUT));
    // The socket closes; the view waits for its client (reconnect grace).
    assert!(h.conn.is_detached());
    let grace_over = silent + Duration::from_secs(30);
    let mut now = silent;
    while now < grace_over {
        // Ticks still run while detached, until the grace ends.
        now = h.conn.poll_timeout().expect("deadline");
        let step = h.runtime.block_on(h.conn.on_timeout(now));
        assert!(step.frames.is_empty(), "kept for the client: {step:?}");
        if step.close.is_some() {
            break;
        }
    }
    assert!(h.conn.is_closed());
    assert_eq!(h.conn.poll_timeout(), None);

    // Without a grace window the heartbeat closes the connection itself.
    let mut h = harness_with(Config {
        heartbeat_timeout_secs: 5,
        reconnect_grace_secs: 0,
        ..Config::default()
    });
    h.mount();
    let silent = h.now + Duration::from_secs(5);
    let step = h.runtime.block_on(h.conn.on_timeout(silent));
    assert_eq!(step.close.map(|c| c.code), Some(close::TIMEOUT));
    assert!(h.conn.is_closed() && !h.conn.is_detached());
}

fn peer(session: Option<&str>) -> Peer {
    Peer {
        tenant: None,
        ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
        session: session.map(|id| Session {
            id: id.to_owned(),
            user_id: None,
            csrf_token: "csrf".to_owned(),
            data: Default::default(),
            expires_at: u64::MAX,
        }),
        identity: Identity::Anonymous,
    }
}

#[test]
fn a_detached_view_keeps_what_its_client_missed_and_resumes_for_the_same_session_only() {
    let mut h = harness();
    let step = h.mount();
    let token = match &step.frames[0] {
        ServerMessage::Mount { resume_token, .. } => resume_token.clone().expect("token"),
        other => panic!("{other:?}"),
    };
    let now = h.later(Duration::from_millis(10));
    let id = h.conn.detach(now).expect("detached");
    assert_eq!(Some(id.as_str()), h.conn.resume_id());
    // Two ticks while away: applied, kept.
    for _ in 0..2 {
        let now = h.later(Duration::from_secs(1));
        let step = h.runtime.block_on(h.conn.on_tick(now));
        assert!(step.frames.is_empty() && step.close.is_none());
    }
    // Another session's socket is refused; the view keeps waiting.
    let now = h.later(Duration::from_millis(10));
    assert_eq!(
        h.conn.resume(peer(Some("session-2")), 1, now).err(),
        Some(djust::runtime::live::ResumeRefusal::Foreign)
    );
    assert_eq!(
        h.conn.resume(peer(None), 1, now).err(),
        Some(djust::runtime::live::ResumeRefusal::Foreign)
    );
    assert!(h.conn.is_detached());
    // The same session gets `resumed` and the two patches, in order.
    let step = h.conn.resume(peer(Some(SESSION)), 1, now).expect("resumed");
    let versions: Vec<u64> = step
        .frames
        .iter()
        .map(|frame| match frame {
            ServerMessage::Resumed {
                version,
                resume_token,
            } => {
                assert_ne!(resume_token, &token, "rotated");
                *version
            }
            ServerMessage::Patch { version, .. } => *version,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(versions, [3, 2, 3]);
    assert!(!h.conn.is_detached());
    assert_eq!(h.conn.peer().ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)));
    // Not detached any more: a second resume is refused.
    assert_eq!(
        h.conn.resume(peer(Some(SESSION)), 1, now).err(),
        Some(djust::runtime::live::ResumeRefusal::NotDetached)
    );
}

#[test]
fn a_client_that_missed_more_than_is_kept_gets_one_html_update() {
    let mut h = harness();
    h.mount();
    let now = h.later(Duration::from_millis(10));
    h.conn.detach(now).expect("detached");
    for _ in 0..djust::runtime::live::MAX_MISSED_FRAMES + 5 {
        let now = h.later(Duration::from_secs(1));
        h.runtime.block_on(h.conn.on_tick(now));
    }
    let now = h.later(Duration::from_millis(10));
    let step = h.conn.resume(peer(Some(SESSION)), 1, now).expect("resumed");
    assert_eq!(step.frames.len(), 2, "{:?}", step.frames);
    assert!(matches!(step.frames[1], ServerMessage::HtmlUpdate { .. }));
}

#[test]
fn resume_frames_check_the_token_before_anything_is_looked_up() {
    let mut h = harness();
    let forged = r#"{"type":"resume","view":"clock","token":"x.y","version":1}"#;
    let step = h.text(forged);
    assert_eq!(step.frames, [ServerMessage::ResumeRefused]);
    assert!(step.resume.is_none());
    let real = djust::runtime::live::ResumeToken::fresh("clock", UNIX_NOW).encode(&h.signer);
    let frame = json!({"type": "resume", "view": "clock", "token": real, "version": 4}).to_string();
    let step = h.text(&frame);
    let request = step.resume.expect("a request for the driver");
    assert_eq!(request.version, 4);
    // For another view, or once mounted: refused.
    let frame = json!({"type": "resume", "view": "other", "token": real}).to_string();
    assert_eq!(h.text(&frame).frames, [ServerMessage::ResumeRefused]);
    h.mount();
    let frame = json!({"type": "resume", "view": "clock", "token": real}).to_string();
    assert_eq!(
        errors(&h.text(&frame)),
        [message(SafeError::MalformedMessage)]
    );
}

#[test]
fn a_panicking_handler_closes_1011_with_a_generic_error() {
    let mut h = harness();
    h.mount();
    let step = h.text(r#"{"type":"event","event":"explode","params":{},"ref":9}"#);
    assert_eq!(errors(&step), [message(SafeError::HandlerFailed)]);
    assert!(!format!("{step:?}").contains("user input"));
    assert_eq!(step.close.map(|c| c.code), Some(close::INTERNAL));
    let step = h.text(r#"{"type":"event","event":"bump","params":{},"ref":10}"#);
    assert!(step.frames.is_empty() && step.close.is_none());
}

#[test]
fn a_server_close_is_final() {
    let mut h = harness();
    h.mount();
    let step = h.conn.close(close::GOING_AWAY, "server shutting down");
    assert_eq!(step.close.map(|c| c.code), Some(close::GOING_AWAY));
    assert!(h.conn.close(close::NORMAL, "again").close.is_none());
    let step = h.text(r#"{"type":"ping"}"#);
    assert!(step.frames.is_empty() && step.close.is_none());
}

/// One input to the core.
#[derive(Debug, Clone)]
enum Input {
    Text(String),
    Binary(Vec<u8>),
    Control,
    Oversize,
    ClientClose,
    Timeout(u64),
    Tick,
    Wait(u64),
}

fn text_frame() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#"{"type":"ping"}"#.to_owned()),
        Just(r#"{"type":"request_html"}"#.to_owned()),
        Just("MOUNT".to_owned()),
        Just(r#"{"type":"event","event":"bump","params":{},"ref":1}"#.to_owned()),
        Just(r#"{"type":"event","event":"explode","params":{}}"#.to_owned()),
        Just(r#"{"type":"mount","view":"nope","mount_token":""}"#.to_owned()),
        "[a-z_]{0,12}"
            .prop_map(|name| json!({"type":"event","event":name,"params":{"x":1}}).to_string()),
        ".{0,40}",
        (1usize..80).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        Just("x".repeat(70_000)),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => text_frame().prop_map(Input::Text),
        1 => proptest::collection::vec(any::<u8>(), 0..32).prop_map(Input::Binary),
        1 => Just(Input::Control),
        1 => Just(Input::Oversize),
        1 => Just(Input::ClientClose),
        1 => (0u64..120_000).prop_map(Input::Timeout),
        1 => Just(Input::Tick),
        2 => (0u64..3_000).prop_map(Input::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_frame_sequences_never_panic_and_nothing_runs_after_a_close(
        inputs in proptest::collection::vec(input(), 1..40)
    ) {
        let mut h = harness_with(Config {
            rate_burst: 8,
            rate_per_second: 4.0,
            heartbeat_timeout_secs: 30,
            ..Config::default()
        });
        let mut closed = false;
        for input in inputs {
            let now = h.now;
            let step = match input {
                Input::Text(text) => {
                    let text = if text == "MOUNT" { h.mount_frame() } else { text };
                    h.runtime.block_on(h.conn.on_text(&text, now))
                }
                Input::Binary(bytes) => h.runtime.block_on(h.conn.on_binary(&bytes, now)),
                Input::Control => h.conn.on_control(now),
                Input::Oversize => h.conn.on_oversize(now),
                Input::ClientClose => h.conn.on_client_close(),
                Input::Timeout(ms) => h.runtime.block_on(h.conn.on_timeout(now + Duration::from_millis(ms))),
                Input::Tick => h.runtime.block_on(h.conn.on_tick(now)),
                Input::Wait(ms) => {
                    h.later(Duration::from_millis(ms));
                    continue;
                }
            };
            if closed {
                // The socket is closed: nothing is sent any more. Only the
                // end of a detached view's grace window may still close it.
                prop_assert!(step.frames.is_empty(), "frames after close: {:?}", step.frames);
                if step.close.is_some() {
                    prop_assert!(h.conn.is_closed());
                }
            }
            closed |= step.close.is_some();
            prop_assert_eq!(closed, h.conn.is_closed() || h.conn.is_detached());
            h.later(Duration::from_millis(5));
        }
    }
}
