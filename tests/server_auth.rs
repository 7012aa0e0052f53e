//! Authentication, sessions, permissions and CSRF over real HTTP and
//! WebSocket connections (issue 7 "Tests"): the login page and its CSRF
//! token, login with session-id rotation, open-redirect-proof `next`,
//! hostile cookies, `login_required` and `permission` at GET and at mount,
//! `#[permission_required]` handlers, logout closing the session's sockets,
//! and the CSRF guard in front of user routes (header or form field).
//! Login throttling and hashing admission are in `server_http_login.rs`.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, MountToken, Signer, User};
use djust::runtime::security::SafeError;
use djust::runtime::session::SessionCookie;
use serde_json::json;
use support::*;
use tokio_tungstenite::tungstenite::Message;
use warp::Filter;

struct Hits(Arc<AtomicUsize>);

struct Private {
    user: String,
    count: i64,
}

#[live_view(login_required, name = "private")]
impl Private {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        Ok(Private {
            user: ctx
                .user()
                .map(|user| user.username.clone())
                .unwrap_or_default(),
            count: 0,
        })
    }

    fn render(&self) -> Html {
        html! { <p id="user">{self.user}</p><p id="count">{self.count}</p> }
    }

    #[event_handler]
    fn hit(&mut self, ctx: &EventCtx) -> Result<()> {
        ctx.state::<Hits>()?.0.fetch_add(1, Ordering::SeqCst);
        self.count += 1;
        Ok(())
    }

    #[event_handler]
    #[permission_required("notes.admin")]
    fn admin_op(&mut self) {
        self.count = 1_000;
    }
}

struct Staff;

#[live_view(login_required, permission = "notes.view", name = "staff")]
impl Staff {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Staff)
    }

    fn render(&self) -> Html {
        html! { <p>"staff only"</p> }
    }
}

/// Pushes a patch every 100 ms without any client frame (like a live feed).
struct Feed {
    ticks: u64,
}

#[live_view(login_required, name = "feed", tick = 100)]
impl Feed {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Feed { ticks: 0 })
    }

    fn render(&self) -> Html {
        html! { <p id="ticks">{self.ticks}</p> }
    }

    fn handle_tick(&mut self) {
        self.ticks += 1;
    }
}

/// The app's broadcast channel (e.g. a chat room).
struct Room(tokio::sync::broadcast::Sender<String>);

/// Shows the latest message of the room; its socket gets one patch per message.
struct Inbox {
    last: String,
}

#[live_view(login_required, name = "inbox")]
impl Inbox {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let receiver = ctx.state::<Room>()?.0.subscribe();
        ctx.subscribe(receiver);
        Ok(Inbox {
            last: "nothing yet".to_owned(),
        })
    }

    fn render(&self) -> Html {
        html! { <p id="last">{self.last}</p> }
    }

    fn handle_info(&mut self, message: String) {
        self.last = message;
    }
}

struct Running {
    server: djust::Server,
    hits: Arc<AtomicUsize>,
    room: tokio::sync::broadcast::Sender<String>,
}

impl Running {
    fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

async fn start() -> Running {
    let backend = MemoryAuthBackend::new();
    backend.insert(
        User::new("1", "alice").with_permission("notes.view"),
        quick_hash("alice-password"),
    );
    backend.insert(User::new("2", "bob"), quick_hash("bob-password"));
    let hits = Arc::new(AtomicUsize::new(0));
    let (room, _) = tokio::sync::broadcast::channel(16);
    let echo = warp::path!("api" / "echo")
        .and(warp::method())
        .map(|method: warp::http::Method| format!("echo {method}"));
    let echo_form = warp::path!("api" / "echo_form")
        .and(warp::post())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::bytes())
        .map(|body: warp::hyper::body::Bytes| format!("form {}", String::from_utf8_lossy(&body)));
    // These tests log in dozens of times from 127.0.0.1, some as the same
    // user; the login budgets are tested on their own.
    let config = djust::Config {
        login_per_ip_per_minute: 10_000,
        login_per_user_per_minute: 10_000,
        ..test_config()
    };
    let server = App::new()
        .config(config)
        .auth(backend)
        .state(Hits(hits.clone()))
        .state(Room(room.clone()))
        .live("/private", Private::view())
        .live("/staff", Staff::view())
        .live("/feed", Feed::view())
        .live("/inbox", Inbox::view())
        .route(echo)
        .route(echo_form)
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    Running { server, hits, room }
}

