//! djust #654: timings in production frames. djust's responses carried
//! render and diff timings (and other debug fields) to every client, debug
//! mode or not: free profiling data for an attacker (timing side channels,
//! which queries are slow) and a hint at internals.
//!
//! djust-rs frames are fixed serde types with no timing, duration or debug
//! field, and with debug off (the default) error texts are the generic ones,
//! whatever the handler's error said. The tests drive one socket through
//! every frame the server can send (connect, mount, patch, noop, error,
//! html_update, navigate, push_event, pong, rate_limit_exceeded, and the
//! errors before a close) and check each frame's keys against the exact
//! set its type allows, every key at any depth against timing and debug
//! words, and the error texts against the handler's details; the page
//! carries no debug switch and no `Server-Timing`. A debug server is the
//! control: there the same handler error does show its detail.

use std::collections::BTreeSet;

use djust::prelude::*;
use djust::runtime::security::SafeError;
use serde_json::{json, Value};

use crate::support::*;

/// What the failing handler's error says: a timing and an internal address.
const DETAIL: &str = "query took 12ms on 10.0.0.5";

struct Probe {
    count: i64,
}

#[live_view(public, name = "adv654_probe")]
impl Probe {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Probe { count: 0 })
    }

    fn render(&self) -> Html {
        html! {
            <p id="count">{self.count}</p>
            if self.count > 1 { <p>"more than one"</p> }
        }
    }

    #[event_handler]
    fn bump(&mut self) {
        self.count += 1;
    }

    #[event_handler]
    fn same(&mut self) {}

    #[event_handler]
    fn fail(&mut self) -> Result<()> {
        Err(Error::msg(DETAIL))
    }

    #[event_handler]
    fn typed(&mut self, amount: i64) {
        self.count += amount;
    }

    #[event_handler]
    fn go(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.redirect("/elsewhere")
    }

    #[event_handler]
    fn notify(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.push_event("saved", json!({ "id": 1 }))
    }

    #[event_handler]
    #[rate_limit(rate = 0.01, burst = 1)]
    fn limited(&mut self) {
        self.count += 10;
    }

    #[event_handler]
    fn boom(&mut self) {
        panic!("{DETAIL}");
    }
}

/// The keys each frame type may carry (DESIGN section 5), nothing more.
fn allowed_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "connect" => &["type", "session_id"],
        "mount" => &["type", "view", "version", "html", "resume_token"],
        "patch" => &["type", "patches", "version", "ref"],
        "html_update" => &["type", "html", "version"],
        "noop" => &["type", "ref"],
        "error" => &["type", "error", "ref"],
        "rate_limit_exceeded" => &["type", "message"],
        "navigate" => &["type", "to", "replace"],
        "live_patch" => &["type", "to", "kind"],
        "live_navigate" => &[
            "type",
            "to",
            "kind",
            "view",
            "title",
            "html",
            "version",
            "mount_token",
            "resume_token",
            "flash",
        ],
        "title" => &["type", "title"],
        "flash" => &["type", "flash"],
        "resumed" => &["type", "version", "resume_token"],
        "push_event" => &["type", "event", "payload"],
        "pong" => &["type"],
        other => panic!("unexpected frame type {other:?}"),
    }
}

/// The keys a patch may carry.
const PATCH_KEYS: [&str; 9] = [
    "type", "path", "value", "key", "index", "node", "from", "to", "id",
];

/// Words no key may contain (lower-case).
const FORBIDDEN_WORDS: [&str; 13] = [
    "tim", "duration", "debug", "elapsed", "perf", "latency", "profil", "stat", "metric", "_ms",
    "took", "trace", "stack",
];

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Every object key anywhere in `value`, except inside a `push_event`
/// payload (the application's own data).
fn all_keys<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                out.push(key);
                if key != "payload" {
                    all_keys(inner, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| all_keys(item, out)),
        _ => {}
    }
}

fn assert_production_frame(frame: &Value) {
    let kind = frame["type"].as_str().expect("every frame has a type");
    let allowed: BTreeSet<&str> = allowed_keys(kind).iter().copied().collect();
    let extra: Vec<&str> = keys(frame).difference(&allowed).copied().collect();
    assert!(extra.is_empty(), "extra fields {extra:?} in {frame}");
    if kind == "patch" {
        for patch in frame["patches"].as_array().expect("patches") {
            let extra: Vec<&str> = keys(patch)
                .into_iter()
                .filter(|key| !PATCH_KEYS.contains(key))
                .collect();
            assert!(extra.is_empty(), "extra fields {extra:?} in {patch}");
        }
    }
    let mut found = Vec::new();
    all_keys(frame, &mut found);
    for key in found {
        let lower = key.to_ascii_lowercase();
        for word in FORBIDDEN_WORDS {
            assert!(!lower.contains(word), "field {key:?} in {frame}");
        }
    }
    if kind == "error" {
        let text = frame["error"].as_str().expect("error text");
        assert!(
            !text.contains("12ms") && !text.contains("10.0.0.5"),
            "{frame}"
        );
    }
}

