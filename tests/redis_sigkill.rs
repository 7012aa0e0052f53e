//! A server process killed with SIGKILL loses no acknowledged event of a
//! `#[live_view(persist)]` view (issue 20): every reply that acknowledges
//! a change leaves the process only after the view's sealed snapshot is in
//! Redis, so the clients of the killed process resume on another one with
//! everything they were answered for.
//!
//! The servers are child processes: this test binary (`harness = false`)
//! runs itself with `DJUST_SIGKILL_CHILD_REDIS=URL` set to serve one
//! persist counter on a free port (printing `listening ADDR`), and kills
//! the child with SIGKILL (`Child::kill`), which runs no code of it.
//! Each run starts its own `redis-server` (skipped with a reason without
//! one, unless `CI` is set), like the other `redis_*` tests.

mod support;

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use djust::prelude::*;
use futures_util::SinkExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use support::redis::RedisServer;
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// Set in a child: serve with this Redis URL instead of running the test.
const CHILD_ENV: &str = "DJUST_SIGKILL_CHILD_REDIS";

/// Printed by a child once it listens, followed by its address.
const LISTENING: &str = "listening ";

/// Users clicking while their process is killed.
const CLICKERS: usize = 12;

#[derive(Serialize, Deserialize)]
struct Tally {
    count: u64,
}

#[live_view(public, name = "tally", persist)]
impl Tally {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Tally { count: 0 })
    }

    fn render(&self) -> Html {
        html! {
            <p>{format!("[count={}]", self.count)}</p>
            <button dj-click="inc">"+1"</button>
        }
    }

    #[event_handler]
    fn inc(&mut self) {
        self.count += 1;
    }
}

/// The child: serves `Tally` at `/` with its state in Redis until killed.
fn serve(redis_url: String) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let server = App::new()
            .config(djust::Config {
                redis_url: Some(redis_url),
                // The clickers are one address and click without pause.
                max_connections_per_ip: 1_000,
                rate_per_second: 100_000.0,
                rate_burst: 10_000,
                ..test_config()
            })
            .live("/", Tally::view())
            .bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{LISTENING}{}", server.local_addr());
        std::future::pending::<()>().await;
    });
}

/// A server child process; killed (SIGKILL) on drop if still running.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(redis: &RedisServer) -> ServerProcess {
        let exe = std::env::current_exe().expect("test binary");
        let mut child = Command::new(exe)
            .env(CHILD_ENV, redis.url())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server child");
        let stdout = child.stdout.take().expect("child stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("child output");
        let addr = line
            .trim()
            .strip_prefix(LISTENING)
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("the server child did not start: {line:?}"));
        ServerProcess { child, addr }
    }

    /// SIGKILL: the process runs no code of its own after this.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The frames up to the one answering `reference`; `None` if the socket
/// ends first.
async fn until_reply(socket: &mut Socket, reference: u64) -> Option<Vec<Value>> {
    let mut frames = Vec::new();
    loop {
        match next(socket).await {
            Incoming::Frame(frame) => {
                let done = frame["ref"].as_u64() == Some(reference);
                frames.push(frame);
                if done {
                    return Some(frames);
                }
            }
            Incoming::Closed(_) | Incoming::Timeout => return None,
        }
    }
}

/// Sends `inc` with `reference`; `true` once its reply arrived.
async fn click(socket: &mut Socket, reference: u64) -> bool {
    let frame = json!({"type": "event", "event": "inc", "params": {}, "ref": reference});
    if socket.send(Message::text(frame.to_string())).await.is_err() {
        return false;
    }
    match until_reply(socket, reference).await {
        Some(frames) => {
            let reply = frames.last().expect("a reply");
            assert_eq!(reply["type"], "patch", "an acknowledged click: {frames:?}");
            true
        }
        None => false,
    }
}

/// Resumes `token` on `addr`: the count the page shows, or `None` when
/// the resume was refused.
async fn resumed_count(addr: SocketAddr, token: &str) -> Option<u64> {
    let mut socket = connect(addr).await;
    send_json(
        &mut socket,
        &json!({"type": "resume", "view": "tally", "token": token, "version": 1}),
    )
    .await;
    let frames = until_pong(&mut socket).await;
    match frames[0]["type"].as_str() {
        Some("resumed") => {}
        Some("resume_refused") => return None,
        other => panic!("unexpected answer to resume: {other:?} {frames:?}"),
    }
    let page = frames
        .iter()
        .find(|frame| frame["type"] == "html_update")
        .and_then(|frame| frame["html"].as_str())
        .unwrap_or_else(|| panic!("a resume from Redis sends the page: {frames:?}"));
    let count = page
        .split("[count=")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no count in {page}"));
    Some(count)
}

