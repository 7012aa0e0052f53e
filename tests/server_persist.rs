//! `#[live_view(persist)]` over real sockets: a view's state, sealed with
//! a key derived from the secret, waits in a shared store when its socket
//! drops or its server shuts down (1012), and the client resumes it on
//! another server of the same app. The client holds only its resume token.
//! Snapshots for another session, sealed with another key, or that no
//! longer fit the view are refused without a panic, and a fresh mount
//! follows.

mod support;

use std::sync::Arc;
use std::time::Duration;

use djust::prelude::*;
use djust::runtime::auth::Signer;
use djust::runtime::live::{
    seal_snapshot, MemoryViewStateStore, ResumeToken, Snapshot, Stored, ViewStateStore,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use support::*;
use tokio::sync::broadcast;

#[derive(Clone)]
struct Feed(broadcast::Sender<String>);

#[derive(Serialize, Deserialize)]
struct Draft {
    count: i64,
    title: String,
    seen: Vec<String>,
}

#[live_view(public, name = "draft", persist)]
impl Draft {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        if let Ok(feed) = ctx.state::<Feed>() {
            ctx.subscribe(feed.0.subscribe());
        }
        Ok(Draft {
            count: 0,
            title: String::new(),
            seen: Vec::new(),
        })
    }

    /// Back from a snapshot on another process: subscribe again.
    fn restored(&mut self, ctx: &mut MountCtx) {
        if let Ok(feed) = ctx.state::<Feed>() {
            ctx.subscribe(feed.0.subscribe());
        }
    }

    fn render(&self) -> Html {
        html! {
            <p id="count">{self.count}</p>
            <p id="title">{self.title}</p>
            <ul>for (index, line) in self.seen.iter().enumerate() key = index { <li>{line}</li> }</ul>
            <button dj-click="add">"+"</button>
        }
    }

    fn handle_info(&mut self, line: String) {
        self.seen.push(line);
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn add(&mut self) {
        self.count += 1;
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn retitle(&mut self, title: String) {
        self.title = title;
    }
}

struct Node {
    server: djust::Server,
    feed: broadcast::Sender<String>,
}

async fn node(store: Arc<MemoryViewStateStore>) -> Node {
    let (feed, _) = broadcast::channel(16);
    let server = App::new()
        .config(test_config())
        .state(Feed(feed.clone()))
        .view_state_store(store)
        .live("/", Draft::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    Node { server, feed }
}

async fn mount(addr: std::net::SocketAddr) -> (Socket, String) {
    let (socket, mounted) = mount_page(addr, "/", "draft").await;
    let token = mounted["resume_token"].as_str().expect("token").to_owned();
    (socket, token)
}

async fn resume(addr: std::net::SocketAddr, token: &str, version: u64) -> (Socket, Vec<Value>) {
    let mut socket = connect(addr).await;
    send_json(
        &mut socket,
        &json!({"type": "resume", "view": "draft", "token": token, "version": version}),
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

fn html(frames: &[Value]) -> String {
    frames
        .iter()
        .find(|frame| frame["type"] == "html_update")
        .and_then(|frame| frame["html"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_deploy_saves_the_view_and_another_process_resumes_it() {
    let store = Arc::new(MemoryViewStateStore::new(100));
    let a = node(store.clone()).await;
    let b = node(store.clone()).await;
    let (mut socket, token) = mount(a.server.local_addr()).await;
    send_event(&mut socket, "add", json!({}), 1).await;
    send_event(&mut socket, "retitle", json!({"title": "<b>plan</b>"}), 2).await;
    // SIGTERM on A: the state is saved before the socket closes with 1012.
    a.server.shutdown().await;
    let (code, _) = until_close(&mut socket).await;
    assert_eq!(code, Some(1012));
    assert_eq!(store.len(), 1, "one sealed snapshot waits");
    // The client reconnects to B and gets its view back.
    let (mut socket, frames) = resume(b.server.local_addr(), &token, 3).await;
    assert_eq!(kinds(&frames), ["resumed", "html_update"], "{frames:?}");
    let page = html(&frames);
    assert!(page.contains("<p id=\"count\">1</p>"), "{page}");
    assert!(page.contains("&lt;b&gt;plan&lt;/b&gt;"), "{page}");
    // The snapshot under the old id was taken; B now holds the view's copy
    // under the id of the token it just handed out.
    assert_eq!(store.len(), 1, "a snapshot is taken once");
    // It is live on B: events, and messages through the re-subscription.
    let frames = send_event(&mut socket, "add", json!({}), 4).await;
    assert_eq!(frames[0]["type"], "patch", "{frames:?}");
    b.feed.send("from B".to_owned()).expect("send");
    assert!(wait_for_text(&mut socket, "from B").await);
    // The old token is spent.
    let (_socket, frames) = resume(b.server.local_addr(), &token, 3).await;
    assert_eq!(kinds(&frames), ["resume_refused"]);
    b.server.shutdown().await;
}

#[tokio::test]
async fn a_dropped_socket_can_resume_on_another_process() {
    let store = Arc::new(MemoryViewStateStore::new(100));
    let a = node(store.clone()).await;
    let b = node(store.clone()).await;
    let (mut socket, token) = mount(a.server.local_addr()).await;
    send_event(&mut socket, "add", json!({}), 1).await;
    drop(socket);
    // Detached on A and sealed in the store.
    for _ in 0..100 {
        if !store.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.len(), 1);
    let (_socket, frames) = resume(b.server.local_addr(), &token, 2).await;
    assert_eq!(kinds(&frames), ["resumed", "html_update"], "{frames:?}");
    assert!(html(&frames).contains("<p id=\"count\">1</p>"));
    a.server.shutdown().await;
    b.server.shutdown().await;
}

/// A store holding one crafted snapshot, and a token for it.
async fn crafted(store: &MemoryViewStateStore, signer: &Signer, snapshot: Snapshot) -> String {
    // A fresh id each time: a resume marks its id taken, refused or not.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut token = ResumeToken::fresh("draft", now());
    token.id = format!("crafted-id-{n}");
    let sealed = seal_snapshot(signer, &token.id, &snapshot).expect("sealed");
    store
        .put(&token.id, sealed, Duration::from_secs(30))
        .await
        .expect("put");
    token.encode(signer)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

fn snapshot(state: &str, session: Option<&str>) -> Snapshot {
    Snapshot {
        view: "draft".into(),
        session_id: session.map(str::to_owned),
        user_id: None,
        url: "/".into(),
        version: 4,
        state: state.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn snapshots_that_do_not_fit_or_belong_elsewhere_fall_back_to_a_fresh_mount() {
    let store = Arc::new(MemoryViewStateStore::new(100));
    let b = node(store.clone()).await;
    let addr = b.server.local_addr();
    let signer = Signer::new(TEST_SECRET.as_bytes()).expect("signer");
    let good = r#"{"count":7,"title":"t","seen":[]}"#;
    let cases = [
        // The view's struct changed since the snapshot was taken.
        (
            "does not deserialize",
            snapshot(r#"{"counter":"seven"}"#, None),
            &signer,
        ),
        ("not JSON", snapshot("\u{0}garbage", None), &signer),
        (
            "another session",
            snapshot(good, Some("someone-else")),
            &signer,
        ),
    ];
    for (what, snapshot, signer) in cases {
        let token = crafted(&store, signer, snapshot).await;
        let (mut socket, frames) = resume(addr, &token, 4).await;
        assert_eq!(kinds(&frames), ["resume_refused"], "{what}: {frames:?}");
        // The socket is fine: a fresh mount works.
        let page = get(addr, "/").await;
        send_mount(&mut socket, "draft", &mount_token(&page.body), "/").await;
        assert_eq!(
            recv(&mut socket).await.expect("mount")["type"],
            "mount",
            "{what}"
        );
    }
    // Sealed with another key: never opened.
    let other = Signer::new(b"another-secret-key-with-at-least-32-bytes").expect("signer");
    let mut token = ResumeToken::fresh("draft", now());
    token.id = "other-key".to_owned();
    let sealed = seal_snapshot(&other, &token.id, &snapshot(good, None)).expect("sealed");
    store
        .put(&token.id, sealed, Duration::from_secs(30))
        .await
        .expect("put");
    let (_socket, frames) = resume(addr, &token.encode(&signer), 4).await;
    assert_eq!(kinds(&frames), ["resume_refused"], "{frames:?}");
    // And the well-formed one resumes.
    let token = crafted(&store, &signer, snapshot(good, None)).await;
    let (_socket, frames) = resume(addr, &token, 4).await;
    assert_eq!(kinds(&frames), ["resumed", "html_update"], "{frames:?}");
    assert!(html(&frames).contains("<p id=\"count\">7</p>"));
    b.server.shutdown().await;
}

#[test]
fn the_audit_lists_persisted_views() {
    let meta = <Draft as djust::LiveView>::meta();
    assert!(meta.persist);
    let report = djust::runtime::audit::audit(&[meta], &djust::Config::default());
    let text = report.to_text(false);
    assert!(text.contains("persist"), "{text}");
    let json = report.to_json();
    assert_eq!(json["audits"][0]["config"]["persist"], true, "{json}");
}

/// A view-state store that fails its next `failures` writes, then works.
struct Flaky {
    inner: MemoryViewStateStore,
    failures: std::sync::atomic::AtomicUsize,
}

impl ViewStateStore for Flaky {
    fn put<'a>(
        &'a self,
        id: &'a str,
        sealed: Vec<u8>,
        ttl: Duration,
    ) -> djust::runtime::limits::BoxFuture<'a, Result<Stored, djust::runtime::session::StoreError>>
    {
        use std::sync::atomic::Ordering;
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if failing {
            return Box::pin(std::future::ready(Err(
                djust::runtime::session::StoreError::Unavailable("injected".to_owned()),
            )));
        }
        self.inner.put(id, sealed, ttl)
    }

    fn take<'a>(
        &'a self,
        id: &'a str,
        keep_taken: Duration,
    ) -> djust::runtime::limits::BoxFuture<
        'a,
        Result<Option<Vec<u8>>, djust::runtime::session::StoreError>,
    > {
        self.inner.take(id, keep_taken)
    }

    fn remove<'a>(
        &'a self,
        id: &'a str,
    ) -> djust::runtime::limits::BoxFuture<'a, Result<(), djust::runtime::session::StoreError>>
    {
        self.inner.remove(id)
    }
}

/// Frames until the socket closes or a patch arrives, waiting through
/// silences (a reply held while the store fails).
async fn patch_or_close(socket: &mut Socket) -> (Option<u16>, Vec<Value>) {
    let mut frames = Vec::new();
    for _ in 0..10 {
        match next(socket).await {
            Incoming::Frame(frame) => {
                let patched = frame["type"] == "patch";
                frames.push(frame);
                if patched {
                    return (None, frames);
                }
            }
            Incoming::Closed(code) => return (code, frames),
            Incoming::Timeout => continue,
        }
    }
    (None, frames)
}

#[tokio::test]
async fn durable_wait_ms_decides_whether_a_reply_outlasts_a_failing_store() {
    // The same failure (the next write fails once, the one after works)
    // under two settings: no wait closes the socket unanswered (1013); a
    // wait long enough for the retry gets the reply.
    for (wait_ms, expect_reply) in [(0, false), (60_000, true)] {
        let store = Arc::new(Flaky {
            inner: MemoryViewStateStore::new(100),
            failures: std::sync::atomic::AtomicUsize::new(0),
        });
        let server = App::new()
            .config(djust::Config {
                durable_wait_ms: wait_ms,
                ..test_config()
            })
            .view_state_store(store.clone())
            .live("/", Draft::view())
            .bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (mut socket, _) = mount(server.local_addr()).await;
        store.failures.store(1, std::sync::atomic::Ordering::SeqCst);
        send_json(
            &mut socket,
            &json!({"type": "event", "event": "add", "params": {}, "ref": 1}),
        )
        .await;
        let (code, frames) = patch_or_close(&mut socket).await;
        if expect_reply {
            assert_eq!(code, None, "{wait_ms} ms: {frames:?}");
            assert!(
                frames.iter().any(|frame| frame["type"] == "patch"),
                "{wait_ms} ms: the reply came once the retry saved the state: {frames:?}"
            );
        } else {
            assert_eq!(code, Some(1013), "{wait_ms} ms: {frames:?}");
            assert!(
                frames.iter().all(|frame| frame["type"] != "patch"),
                "{wait_ms} ms: nothing acknowledged: {frames:?}"
            );
        }
        server.shutdown().await;
    }
}
