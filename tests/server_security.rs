//! Every defence layer and close code of the WebSocket endpoint, over real
//! sockets on 127.0.0.1:0 (DESIGN sections 5 and 6, issue 6 "Tests").
//!
//! Each test starts its own server, so per-IP counts and cooldowns of one
//! test never leak into another. Limits that depend on wall-clock time are
//! made deterministic through the config (a 1/s refill rate for floods, a
//! 1 s heartbeat, a short cooldown) and every wait is bounded.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use djust::prelude::*;
use djust::runtime::auth::{MountToken, Signer};
use djust::runtime::security::SafeError;
use djust_testing::payloads;
use serde::Deserialize;
use serde_json::{json, Value};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// Counts `hit` handler runs on one server: proof of what the server
/// processed, independent of what reached the client.
struct Hits(Arc<AtomicUsize>);

/// Counts `Lab::mount` runs (page renders and socket mounts).
struct Mounts(Arc<AtomicUsize>);

#[derive(Debug, Deserialize)]
struct Filter {
    field: String,
    limit: u8,
}

struct Lab {
    count: i64,
    label: String,
    flags: Vec<bool>,
    ratio: f64,
    filter: String,
}

#[live_view(public, name = "lab")]
impl Lab {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        if let Ok(mounts) = ctx.state::<Mounts>() {
            mounts.0.fetch_add(1, Ordering::SeqCst);
        }
        Ok(Lab {
            count: 0,
            label: "start".into(),
            flags: Vec::new(),
            ratio: 0.0,
            filter: String::new(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="count">{self.count}</p>
            <p id="label">{self.label}</p>
            <p id="flags">{self.flags.len()}</p>
            <p id="ratio">{self.ratio}</p>
            <p id="filter">{self.filter}</p>
        }
    }

    #[event_handler]
    fn add(&mut self, #[default(1)] by: i64) {
        self.count = self.count.saturating_add(by);
    }

    #[event_handler]
    fn rename(&mut self, label: String) -> Result<()> {
        if label.is_empty() {
            return Err(Error::bad_request("label must not be empty"));
        }
        self.label = label;
        Ok(())
    }

    #[event_handler]
    fn small(&mut self, value: u8, ratio: f32, flag: bool) {
        self.count = i64::from(value);
        self.ratio = f64::from(ratio);
        self.flags.push(flag);
    }

    #[event_handler]
    fn set_flags(&mut self, flags: Vec<bool>) {
        self.flags = flags;
    }

    #[event_handler]
    fn set_filter(&mut self, filter: Filter) {
        self.filter = format!("{}:{}", filter.field, filter.limit);
    }

    #[event_handler]
    fn boom(&mut self) {
        self.count = -1;
        panic!("handler bug with secret details SECRETPANICTEXT");
    }

    #[event_handler]
    fn hit(&mut self, ctx: &EventCtx) -> Result<()> {
        ctx.state::<Hits>()?.0.fetch_add(1, Ordering::SeqCst);
        self.count += 1;
        Ok(())
    }
}

struct Other;

#[live_view(public, name = "other")]
impl Other {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Other)
    }

    fn render(&self) -> Html {
        html! { <p>"other"</p> }
    }
}

struct Running {
    server: djust::Server,
    hits: Arc<AtomicUsize>,
    mounts: Arc<AtomicUsize>,
}

impl Running {
    fn addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn mounts(&self) -> usize {
        self.mounts.load(Ordering::SeqCst)
    }
}

