//! Two server processes sharing one Redis (issue 11 "Tests").
//!
//! "Two processes" are two `App::bind` servers in this test process, each
//! with its own Redis handle and stores (built from `DJUST_REDIS_URL`, i.e.
//! `Config::redis_url`), its own in-memory state and its own port; they
//! share nothing but the secret key and Redis, as separate processes would.
//! Each test starts its own `redis-server` on a free loopback port, so it
//! can kill and restart it and so per-IP counts of parallel tests do not
//! mix. Without `redis-server` the tests are skipped with a printed reason,
//! unless `CI` is set, where they fail.
#![cfg(feature = "redis")]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, User};
use djust::runtime::redis::{Redis, RedisBroadcast};
use djust::runtime::security::SafeError;
use djust::runtime::server::Server;
use serde_json::{json, Value};
use support::redis::RedisServer;
use support::*;

// --- The application ---------------------------------------------------------------

/// The chat bus of one process.
struct Bus(RedisBroadcast<String>);

struct Board {
    count: i64,
    lines: Vec<String>,
}

#[live_view(login_required, name = "board")]
impl Board {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let bus = ctx.state::<Bus>()?.0.subscribe();
        ctx.subscribe(bus);
        Ok(Board {
            count: 0,
            lines: Vec::new(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="count">{self.count}</p>
            <ul id="lines">
                for (index, line) in self.lines.iter().enumerate() key = index {
                    <li>{line}</li>
                }
            </ul>
        }
    }

    fn handle_info(&mut self, _ctx: &mut EventCtx, line: String) -> Result<()> {
        self.lines.push(line);
        Ok(())
    }

    /// Not rate limited: keeps working while Redis is down.
    #[event_handler]
    fn hit(&mut self) {
        self.count += 1;
    }

    /// Shared per-user budget: 3 at once, then one per ~17 minutes.
    #[event_handler]
    #[rate_limit(rate = 0.001, burst = 3, key = "user")]
    fn bump(&mut self) {
        self.count += 100;
    }

    /// Its own budget, for the outage test.
    #[event_handler]
    #[rate_limit(rate = 50, burst = 50, key = "user")]
    fn bump_often(&mut self) {
        self.count += 1_000;
    }

    /// Publishes to every process; the message is acknowledged only when
    /// Redis took it.
    #[event_handler]
    async fn say(&mut self, ctx: &mut EventCtx, text: String) -> Result<()> {
        let bus = ctx.state::<Bus>()?;
        match bus.0.publish(&text).await {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::bad_request(
                "message not sent: chat unavailable, retry",
            )),
        }
    }
}

fn backend() -> MemoryAuthBackend {
    let backend = MemoryAuthBackend::new();
    backend.insert(User::new("1", "alice"), quick_hash("alice-password"));
    backend.insert(User::new("2", "bob"), quick_hash("bob-password"));
    backend
}

