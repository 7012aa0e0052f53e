//! `#[live_view(persist)]` across two servers sharing Redis: a view saved
//! when its process shuts down (or its socket drops) resumes on the other
//! process; Redis holds only sealed bytes, taken once. Each test starts
//! its own `redis-server` (skipped with a reason without one, unless `CI`).
#![cfg(feature = "redis")]

mod support;

use std::time::Duration;

use djust::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use support::redis::RedisServer;
use support::*;

#[derive(Serialize, Deserialize)]
struct Cart {
    items: Vec<String>,
}

#[live_view(public, name = "cart", persist)]
impl Cart {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Cart { items: Vec::new() })
    }

    fn render(&self) -> Html {
        html! {
            <ul>for (index, item) in self.items.iter().enumerate() key = index { <li>{item}</li> }</ul>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn add(&mut self, item: String) {
        self.items.push(item);
    }
}

/// A cart without `#[rate_limit]` (whose Redis buckets fail closed while
/// Redis is down): its events only meet the view-state store.
#[derive(Serialize, Deserialize)]
struct Jot {
    items: Vec<String>,
}

#[live_view(public, name = "jot", persist)]
impl Jot {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Jot { items: Vec::new() })
    }

    fn render(&self) -> Html {
        html! {
            <ul>for (index, item) in self.items.iter().enumerate() key = index { <li>{item}</li> }</ul>
        }
    }

    #[event_handler]
    fn add(&mut self, item: String) {
        self.items.push(item);
    }
}