fn signer() -> Signer {
    // As the server derives it from `Config::secret_key` (server/mod.rs).
    Signer::new(TEST_SECRET.as_bytes()).expect("test secret is long enough")
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A fresh visitor's double-submit pair from `GET /login`: `(CSRF cookie
/// pair, form token)`. No session exists for it.
async fn login_page(addr: SocketAddr) -> (String, String) {
    let page = get(addr, "/login").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(set_cookie_pair(&page, "djust_session"), None, "no session");
    let cookie = set_cookie_pair(&page, CSRF_COOKIE).expect("CSRF cookie");
    let csrf = csrf_from_page(&page.body).expect("csrf field");
    (cookie, csrf)
}

/// The CSRF token of the session behind `cookie` (the login form shows it).
async fn csrf_of(addr: SocketAddr, cookie: &str) -> String {
    let page = get_with_cookie(addr, "/login", cookie).await;
    assert!(
        page.headers_named("set-cookie").is_empty(),
        "the session behind the cookie is gone"
    );
    csrf_from_page(&page.body).expect("csrf field")
}

async fn post_login(
    addr: SocketAddr,
    cookie: Option<&str>,
    csrf: Option<&str>,
    username: &str,
    password: &str,
    next: &str,
) -> HttpResponse {
    let mut fields = vec![
        ("username", username),
        ("password", password),
        ("next", next),
    ];
    if let Some(csrf) = csrf {
        fields.push(("csrf_token", csrf));
    }
    post_form(addr, "/login", cookie, &fields).await
}

/// Logs in and returns `(pre-login cookie, post-login cookie, response)`.
async fn login_as(addr: SocketAddr, username: &str, next: &str) -> (String, String, HttpResponse) {
    let (before, csrf) = login_page(addr).await;
    let password = format!("{username}-password");
    let response = post_login(addr, Some(&before), Some(&csrf), username, &password, next).await;
    assert_eq!(response.status, 303, "{}", response.body);
    let after = set_cookie_pair(&response, "djust_session").expect("new session cookie");
    (before, after, response)
}

/// Whether `cookie` is logged in: `/private` serves the page instead of
/// redirecting to the login form.
async fn is_logged_in(addr: SocketAddr, cookie: &str) -> bool {
    let page = get_with_cookie(addr, "/private", cookie).await;
    match page.status {
        200 => true,
        303 => {
            assert_eq!(page.header("location"), Some("/login?next=%2Fprivate"));
            false
        }
        other => panic!("unexpected status {other}: {}", page.body),
    }
}

fn cookie_value(pair: &str) -> &str {
    pair.split_once('=').expect("name=value").1
}

fn session_id(pair: &str) -> String {
    SessionCookie::decode(&signer(), cookie_value(pair)).expect("our cookie")
}

/// Connects with `cookie` (if any) and mounts `view` with `token`.
async fn socket_as(addr: SocketAddr, cookie: Option<&str>) -> Socket {
    match cookie {
        Some(cookie) => connect_with(addr, &[("Cookie", cookie)]).await,
        None => connect(addr).await,
    }
}

/// GETs `path` as `cookie` and mounts its view on a socket with the same cookie.
async fn mount_as(addr: SocketAddr, cookie: &str, path: &str, view: &str) -> Socket {
    mount_page_as(addr, path, view, cookie).await.0
}

// --- Login page and CSRF -------------------------------------------------------

#[tokio::test]
async fn with_secure_cookies_the_csrf_cookie_is_host_prefixed_and_secure() {
    let server = App::new()
        .config(djust::Config {
            secure_cookies: true,
            ..test_config()
        })
        .auth(MemoryAuthBackend::new())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let page = get(server.local_addr(), "/login").await;
    assert_eq!(page.status, 200);
    let set_cookie = page.headers_named("set-cookie");
    assert_eq!(set_cookie.len(), 1, "{set_cookie:?}");
    let attributes: Vec<&str> = set_cookie[0].split(';').map(str::trim).collect();
    assert!(
        attributes[0].starts_with("__Host-djust_csrf="),
        "{attributes:?}"
    );
    // What browsers require of a `__Host-` cookie: Secure, Path=/, no Domain.
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&attribute), "{attributes:?}");
    }
    assert!(
        !attributes
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "{attributes:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_login_page_sets_a_csrf_cookie_and_stores_no_session() {
    let app = start().await;
    let addr = app.addr();
    let page = get(addr, "/login").await;
    assert_eq!(page.status, 200);
    let set_cookie = page.headers_named("set-cookie");
    assert_eq!(set_cookie.len(), 1, "{set_cookie:?}");
    let attributes: Vec<&str> = set_cookie[0].split(';').map(str::trim).collect();
    assert!(attributes[0].starts_with("djust_csrf="), "{attributes:?}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&attribute), "{attributes:?}");
    }
    assert!(!attributes.contains(&"Secure"), "not configured for TLS");
    assert!(page.header("content-security-policy").is_some());
    let csrf = csrf_from_page(&page.body).expect("csrf field");
    assert!(csrf.len() >= 22, "{csrf}");
    let cookie = set_cookie_pair(&page, CSRF_COOKIE).expect("cookie");
    assert!(
        !cookie.contains(&csrf),
        "the form shows a hash of the cookie, not the cookie"
    );

    // The same visitor keeps its cookie and token...
    let again = get_with_cookie(addr, "/login", &cookie).await;
    assert!(again.headers_named("set-cookie").is_empty());
    assert_eq!(csrf_from_page(&again.body), Some(csrf.clone()));
    // ...another visitor gets another pair, and neither is a session.
    let (other_cookie, other_csrf) = login_page(addr).await;
    assert_ne!(other_cookie, cookie);
    assert_ne!(other_csrf, csrf);
    assert!(!is_logged_in(addr, &cookie).await);
    // A forged or foreign CSRF cookie is replaced, not trusted.
    let forged = get_with_cookie(addr, "/login", "djust_csrf=forged.value").await;
    let replaced = set_cookie_pair(&forged, CSRF_COOKIE).expect("a new cookie");
    assert_ne!(replaced, "djust_csrf=forged.value");
    app.server.shutdown().await;
}