fn token_of(frame: &Value) -> String {
    frame["resume_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a resume token in {frame}"))
        .to_owned()
}

/// One user clicking until its socket dies: what was sent and acknowledged.
struct Clicker {
    token: String,
    sent: Arc<AtomicU64>,
    acknowledged: Arc<AtomicU64>,
}

async fn acknowledged_events_survive_sigkill() {
    let Some(redis) = RedisServer::start("redis_sigkill") else {
        return;
    };
    let mut a = ServerProcess::start(&redis);
    let b = ServerProcess::start(&redis);

    // Users who click without pause while A is killed.
    let mut clickers = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..CLICKERS {
        let (mut socket, mounted) = mount_page(a.addr, "/", "tally").await;
        let clicker = Clicker {
            token: token_of(&mounted),
            sent: Arc::default(),
            acknowledged: Arc::default(),
        };
        let (sent, acknowledged) = (clicker.sent.clone(), clicker.acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            let mut reference = 0;
            loop {
                reference += 1;
                sent.store(reference, Ordering::SeqCst);
                if !click(&mut socket, reference).await {
                    return;
                }
                acknowledged.store(reference, Ordering::SeqCst);
            }
        }));
        clickers.push(clicker);
    }

    // A user who resumed on A (its token rotated there) and has not
    // clicked since: the copy under the new token's id is what counts.
    let (mut socket, mounted) = mount_page(a.addr, "/", "tally").await;
    let first = token_of(&mounted);
    for reference in 1..=3 {
        assert!(click(&mut socket, reference).await);
    }
    drop(socket);
    let mut rotated = connect(a.addr).await;
    send_json(
        &mut rotated,
        &json!({"type": "resume", "view": "tally", "token": first, "version": 4}),
    )
    .await;
    let frames = until_pong(&mut rotated).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    let second = token_of(&frames[0]);

    // A user whose socket dropped: detached on A when it dies.
    let (mut socket, mounted) = mount_page(a.addr, "/", "tally").await;
    let detached = token_of(&mounted);
    for reference in 1..=2 {
        assert!(click(&mut socket, reference).await);
    }
    drop(socket);

    // A user who closed the page: the view ended, its copy with it.
    let (mut socket, mounted) = mount_page(a.addr, "/", "tally").await;
    let closed = token_of(&mounted);
    assert!(click(&mut socket, 1).await);
    socket.close(None).await.expect("close");
    let _ = until_close(&mut socket).await;

    // Kill A once every clicker has a few acknowledged clicks.
    for _ in 0..1_000 {
        if clickers
            .iter()
            .all(|c| c.acknowledged.load(Ordering::SeqCst) >= 5)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.kill();
    for task in tasks {
        task.await.expect("clicker");
    }

    // Every user of A resumes on B with all it was answered for (in
    // parallel: a resume first waits a moment for a view detaching on B).
    let counts = futures_util::future::join_all(
        clickers
            .iter()
            .map(|clicker| resumed_count(b.addr, &clicker.token)),
    )
    .await;
    for (index, (clicker, count)) in clickers.iter().zip(counts).enumerate() {
        let acknowledged = clicker.acknowledged.load(Ordering::SeqCst);
        let sent = clicker.sent.load(Ordering::SeqCst);
        assert!(acknowledged >= 5, "clicker {index} clicked");
        let count =
            count.unwrap_or_else(|| panic!("clicker {index}: resume refused after SIGKILL"));
        // The click in flight at the kill may or may not have been saved;
        // none that was answered is missing.
        assert!(
            (acknowledged..=sent).contains(&count),
            "clicker {index}: {count} counted, {acknowledged} acknowledged, {sent} sent"
        );
    }
    assert_eq!(resumed_count(b.addr, &second).await, Some(3), "rotated");
    assert_eq!(
        resumed_count(b.addr, &first).await,
        None,
        "the token used for the resume on A is spent"
    );
    assert_eq!(resumed_count(b.addr, &detached).await, Some(2), "detached");
    assert_eq!(
        resumed_count(b.addr, &closed).await,
        None,
        "a view closed by its user is not resumed"
    );
}

fn main() {
    if let Ok(url) = std::env::var(CHILD_ENV) {
        serve(url);
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(acknowledged_events_survive_sigkill());
    println!("test acknowledged_events_survive_sigkill ... ok");
}