async fn server(redis: &RedisServer) -> djust::Server {
    App::new()
        .config(djust::Config {
            redis_url: Some(redis.url()),
            ..test_config()
        })
        .live("/", Cart::view())
        .live("/jot", Jot::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// The snapshots Redis holds under `djust:view:` (raw, sealed).
async fn snapshots(redis: &RedisServer) -> Vec<Vec<u8>> {
    let client = djust::runtime::redis::client::Client::open(redis.url()).expect("client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let keys: Vec<String> = djust::runtime::redis::client::cmd("KEYS")
        .arg("djust:view:*")
        .query_async(&mut connection)
        .await
        .expect("keys");
    let mut values = Vec::new();
    for key in keys {
        let value: Vec<u8> = djust::runtime::redis::client::cmd("GET")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .expect("get");
        // The mark a resume leaves on the id it took is not a snapshot.
        if value != TAKEN {
            values.push(value);
        }
    }
    values
}

/// What Redis holds under an id a resume took.
const TAKEN: &[u8] = b"taken";

/// Resumes on a new socket; returns it (open: dropping it would detach the
/// view again, and save it again) and the frames up to a pong.
async fn resume(addr: std::net::SocketAddr, token: &str) -> (Socket, Vec<Value>) {
    let mut socket = connect(addr).await;
    send_json(
        &mut socket,
        &json!({"type": "resume", "view": "cart", "token": token, "version": 1}),
    )
    .await;
    let frames = until_pong(&mut socket).await;
    (socket, frames)
}

#[tokio::test]
async fn a_view_saved_by_one_process_resumes_on_the_other_through_redis() {
    let Some(redis) = RedisServer::start("redis_persist") else {
        return;
    };
    let a = server(&redis).await;
    let b = server(&redis).await;
    let (mut socket, mounted) = mount_page(a.local_addr(), "/", "cart").await;
    let token = mounted["resume_token"].as_str().expect("token").to_owned();
    send_event(&mut socket, "add", json!({"item": "secret-sauce"}), 1).await;
    a.shutdown().await;
    let (code, _) = until_close(&mut socket).await;
    assert_eq!(code, Some(1012));
    // Redis holds one snapshot, sealed: the state is not readable there.
    let stored = snapshots(&redis).await;
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].windows(6).any(|window| window == b"secret"),
        "sealed, not plain"
    );
    let (_resumed, frames) = resume(b.local_addr(), &token).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    assert!(frames[1]["html"]
        .as_str()
        .unwrap_or_default()
        .contains("secret-sauce"));
    // Taken once: what Redis holds now is B's copy, under the new token's
    // id (written before `resumed` was sent).
    assert_eq!(snapshots(&redis).await.len(), 1, "taken once");
    let (_again, frames) = resume(b.local_addr(), &token).await;
    assert_eq!(frames[0]["type"], "resume_refused");
    b.shutdown().await;
}

#[tokio::test]
async fn a_dropped_socket_resumes_on_the_other_process_through_redis() {
    let Some(redis) = RedisServer::start("redis_persist_drop") else {
        return;
    };
    let a = server(&redis).await;
    let b = server(&redis).await;
    let (mut socket, mounted) = mount_page(a.local_addr(), "/", "cart").await;
    let token = mounted["resume_token"].as_str().expect("token").to_owned();
    send_event(&mut socket, "add", json!({"item": "kept"}), 1).await;
    drop(socket);
    for _ in 0..100 {
        if !snapshots(&redis).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_resumed, frames) = resume(b.local_addr(), &token).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    assert!(frames[1]["html"]
        .as_str()
        .unwrap_or_default()
        .contains("kept"));
    a.shutdown().await;
    b.shutdown().await;
}

/// Frames until the socket closes, waiting through silences (a reply held
/// while the store is down); the close code and the frames.
async fn until_closed_patiently(socket: &mut Socket) -> (Option<u16>, Vec<Value>) {
    let mut frames = Vec::new();
    for _ in 0..10 {
        match next(socket).await {
            Incoming::Frame(frame) => frames.push(frame),
            Incoming::Closed(code) => return (code, frames),
            Incoming::Timeout => continue,
        }
    }
    (None, frames)
}

#[tokio::test]
async fn a_change_redis_cannot_save_is_not_acknowledged() {
    let Some(mut redis) = RedisServer::start("redis_persist_down") else {
        return;
    };
    let a = server(&redis).await;
    let b = server(&redis).await;
    let (mut socket, mounted) = mount_page(a.local_addr(), "/jot", "jot").await;
    let token = mounted["resume_token"].as_str().expect("token").to_owned();
    let frames = send_event(&mut socket, "add", json!({"item": "kept"}), 1).await;
    assert_eq!(frames[0]["type"], "patch", "acknowledged: {frames:?}");
    // Redis goes away: the next change cannot be saved, so its reply never
    // comes; the socket closes with 1013 (try again later) instead.
    redis.kill();
    send_json(
        &mut socket,
        &json!({"type": "event", "event": "add", "params": {"item": "unsaved"}, "ref": 2}),
    )
    .await;
    let (code, frames) = until_closed_patiently(&mut socket).await;
    assert_eq!(code, Some(1013), "{frames:?}");
    assert!(
        frames.iter().all(|frame| frame["ref"] != 2),
        "the unsaved change was not acknowledged: {frames:?}"
    );
    // Redis is back (its append-only file kept the snapshot). On another
    // process the view comes back as saved: with every acknowledged change.
    redis.spawn();
    // (B refuses sockets with 429 until its Redis connection is back.)
    let mut resumed = connect_when_admitted(b.local_addr(), &[]).await;
    send_json(
        &mut resumed,
        &json!({"type": "resume", "view": "jot", "token": token, "version": 2}),
    )
    .await;
    let frames = until_pong(&mut resumed).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    let page = frames[1]["html"].as_str().unwrap_or_default();
    assert!(page.contains("kept") && !page.contains("unsaved"), "{page}");
    a.shutdown().await;
    b.shutdown().await;
}

// --- Ownership: a view restored on B is no longer A's to write -------------------

/// Lines from this process's feed (`handle_info`) and from events.
#[derive(Clone)]
struct Feed(tokio::sync::broadcast::Sender<String>);

#[derive(Serialize, Deserialize)]
struct Pad {
    lines: Vec<String>,
}

#[live_view(public, name = "pad", persist)]
impl Pad {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        if let Ok(feed) = ctx.state::<Feed>() {
            ctx.subscribe(feed.0.subscribe());
        }
        Ok(Pad { lines: Vec::new() })
    }

    fn restored(&mut self, ctx: &mut MountCtx) {
        if let Ok(feed) = ctx.state::<Feed>() {
            ctx.subscribe(feed.0.subscribe());
        }
    }

    fn render(&self) -> Html {
        html! {
            <ul>for (index, line) in self.lines.iter().enumerate() key = index { <li>{line}</li> }</ul>
        }
    }

    fn handle_info(&mut self, line: String) {
        self.lines.push(line);
    }

    #[event_handler]
    fn add(&mut self, line: String) {
        self.lines.push(line);
    }
}