async fn start(config: djust::Config) -> Running {
    let hits = Arc::new(AtomicUsize::new(0));
    let mounts = Arc::new(AtomicUsize::new(0));
    let server = App::new()
        .config(config)
        .state(Hits(hits.clone()))
        .state(Mounts(mounts.clone()))
        .live("/", Lab::view())
        .live("/other", Other::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    Running {
        server,
        hits,
        mounts,
    }
}

/// No rate limit to speak of: for tests that send many frames on purpose
/// but are about another layer.
fn relaxed_config() -> djust::Config {
    djust::Config {
        rate_per_second: 1_000_000.0,
        rate_burst: 1_000_000,
        ..test_config()
    }
}

fn signer() -> Signer {
    // The server derives its signer as `Signer::from_key(&SecretKey::new(secret bytes))`
    // (server/mod.rs `into_inner`), which is what `Signer::new` does.
    Signer::new(TEST_SECRET.as_bytes()).expect("test secret is long enough")
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

async fn mount_lab(addr: std::net::SocketAddr) -> Socket {
    mount_page(addr, "/", "lab").await.0
}

fn event(name: &str, params: Value, reference: u64) -> Value {
    json!({ "type": "event", "event": name, "params": params, "ref": reference })
}

// --- Origin ----------------------------------------------------------------

#[tokio::test]
async fn cross_origin_upgrade_is_refused_with_403_and_no_socket() {
    let app = start(test_config()).await;
    let addr = app.addr();
    let port = addr.port();
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    let https_same = format!("https://{addr}.evil.com");
    for origin in [
        "http://evil.com",
        other_port.as_str(),
        https_same.as_str(),
        "http://127.0.0.1",
        "http://localhost",
    ] {
        let status = refused_status(try_connect(addr, &[("Origin", origin)]).await);
        assert_eq!(status, 403, "{origin}");
    }
    // The server's own origin is accepted (the control case).
    connect(addr).await;
    app.server.shutdown().await;
}

/// Choice: a missing `Origin` is refused by default. Browsers always send
/// `Origin` on WebSocket upgrades, so only non-browser clients omit it, and
/// accepting them by default would let any script-less tool skip the
/// cross-origin check; deployments with such clients opt in with
/// `allow_missing_origin`.
#[tokio::test]
async fn missing_origin_is_refused_by_default_and_accepted_when_configured() {
    let app = start(test_config()).await;
    // An empty value makes the helper send no Origin header at all.
    let status = refused_status(try_connect(app.addr(), &[("Origin", "")]).await);
    assert_eq!(status, 403);
    app.server.shutdown().await;

    let app = start(djust::Config {
        allow_missing_origin: true,
        ..test_config()
    })
    .await;
    let mut socket = connect_with(app.addr(), &[("Origin", "")]).await;
    assert_eq!(until_pong(&mut socket).await, Vec::<Value>::new());
    // Opting in for missing origins does not let foreign ones through.
    let status = refused_status(try_connect(app.addr(), &[("Origin", "http://evil.com")]).await);
    assert_eq!(status, 403);
    app.server.shutdown().await;
}

#[tokio::test]
async fn null_origin_is_refused() {
    let app = start(djust::Config {
        allow_missing_origin: true,
        ..test_config()
    })
    .await;
    for origin in ["null", "NULL", " null "] {
        let status = refused_status(try_connect(app.addr(), &[("Origin", origin)]).await);
        assert_eq!(status, 403, "{origin:?}");
    }
    app.server.shutdown().await;
}

// --- Per-IP limit and X-Forwarded-For ---------------------------------------

async fn open_many(
    addr: std::net::SocketAddr,
    count: usize,
    headers: &[(&str, &str)],
) -> Vec<Socket> {
    let mut sockets = Vec::new();
    for _ in 0..count {
        sockets.push(connect_with(addr, headers).await);
    }
    sockets
}

#[tokio::test]
async fn eleventh_connection_from_one_ip_is_refused_429_and_a_close_frees_one_slot() {
    let app = start(test_config()).await;
    let addr = app.addr();
    let mut sockets = open_many(addr, 10, &[]).await;
    assert_eq!(connect_refused(addr, &[]).await, 429);
    // A refused socket never held a slot, so it cannot free one either.
    assert_eq!(connect_refused(addr, &[]).await, 429);
    for socket in &mut sockets {
        assert!(
            until_pong(socket).await.is_empty(),
            "the first 10 stay usable"
        );
    }
    let mut first = sockets.remove(0);
    first.close(None).await.expect("close");
    wait_hangup(&mut first).await;
    let mut replacement = connect_when_admitted(addr, &[]).await;
    assert!(until_pong(&mut replacement).await.is_empty());
    assert_eq!(
        connect_refused(addr, &[]).await,
        429,
        "one close frees exactly one slot"
    );
    app.server.shutdown().await;
}

#[tokio::test]
async fn spoofed_forwarded_for_is_ignored_without_trusted_proxies() {
    let app = start(test_config()).await;
    let addr = app.addr();
    let mut sockets = Vec::new();
    for index in 0..10 {
        let spoofed = format!("203.0.113.{index}");
        sockets.push(connect_with(addr, &[("X-Forwarded-For", &spoofed)]).await);
    }
    assert_eq!(
        connect_refused(addr, &[("X-Forwarded-For", "198.51.100.77")]).await,
        429,
        "every socket counted against the peer address"
    );
    drop(sockets);
    app.server.shutdown().await;
}

#[tokio::test]
async fn forwarded_for_is_honoured_with_one_trusted_proxy() {
    let app = start(djust::Config {
        trusted_proxies: 1,
        ..test_config()
    })
    .await;
    let addr = app.addr();
    let mut sockets = Vec::new();
    // The rightmost entry is the one the trusted proxy appended; whatever
    // the client wrote to its left is ignored.
    for index in 0..10 {
        let header = format!("6.6.6.{index}, 10.0.0.1");
        sockets.push(connect_with(addr, &[("X-Forwarded-For", &header)]).await);
    }
    assert_eq!(
        connect_refused(addr, &[("X-Forwarded-For", "7.7.7.7, 10.0.0.1")]).await,
        429
    );
    assert_eq!(
        connect_refused(addr, &[("X-Forwarded-For", "10.0.0.1")]).await,
        429
    );
    // Another forwarded client gets its own slots...
    sockets.push(connect_with(addr, &[("X-Forwarded-For", "10.0.0.1, 10.0.0.2")]).await);
    // ...and so does the peer itself (127.0.0.1), which has none in use.
    // Garbage falls back to the peer: ten of them fill the peer's slots.
    let garbage = [
        "garbage",
        "10.0.0.1, not-an-ip",
        "999.1.1.1",
        "10.0.0.1,",
        "unknown",
        "1.2.3.4.5",
        "::zz",
        "[10.0.0.1]",
        "10.0.0.1 10.0.0.3",
        "_",
    ];
    for header in garbage {
        sockets.push(connect_with(addr, &[("X-Forwarded-For", header)]).await);
    }
    assert_eq!(
        connect_refused(addr, &[]).await,
        429,
        "garbage X-Forwarded-For must count against the peer"
    );
    assert_eq!(
        connect_refused(addr, &[("X-Forwarded-For", "nonsense")]).await,
        429
    );
    // 10.0.0.2 still has room: its slots are separate from everyone else's.
    sockets.push(connect_with(addr, &[("X-Forwarded-For", "10.0.0.2")]).await);
    for socket in &mut sockets {
        assert!(until_pong(socket).await.is_empty());
    }
    app.server.shutdown().await;
}

// --- Frame size, binary, JSON ------------------------------------------------

/// An `add` event padded with an ignored parameter to exactly `len` bytes.
fn padded_add(len: usize) -> String {
    let empty = r#"{"type":"event","event":"add","params":{"by":1,"pad":""},"ref":1}"#;
    let pad = "x".repeat(len - empty.len());
    let frame =
        format!(r#"{{"type":"event","event":"add","params":{{"by":1,"pad":"{pad}"}},"ref":1}}"#);
    assert_eq!(frame.len(), len);
    frame
}

#[tokio::test]
async fn a_frame_far_above_the_limit_also_gets_an_error_frame_and_1009() {
    // 1 MiB: past the transport backstop (4 × 64 KiB), where the WebSocket
    // library refuses the frame before djust sees it.
    let app = start(test_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    send_text(&mut socket, &padded_add(1 << 20)).await;
    let (code, frames) = until_close(&mut socket).await;
    assert_eq!(errors(&frames), [generic(SafeError::MessageTooLarge)]);
    assert_eq!(code, Some(1009));
    // The server is fine: a new socket works.
    let mut again = mount_lab(app.addr()).await;
    send_text(&mut again, &padded_add(100)).await;
    assert_eq!(recv(&mut again).await.expect("patch")["type"], "patch");
    app.server.shutdown().await;
}

#[tokio::test]
async fn a_frame_of_exactly_64_kib_is_accepted_and_one_byte_more_closes_1009() {
    let app = start(test_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    send_text(&mut socket, &padded_add(65_536)).await;
    let patch = recv(&mut socket).await.expect("patch");
    assert_eq!(
        patch["type"], "patch",
        "64 KiB is within the limit: {patch}"
    );
    assert_eq!(patch["ref"], 1);

    send_text(&mut socket, &padded_add(65_537)).await;
    let (code, frames) = until_close(&mut socket).await;
    assert_eq!(errors(&frames), [generic(SafeError::MessageTooLarge)]);
    assert_eq!(code, Some(1009));
    app.server.shutdown().await;
}

#[tokio::test]
async fn a_binary_frame_closes_1003() {
    let app = start(test_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    let frame = br#"{"type":"event","event":"add","params":{},"ref":1}"#.to_vec();
    send_binary(&mut socket, frame).await;
    let (code, frames) = until_close(&mut socket).await;
    assert_eq!(code, Some(1003));
    assert_eq!(errors(&frames), [generic(SafeError::UnsupportedFrame)]);
    assert!(frames.iter().all(|frame| frame["type"] != "patch"));
    app.server.shutdown().await;
}

/// `send` for binary frames (the support helpers send text).
async fn send_binary(socket: &mut Socket, bytes: Vec<u8>) {
    use futures_util::SinkExt;
    socket.send(Message::binary(bytes)).await.expect("send");
}

#[tokio::test]
async fn malformed_json_gets_an_error_frame_and_the_socket_stays_open() {
    let app = start(relaxed_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    for text in [
        "{not json",
        "",
        "null",
        "[]",
        "42",
        r#"{"type":"nope"}"#,
        r#"{"type":"event"}"#,
        r#"{"type":"event","event":"add","params":[],"ref":1}"#,
        r#"{"type":"event","event":"add","params":{},"ref":-1}"#,
        r#"{"type":"event","event":7,"params":{}}"#,
        r#"{"type":"mount"}"#,
        "\u{feff}{}",
    ] {
        send_text(&mut socket, text).await;
        let frames = until_pong(&mut socket).await;
        assert_eq!(
            errors(&frames),
            [generic(SafeError::MalformedMessage)],
            "{text:?}: {frames:?}"
        );
    }
    // Still mounted and working.
    send_json(&mut socket, &event("add", json!({ "by": 2 }), 9)).await;
    let patch = recv(&mut socket).await.expect("patch");
    assert_eq!(
        (patch["type"].clone(), patch["ref"].clone()),
        (json!("patch"), json!(9))
    );
    app.server.shutdown().await;
}

#[tokio::test]
async fn json_nested_10000_deep_gets_an_error_frame_and_the_socket_stays_open() {
    let app = start(test_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let deep_param = format!(
        r#"{{"type":"event","event":"set_flags","params":{{"flags":{deep_array}}},"ref":3}}"#
    );
    let unclosed = "[".repeat(10_000);
    // 100 deep is within serde_json's own recursion limit (128), so only the
    // server's depth layer (32) turns it into a malformed message rather than
    // a parameter error.
    let within_serde_limit = format!(
        r#"{{"type":"event","event":"set_flags","params":{{"flags":{}{}}},"ref":3}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    for text in [
        &deep_array,
        &deep_object,
        &deep_param,
        &unclosed,
        &within_serde_limit,
    ] {
        send_text(&mut socket, text).await;
        let frames = until_pong(&mut socket).await;
        assert_eq!(errors(&frames), [generic(SafeError::MalformedMessage)]);
    }
    send_json(&mut socket, &event("add", json!({}), 4)).await;
    assert_eq!(recv(&mut socket).await.expect("patch")["type"], "patch");
    app.server.shutdown().await;
}

// --- Mount -------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_view_closes_4404() {
    let app = start(test_config()).await;
    let page = get(app.addr(), "/").await;
    let token = mount_token(&page.body);
    for view in ["nope", "Lab", "lab ", "../lab", "", "counter"] {
        let mut socket = connect(app.addr()).await;
        send_mount(&mut socket, view, &token, "/").await;
        let (code, frames) = until_close(&mut socket).await;
        assert_eq!(code, Some(4404), "{view:?}");
        assert_eq!(errors(&frames), [generic(SafeError::UnknownView)]);
    }
    app.server.shutdown().await;
}

/// Sends `mount` with `token` and expects error + close 4403.
async fn assert_mount_refused(addr: std::net::SocketAddr, view: &str, token: &str, what: &str) {
    let mut socket = connect(addr).await;
    send_mount(&mut socket, view, token, "/").await;
    let (code, frames) = until_close(&mut socket).await;
    assert_eq!(code, Some(4403), "{what}: {frames:?}");
    assert_eq!(
        errors(&frames),
        [generic(SafeError::InvalidMountToken)],
        "{what}"
    );
}

#[tokio::test]
async fn forged_tampered_expired_and_misdirected_mount_tokens_close_4403() {
    let app = start(test_config()).await;
    let addr = app.addr();
    let signer = signer();
    let now = now_unix();

    // Control: a token we sign ourselves for this view, session (none) and
    // user (anonymous) mounts, so the refusals below are about the one
    // field each of them changes.
    let own = MountToken::new("lab", "", None, now).encode(&signer);
    let mut socket = connect(addr).await;
    send_mount(&mut socket, "lab", &own, "/").await;
    assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");

    let page = mount_token(&get(addr, "/").await.body);
    let (payload, tag) = page.split_once('.').expect("payload.tag");
    let flip = |text: &str, index: usize| {
        let mut bytes = text.as_bytes().to_vec();
        bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ascii")
    };
    let tampered_payload = format!("{}.{tag}", flip(payload, 6));
    let tampered_tag = format!("{payload}.{}", flip(tag, 3));
    // A payload that claims another view, with the original signature.
    let relabelled = {
        use base64_like::encode;
        let claims = format!(r#"{{"v":"other","s":"","u":null,"t":{now}}}"#);
        format!("{}.{tag}", encode(claims.as_bytes()))
    };
    let other_key = Signer::new(&[7_u8; 32]).expect("key");
    let cases: Vec<(&str, String, &str)> = vec![
        ("lab", String::new(), "empty token"),
        ("lab", "forged".into(), "no signature"),
        ("lab", "eyJ2IjoibGFiIn0.AAAA".into(), "forged signature"),
        (
            "lab",
            MountToken::new("lab", "", None, now).encode(&other_key),
            "signed with another key",
        ),
        ("lab", tampered_payload, "tampered payload"),
        ("lab", tampered_tag, "tampered tag"),
        ("other", relabelled, "re-labelled payload"),
        ("lab", format!("{page}.x"), "extra segment"),
        (
            "lab",
            MountToken::new("lab", "", None, now - 7_200).encode(&signer),
            "expired (issued two hours ago)",
        ),
        (
            "lab",
            MountToken::new("lab", "", None, now + 3_600).encode(&signer),
            "issued in the future",
        ),
        ("other", page.clone(), "page token for another view"),
        (
            "lab",
            MountToken::new("other", "", None, now).encode(&signer),
            "signed for another view",
        ),
        (
            "lab",
            MountToken::new("lab", "", Some("2".into()), now).encode(&signer),
            "signed for another user",
        ),
        (
            "lab",
            MountToken::new("lab", "someone-elses-session", None, now).encode(&signer),
            "signed for another session",
        ),
    ];
    for (view, token, what) in cases {
        assert_mount_refused(addr, view, &token, what).await;
    }
    app.server.shutdown().await;
}

/// A tiny base64url (no padding) encoder, so the test needs no extra crate.
mod base64_like {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for index in 0..=chunk.len() {
                out.push(char::from(
                    ALPHABET[((n >> (18 - 6 * index)) & 63) as usize],
                ));
            }
        }
        out
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_with_a_short_ttl_too() {
    // `mount_token_ttl_secs` is the knob: a page token one second past a
    // one-second TTL is refused.
    let app = start(djust::Config {
        mount_token_ttl_secs: 1,
        ..test_config()
    })
    .await;
    let stale = MountToken::new("lab", "", None, now_unix() - 2).encode(&signer());
    assert_mount_refused(app.addr(), "lab", &stale, "older than the configured TTL").await;
    let fresh = MountToken::new("lab", "", None, now_unix()).encode(&signer());
    let mut socket = connect(app.addr()).await;
    send_mount(&mut socket, "lab", &fresh, "/").await;
    assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
    app.server.shutdown().await;
}

#[tokio::test]
async fn an_event_before_mount_is_an_error_and_the_socket_stays_open() {
    let app = start(test_config()).await;
    let mut socket = connect(app.addr()).await;
    send_json(&mut socket, &event("add", json!({ "by": 1 }), 5)).await;
    let error = recv(&mut socket).await.expect("error");
    assert_eq!(
        error,
        json!({ "type": "error", "error": generic(SafeError::NotMounted), "ref": 5 })
    );
    send_json(&mut socket, &json!({ "type": "request_html" })).await;
    assert_eq!(
        errors(&until_pong(&mut socket).await),
        [generic(SafeError::NotMounted)]
    );
    assert_eq!(app.hits(), 0);
    app.server.shutdown().await;
}

// --- Rate limits -------------------------------------------------------------

/// A deterministic flood: the bucket still holds 20 but refills at 1/s, so
/// 500 frames exceed it however slowly the server happens to process them.
/// (With the default 100/s a slow debug build on a loaded machine may drain
/// frames no faster than they refill.)
fn flood_config() -> djust::Config {
    djust::Config {
        rate_per_second: 1.0,
        reconnect_cooldown_secs: 1,
        ..test_config()
    }
}

async fn assert_rate_limited_close(socket: &mut Socket) -> Vec<Value> {
    let (code, frames) = until_close(socket).await;
    assert_eq!(code, Some(4429), "{frames:?}");
    let warnings: Vec<&Value> = frames
        .iter()
        .filter(|frame| frame["type"] == "rate_limit_exceeded")
        .collect();
    assert_eq!(warnings.len(), 3, "two warnings, then the closing notice");
    assert_eq!(
        frames.last().map(|frame| frame["type"].clone()),
        Some(json!("rate_limit_exceeded")),
        "nothing is handled after the closing notice"
    );
    frames
}

/// Refused during the cooldown, then accepted once it is over (bounded wait).
async fn assert_cooldown_then_recovery(addr: std::net::SocketAddr) {
    assert_eq!(
        connect_refused(addr, &[]).await,
        429,
        "a reconnect during the cooldown is refused"
    );
    let mut socket = connect_when_admitted(addr, &[]).await;
    assert!(until_pong(&mut socket).await.is_empty());
}
#[tokio::test]
async fn a_flood_of_500_events_warns_then_closes_4429_and_cools_down_the_ip() {
    let app = start(flood_config()).await;
    let addr = app.addr();
    let mut socket = mount_lab(addr).await;
    for index in 0..500 {
        feed(
            &mut socket,
            Message::text(event("hit", json!({}), index).to_string()),
        )
        .await;
    }
    flush(&mut socket).await;
    let frames = assert_rate_limited_close(&mut socket).await;
    wait_hangup(&mut socket).await;
    let patches = frames
        .iter()
        .filter(|frame| frame["type"] == "patch")
        .count();
    assert!(patches >= 1);
    assert_eq!(
        app.hits(),
        patches,
        "every handled event was answered and nothing ran after the close"
    );
    assert!(app.hits() < 500);
    assert_cooldown_then_recovery(addr).await;
    app.server.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_json_pings_counts_against_the_bucket() {
    let app = start(flood_config()).await;
    let addr = app.addr();
    let mut socket = connect(addr).await;
    for _ in 0..500 {
        feed(&mut socket, Message::text(r#"{"type":"ping"}"#)).await;
    }
    flush(&mut socket).await;
    let frames = assert_rate_limited_close(&mut socket).await;
    let pongs = frames
        .iter()
        .filter(|frame| frame["type"] == "pong")
        .count();
    assert!((1..500).contains(&pongs), "{pongs}");
    assert_cooldown_then_recovery(addr).await;
    app.server.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_websocket_ping_frames_counts_against_the_bucket() {
    let app = start(flood_config()).await;
    let addr = app.addr();
    let mut socket = connect(addr).await;
    for index in 0..500_u32 {
        feed(
            &mut socket,
            Message::Ping(index.to_be_bytes().to_vec().into()),
        )
        .await;
    }
    flush(&mut socket).await;
    let frames = assert_rate_limited_close(&mut socket).await;
    assert!(frames
        .iter()
        .all(|frame| frame["type"] == "rate_limit_exceeded"));
    assert_cooldown_then_recovery(addr).await;
    app.server.shutdown().await;
}

// --- Handlers over the wire ----------------------------------------------------

#[tokio::test]
async fn a_handler_panic_closes_only_that_socket_1011_with_a_generic_error() {
    let app = start(test_config()).await;
    let addr = app.addr();
    let mut victim = mount_lab(addr).await;
    let mut bystander = mount_lab(addr).await;
    send_json(&mut bystander, &event("add", json!({ "by": 2 }), 1)).await;
    assert_eq!(recv(&mut bystander).await.expect("patch")["type"], "patch");

    send_json(&mut victim, &event("boom", json!({}), 7)).await;
    let (code, frames) = until_close(&mut victim).await;
    assert_eq!(code, Some(1011));
    assert_eq!(errors(&frames), [generic(SafeError::HandlerFailed)]);
    let text = serde_json::to_string(&frames).expect("json");
    assert!(
        !text.contains("SECRETPANICTEXT") && !text.contains("panic"),
        "{text}"
    );

    // The other session keeps its state and keeps working.
    send_json(&mut bystander, &event("add", json!({ "by": 3 }), 2)).await;
    let patch = recv(&mut bystander).await.expect("patch");
    assert_eq!(patch["version"], 3, "{patch}");
    send_json(&mut bystander, &json!({ "type": "request_html" })).await;
    let update = recv(&mut bystander).await.expect("html_update");
    assert!(update["html"]
        .as_str()
        .unwrap_or_default()
        .contains("<p id=\"count\">5</p>"));
    // And new connections are still served.
    let mut fresh = mount_lab(addr).await;
    assert!(until_pong(&mut fresh).await.is_empty());
    app.server.shutdown().await;
}

#[tokio::test]
async fn unknown_handler_names_over_the_wire_are_error_frames() {
    let app = start(relaxed_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    let long = "a".repeat(10 * 1024);
    let names = [
        "mount",
        "render",
        "__init__",
        "Delete",
        "ADD",
        "аdd", // Cyrillic а
        "ad\u{200b}d",
        "add ",
        "add\u{0}",
        "",
        long.as_str(),
        "check_permissions",
        "dispatch",
        "handle_tick",
        "view",
        "meta",
        "../add",
        "add;rm",
        "hit.call",
    ];
    for (index, name) in names.iter().enumerate() {
        let reference = index as u64 + 100;
        send_json(&mut socket, &event(name, json!({ "by": 100 }), reference)).await;
        let frames = until_pong(&mut socket).await;
        assert_eq!(
            frames,
            [
                json!({ "type": "error", "error": generic(SafeError::UnknownEvent), "ref": reference })
            ],
            "{name:?}"
        );
    }
    send_json(&mut socket, &json!({ "type": "request_html" })).await;
    let update = recv(&mut socket).await.expect("html_update");
    assert_eq!(update["version"], 1, "no state changed");
    assert_eq!(app.hits(), 0);
    app.server.shutdown().await;
}

#[tokio::test]
async fn type_confusion_over_the_wire_gives_clean_errors_or_valid_results() {
    let app = start(relaxed_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    let cases: [(&str, &str, payloads::ParamKind); 7] = [
        ("add", "by", payloads::ParamKind::Integer),
        ("small", "value", payloads::ParamKind::Integer),
        ("small", "ratio", payloads::ParamKind::Float),
        ("small", "flag", payloads::ParamKind::Bool),
        ("rename", "label", payloads::ParamKind::String),
        ("set_flags", "flags", payloads::ParamKind::List),
        ("set_filter", "filter", payloads::ParamKind::Object),
    ];
    let handler_failed = generic(SafeError::HandlerFailed);
    let malformed = generic(SafeError::MalformedMessage);
    let mut sent = 0;
    for (handler, param, kind) in cases {
        for value in payloads::type_confusion(kind)
            .into_iter()
            .chain(payloads::type_confusion(payloads::ParamKind::Any))
        {
            let mut params = json!({
                "by": 1, "value": 1, "ratio": 1, "flag": true, "label": "x", "flags": [],
                "filter": { "field": "f", "limit": 1 }
            });
            params[param] = value.clone();
            let frame = event(handler, params, 1).to_string();
            if frame.len() > 65_536 {
                continue;
            }
            sent += 1;
            send_text(&mut socket, &frame).await;
            // `until_pong` panics on a close: no value may close the socket.
            let frames = until_pong(&mut socket).await;
            assert!(!frames.is_empty(), "{handler}({param}={value}): no answer");
            for error in errors(&frames) {
                let param_error = error.contains(&format!("'{param}'"));
                assert!(
                    param_error || error == handler_failed || error == malformed,
                    "unclear error for {handler}({param}={value}): {error}"
                );
                let shown = value.to_string();
                if shown.len() > 3 {
                    assert!(!error.contains(&shown), "error echoes the value: {error}");
                }
            }
            for frame in &frames {
                assert!(
                    matches!(
                        frame["type"].as_str(),
                        Some("error" | "patch" | "noop" | "html_update")
                    ),
                    "{frame}"
                );
            }
        }
    }
    assert!(sent > 100, "{sent}");
    app.server.shutdown().await;
}

#[tokio::test]
async fn error_frames_never_contain_the_params() {
    const CANARY: &str = "ZqxCanary7731";
    let app = start(relaxed_config()).await;
    let addr = app.addr();
    let mut seen: Vec<Value> = Vec::new();

    let mut socket = connect(addr).await;
    send_json(&mut socket, &event("add", json!({ "by": CANARY }), 1)).await;
    seen.extend(until_pong(&mut socket).await);
    let page = mount_token(&get(addr, "/").await.body);
    send_json(
        &mut socket,
        &json!({ "type": "mount", "view": "lab", "params": { "x": CANARY }, "url": "/", "mount_token": page }),
    )
    .await;
    seen.extend(until_pong(&mut socket).await);
    let hostile: Vec<(String, Value)> = vec![
        (CANARY.to_lowercase(), json!({ "by": CANARY })),
        ("add".into(), json!({ "by": CANARY })),
        ("add".into(), json!({ "by": [CANARY] })),
        ("add".into(), json!({ "by": { CANARY: CANARY } })),
        (
            "small".into(),
            json!({ "value": CANARY, "ratio": CANARY, "flag": CANARY }),
        ),
        (
            "small".into(),
            json!({ "value": format!("300{CANARY}"), "ratio": 1, "flag": true }),
        ),
        ("rename".into(), json!({ "label": "", "extra": CANARY })),
        ("rename".into(), json!({ "label": [CANARY] })),
        ("set_flags".into(), json!({ "flags": [CANARY] })),
        (
            "set_filter".into(),
            json!({ "filter": { "field": CANARY, "limit": CANARY } }),
        ),
        ("set_filter".into(), json!({ "filter": CANARY })),
    ];
    for (name, params) in &hostile {
        send_json(&mut socket, &event(name, params.clone(), 2)).await;
        seen.extend(until_pong(&mut socket).await);
    }
    for raw in [
        format!(r#"{{"type":"event","event":"add","params":{{"by":"{CANARY}""#),
        format!(r#"{{"type":"{CANARY}"}}"#),
        format!(
            r#"{{"type":"event","event":"add","params":{{"by":{}"{CANARY}"{}}}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        ),
    ] {
        send_text(&mut socket, &raw).await;
        seen.extend(until_pong(&mut socket).await);
    }
    // Frames that close: a panic, an oversize frame, an unknown view, a bad token.
    send_json(&mut socket, &event("boom", json!({ "x": CANARY }), 3)).await;
    seen.extend(until_close(&mut socket).await.1);
    let mut socket = mount_lab(addr).await;
    send_text(&mut socket, &format!("{CANARY}{}", "x".repeat(70_000))).await;
    seen.extend(until_close(&mut socket).await.1);
    let mut socket = connect(addr).await;
    send_mount(&mut socket, CANARY, &page, "/").await;
    seen.extend(until_close(&mut socket).await.1);
    let mut socket = connect(addr).await;
    send_mount(&mut socket, "lab", CANARY, &format!("/{CANARY}")).await;
    seen.extend(until_close(&mut socket).await.1);

    let error_count = seen.iter().filter(|frame| frame["type"] == "error").count();
    assert!(error_count >= hostile.len() + 6, "{seen:?}");
    for frame in &seen {
        let text = frame.to_string().to_lowercase();
        assert!(
            !text.contains(&CANARY.to_lowercase()),
            "a frame echoes client input: {frame}"
        );
    }
    app.server.shutdown().await;
}

// --- Nothing is processed after a close --------------------------------------

/// Mounts, pipelines `offending` followed by `hit` events in one write, and
/// checks the socket closes with `code` and no `hit` ever ran. The server's
/// task is awaited through the TCP hangup, so a server that went on
/// reading after deciding to close would have run the hits by then.
async fn assert_nothing_after(offending: Message, code: u16) {
    let app = start(relaxed_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    feed(&mut socket, offending).await;
    for index in 0..5 {
        feed(
            &mut socket,
            Message::text(event("hit", json!({}), index).to_string()),
        )
        .await;
    }
    flush(&mut socket).await;
    let (closed, frames) = until_close(&mut socket).await;
    assert_eq!(closed, Some(code), "{frames:?}");
    wait_hangup(&mut socket).await;
    assert!(
        frames.iter().all(|frame| frame["type"] == "error"),
        "{frames:?}"
    );
    assert_eq!(app.hits(), 0, "frames after the close were processed");
    app.server.shutdown().await;
}

#[tokio::test]
async fn no_frame_is_processed_after_a_1009_close() {
    assert_nothing_after(Message::text(padded_add(65_537)), 1009).await;
}

#[tokio::test]
async fn no_frame_is_processed_after_a_1003_close() {
    assert_nothing_after(Message::binary(b"{}".to_vec()), 1003).await;
}

#[tokio::test]
async fn no_frame_is_processed_after_a_4429_close() {
    // Frames right behind the closing violation find the bucket empty
    // anyway, so a server that kept reading would refuse them too. Hits
    // written 1.5 s later find it refilled: they reach the server before the
    // client has read (and answered) the close, and must still not run. They
    // are written to the TCP stream directly because the client will not
    // send after it has seen the close. The wait is not an assertion.
    let app = start(flood_config()).await;
    let mut socket = mount_lab(app.addr()).await;
    for index in 0..100 {
        feed(
            &mut socket,
            Message::text(event("hit", json!({}), index).to_string()),
        )
        .await;
    }
    flush(&mut socket).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for _ in 0..3 {
        write_raw_text(&mut socket, r#"{"type":"event","event":"hit","params":{}}"#).await;
    }
    let frames = assert_rate_limited_close(&mut socket).await;
    wait_hangup(&mut socket).await;
    let patches = frames
        .iter()
        .filter(|frame| frame["type"] == "patch")
        .count();
    assert_eq!(app.hits(), patches, "a hit ran after the 4429 close");
    app.server.shutdown().await;
}

#[tokio::test]
async fn no_frame_is_processed_after_a_4403_or_4404_close() {
    let app = start(relaxed_config()).await;
    let addr = app.addr();
    for (view, token, code) in [
        ("lab", "forged".to_owned(), 4403),
        ("nope", String::new(), 4404),
    ] {
        let good = mount_token(&get(addr, "/").await.body);
        let mounts_before = app.mounts();
        let mut socket = connect(addr).await;
        feed(
            &mut socket,
            Message::text(
                json!({ "type": "mount", "view": view, "params": {}, "url": "/", "mount_token": token })
                    .to_string(),
            ),
        )
        .await;
        // A valid mount right behind the refused one must not even start.
        feed(
            &mut socket,
            Message::text(
                json!({ "type": "mount", "view": "lab", "params": {}, "url": "/", "mount_token": good })
                    .to_string(),
            ),
        )
        .await;
        feed(
            &mut socket,
            Message::text(event("hit", json!({}), 1).to_string()),
        )
        .await;
        flush(&mut socket).await;
        let (closed, frames) = until_close(&mut socket).await;
        assert_eq!(closed, Some(code));
        assert_eq!(frames.len(), 1, "{frames:?}");
        wait_hangup(&mut socket).await;
        assert_eq!(
            app.mounts(),
            mounts_before,
            "a mount ran after the {code} close"
        );
    }
    assert_eq!(app.hits(), 0);
    app.server.shutdown().await;
}

// --- Timeouts and capacity -----------------------------------------------------

#[tokio::test]
async fn a_silent_socket_closes_4408_after_the_heartbeat_timeout() {
    let app = start(djust::Config {
        heartbeat_timeout_secs: 1,
        ..test_config()
    })
    .await;
    let mut idle = connect(app.addr()).await;
    let mut mounted = mount_lab(app.addr()).await;
    assert_eq!(closed_code(next(&mut idle).await), Some(4408));
    assert_eq!(closed_code(next(&mut mounted).await), Some(4408));
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    // One socket per IP, so a second connect is refused for as long as the
    // slow reader's connection lives; no event rate limit in the way.
    let app = start(djust::Config {
        send_timeout_secs: 1,
        max_connections_per_ip: 1,
        rate_per_second: 1_000_000.0,
        rate_burst: 1_000_000,
        ..test_config()
    })
    .await;
    let socket = mount_lab(app.addr()).await;
    // Events whose replies are ~60 KB patches, sent from a task (the writes
    // block once the server stops reading) and never read: the replies fill
    // the TCP buffers (a few MB on loopback) and the server's writes stall.
    let (mut sink, _unread) = futures_util::StreamExt::split(socket);
    let writer = tokio::spawn(async move {
        for n in 0..2_000u32 {
            let label = format!("{n}{}", "x".repeat(60_000));
            let frame = event("rename", json!({ "label": label }), u64::from(n));
            let sent = tokio::time::timeout(
                Duration::from_secs(5),
                futures_util::SinkExt::send(&mut sink, Message::text(frame.to_string())),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                return n;
            }
        }
        2_000
    });
    assert_eq!(
        connect_refused(app.addr(), &[]).await,
        429,
        "one socket per IP"
    );
    // Without the send timeout the stalled task would hold the IP's only
    // slot forever; with it the socket is dropped about a second after the
    // writes stall, and the IP can connect again.
    let mut reconnected = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Ok(mut socket) = try_connect(app.addr(), &[]).await {
            if let Incoming::Frame(frame) = next(&mut socket).await {
                assert_eq!(frame["type"], "connect", "{frame}");
                reconnected = true;
                break;
            }
        }
    }
    let events_written = writer.await.expect("writer");
    assert!(
        reconnected,
        "the slow reader still holds its slot ({events_written} events written)"
    );
    assert!(
        events_written < 2_000,
        "the server stopped reading the slow client"
    );
    app.server.shutdown().await;
}

fn closed_code(incoming: Incoming) -> Option<u16> {
    match incoming {
        Incoming::Closed(code) => code,
        other => panic!("expected a close, got {other:?}"),
    }
}

#[tokio::test]
async fn a_full_server_refuses_the_handshake_503() {
    let app = start(djust::Config {
        max_live_connections: 2,
        ..test_config()
    })
    .await;
    let mut first = connect(app.addr()).await;
    let _second = connect(app.addr()).await;
    assert_eq!(connect_refused(app.addr(), &[]).await, 503);
    assert!(until_pong(&mut first).await.is_empty());
    app.server.shutdown().await;
}