#[tokio::test]
async fn login_without_a_matching_csrf_token_is_403() {
    let app = start().await;
    let addr = app.addr();
    let (cookie, csrf) = login_page(addr).await;
    let (other_cookie, other_csrf) = login_page(addr).await;
    let same_length_wrong = "A".repeat(csrf.len());
    let (_, alice, _) = login_as(addr, "alice", "/").await;
    let alice_csrf = csrf_of(addr, &alice).await;
    let session_as_csrf = format!("djust_csrf={}", cookie_value(&alice));
    let cases: [(Option<&str>, Option<&str>, &str); 10] = [
        (Some(&cookie), None, "missing token"),
        (Some(&cookie), Some(""), "empty token"),
        (Some(&cookie), Some(&same_length_wrong), "wrong token"),
        (Some(&cookie), Some("x"), "wrong-length token"),
        (Some(&cookie), Some(&other_csrf), "another visitor's token"),
        (None, Some(&csrf), "no CSRF cookie"),
        (
            Some("djust_csrf=garbage"),
            Some(&csrf),
            "garbage CSRF cookie",
        ),
        (
            Some(&other_cookie),
            Some(&csrf),
            "token of the other cookie",
        ),
        (
            Some(&session_as_csrf),
            Some(&alice_csrf),
            "a session cookie is not a CSRF cookie",
        ),
        (
            Some(&cookie),
            Some(&alice_csrf),
            "a session's token without the session",
        ),
    ];
    for (cookie_header, token, what) in cases {
        let response = post_login(
            addr,
            cookie_header,
            token,
            "alice",
            "alice-password",
            "/private",
        )
        .await;
        assert_eq!(response.status, 403, "{what}");
        assert!(response.body.contains("CSRF"), "{what}: a clear page");
        assert!(
            response.headers_named("set-cookie").is_empty(),
            "{what}: no session change"
        );
    }
    assert!(!is_logged_in(addr, &cookie).await);
    assert!(!is_logged_in(addr, &other_cookie).await);
    // Control: the same credentials with the right token log in.
    let response = post_login(
        addr,
        Some(&cookie),
        Some(&csrf),
        "alice",
        "alice-password",
        "/private",
    )
    .await;
    assert_eq!(response.status, 303);
    app.server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_401_and_does_not_upgrade_the_session() {
    let app = start().await;
    let addr = app.addr();
    let (cookie, csrf) = login_page(addr).await;
    for (username, password) in [
        ("alice", "wrong"),
        ("alice", ""),
        ("alice", "bob-password"),
        ("bob", "alice-password"),
        ("ALICE", "alice-password"),
    ] {
        let response = post_login(
            addr,
            Some(&cookie),
            Some(&csrf),
            username,
            password,
            "/private",
        )
        .await;
        assert_eq!(response.status, 401, "{username}/{password}");
        assert!(response.body.contains("Invalid username or password."));
        assert!(response.headers_named("set-cookie").is_empty());
        assert!(!response.body.contains(password) || password.is_empty());
        assert!(!is_logged_in(addr, &cookie).await);
    }
    app.server.shutdown().await;
}

#[tokio::test]
async fn login_redirects_to_next_with_a_new_session_id() {
    let app = start().await;
    let addr = app.addr();
    let (csrf_cookie, csrf_token) = login_page(addr).await;
    let response = post_login(
        addr,
        Some(&csrf_cookie),
        Some(&csrf_token),
        "alice",
        "alice-password",
        "/private?tab=1",
    )
    .await;
    assert_eq!(response.status, 303);
    assert_eq!(response.header("location"), Some("/private?tab=1"));
    let first = set_cookie_pair(&response, "djust_session").expect("new cookie");
    assert!(is_logged_in(addr, &first).await);
    let page = get_with_cookie(addr, "/private", &first).await;
    assert!(page.body.contains("<p id=\"user\">alice</p>"));
    // Logging in again from a live session rotates it: a new id, a new
    // CSRF token, and the old id (which an attacker may have planted or
    // seen) is worthless afterwards.
    let first_csrf = csrf_of(addr, &first).await;
    let response = post_login(
        addr,
        Some(&first),
        Some(&first_csrf),
        "alice",
        "alice-password",
        "/private",
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);
    let second = set_cookie_pair(&response, "djust_session").expect("rotated cookie");
    assert_ne!(
        session_id(&first),
        session_id(&second),
        "session id rotated"
    );
    assert!(is_logged_in(addr, &second).await);
    assert!(!is_logged_in(addr, &first).await);
    assert_ne!(csrf_of(addr, &second).await, first_csrf);
    app.server.shutdown().await;
}

#[tokio::test]
async fn open_redirects_in_next_land_on_the_root() {
    let app = start().await;
    let addr = app.addr();
    let attacks = [
        "//evil.com",
        "https://evil.com",
        "http://evil.com/private",
        "/\\evil.com",
        "\\\\evil.com",
        "%2F%2Fevil.com",
        "/%2F%2Fevil.com",
        "/%2f%5cevil.com",
        "///evil.com",
        "/\t/evil.com",
        "/private\r\nSet-Cookie: hacked=1",
        "/private%0d%0aSet-Cookie:%20hacked=1",
        "/\r\nLocation: https://evil.com",
        "javascript:alert(1)",
        "https:evil.com",
        "/../evil",
        "/%2e%2e/evil",
        "evil.com",
        "",
    ];
    for next in attacks {
        let (_, _, response) = login_as(addr, "alice", next).await;
        assert_eq!(response.header("location"), Some("/"), "{next:?}");
        assert!(
            response
                .headers_named("set-cookie")
                .iter()
                .all(|cookie| !cookie.contains("hacked")),
            "{next:?}"
        );
        // The login form does not carry it either.
        let query: String = next
            .bytes()
            .map(|byte| format!("%{byte:02X}"))
            .collect::<String>();
        let page = get(addr, &format!("/login?next={query}")).await;
        assert_eq!(page.status, 200, "{next:?}");
        assert!(
            page.body.contains("name=\"next\" value=\"/\""),
            "{next:?} shown in the form"
        );
    }
    // Control: a same-origin path with a query survives.
    let (_, _, response) = login_as(addr, "alice", "/staff?x=%20y&z=1").await;
    assert_eq!(response.header("location"), Some("/staff?x=%20y&z=1"));
    app.server.shutdown().await;
}

#[tokio::test]
async fn tampered_garbage_and_huge_cookies_are_anonymous() {
    let app = start().await;
    let addr = app.addr();
    let (_, good, _) = login_as(addr, "alice", "/").await;
    assert!(is_logged_in(addr, &good).await, "control");
    let value = cookie_value(&good);
    let (payload, tag) = value.split_once('.').expect("payload.tag");
    let flip = |text: &str, index: usize| {
        let mut bytes = text.as_bytes().to_vec();
        bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ascii")
    };
    let other_key = Signer::new(&[9_u8; 32]).expect("key");
    let large = format!("djust_session={}", "A".repeat(8 * 1024));
    let cases = [
        format!("djust_session={}.{tag}", flip(payload, 2)),
        format!("djust_session={payload}.{}", flip(tag, 5)),
        format!("djust_session={value}x"),
        format!("djust_session={payload}"),
        format!(
            "djust_session={}",
            SessionCookie::encode(&other_key, &session_id(&good))
        ),
        // A valid mount token is not a session cookie (purpose separation).
        format!(
            "djust_session={}",
            MountToken::new("private", session_id(&good), Some("1".into()), now_unix())
                .encode(&signer())
        ),
        format!("djust_sessionx={value}"),
        format!("Djust_Session={value}"),
        "djust_session=garbage".to_owned(),
        "djust_session=".to_owned(),
        "djust_session=..".to_owned(),
        large,
    ];
    for cookie in &cases {
        let page = get_with_cookie(addr, "/private", cookie).await;
        let shown = &cookie[..cookie.len().min(80)];
        assert_eq!(page.status, 303, "{shown}");
        assert_eq!(
            page.header("location"),
            Some("/login?next=%2Fprivate"),
            "{shown}"
        );
        assert!(!page.body.contains("alice"), "{shown}");
    }
    // A cookie past the request-head limit (16 KiB) is refused before any
    // route reads it.
    let huge = format!("djust_session={}", "A".repeat(100 * 1024));
    assert_eq!(get_with_cookie(addr, "/private", &huge).await.status, 431);
    // None of that disturbed the real session.
    assert!(is_logged_in(addr, &good).await);
    app.server.shutdown().await;
}

// --- Views: login_required and permission ------------------------------------

#[tokio::test]
async fn a_login_required_view_redirects_anonymous_gets_to_login_with_next() {
    let app = start().await;
    let addr = app.addr();
    let page = get(addr, "/private?tab=2").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location"),
        Some("/login?next=%2Fprivate%3Ftab%3D2")
    );
    assert!(
        page.headers_named("set-cookie").is_empty(),
        "no state for anonymous GETs"
    );
    assert!(!page.body.contains("data-djust-token"));
    app.server.shutdown().await;
}

