//! The login path is bounded before any password is hashed (issue 23,
//! finding 2; issue 16, holes 4 and 5), over real TCP on 127.0.0.1:0 with
//! clients bound to other loopback addresses (127.0.0.x):
//!
//! * logins beyond the hashing queue get 503 with `Retry-After` at once,
//!   and no hash runs for them;
//! * the budgets per client address and per user name give 429 with
//!   `Retry-After`, and the process-wide budget 503, before hashing;
//! * anonymous GETs, of the login page or any other, keep no state: a flood
//!   of them creates no session and logs nobody out.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use djust::prelude::*;
use djust::runtime::auth::{AuthBackend, BoxFuture, MemoryAuthBackend, User};
use djust::runtime::session::{MemorySessionStore, SessionConfig};
use support::raw::*;
use support::*;

struct Private;

#[live_view(login_required, name = "private")]
impl Private {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Private)
    }

    fn render(&self) -> Html {
        html! { <p>"private"</p> }
    }
}

struct Public;

#[live_view(public, name = "public")]
impl Public {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Public)
    }

    fn render(&self) -> Html {
        html! { <p>"public"</p> }
    }
}

/// Counts the passwords checked (each is one hash) and holds each check
/// until the test opens the gate.
struct Counting {
    users: MemoryAuthBackend,
    hashes: Arc<AtomicUsize>,
    gate: tokio::sync::watch::Receiver<bool>,
}

impl AuthBackend for Counting {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Option<User>> {
        self.hashes.fetch_add(1, Ordering::SeqCst);
        let mut gate = self.gate.clone();
        Box::pin(async move {
            let _ = gate.wait_for(|open| *open).await;
            self.users.authenticate(username, password).await
        })
    }

    fn load_user<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<User>> {
        self.users.load_user(id)
    }
}

struct Running {
    server: djust::Server,
    hashes: Arc<AtomicUsize>,
    gate: tokio::sync::watch::Sender<bool>,
    sessions: Arc<MemorySessionStore>,
}