async fn start(config: djust::Config) -> djust::Server {
    App::new()
        .config(config)
        .live("/", Probe::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Drives a socket through every kind of frame; returns all frames seen.
async fn every_kind_of_frame(addr: std::net::SocketAddr) -> Vec<Value> {
    let mut seen = Vec::new();
    // Before mount: connect, an error for an early event, pong.
    let mut socket = try_connect(addr, &[]).await.expect("connect");
    seen.push(recv(&mut socket).await.expect("connect frame"));
    seen.extend(send_event(&mut socket, "bump", json!({}), 1).await);
    // Mount, then every handler outcome.
    let token = mount_token(&get(addr, "/").await.body);
    send_mount(&mut socket, "adv654_probe", &token, "/").await;
    seen.extend(until_pong(&mut socket).await);
    for (name, params) in [
        ("bump", json!({})),
        ("bump", json!({})),
        ("same", json!({})),
        ("fail", json!({})),
        ("typed", json!({ "amount": "x" })),
        ("go", json!({})),
        ("notify", json!({})),
        ("limited", json!({})),
        ("limited", json!({})),
        ("nope", json!({})),
    ] {
        seen.extend(send_event(&mut socket, name, params, 7).await);
    }
    send_text(&mut socket, "{not json").await;
    seen.extend(until_pong(&mut socket).await);
    send_json(&mut socket, &json!({ "type": "request_html" })).await;
    seen.extend(until_pong(&mut socket).await);
    // Errors that close: a panic, an oversize frame, an unknown view.
    send_json(
        &mut socket,
        &json!({ "type": "event", "event": "boom", "params": {}, "ref": 9 }),
    )
    .await;
    seen.extend(until_close(&mut socket).await.1);
    let (mut socket, _) = mount_page(addr, "/", "adv654_probe").await;
    send_text(&mut socket, &"x".repeat(70_000)).await;
    seen.extend(until_close(&mut socket).await.1);
    let mut socket = connect(addr).await;
    send_mount(&mut socket, "nope", &token, "/").await;
    seen.extend(until_close(&mut socket).await.1);
    seen
}

#[tokio::test]
async fn no_frame_carries_timings_or_debug_fields_with_debug_off() {
    let server = start(djust::Config {
        rate_per_second: 1_000_000.0,
        rate_burst: 1_000_000,
        ..test_config()
    })
    .await;
    let addr = server.local_addr();
    let seen = every_kind_of_frame(addr).await;
    let kinds: BTreeSet<&str> = seen
        .iter()
        .filter_map(|frame| frame["type"].as_str())
        .collect();
    for kind in [
        "connect",
        "mount",
        "patch",
        "noop",
        "error",
        "html_update",
        "navigate",
        "push_event",
    ] {
        assert!(
            kinds.contains(kind),
            "no {kind} frame was exercised: {kinds:?}"
        );
    }
    for frame in &seen {
        assert_production_frame(frame);
    }
    let errors = errors(&seen);
    assert!(
        errors.contains(&generic(SafeError::HandlerFailed)),
        "{errors:?}"
    );
    // The page: no debug switch for the client, no timing headers.
    let page = get(addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("data-djust-debug"), "{}", page.body);
    for header in ["server-timing", "x-runtime", "x-response-time"] {
        assert!(page.header(header).is_none(), "{header}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_connection_rate_limit_notice_carries_no_timings_either() {
    let server = start(djust::Config {
        rate_per_second: 0.001,
        rate_burst: 2,
        ..test_config()
    })
    .await;
    let mut socket = connect(server.local_addr()).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        send_json(&mut socket, &json!({ "type": "ping" })).await;
    }
    // Two pongs from the burst, then the notice.
    for _ in 0..3 {
        seen.push(recv(&mut socket).await.expect("frame"));
    }
    assert_eq!(seen[2]["type"], "rate_limit_exceeded", "{seen:?}");
    for frame in &seen {
        assert_production_frame(frame);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn control_a_debug_server_does_show_the_handlers_detail() {
    // Shows the error check above is not vacuous: the detail exists and
    // only debug mode lets it out.
    let server = start(djust::Config {
        debug: true,
        ..test_config()
    })
    .await;
    let (mut socket, _) = mount_page(server.local_addr(), "/", "adv654_probe").await;
    let frames = send_event(&mut socket, "fail", json!({}), 1).await;
    assert!(
        errors(&frames).iter().any(|error| error.contains("12ms")),
        "{frames:?}"
    );
    server.shutdown().await;
}