#[tokio::test]
async fn a_view_permission_is_403_for_users_lacking_it() {
    let app = start().await;
    let addr = app.addr();
    let (_, bob, _) = login_as(addr, "bob", "/").await;
    let denied = get_with_cookie(addr, "/staff", &bob).await;
    assert_eq!(denied.status, 403);
    assert!(denied.body.contains("Permission denied"));
    assert!(!denied.body.contains("data-djust-token"), "no mount token");
    assert!(!denied.body.contains("staff only"));
    let (_, alice, _) = login_as(addr, "alice", "/").await;
    let allowed = get_with_cookie(addr, "/staff", &alice).await;
    assert_eq!(allowed.status, 200);
    assert!(allowed.body.contains("staff only"));
    let anonymous = get(addr, "/staff").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), Some("/login?next=%2Fstaff"));
    app.server.shutdown().await;
}

#[tokio::test]
async fn an_anonymous_mount_of_a_login_required_view_navigates_to_login_then_closes_4403() {
    let app = start().await;
    let addr = app.addr();
    // An anonymous GET is redirected and carries no token, so sign a valid
    // anonymous one: the refusal below is about login, not the token.
    let token = MountToken::new("private", "", None, now_unix()).encode(&signer());
    let mut socket = connect(addr).await;
    send_mount(&mut socket, "private", &token, "/private?tab=3").await;
    let (code, frames) = until_close(&mut socket).await;
    assert_eq!(
        frames,
        [json!({ "type": "navigate", "to": "/login?next=%2Fprivate%3Ftab%3D3" })]
    );
    assert_eq!(code, Some(4403));

    // A hostile url in the mount frame does not make the navigation leave
    // the site: it is no route of the view, so the mount is refused.
    let mut socket = connect(addr).await;
    send_mount(&mut socket, "private", &token, "//evil.com").await;
    let (code, frames) = until_close(&mut socket).await;
    assert_eq!(
        frames,
        [json!({ "type": "error", "error": "No live view is served at this path" })]
    );
    assert_eq!(code, Some(4404));
    app.server.shutdown().await;
}

