//! Reconnect grace over real sockets: a socket that drops without a close
//! from the user leaves its view detached; the client's next socket
//! resumes it with its resume token and gets what it missed (the patches
//! made meanwhile by `handle_info`, in order, or one `html_update`). Every
//! refusal (forged, reused, foreign, expired, after a user's close) falls
//! back to a fresh mount on the same socket, and the caps evict the oldest
//! detached views.

mod support;

use std::time::Duration;

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, User};
use serde_json::{json, Value};
use support::*;
use tokio::sync::broadcast;

/// A feed every mounted view subscribes to (app state).
#[derive(Clone)]
struct Feed(broadcast::Sender<String>);

struct Board {
    count: i64,
    lines: Vec<String>,
}

#[live_view(public, name = "board")]
impl Board {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        if let Ok(feed) = ctx.state::<Feed>() {
            ctx.subscribe(feed.0.subscribe());
        }
        Ok(Board {
            count: 0,
            lines: Vec::new(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="count">{self.count}</p>
            <ul>
                for (index, line) in self.lines.iter().enumerate() key = index {
                    <li>{line}</li>
                }
            </ul>
            <button dj-click="add">"+"</button>
        }
    }

    fn handle_info(&mut self, line: String) {
        self.lines.push(line);
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn add(&mut self) {
        self.count += 1;
    }
}

struct Private {
    count: i64,
}

#[live_view(login_required, name = "private")]
impl Private {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Private { count: 0 })
    }

    fn render(&self) -> Html {
        html! { <p id="count">{self.count}</p><button dj-click="add">"+"</button> }
    }

    #[event_handler]
    fn add(&mut self) {
        self.count += 1;
    }
}

struct Running {
    server: djust::Server,
    feed: broadcast::Sender<String>,
}

impl Running {
    fn addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }
}