impl Running {
    fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

async fn start(gate_open: bool, tune: impl FnOnce(&mut djust::Config)) -> Running {
    let users = MemoryAuthBackend::new();
    users.insert(User::new("1", "alice"), quick_hash("alice-password"));
    users.insert(User::new("2", "bob"), quick_hash("bob-password"));
    let hashes = Arc::new(AtomicUsize::new(0));
    let (gate, gate_watch) = tokio::sync::watch::channel(gate_open);
    let mut config = test_config();
    tune(&mut config);
    let sessions = Arc::new(MemorySessionStore::new(SessionConfig {
        max_sessions: config.max_sessions,
        ..SessionConfig::default()
    }));
    let server = App::new()
        .config(config)
        .auth(Counting {
            users,
            hashes: hashes.clone(),
            gate: gate_watch,
        })
        .session_store(sessions.clone())
        .live("/private", Private::view())
        .live("/", Public::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    Running {
        server,
        hashes,
        gate,
        sessions,
    }
}

/// A CSRF cookie and its form token, as a browser gets them.
async fn csrf_pair(addr: SocketAddr) -> (String, String) {
    let page = get(addr, "/login").await;
    let cookie = set_cookie_pair(&page, CSRF_COOKIE).expect("CSRF cookie");
    let token = csrf_from_page(&page.body).expect("csrf field");
    (cookie, token)
}

/// A login attempt from `127.0.0.{source}`: `(status, Retry-After)`.
async fn attempt_from(
    source: u8,
    addr: SocketAddr,
    username: &str,
    password: &str,
) -> (Option<u16>, Option<u64>) {
    let (cookie, token) = csrf_pair(addr).await;
    let body = form_body(&[
        ("username", username),
        ("password", password),
        ("csrf_token", &token),
    ]);
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = connect_from(loopback(source), addr).await;
    send(&mut stream, request.as_bytes()).await;
    let ended = read_until_closed(&mut stream, HANG).await;
    let text = String::from_utf8_lossy(&ended.received).to_ascii_lowercase();
    let retry_after = text
        .lines()
        .find_map(|line| line.strip_prefix("retry-after:"))
        .and_then(|value| value.trim().parse().ok());
    (ended.status(), retry_after)
}

#[tokio::test]
async fn logins_beyond_the_hashing_queue_get_503_at_once_and_no_hash_runs() {
    let app = start(false, |c| {
        c.login_concurrency = 1;
        c.login_queue = 1;
        c.login_per_ip_per_minute = 1000;
        c.login_per_user_per_minute = 1000;
    })
    .await;
    let addr = app.addr();
    // One login hashes (held by the gate)...
    let first = tokio::spawn(attempt_from(1, addr, "alice", "wrong"));
    while app.hashes.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // ...five more arrive: one waits in the queue, four are refused, and
    // those four are answered while the gate is still closed.
    let more: Vec<_> = (2..7)
        .map(|source| tokio::spawn(attempt_from(source, addr, "alice", "wrong")))
        .collect();
    let deadline = tokio::time::Instant::now() + HANG;
    while more.iter().filter(|attempt| attempt.is_finished()).count() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "logins beyond the queue were not refused"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(app.hashes.load(Ordering::SeqCst), 1, "no hash ran for them");
    app.gate.send_replace(true);
    let mut statuses = Vec::new();
    for attempt in more {
        let (status, retry_after) = attempt.await.expect("attempt");
        if status == Some(503) {
            assert!(retry_after.is_some_and(|secs| secs >= 1), "{retry_after:?}");
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [Some(401), Some(503), Some(503), Some(503), Some(503)],
        "exactly one login fits in the queue"
    );
    assert_eq!(first.await.expect("first").0, Some(401));
    assert_eq!(app.hashes.load(Ordering::SeqCst), 2, "the queued one ran");
    app.server.shutdown().await;
}

#[tokio::test]
async fn the_per_address_budget_gives_429_with_retry_after_before_hashing() {
    let app = start(true, |c| {
        c.login_per_ip_per_minute = 3;
        c.login_per_user_per_minute = 1000;
    })
    .await;
    let addr = app.addr();
    for user in ["alice", "bob", "nobody"] {
        assert_eq!(attempt_from(9, addr, user, "wrong").await.0, Some(401));
    }
    let (status, retry_after) = attempt_from(9, addr, "carol", "wrong").await;
    assert_eq!(status, Some(429));
    // Three a minute: the next one in about 20 s.
    assert!(
        retry_after.is_some_and(|secs| (1..=20).contains(&secs)),
        "{retry_after:?}"
    );
    // The right password does not get through either, and nothing hashed.
    assert_eq!(
        attempt_from(9, addr, "alice", "alice-password").await.0,
        Some(429)
    );
    assert_eq!(app.hashes.load(Ordering::SeqCst), 3);
    // Another address has its own budget.
    assert_eq!(
        attempt_from(10, addr, "alice", "alice-password").await.0,
        Some(303)
    );
    app.server.shutdown().await;
}

#[tokio::test]
async fn the_per_user_budget_gives_429_from_every_address() {
    let app = start(true, |c| {
        c.login_per_ip_per_minute = 1000;
        c.login_per_user_per_minute = 2;
    })
    .await;
    let addr = app.addr();
    assert_eq!(
        attempt_from(21, addr, "alice", "guess-1").await.0,
        Some(401)
    );
    assert_eq!(
        attempt_from(22, addr, "alice", "guess-2").await.0,
        Some(401)
    );
    // A third guess for alice, from a third address, case and spaces changed.
    for (source, name) in [(23, "alice"), (24, "ALICE"), (25, " Alice ")] {
        let (status, retry_after) = attempt_from(source, addr, name, "guess-3").await;
        assert_eq!(status, Some(429), "{name:?}");
        assert!(
            retry_after.is_some_and(|secs| (1..=30).contains(&secs)),
            "{retry_after:?}"
        );
    }
    assert_eq!(app.hashes.load(Ordering::SeqCst), 2);
    // Another account is unaffected.
    assert_eq!(
        attempt_from(23, addr, "bob", "bob-password").await.0,
        Some(303)
    );
    app.server.shutdown().await;
}

#[tokio::test]
async fn the_process_wide_budget_gives_503_before_hashing() {
    let app = start(true, |c| c.login_per_minute = 2).await;
    let addr = app.addr();
    assert_eq!(attempt_from(31, addr, "alice", "wrong").await.0, Some(401));
    assert_eq!(attempt_from(32, addr, "bob", "wrong").await.0, Some(401));
    let (status, retry_after) = attempt_from(33, addr, "carol", "wrong").await;
    assert_eq!(status, Some(503));
    assert!(retry_after.is_some_and(|secs| secs >= 1), "{retry_after:?}");
    assert_eq!(app.hashes.load(Ordering::SeqCst), 2);
    app.server.shutdown().await;
}

/// Issue 16 hole 4: `GET /login` stored a session for every cookieless
/// request, so a flood of them evicted real users' sessions once the store
/// was full. Anonymous GETs now keep nothing on the server.
#[tokio::test]
async fn a_flood_of_cookieless_gets_keeps_no_state_and_logs_nobody_out() {
    let app = start(true, |c| c.max_sessions = 5).await;
    let addr = app.addr();
    let alice = log_in(addr, "alice", "alice-password", "/private").await;
    assert_eq!(app.sessions.len(), 1);
    for round in 0..20 {
        for path in [
            "/login",
            "/login?next=%2Fprivate",
            "/",
            "/private",
            "/nowhere",
        ] {
            let response = get(addr, path).await;
            assert!(
                matches!(response.status, 200 | 303 | 404),
                "{path}: {}",
                response.status
            );
            assert_eq!(
                set_cookie_pair(&response, "djust_session"),
                None,
                "{path} (round {round}) set a session cookie"
            );
        }
    }
    assert_eq!(app.sessions.len(), 1, "only alice's session exists");
    let page = get_with_cookie(addr, "/private", &alice).await;
    assert_eq!(page.status, 200, "alice is still logged in");
    // Failed logins keep nothing either.
    for _ in 0..3 {
        assert_eq!(attempt_from(41, addr, "bob", "wrong").await.0, Some(401));
    }
    assert_eq!(app.sessions.len(), 1);
    app.server.shutdown().await;
}