#[tokio::test]
async fn a_mount_without_the_view_permission_is_an_error_then_4403() {
    let app = start().await;
    let addr = app.addr();
    let (_, bob, _) = login_as(addr, "bob", "/").await;
    // Bob's GET of /staff is a 403 page without a token; a token he could
    // not have obtained, signed for his own session, still gets him nowhere.
    let token =
        MountToken::new("staff", session_id(&bob), Some("2".into()), now_unix()).encode(&signer());
    let mut socket = socket_as(addr, Some(&bob)).await;
    send_mount(&mut socket, "staff", &token, "/staff").await;
    let (code, frames) = until_close(&mut socket).await;
    assert_eq!(errors(&frames), [generic(SafeError::PermissionDenied)]);
    assert_eq!(code, Some(4403));
    app.server.shutdown().await;
}

#[tokio::test]
async fn mount_tokens_of_another_user_or_session_close_4403() {
    let app = start().await;
    let addr = app.addr();
    let (_, alice, _) = login_as(addr, "alice", "/").await;
    let (_, bob, _) = login_as(addr, "bob", "/").await;
    let alice_token = mount_token(&get_with_cookie(addr, "/private", &alice).await.body);
    let refused = [
        (Some(bob.as_str()), "alice's token on bob's socket"),
        (None, "alice's token on an anonymous socket"),
    ];
    for (cookie, what) in refused {
        let mut socket = socket_as(addr, cookie).await;
        send_mount(&mut socket, "private", &alice_token, "/private").await;
        let (code, frames) = until_close(&mut socket).await;
        assert_eq!(
            errors(&frames),
            [generic(SafeError::InvalidMountToken)],
            "{what}"
        );
        assert_eq!(code, Some(4403), "{what}");
    }
    // Same session, another user: the user field is checked on its own.
    let wrong_user = [
        (
            &bob,
            MountToken::new("private", session_id(&bob), Some("1".into()), now_unix()),
        ),
        (
            &alice,
            MountToken::new("private", session_id(&alice), Some("2".into()), now_unix()),
        ),
        (
            &alice,
            MountToken::new("private", session_id(&alice), None, now_unix()),
        ),
    ];
    for (cookie, token) in wrong_user {
        let mut socket = socket_as(addr, Some(cookie)).await;
        send_mount(&mut socket, "private", &token.encode(&signer()), "/private").await;
        assert_eq!(until_close(&mut socket).await.0, Some(4403), "{token:?}");
    }
    // Alice logging in again gets a new session: the old page's token is dead.
    let (_, alice_again, _) = login_as(addr, "alice", "/").await;
    let mut socket = socket_as(addr, Some(&alice_again)).await;
    send_mount(&mut socket, "private", &alice_token, "/private").await;
    assert_eq!(until_close(&mut socket).await.0, Some(4403));
    // Control: her own token on her own socket mounts.
    let mut socket = socket_as(addr, Some(&alice)).await;
    send_mount(&mut socket, "private", &alice_token, "/private").await;
    assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
    app.server.shutdown().await;
}