/// One "process": its own stores from `DJUST_REDIS_URL`, its own bus.
async fn start_process(url: &str, max_per_ip: u32) -> (Server, RedisBroadcast<String>) {
    let redis = Redis::open(url).expect("redis url");
    let bus = RedisBroadcast::new(&redis, "board", 64).expect("bus");
    assert!(
        bus.wait_subscribed(Duration::from_secs(10)).await,
        "bus subscribed"
    );
    let config = djust::Config {
        redis_url: Some(url.to_owned()),
        max_connections_per_ip: max_per_ip,
        ..test_config()
    };
    let server = App::new()
        .config(config)
        .auth(backend())
        .state(Bus(bus.clone()))
        .live("/board", Board::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    (server, bus)
}

struct Cluster {
    a: Server,
    b: Server,
    bus_a: RedisBroadcast<String>,
    bus_b: RedisBroadcast<String>,
}

impl Cluster {
    async fn start(url: &str, max_per_ip: u32) -> Cluster {
        let (a, bus_a) = start_process(url, max_per_ip).await;
        let (b, bus_b) = start_process(url, max_per_ip).await;
        // The logout listeners subscribe in the background: give them a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
        Cluster { a, b, bus_a, bus_b }
    }

    async fn stop(self) {
        self.a.shutdown().await;
        self.b.shutdown().await;
    }
}

// --- Helpers -------------------------------------------------------------------------

async fn login_as(addr: SocketAddr, username: &str) -> String {
    log_in(addr, username, &format!("{username}-password"), "/board").await
}

/// 200 when `cookie` is logged in, 303 to the login page otherwise.
async fn board_status(addr: SocketAddr, cookie: &str) -> u16 {
    get_with_cookie(addr, "/board", cookie).await.status
}

async fn mount_board(addr: SocketAddr, cookie: &str) -> Socket {
    mount_page_as(addr, "/board", "board", cookie).await.0
}

fn is_error(frames: &[Value], error: SafeError) -> bool {
    errors(frames).contains(&generic(error))
}

fn is_patch(frames: &[Value]) -> bool {
    frames.iter().any(|frame| frame["type"] == "patch")
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

// --- Tests -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_on_a_is_valid_on_b_and_a_rate_limit_burst_on_a_limits_b() {
    let Some(redis) = RedisServer::start("login_and_rate") else {
        return;
    };
    let cluster = Cluster::start(&redis.url(), 10).await;
    let (a, b) = (cluster.a.local_addr(), cluster.b.local_addr());

    let alice = login_as(a, "alice").await;
    assert_eq!(board_status(b, &alice).await, 200, "session shared");
    let bob = login_as(b, "bob").await;
    assert_eq!(board_status(a, &bob).await, 200);
    assert_eq!(board_status(a, "djust_session=forged").await, 303);

    let mut on_a = mount_board(a, &alice).await;
    let mut on_b = mount_board(b, &alice).await;
    for reference in 1..=3 {
        let frames = send_event(&mut on_a, "bump", json!({}), reference).await;
        assert!(is_patch(&frames), "burst on A: {frames:?}");
    }
    let frames = send_event(&mut on_b, "bump", json!({}), 4).await;
    assert!(
        is_error(&frames, SafeError::RateLimited),
        "A's burst limits B: {frames:?}"
    );
    // Another user's budget is untouched.
    let mut bob_on_b = mount_board(b, &bob).await;
    assert!(is_patch(
        &send_event(&mut bob_on_b, "bump", json!({}), 5).await
    ));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_message_sent_through_a_reaches_a_client_mounted_on_b() {
    let Some(redis) = RedisServer::start("chat") else {
        return;
    };
    let cluster = Cluster::start(&redis.url(), 10).await;
    let (a, b) = (cluster.a.local_addr(), cluster.b.local_addr());
    let alice = login_as(a, "alice").await;
    let bob = login_as(b, "bob").await;
    let mut alice_on_a = mount_board(a, &alice).await;
    let mut bob_on_b = mount_board(b, &bob).await;

    let frames = send_event(&mut alice_on_a, "say", json!({ "text": "hello from A" }), 1).await;
    assert!(
        !frames.iter().any(|frame| frame["type"] == "error"),
        "{frames:?}"
    );
    assert!(
        wait_for_text(&mut bob_on_b, "hello from A").await,
        "B's view got the message"
    );
    // (A's own copy may already have arrived before the pong.)
    let seen = frames
        .iter()
        .any(|frame| frame.to_string().contains("hello from A"));
    assert!(
        seen || wait_for_text(&mut alice_on_a, "hello from A").await,
        "and A's own view too"
    );
    let _ = (&cluster.bus_a, &cluster.bus_b);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_on_a_closes_the_sessions_socket_on_b_with_4403() {
    let Some(redis) = RedisServer::start("logout") else {
        return;
    };
    let cluster = Cluster::start(&redis.url(), 10).await;
    let (a, b) = (cluster.a.local_addr(), cluster.b.local_addr());
    let alice = login_as(a, "alice").await;
    let bob = login_as(a, "bob").await;
    let mut alice_on_b = mount_board(b, &alice).await;
    let mut bob_on_b = mount_board(b, &bob).await;

    let csrf = csrf_from_page(&get_with_cookie(a, "/login", &alice).await.body).expect("csrf");
    let response = post_form(a, "/logout", Some(&alice), &[("csrf_token", &csrf)]).await;
    assert_eq!(response.status, 303);
    assert_eq!(board_status(b, &alice).await, 303, "logged out on B too");

    // The broadcast is asynchronous: B learns of it within moments.
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_json(
        &mut alice_on_b,
        &json!({ "type": "event", "event": "hit", "params": {}, "ref": 1 }),
    )
    .await;
    let (code, frames) = until_close(&mut alice_on_b).await;
    assert_eq!(code, Some(4403), "{frames:?}");
    assert!(is_error(&frames, SafeError::LoginRequired), "{frames:?}");
    // Bob's socket on B is untouched.
    assert!(is_patch(
        &send_event(&mut bob_on_b, "hit", json!({}), 2).await
    ));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_ip_limit_counts_connections_on_both_processes() {
    let Some(redis) = RedisServer::start("per_ip") else {
        return;
    };
    let cluster = Cluster::start(&redis.url(), 3).await;
    let (a, b) = (cluster.a.local_addr(), cluster.b.local_addr());
    let first = connect(a).await;
    let _second = connect(b).await;
    let _third = connect(a).await;
    // Each process alone holds at most 2: only the shared count refuses this.
    assert_eq!(connect_refused(b, &[]).await, 429);
    drop(first);
    // The slot is released by a task after the socket closes.
    eventually("a slot is released", || async {
        match try_connect(b, &[]).await {
            Ok(mut socket) => matches!(next(&mut socket).await, Incoming::Frame(_)),
            Err(_) => false,
        }
    })
    .await;
    let probe = Redis::open(&redis.url()).expect("url");
    let limiter = djust::runtime::redis::RedisIpLimiter::new(probe);
    // The probe sockets above are closed again: `_second` and `_third` remain.
    eventually("the count drops", || async {
        limiter.connections("127.0.0.1".parse().expect("ip")).await == Some(2)
    })
    .await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_shut_down_with_sockets_open_leaves_no_per_ip_count_behind() {
    let Some(redis) = RedisServer::start("per_ip_shutdown") else {
        return;
    };
    let cluster = Cluster::start(&redis.url(), 50).await;
    let a = cluster.a.local_addr();
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(connect(a).await);
    }
    let probe = djust::runtime::redis::RedisIpLimiter::new(Redis::open(&redis.url()).expect("url"));
    let ip = "127.0.0.1".parse().expect("ip");
    assert_eq!(probe.connections(ip).await, Some(20));
    // Stopping the processes closes the sockets (1012) and waits for their
    // slots to be released in Redis before returning.
    cluster.stop().await;
    let left = probe.connections(ip).await.unwrap_or(0);
    assert_eq!(left, 0, "slots counted after shutdown");
    drop(sockets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_limits_and_auth_fail_closed_mounted_views_keep_working_and_all_recovers() {
    let Some(mut redis) = RedisServer::start("outage") else {
        return;
    };
    let cluster = Cluster::start(&redis.url(), 10).await;
    let (a, b) = (cluster.a.local_addr(), cluster.b.local_addr());
    let alice = login_as(a, "alice").await;
    let mut on_b = mount_board(b, &alice).await;
    let mut on_a = mount_board(a, &alice).await;
    assert!(is_patch(
        &send_event(&mut on_b, "bump_often", json!({}), 1).await
    ));

    redis.kill();

    // Rate-limited handlers are refused (fail closed), with the usual frame.
    let frames = send_event(&mut on_b, "bump_often", json!({}), 2).await;
    assert!(is_error(&frames, SafeError::RateLimited), "{frames:?}");
    // Unlimited handlers of the mounted view keep working.
    assert!(is_patch(&send_event(&mut on_b, "hit", json!({}), 3).await));
    // A chat message is not acknowledged: the sender sees an error.
    let frames = send_event(&mut on_a, "say", json!({ "text": "lost?" }), 4).await;
    assert!(
        frames.iter().any(|frame| frame["type"] == "error"),
        "{frames:?}"
    );
    // Pages: the session cannot be loaded, so the request is anonymous.
    assert_eq!(board_status(a, &alice).await, 303);
    // New sockets: the shared per-IP limit cannot count them: refused.
    assert_eq!(connect_refused(b, &[]).await, 429);

    redis.restart();

    // Everything comes back without restarting the servers; the session
    // survived (Redis persisted it).
    eventually("sessions load again", || async {
        board_status(b, &alice).await == 200
    })
    .await;
    let mut recovered = false;
    for reference in 100..200 {
        if is_patch(&send_event(&mut on_b, "bump_often", json!({}), reference).await) {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "rate-limited handlers run again");
    eventually("new sockets are accepted", || async {
        match try_connect(a, &[]).await {
            Ok(mut socket) => matches!(next(&mut socket).await, Incoming::Frame(_)),
            Err(_) => false,
        }
    })
    .await;
    eventually("both buses resubscribed", || async {
        cluster.bus_a.is_subscribed() && cluster.bus_b.is_subscribed()
    })
    .await;
    let frames = send_event(&mut on_a, "say", json!({ "text": "after restart" }), 6).await;
    assert!(
        !frames.iter().any(|frame| frame["type"] == "error"),
        "{frames:?}"
    );
    assert!(wait_for_text(&mut on_b, "after restart").await);
    cluster.stop().await;
}

// --- Login budgets across processes (issue 16, hole 5) ---------------------------------

/// A "process" with the login budgets set by `tune`.
async fn start_login_process(url: &str, tune: impl FnOnce(&mut djust::Config)) -> Server {
    let mut config = djust::Config {
        redis_url: Some(url.to_owned()),
        ..test_config()
    };
    tune(&mut config);
    App::new()
        .config(config)
        .auth(backend())
        .live("/board", Board::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// A login attempt with a fresh CSRF pair: `(status, Retry-After)`.
async fn try_login(addr: SocketAddr, username: &str, password: &str) -> (u16, Option<u64>) {
    let page = get(addr, "/login").await;
    let cookie = set_cookie_pair(&page, CSRF_COOKIE).expect("CSRF cookie");
    let token = csrf_from_page(&page.body).expect("csrf");
    let response = post_form(
        addr,
        "/login",
        Some(&cookie),
        &[
            ("username", username),
            ("password", password),
            ("csrf_token", &token),
        ],
    )
    .await;
    let retry_after = response
        .header("retry-after")
        .and_then(|value| value.parse().ok());
    (response.status, retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_budgets_are_shared_by_every_process_and_fail_closed() {
    use djust::runtime::limits::{login_user_key, LoginThrottle, ThrottleRefusal};
    use djust::runtime::redis::RedisLoginThrottle;
    let Some(mut redis) = RedisServer::start("login_budgets") else {
        return;
    };
    let url = redis.url();

    // The store on its own: two handles (two processes) spend one budget.
    let first = RedisLoginThrottle::new(Redis::open(&url).expect("url"));
    let second = RedisLoginThrottle::new(Redis::open(&url).expect("url"));
    let key = "ip:192.0.2.7";
    assert_eq!(first.attempt(key, 3).await, Ok(()));
    assert_eq!(second.attempt(key, 3).await, Ok(()));
    assert_eq!(first.attempt(key, 3).await, Ok(()));
    let Err(ThrottleRefusal::Limited { retry_after }) = second.attempt(key, 3).await else {
        panic!("the fourth attempt across both processes is refused");
    };
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(20)).contains(&retry_after),
        "three a minute: {retry_after:?}"
    );
    let check = Redis::open(&url).expect("url");
    let ttl: i64 = check
        .query(djust::runtime::redis::client::cmd("PTTL").arg(format!("djust:login:{key}")))
        .await
        .expect("PTTL");
    assert!((1..=61_000).contains(&ttl), "the budget key expires: {ttl}");

    // Two servers: guesses for alice on either count against one budget.
    let a = start_login_process(&url, |c| c.login_per_user_per_minute = 2).await;
    let b = start_login_process(&url, |c| c.login_per_user_per_minute = 2).await;
    let (a, b) = (a, b);
    assert_eq!(try_login(a.local_addr(), "alice", "guess-1").await.0, 401);
    assert_eq!(try_login(b.local_addr(), "alice", "guess-2").await.0, 401);
    let (status, retry_after) = try_login(a.local_addr(), "Alice", "alice-password").await;
    assert_eq!(status, 429, "the third guess, on the other process");
    assert!(
        retry_after.is_some_and(|secs| (1..=30).contains(&secs)),
        "{retry_after:?}"
    );
    assert_eq!(
        try_login(b.local_addr(), "bob", "bob-password").await.0,
        303
    );
    // The key names a hash of the user name, never the name.
    let keys: Vec<String> = check
        .query(djust::runtime::redis::client::cmd("KEYS").arg("djust:login:*"))
        .await
        .expect("KEYS");
    assert!(
        keys.contains(&format!("djust:login:{}", login_user_key("alice"))),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .all(|key| !key.contains("alice") && !key.contains("bob")),
        "{keys:?}"
    );

    // Redis down: logins are refused (503, Retry-After), never unthrottled.
    redis.kill();
    let (status, retry_after) = try_login(a.local_addr(), "bob", "bob-password").await;
    assert_eq!(status, 503);
    assert!(retry_after.is_some());
    assert_eq!(
        first.attempt("ip:192.0.2.8", 3).await,
        Err(ThrottleRefusal::Unavailable)
    );
    a.shutdown().await;
    b.shutdown().await;
}