/// A process serving `Pad` with its own feed.
async fn pad_server(
    redis: &RedisServer,
) -> (djust::Server, tokio::sync::broadcast::Sender<String>) {
    let (feed, _) = tokio::sync::broadcast::channel(16);
    let server = App::new()
        .config(djust::Config {
            redis_url: Some(redis.url()),
            ..test_config()
        })
        .state(Feed(feed.clone()))
        .live("/pad", Pad::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    (server, feed)
}

async fn resume_pad(addr: std::net::SocketAddr, token: &str) -> (Socket, Vec<Value>) {
    let mut socket = connect(addr).await;
    send_json(
        &mut socket,
        &json!({"type": "resume", "view": "pad", "token": token, "version": 1}),
    )
    .await;
    let frames = until_pong(&mut socket).await;
    (socket, frames)
}

fn page_of(frames: &[Value]) -> String {
    frames
        .iter()
        .filter_map(|frame| frame["html"].as_str())
        .collect::<Vec<_>>()
        .join("")
}

/// Waits until nothing in this process listens to `feed` any more (the
/// view that subscribed to it is gone); `false` if it never happens.
async fn unsubscribed(feed: &tokio::sync::broadcast::Sender<String>) -> bool {
    for _ in 0..250 {
        if feed.receiver_count() == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_detached_copy_on_a_cannot_overwrite_the_view_restored_on_b() {
    let Some(redis) = RedisServer::start("redis_persist_owner") else {
        return;
    };
    let (a, feed_a) = pad_server(&redis).await;
    let (b, feed_b) = pad_server(&redis).await;
    let (mut socket, mounted) = mount_page(a.local_addr(), "/pad", "pad").await;
    let token = mounted["resume_token"].as_str().expect("token").to_owned();
    let frames = send_event(&mut socket, "add", json!({"line": "typed-on-a"}), 1).await;
    assert_eq!(frames[0]["type"], "patch", "{frames:?}");
    // The network drops: A keeps the view detached (still subscribed to
    // its feed) while the client reconnects to B and resumes there.
    drop(socket);
    let (mut on_b, frames) = resume_pad(b.local_addr(), &token).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    assert!(page_of(&frames).contains("typed-on-a"), "{frames:?}");
    let token_b = frames[0]["resume_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(feed_b.receiver_count(), 1, "B's view subscribed again");

    // A's detached copy gets an update: its write-through is refused (the
    // id was taken), so it drops the copy instead of writing it back.
    feed_a
        .send("stale-from-a".to_owned())
        .expect("A's view listens");
    assert!(unsubscribed(&feed_a).await, "A dropped its detached copy");
    let held = snapshots(&redis).await;
    assert_eq!(held.len(), 1, "only B's copy: A wrote nothing back");

    // B's changes persist, and A's update is nowhere: B shuts down (saving
    // the view), and the client resumes on A from B's snapshot.
    let frames = send_event(&mut on_b, "add", json!({"line": "typed-on-b"}), 2).await;
    assert_eq!(frames[0]["type"], "patch", "{frames:?}");
    b.shutdown().await;
    let (code, _) = until_close(&mut on_b).await;
    assert_eq!(code, Some(1012));
    let (_on_a, frames) = resume_pad(a.local_addr(), &token_b).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    let page = page_of(&frames);
    assert!(
        page.contains("typed-on-a") && page.contains("typed-on-b"),
        "{page}"
    );
    assert!(!page.contains("stale-from-a"), "{page}");
    // The first token is spent everywhere: A no longer holds its copy.
    let (_again, frames) = resume_pad(a.local_addr(), &token).await;
    assert_eq!(frames[0]["type"], "resume_refused", "{frames:?}");
    a.shutdown().await;
}

#[tokio::test]
async fn a_change_on_a_socket_whose_view_moved_to_b_is_not_acknowledged() {
    let Some(redis) = RedisServer::start("redis_persist_moved") else {
        return;
    };
    let (a, _feed_a) = pad_server(&redis).await;
    let (b, _feed_b) = pad_server(&redis).await;
    let (mut old_socket, mounted) = mount_page(a.local_addr(), "/pad", "pad").await;
    let token = mounted["resume_token"].as_str().expect("token").to_owned();
    send_event(&mut old_socket, "add", json!({"line": "saved"}), 1).await;
    // The client resumed on B while A still holds the old socket (A has
    // not noticed it is gone: a half-open connection).
    let (mut on_b, frames) = resume_pad(b.local_addr(), &token).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    let token_b = frames[0]["resume_token"]
        .as_str()
        .expect("token")
        .to_owned();
    // A change through the old socket cannot be saved as A's: no reply,
    // and the socket closes with 4409 (the view moved).
    send_json(
        &mut old_socket,
        &json!({"type": "event", "event": "add", "params": {"line": "lost-on-a"}, "ref": 2}),
    )
    .await;
    let (code, frames) = until_closed_patiently(&mut old_socket).await;
    assert_eq!(code, Some(4409), "{frames:?}");
    assert!(
        frames.iter().all(|frame| frame["type"] != "patch"),
        "not acknowledged: {frames:?}"
    );
    // B's view, with B's changes, is the one that persists.
    send_event(&mut on_b, "add", json!({"line": "typed-on-b"}), 2).await;
    b.shutdown().await;
    let (_on_a, frames) = resume_pad(a.local_addr(), &token_b).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    let page = page_of(&frames);
    assert!(
        page.contains("saved") && page.contains("typed-on-b"),
        "{page}"
    );
    assert!(!page.contains("lost-on-a"), "{page}");
    a.shutdown().await;
}