// --- Handlers, logout ------------------------------------------------------------

#[tokio::test]
async fn a_permission_required_handler_denial_is_an_error_frame_and_the_socket_stays_open() {
    let app = start().await;
    let addr = app.addr();
    let (_, alice, _) = login_as(addr, "alice", "/").await;
    let mut socket = mount_as(addr, &alice, "/private", "private").await;
    send_json(
        &mut socket,
        &json!({ "type": "event", "event": "admin_op", "params": {}, "ref": 4 }),
    )
    .await;
    assert_eq!(
        until_pong(&mut socket).await,
        [json!({ "type": "error", "error": generic(SafeError::PermissionDenied), "ref": 4 })]
    );
    send_json(
        &mut socket,
        &json!({ "type": "event", "event": "hit", "params": {}, "ref": 5 }),
    )
    .await;
    let patch = recv(&mut socket).await.expect("patch");
    assert_eq!(patch["type"], "patch");
    assert_eq!(patch["version"], 2, "admin_op changed nothing");
    app.server.shutdown().await;
}

#[tokio::test]
async fn logout_destroys_the_session_and_closes_its_socket_4403_at_the_next_frame() {
    let app = start().await;
    let addr = app.addr();
    let (_, alice, _) = login_as(addr, "alice", "/").await;
    let (_, bob, _) = login_as(addr, "bob", "/").await;
    let mut alice_socket = mount_as(addr, &alice, "/private", "private").await;
    let mut bob_socket = mount_as(addr, &bob, "/private", "private").await;
    let alice_page_token = mount_token(&get_with_cookie(addr, "/private", &alice).await.body);
    let csrf = csrf_of(addr, &alice).await;

    // Logout is a state-changing POST: without the token it is refused.
    let refused = post_form(addr, "/logout", Some(&alice), &[]).await;
    assert_eq!(refused.status, 403);
    let refused = post_form(addr, "/logout", Some(&alice), &[("csrf_token", "nope")]).await;
    assert_eq!(refused.status, 403);
    let bob_csrf = csrf_of(addr, &bob).await;
    let refused = post_form(addr, "/logout", Some(&alice), &[("csrf_token", &bob_csrf)]).await;
    assert_eq!(refused.status, 403);
    assert!(is_logged_in(addr, &alice).await);

    let response = post_form(addr, "/logout", Some(&alice), &[("csrf_token", &csrf)]).await;
    assert_eq!(response.status, 303);
    assert_eq!(response.header("location"), Some("/login"));
    let cleared = response
        .headers_named("set-cookie")
        .into_iter()
        .find(|cookie| cookie.starts_with("djust_session="))
        .expect("the cookie is cleared");
    assert!(
        cleared.contains("Max-Age=0") || cleared.to_ascii_lowercase().contains("expires="),
        "{cleared}"
    );
    assert!(
        !is_logged_in(addr, &alice).await,
        "the session is destroyed"
    );

    // The open socket of that session closes at its next frame, and the
    // frames pipelined behind it are never handled.
    let hits_before = app.hits.load(Ordering::SeqCst);
    for reference in 0..3 {
        feed(
            &mut alice_socket,
            Message::text(
                json!({ "type": "event", "event": "hit", "params": {}, "ref": reference })
                    .to_string(),
            ),
        )
        .await;
    }
    flush(&mut alice_socket).await;
    let (code, frames) = until_close(&mut alice_socket).await;
    assert_eq!(errors(&frames), [generic(SafeError::LoginRequired)]);
    assert_eq!(frames.len(), 1);
    assert_eq!(code, Some(4403));
    wait_hangup(&mut alice_socket).await;
    assert_eq!(app.hits.load(Ordering::SeqCst), hits_before);

    // A new socket with the old cookie is anonymous: the old page token fails.
    let mut socket = socket_as(addr, Some(&alice)).await;
    send_mount(&mut socket, "private", &alice_page_token, "/private").await;
    assert_eq!(until_close(&mut socket).await.0, Some(4403));

    // Another user's socket is unaffected.
    send_json(
        &mut bob_socket,
        &json!({ "type": "event", "event": "hit", "params": {}, "ref": 1 }),
    )
    .await;
    assert_eq!(recv(&mut bob_socket).await.expect("patch")["type"], "patch");
    assert!(is_logged_in(addr, &bob).await);
    app.server.shutdown().await;
}