async fn start(config: djust::Config) -> Running {
    let (feed, _) = broadcast::channel(64);
    let backend = MemoryAuthBackend::new();
    backend.insert(User::new("1", "alice"), quick_hash("alice-password"));
    backend.insert(User::new("2", "bob"), quick_hash("bob-password"));
    let server = App::new()
        .config(config)
        .auth(backend)
        .state(Feed(feed.clone()))
        .live("/", Board::view())
        .live("/private", Private::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    Running { server, feed }
}

/// A mounted board: the socket and its resume token.
async fn mount_board(addr: std::net::SocketAddr, headers: &[(&str, &str)]) -> (Socket, String) {
    let page = get(addr, "/").await;
    let mut socket = connect_with(addr, headers).await;
    send_mount(&mut socket, "board", &mount_token(&page.body), "/").await;
    let mounted = recv(&mut socket).await.expect("mount");
    (socket, resume_token(&mounted))
}

/// The resume token a `mount` frame hands out.
fn resume_token(mounted: &Value) -> String {
    assert_eq!(mounted["type"], "mount", "{mounted}");
    mounted["resume_token"].as_str().expect("token").to_owned()
}

/// Drops the TCP connection without a WebSocket close: what a network
/// failure looks like to the server.
fn drop_network(socket: Socket) {
    drop(socket);
}

/// Sends `resume` on a new socket and returns the reply frames up to a pong.
async fn resume(
    addr: std::net::SocketAddr,
    headers: &[(&str, &str)],
    view: &str,
    token: &str,
    version: u64,
) -> (Socket, Vec<Value>) {
    let mut socket = connect_with(addr, headers).await;
    send_json(
        &mut socket,
        &json!({"type": "resume", "view": view, "token": token, "version": version}),
    )
    .await;
    let frames = until_pong(&mut socket).await;
    (socket, frames)
}

fn kinds(frames: &[Value]) -> Vec<&str> {
    frames
        .iter()
        .map(|frame| frame["type"].as_str().unwrap_or_default())
        .collect()
}

/// Waits (bounded) until the server holds `count` detached views.
async fn detached(running: &Running, count: usize) {
    for _ in 0..100 {
        if running.server.detached_views().0 == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "expected {count} detached views, the server holds {:?}",
        running.server.detached_views()
    );
}

#[tokio::test]
async fn a_dropped_socket_resumes_with_the_messages_it_missed_in_order() {
    let running = start(test_config()).await;
    let addr = running.addr();
    let (mut socket, token) = mount_board(addr, &[]).await;
    let frames = send_event(&mut socket, "add", json!({}), 1).await;
    assert_eq!(frames[0]["version"], 2, "{frames:?}");
    drop_network(socket);
    detached(&running, 1).await;
    // Messages while the client is away are applied to the detached view.
    for line in ["first", "second", "third"] {
        running.feed.send(line.to_owned()).expect("send");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (mut socket, frames) = resume(addr, &[], "board", &token, 2).await;
    assert_eq!(kinds(&frames)[0], "resumed", "{frames:?}");
    let current = frames[0]["version"].as_u64().expect("version");
    assert_eq!(current, 5, "one version per message: {frames:?}");
    let patches: Vec<u64> = frames[1..]
        .iter()
        .map(|frame| {
            assert_eq!(frame["type"], "patch", "{frame}");
            frame["version"].as_u64().expect("version")
        })
        .collect();
    assert_eq!(patches, [3, 4, 5], "the missed patches, in order");
    assert_eq!(running.server.detached_views().0, 0);
    // The same view: its state and the messages are there.
    send_json(&mut socket, &json!({"type": "request_html"})).await;
    let html = recv(&mut socket).await.expect("html");
    let html = html["html"].as_str().expect("html");
    assert!(html.contains("<p id=\"count\">1</p>"), "{html}");
    assert!(html.contains("first") && html.contains("third"), "{html}");
    running.server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_missed_frames_from_before_the_drop_gets_the_whole_html() {
    let running = start(test_config()).await;
    let addr = running.addr();
    let (mut socket, token) = mount_board(addr, &[]).await;
    send_event(&mut socket, "add", json!({}), 1).await;
    drop_network(socket);
    detached(&running, 1).await;
    // The client says it only applied version 1 (version 2 was lost).
    let (_socket, frames) = resume(addr, &[], "board", &token, 1).await;
    assert_eq!(kinds(&frames), ["resumed", "html_update"], "{frames:?}");
    assert!(frames[1]["html"].as_str().expect("html").contains(">1</p>"));
    running.server.shutdown().await;
}

#[tokio::test]
async fn forged_reused_wrong_view_and_closed_tokens_are_refused_and_a_fresh_mount_follows() {
    let running = start(test_config()).await;
    let addr = running.addr();
    let (socket, first) = mount_board(addr, &[]).await;
    drop_network(socket);
    detached(&running, 1).await;
    for (what, view, token) in [
        ("forged", "board", "not-a-token".to_owned()),
        ("tampered", "board", format!("{first}x")),
        ("another view", "private", first.clone()),
        ("empty", "board", String::new()),
        ("huge", "board", "a".repeat(60_000)),
    ] {
        let (mut socket, frames) = resume(addr, &[], view, &token, 1).await;
        assert_eq!(kinds(&frames), ["resume_refused"], "{what}: {frames:?}");
        // The socket stays usable: a fresh mount works on it.
        let page = get(addr, "/").await;
        send_mount(&mut socket, "board", &mount_token(&page.body), "/").await;
        assert_eq!(
            recv(&mut socket).await.expect("mount")["type"],
            "mount",
            "{what}"
        );
        // Closed by the user: that view is not kept.
        socket.close(None).await.expect("close");
        wait_hangup(&mut socket).await;
    }
    assert_eq!(
        running.server.detached_views().0,
        1,
        "refusals leave the view waiting"
    );
    // The real token resumes once...
    let (socket, frames) = resume(addr, &[], "board", &first, 1).await;
    assert_eq!(kinds(&frames)[0], "resumed", "{frames:?}");
    let second = frames[0]["resume_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(second, first, "each resume rotates the token");
    drop_network(socket);
    detached(&running, 1).await;
    // ...and never twice.
    let (_socket, frames) = resume(addr, &[], "board", &first, 1).await;
    assert_eq!(kinds(&frames), ["resume_refused"], "reused: {frames:?}");
    let (mut socket, frames) = resume(addr, &[], "board", &second, 1).await;
    assert_eq!(kinds(&frames)[0], "resumed", "{frames:?}");
    let third = frames[0]["resume_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    // A close from the user ends the view: nothing to resume.
    socket.close(None).await.expect("close");
    wait_hangup(&mut socket).await;
    let (_socket, frames) = resume(addr, &[], "board", &third, 1).await;
    assert_eq!(
        kinds(&frames),
        ["resume_refused"],
        "after a close: {frames:?}"
    );
    running.server.shutdown().await;
}

#[tokio::test]
async fn another_user_cannot_take_a_detached_view() {
    let running = start(test_config()).await;
    let addr = running.addr();
    let alice = log_in(addr, "alice", "alice-password", "/private").await;
    let bob = log_in(addr, "bob", "bob-password", "/private").await;
    let (mut socket, mounted) = mount_page_as(addr, "/private", "private", &alice).await;
    let token = resume_token(&mounted);
    send_event(&mut socket, "add", json!({}), 1).await;
    drop_network(socket);
    detached(&running, 1).await;
    for (what, headers) in [
        ("bob", vec![("Cookie", bob.as_str())]),
        ("anonymous", vec![]),
    ] {
        let (_socket, frames) = resume(addr, &headers, "private", &token, 2).await;
        assert_eq!(kinds(&frames), ["resume_refused"], "{what}: {frames:?}");
    }
    // The view still waits for Alice, with its state.
    let (_socket, frames) = resume(addr, &[("Cookie", alice.as_str())], "private", &token, 1).await;
    assert_eq!(kinds(&frames), ["resumed", "html_update"], "{frames:?}");
    assert!(frames[1]["html"].as_str().expect("html").contains(">1</p>"));
    running.server.shutdown().await;
}

/// Found by `djust-soak` (BENCHMARKS.md, "Soak and faults"): a client can
/// reconnect before a busy server has noticed its old socket drop; the
/// resume must wait for the view to detach instead of refusing it.
#[tokio::test]
async fn a_resume_that_arrives_before_the_old_socket_is_noticed_waits_for_it() {
    let running = start(test_config()).await;
    let addr = running.addr();
    let (mut old, token) = mount_board(addr, &[]).await;
    send_event(&mut old, "add", json!({}), 1).await;
    let mut socket = connect_with(addr, &[]).await;
    send_json(
        &mut socket,
        &json!({"type": "resume", "view": "board", "token": token, "version": 2}),
    )
    .await;
    // The old socket is still open when the resume arrives; it drops after.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.server.detached_views().0, 0, "still attached");
    drop_network(old);
    let frames = until_pong(&mut socket).await;
    assert_eq!(kinds(&frames)[0], "resumed", "{frames:?}");
    send_json(&mut socket, &json!({"type": "request_html"})).await;
    let html = recv(&mut socket).await.expect("html");
    let html = html["html"].as_str().expect("html");
    assert!(html.contains("<p id=\"count\">1</p>"), "{html}");
    running.server.shutdown().await;
}

#[tokio::test]
async fn the_grace_window_ends() {
    let running = start(djust::Config {
        reconnect_grace_secs: 1,
        ..test_config()
    })
    .await;
    let addr = running.addr();
    let (socket, token) = mount_board(addr, &[]).await;
    drop_network(socket);
    detached(&running, 1).await;
    detached(&running, 0).await;
    let (_socket, frames) = resume(addr, &[], "board", &token, 1).await;
    assert_eq!(kinds(&frames), ["resume_refused"], "{frames:?}");
    running.server.shutdown().await;
}

#[tokio::test]
async fn without_a_grace_window_nothing_is_kept() {
    let running = start(djust::Config {
        reconnect_grace_secs: 0,
        ..test_config()
    })
    .await;
    let addr = running.addr();
    let page = get(addr, "/").await;
    let mut socket = connect(addr).await;
    send_mount(&mut socket, "board", &mount_token(&page.body), "/").await;
    let mounted = recv(&mut socket).await.expect("mount");
    assert_eq!(mounted["type"], "mount");
    assert!(
        mounted.get("resume_token").is_none(),
        "no resume token: {mounted}"
    );
    drop_network(socket);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(running.server.detached_views().0, 0);
    running.server.shutdown().await;
}

#[tokio::test]
async fn a_silent_half_open_socket_times_out_and_its_view_waits() {
    let running = start(djust::Config {
        heartbeat_timeout_secs: 1,
        ..test_config()
    })
    .await;
    let addr = running.addr();
    let (mut socket, token) = mount_board(addr, &[]).await;
    // The client says nothing: the server closes 4408 but keeps the view.
    let (code, _) = until_close(&mut socket).await;
    assert_eq!(code, Some(4408));
    detached(&running, 1).await;
    let (_socket, frames) = resume(addr, &[], "board", &token, 1).await;
    assert_eq!(kinds(&frames), ["resumed"], "{frames:?}");
    running.server.shutdown().await;
}

#[tokio::test]
async fn detached_views_are_capped_per_session_per_address_and_in_all() {
    // Per address (behind a trusted proxy, so addresses can differ).
    let running = start(djust::Config {
        trusted_proxies: 1,
        max_detached_per_ip: 2,
        ..test_config()
    })
    .await;
    let addr = running.addr();
    let from = [("X-Forwarded-For", "10.9.0.1")];
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let (socket, token) = mount_board(addr, &from).await;
        drop_network(socket);
        tokens.push(token);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    detached(&running, 2).await;
    let (_s, frames) = resume(addr, &from, "board", &tokens[0], 1).await;
    assert_eq!(kinds(&frames), ["resume_refused"], "the oldest went first");
    let (_s, frames) = resume(addr, &from, "board", &tokens[2], 1).await;
    assert_eq!(kinds(&frames), ["resumed"], "{frames:?}");
    // Another address has its own budget.
    let (socket, _) = mount_board(addr, &[("X-Forwarded-For", "10.9.0.2")]).await;
    drop_network(socket);
    detached(&running, 2).await;
    running.server.shutdown().await;

    // In all, by count.
    let running = start(djust::Config {
        max_detached_views: 1,
        ..test_config()
    })
    .await;
    let addr = running.addr();
    let (a, first) = mount_board(addr, &[]).await;
    drop_network(a);
    detached(&running, 1).await;
    let (b, second) = mount_board(addr, &[]).await;
    drop_network(b);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(running.server.detached_views().0, 1);
    let (_s, frames) = resume(addr, &[], "board", &first, 1).await;
    assert_eq!(kinds(&frames), ["resume_refused"]);
    let (_s, frames) = resume(addr, &[], "board", &second, 1).await;
    assert_eq!(kinds(&frames), ["resumed"]);
    running.server.shutdown().await;

    // In all, by memory: a view larger than the cap is not kept.
    let running = start(djust::Config {
        max_detached_bytes: 1,
        ..test_config()
    })
    .await;
    let addr = running.addr();
    let (socket, token) = mount_board(addr, &[]).await;
    drop_network(socket);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(running.server.detached_views(), (0, 0));
    let (_s, frames) = resume(addr, &[], "board", &token, 1).await;
    assert_eq!(kinds(&frames), ["resume_refused"]);
    running.server.shutdown().await;

    // Per session.
    let running = start(djust::Config {
        max_detached_per_session: 1,
        ..test_config()
    })
    .await;
    let addr = running.addr();
    let alice = log_in(addr, "alice", "alice-password", "/private").await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (socket, mounted) = mount_page_as(addr, "/private", "private", &alice).await;
        tokens.push(resume_token(&mounted));
        drop_network(socket);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    detached(&running, 1).await;
    let cookie = [("Cookie", alice.as_str())];
    let (_s, frames) = resume(addr, &cookie, "private", &tokens[0], 1).await;
    assert_eq!(kinds(&frames), ["resume_refused"]);
    let (_s, frames) = resume(addr, &cookie, "private", &tokens[1], 1).await;
    assert_eq!(kinds(&frames), ["resumed"]);
    running.server.shutdown().await;
}