// --- CSRF on user routes ------------------------------------------------------------

/// Issue 16 item 9: `docs/security.md` tells users to put `csrf_field` in
/// their own forms, so the guard of `App::route` routes accepts the
/// `csrf_token` form field as well as the `X-CSRF-Token` header.
#[tokio::test]
async fn user_routes_need_the_sessions_csrf_token_in_the_header_or_the_form() {
    let app = start().await;
    let addr = app.addr();
    let (_, cookie, _) = login_as(addr, "alice", "/").await;
    let csrf = csrf_of(addr, &cookie).await;
    let (_, bob, _) = login_as(addr, "bob", "/").await;
    let other_csrf = csrf_of(addr, &bob).await;
    let (anonymous_cookie, anonymous_csrf) = login_page(addr).await;
    let wrong = "A".repeat(csrf.len());
    let cases: [(&str, Option<&str>, Option<&str>, &str); 8] = [
        ("POST", None, None, "anonymous, no token"),
        ("POST", None, Some(&csrf), "no session, some token"),
        (
            "POST",
            Some(&anonymous_cookie),
            Some(&anonymous_csrf),
            "the login form's double-submit pair is not a session",
        ),
        ("POST", Some(&cookie), None, "missing header"),
        ("POST", Some(&cookie), Some(&wrong), "wrong token"),
        (
            "POST",
            Some(&cookie),
            Some(&other_csrf),
            "another session's token",
        ),
        ("PUT", Some(&cookie), None, "PUT without header"),
        (
            "DELETE",
            Some(&cookie),
            Some("x"),
            "DELETE with a short token",
        ),
    ];
    for (method, cookie_header, token, what) in cases {
        let mut headers = Vec::new();
        if let Some(cookie) = cookie_header {
            headers.push(("Cookie", cookie));
        }
        if let Some(token) = token {
            headers.push(("X-CSRF-Token", token));
        }
        let response = http(addr, method, "/api/echo", &headers, "{}").await;
        assert_eq!(response.status, 403, "{what}");
        assert!(!response.body.contains("echo"), "{what}: the route ran");
    }
    let form = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    // Hostile form fields: wrong, another session's, duplicated (the first
    // counts), encoded oddly, or hidden in another field's value.
    let hostile_forms = [
        form_body(&[("csrf_token", &wrong)]),
        form_body(&[("csrf_token", &other_csrf)]),
        format!(
            "{}&{}",
            form_body(&[("csrf_token", "x")]),
            form_body(&[("csrf_token", &csrf)])
        ),
        form_body(&[("csrf_token ", &csrf)]),
        form_body(&[("note", &format!("csrf_token={csrf}"))]),
        format!("csrf_token={csrf}%00"),
        "%ff%fe=%00&csrf_token".to_owned(),
    ];
    for body in &hostile_forms {
        let response = http(addr, "POST", "/api/echo", &form, body).await;
        assert_eq!(response.status, 403, "{body}");
    }
    // The field in the declared type only: a JSON body is not a form.
    let response = http(
        addr,
        "POST",
        "/api/echo",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert_eq!(response.status, 403);
    // Controls: the right header passes, and so does the right form field
    // (the route still gets the whole body); safe methods need neither.
    let response = http(
        addr,
        "POST",
        "/api/echo",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        "{}",
    )
    .await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "echo POST")
    );
    let body = form_body(&[("note", "hello"), ("csrf_token", &csrf)]);
    let response = http(addr, "POST", "/api/echo_form", &form, &body).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body, format!("form {body}"));
    let response = get(addr, "/api/echo").await;
    assert_eq!((response.status, response.body.as_str()), (200, "echo GET"));
    app.server.shutdown().await;
}

/// The form is read before routing, so its size is bounded by
/// `DJUST_HTTP_MAX_FORM_BYTES` whatever the route: larger is 413 and the
/// route never runs.
#[tokio::test]
async fn user_route_forms_above_the_form_limit_are_413() {
    let app = start().await;
    let addr = app.addr();
    let (_, cookie, _) = login_as(addr, "alice", "/").await;
    let csrf = csrf_of(addr, &cookie).await;
    let limit = djust::Config::default().http_max_form_bytes;
    let padding = "a".repeat(limit);
    let body = form_body(&[("csrf_token", &csrf), ("note", &padding)]);
    let response = http(
        addr,
        "POST",
        "/api/echo_form",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert!(!response.body.contains("form csrf_token"), "the route ran");
    app.server.shutdown().await;
}

#[tokio::test]
async fn logout_stops_server_pushed_updates_to_the_sessions_socket() {
    // A logged-out tab that never sends a frame must not keep receiving the
    // user's live data: the socket closes 4403 at the next server-initiated
    // update instead of streaming it.
    let app = start().await;
    let addr = app.addr();
    let (_, alice, _) = login_as(addr, "alice", "/").await;
    let mut socket = mount_as(addr, &alice, "/feed", "feed").await;
    let tick = recv(&mut socket).await.expect("a tick");
    assert_eq!(tick["type"], "patch", "{tick}");
    let csrf = csrf_of(addr, &alice).await;
    let response = post_form(addr, "/logout", Some(&alice), &[("csrf_token", &csrf)]).await;
    assert_eq!(response.status, 303);
    // Ticks sent before the logout may still be in flight; then it must stop.
    let mut after_logout = Vec::new();
    let code = loop {
        match next(&mut socket).await {
            Incoming::Frame(frame) => after_logout.push(frame),
            Incoming::Closed(code) => break code,
            Incoming::Timeout => panic!("neither closed nor ticking"),
        }
        assert!(
            after_logout.len() < 50,
            "still streaming after logout: {:?}",
            &after_logout[after_logout.len() - 3..]
        );
    };
    assert_eq!(code, Some(4403));
    assert_eq!(
        after_logout.last(),
        Some(&json!({ "type": "error", "error": generic(SafeError::LoginRequired) }))
    );
    app.server.shutdown().await;
}

#[tokio::test]
async fn logout_stops_subscription_updates_to_the_sessions_socket() {
    let app = start().await;
    let addr = app.addr();
    let (_, alice, _) = login_as(addr, "alice", "/").await;
    let (_, bob, _) = login_as(addr, "bob", "/").await;
    let mut alice_socket = mount_as(addr, &alice, "/inbox", "inbox").await;
    let mut bob_socket = mount_as(addr, &bob, "/inbox", "inbox").await;
    app.room.send("before".to_owned()).expect("subscribers");
    for socket in [&mut alice_socket, &mut bob_socket] {
        let patch = recv(socket).await.expect("patch");
        assert_eq!(patch["patches"][0]["value"], "before", "{patch}");
    }
    let csrf = csrf_of(addr, &alice).await;
    let response = post_form(addr, "/logout", Some(&alice), &[("csrf_token", &csrf)]).await;
    assert_eq!(response.status, 303);
    app.room
        .send("private message after logout".to_owned())
        .expect("subscribers");
    let (code, frames) = until_close(&mut alice_socket).await;
    assert_eq!(
        frames,
        [json!({ "type": "error", "error": generic(SafeError::LoginRequired) })],
        "the logged-out socket must not get the message"
    );
    assert_eq!(code, Some(4403));
    let patch = recv(&mut bob_socket).await.expect("bob's patch");
    assert_eq!(patch["patches"][0]["value"], "private message after logout");
    app.server.shutdown().await;
}

/// Issue 23 finding 6 (and Phoenix GHSA-p8fj-694c-pvhc, a token that leaked
/// internal addresses): the mount token in a page is readable by any
/// script on it, so it carries the view, a keyed hash binding it to the
/// session and user, and its time, and nothing else.
#[tokio::test]
async fn a_pages_mount_token_holds_no_session_user_host_or_ip() {
    let app = start().await;
    let addr = app.addr();
    let (_, alice, _) = login_as(addr, "alice", "/").await;
    let page = get_with_cookie(addr, "/private", &alice).await;
    let token = mount_token(&page.body);
    let (payload, _) = token.split_once('.').expect("payload.tag");
    let payload = base64_url_decode(payload);
    let json: serde_json::Value = serde_json::from_slice(&payload).expect("JSON payload");
    let mut keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["b", "t", "v"], "{json}");
    assert_eq!(json["v"], "private");
    let text = String::from_utf8_lossy(&payload).into_owned();
    let session = session_id(&alice);
    for secret in [
        session.as_str(),
        &session[..12],
        "alice",
        "\"1\"",
        "127.0.0.1",
        &addr.port().to_string(),
        cookie_value(&alice),
    ] {
        assert!(!text.contains(secret), "{secret:?} in {text}");
    }
    // The binding is still checked: the token mounts for alice only.
    let mut socket = socket_as(addr, Some(&alice)).await;
    send_mount(&mut socket, "private", &token, "/private").await;
    assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
    let mut anonymous = socket_as(addr, None).await;
    send_mount(&mut anonymous, "private", &token, "/private").await;
    assert_eq!(until_close(&mut anonymous).await.0, Some(4403));
    app.server.shutdown().await;
}

/// base64url without padding, as the tokens use it.
fn base64_url_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            other => panic!("not base64url: {other}"),
        }
    };
    let mut out = Vec::new();
    let (mut bits, mut count) = (0_u32, 0);
    for byte in text.bytes() {
        bits = (bits << 6) | value(byte);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}
