//! Path-prefix tenancy over real sockets (`TenantResolver::path_prefix`):
//! several tenants on one host name, `/t/acme/...` and `/t/globex/...`.
//! The app declares its routes once; every URL the server writes carries
//! the tenant's prefix (pages, assets, socket, redirects, cookies), and
//! what one tenant was issued (a session, a mount token, a resume token,
//! upload files, pub/sub messages) counts for nothing under another. A
//! malformed or unknown tenant segment gets 404 before any view runs.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, User};
use djust::tenant::TenantResolver;
use serde_json::{json, Value};
use support::*;
use warp::{Filter as _, Reply as _};

/// How many times a server's `Site` was mounted, over HTTP or a socket
/// (app state): a refused request must never get that far.
#[derive(Clone, Default)]
struct Mounts(Arc<AtomicUsize>);

/// Shows its tenant and a link to another page of the same tenant.
struct Site {
    tenant: String,
    url: String,
    account_link: String,
    clicks: u32,
}

#[live_view(public, name = "site")]
impl Site {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        if let Ok(mounts) = ctx.state::<Mounts>() {
            mounts.0.fetch_add(1, Ordering::SeqCst);
        }
        let tenant = ctx.tenant().map(|t| t.id().to_owned()).unwrap_or_default();
        Ok(Site {
            tenant,
            url: ctx.url().to_owned(),
            account_link: ctx.path("/account"),
            clicks: 0,
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="tenant">"site of " {&self.tenant}</p>
            <p id="url">"url=" {&self.url}</p>
            <p id="clicks">{self.clicks}</p>
            <a id="account" href={&self.account_link} dj-navigate>"account"</a>
            <button dj-click="click">"+"</button>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn click(&mut self, ctx: &mut EventCtx) -> Result<()> {
        self.clicks += 1;
        if self.clicks == 3 {
            ctx.push_navigate("/account")?;
        }
        Ok(())
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn bounce(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.put_flash(FlashKind::Info, "Off you go.");
        ctx.redirect("/inbox")
    }
}

/// Needs a logged-in user.
struct Account;

#[live_view(login_required, name = "account")]
impl Account {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Account)
    }

    fn render(&self) -> Html {
        html! { <p id="account">"your account"</p> }
    }
}

/// Records where the framework kept each upload before the handler took it.
struct Inbox {
    kept_at: Vec<String>,
}

#[live_view(
    public,
    name = "inbox",
    upload(note, accept = "text/plain", max_size = "4KB")
)]
impl Inbox {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Inbox {
            kept_at: Vec::new(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <input type="file" dj-upload="note"/>
            <ul id="kept">
                for (index, path) in self.kept_at.iter().enumerate() key = index { <li>{path}</li> }
            </ul>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn take(&mut self, ctx: &mut EventCtx) -> Result<()> {
        let paths = ctx.consume_uploads("note", |_, path| Ok(path.display().to_string()))?;
        self.kept_at.extend(paths);
        Ok(())
    }
}

fn app(config: djust::Config, mounts: Mounts) -> App {
    let backend = MemoryAuthBackend::new();
    backend.insert(User::new("1", "alice"), quick_hash("alice-password"));
    // An ordinary route, declared once without the prefix, that redirects.
    let moved = warp::path!("moved").and(warp::get()).map(|| {
        warp::reply::with_header(
            warp::reply::with_status(warp::reply(), warp::http::StatusCode::FOUND),
            "location",
            "/account?from=moved",
        )
        .into_response()
    });
    App::new()
        .config(config)
        .state(mounts)
        .auth(backend)
        .tenancy(TenantResolver::path_prefix("t"))
        .tenants(|tenant| tenant.id() != "ghost")
        .stylesheet("/static/app.css")
        .pwa(djust::Pwa::new("Sites"))
        .live("/", Site::view())
        .live("/account", Account::view())
        .live("/inbox", Inbox::view())
        .route(moved)
}

async fn start() -> djust::Server {
    start_counting(Mounts::default()).await
}

async fn start_counting(mounts: Mounts) -> djust::Server {
    app(test_config(), mounts)
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// The tenant's socket.
async fn socket_of(addr: SocketAddr, id: &str, cookie: Option<&str>) -> Socket {
    let path = format!("/t/{id}/ws/live/");
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    let mut socket = try_connect_at(addr, &path, &headers)
        .await
        .expect("ws connect");
    let hello = recv(&mut socket).await.expect("connect frame");
    assert_eq!(hello["type"], "connect", "{hello}");
    socket
}

/// Logs alice in under tenant `id`: the whole `Set-Cookie` of the session.
async fn log_in_under(addr: SocketAddr, id: &str) -> String {
    let page = http(addr, "GET", &format!("/t/{id}/login"), &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("<form method=\"post\" action=\"/t/{id}/login\">")),
        "{}",
        page.body
    );
    let csrf_set = page
        .headers_named("set-cookie")
        .into_iter()
        .find(|cookie| cookie.starts_with(CSRF_COOKIE))
        .expect("CSRF cookie")
        .to_owned();
    assert!(
        csrf_set.contains(&format!("; Path=/t/{id};")),
        "scoped to the tenant: {csrf_set}"
    );
    let csrf_cookie = set_cookie_pair(&page, CSRF_COOKIE).expect("CSRF cookie");
    let csrf = csrf_from_page(&page.body).expect("csrf");
    let body = form_body(&[
        ("username", "alice"),
        ("password", "alice-password"),
        ("next", "/account"),
        ("csrf_token", &csrf),
    ]);
    let response = http(
        addr,
        "POST",
        &format!("/t/{id}/login"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &csrf_cookie),
        ],
        &body,
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(
        response.header("location"),
        Some(format!("/t/{id}/account").as_str())
    );
    response
        .headers_named("set-cookie")
        .into_iter()
        .find(|cookie| cookie.starts_with("djust_session="))
        .expect("session cookie")
        .to_owned()
}

/// `name=value` of a whole `Set-Cookie` value.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn pages_assets_and_the_socket_live_under_the_tenants_prefix() {
    let server = start().await;
    let addr = server.local_addr();
    for id in ["acme", "globex"] {
        let page = http(addr, "GET", &format!("/t/{id}/?x=1"), &[], "").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let body = &page.body;
        assert!(body.contains(&format!("site of {id}")), "{body}");
        assert!(
            body.contains("url=/?x=1"),
            "the view sees the app's path: {body}"
        );
        for url in [
            format!("<meta name=\"djust-base\" content=\"/t/{id}\">"),
            format!("<script src=\"/t/{id}/djust/djust.js\" defer>"),
            format!("<link rel=\"stylesheet\" href=\"/t/{id}/static/app.css\">"),
            format!("href=\"/t/{id}/account\" dj-navigate"),
            format!("<link rel=\"manifest\" href=\"/t/{id}/djust/manifest.webmanifest\">"),
        ] {
            assert!(body.contains(&url), "{url} in {body}");
        }
        let script = http(addr, "GET", &format!("/t/{id}/djust/djust.js"), &[], "").await;
        assert_eq!(script.status, 200);
        assert!(
            script.body.contains("djust-base"),
            "the client reads the prefix"
        );
        // The installable app and its offline page are the tenant's own.
        let manifest = http(
            addr,
            "GET",
            &format!("/t/{id}/djust/manifest.webmanifest"),
            &[],
            "",
        )
        .await;
        assert_eq!(manifest.status, 200);
        let manifest: Value = serde_json::from_str(&manifest.body).expect("manifest JSON");
        assert_eq!(manifest["start_url"], format!("/t/{id}/"));
        assert_eq!(manifest["scope"], format!("/t/{id}/"));
        assert_eq!(
            manifest["icons"][0]["src"],
            format!("/t/{id}/djust/icon.svg")
        );
        let offline = http(addr, "GET", &format!("/t/{id}/djust/offline.html"), &[], "").await;
        assert_eq!(offline.status, 200);
        assert!(offline.body.contains(&format!("<a href=\"/t/{id}/\">")));
        assert!(offline
            .body
            .contains(&format!("href=\"/t/{id}/djust/icon.svg\"")));
        assert!(!offline.body.contains("href=\"/djust"), "{}", offline.body);
        // A 404 under the tenant links home within the tenant.
        let missing = http(addr, "GET", &format!("/t/{id}/no/such/page"), &[], "").await;
        assert_eq!(missing.status, 404);
        assert!(
            missing.body.contains(&format!("href=\"/t/{id}/\"")),
            "{}",
            missing.body
        );
    }
    // The prefix alone is sent to its directory, query kept.
    let bare = http(addr, "GET", "/t/acme?x=1", &[], "").await;
    assert_eq!(bare.status, 308);
    assert_eq!(bare.header("location"), Some("/t/acme/?x=1"));
    // The framework's own paths exist only under a tenant.
    for path in ["/", "/djust/djust.js", "/login", "/account"] {
        let response = http(addr, "GET", path, &[], "").await;
        assert_eq!(response.status, 404, "{path}");
    }
    // An app route declared once, its redirect kept in the tenant.
    let moved = http(addr, "GET", "/t/globex/moved", &[], "").await;
    assert_eq!(moved.status, 302, "{}", moved.body);
    assert_eq!(
        moved.header("location"),
        Some("/t/globex/account?from=moved")
    );

    // The socket: mounts the tenant's page, a click updates it, and the
    // navigation the handler asks for is an app path (the client adds the
    // prefix it read from the page): here to the login page, as the
    // account needs a user.
    let page = http(addr, "GET", "/t/acme/", &[], "").await;
    let mut socket = socket_of(addr, "acme", None).await;
    send_mount(&mut socket, "site", &mount_token(&page.body), "/").await;
    let mounted = recv(&mut socket).await.expect("mount");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    let frames = send_event(&mut socket, "click", json!({}), 1).await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    assert!(frames.iter().any(|f| f["type"] == "patch"), "{frames:?}");
    send_event(&mut socket, "click", json!({}), 2).await;
    let frames = send_event(&mut socket, "click", json!({}), 3).await;
    let navigate = frames
        .iter()
        .find(|f| f["type"] == "navigate")
        .unwrap_or_else(|| panic!("a navigation: {frames:?}"));
    assert_eq!(navigate["to"], "/login?next=%2Faccount", "{navigate}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_flash_redirect_stays_in_the_tenant() {
    let server = start().await;
    let addr = server.local_addr();
    let page = http(addr, "GET", "/t/acme/", &[], "").await;
    let mut socket = socket_of(addr, "acme", None).await;
    send_mount(&mut socket, "site", &mount_token(&page.body), "/").await;
    assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
    let frames = send_event(&mut socket, "bounce", json!({}), 1).await;
    let to = frames
        .iter()
        .find(|f| f["type"] == "navigate")
        .and_then(|f| f["to"].as_str())
        .unwrap_or_else(|| panic!("{frames:?}"))
        .to_owned();
    // An app path: the browser follows it under its prefix.
    assert!(to.starts_with("/djust/flash?t="), "{to}");
    let hop = http(addr, "GET", &format!("/t/acme{to}"), &[], "").await;
    assert_eq!(hop.status, 303, "{}", hop.body);
    assert_eq!(hop.header("location"), Some("/t/acme/inbox"));
    let set = hop
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("djust_flash="))
        .expect("flash cookie")
        .to_owned();
    assert!(set.contains("; Path=/t/acme;"), "{set}");
    let inbox = http(addr, "GET", "/t/acme/inbox", &[("Cookie", &pair(&set))], "").await;
    assert!(inbox.body.contains("Off you go."), "{}", inbox.body);
    // The same link under globex: signed for acme, it sets nothing.
    let foreign = http(addr, "GET", &format!("/t/globex{to}"), &[], "").await;
    assert!(
        foreign
            .headers_named("set-cookie")
            .iter()
            .all(|c| !c.starts_with("djust_flash=") || c.contains("Max-Age=0")),
        "{:?}",
        foreign.headers
    );
    server.shutdown().await;
}

#[tokio::test]
async fn logins_redirects_and_cookies_carry_the_prefix() {
    let server = start().await;
    let addr = server.local_addr();
    let anonymous = http(addr, "GET", "/t/acme/account", &[], "").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        Some("/t/acme/login?next=%2Faccount")
    );
    let session = log_in_under(addr, "acme").await;
    assert!(
        session.contains("; Path=/t/acme;"),
        "the session cookie is sent to acme only: {session}"
    );
    let own = http(
        addr,
        "GET",
        "/t/acme/account",
        &[("Cookie", &pair(&session))],
        "",
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(own.body.contains("your account"));
    // Logging out: back to the tenant's login page, and the cookie is
    // cleared on the path it was set on.
    let login = http(
        addr,
        "GET",
        "/t/acme/login",
        &[("Cookie", &pair(&session))],
        "",
    )
    .await;
    let token = csrf_from_page(&login.body).expect("the session's CSRF token");
    let out = http(
        addr,
        "POST",
        "/t/acme/logout",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &pair(&session)),
        ],
        &form_body(&[("csrf_token", &token)]),
    )
    .await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.header("location"), Some("/t/acme/login"));
    let cleared = out
        .headers_named("set-cookie")
        .into_iter()
        .find(|cookie| cookie.starts_with("djust_session="))
        .expect("cleared cookie");
    assert!(
        cleared.contains("; Path=/t/acme;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_session_of_one_tenant_is_nobody_under_another_prefix() {
    let server = start().await;
    let addr = server.local_addr();
    let session = pair(&log_in_under(addr, "acme").await);
    // A browser would not even send it (Path=/t/acme); sent anyway, it
    // is signed with acme's key and names nobody under globex.
    let foreign = http(
        addr,
        "GET",
        "/t/globex/account",
        &[("Cookie", &session)],
        "",
    )
    .await;
    assert_eq!(foreign.status, 303, "{}", foreign.body);
    assert_eq!(
        foreign.header("location"),
        Some("/t/globex/login?next=%2Faccount")
    );
    // Nor does a socket of globex take it as a login.
    let page = http(addr, "GET", "/t/acme/account", &[("Cookie", &session)], "").await;
    assert_eq!(page.status, 200);
    let mut socket = socket_of(addr, "globex", Some(&session)).await;
    send_mount(&mut socket, "account", &mount_token(&page.body), "/account").await;
    let (code, frames) = until_close(&mut socket).await;
    assert_eq!(code, Some(4403), "{frames:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_mount_token_of_one_tenant_does_not_mount_under_another_prefix() {
    let server = start().await;
    let addr = server.local_addr();
    let page = http(addr, "GET", "/t/acme/", &[], "").await;
    let token = mount_token(&page.body);

    let mut foreign = socket_of(addr, "globex", None).await;
    send_mount(&mut foreign, "site", &token, "/").await;
    let (code, frames) = until_close(&mut foreign).await;
    assert_eq!(code, Some(4403), "{frames:?}");
    assert_eq!(frames[0]["type"], "error", "{frames:?}");

    let mut own = socket_of(addr, "acme", None).await;
    send_mount(&mut own, "site", &token, "/").await;
    let mounted = recv(&mut own).await.expect("mount");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    assert!(mounted["html"]
        .as_str()
        .unwrap_or_default()
        .contains("site of acme"));
    server.shutdown().await;
}

/// Waits (bounded) until the server holds `count` detached views.
async fn detached(server: &djust::Server, count: usize) {
    for _ in 0..200 {
        if server.detached_views().0 == count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "expected {count} detached views: {:?}",
        server.detached_views()
    );
}

/// Sends `resume` on `socket`; the replies up to a pong.
async fn resume_on(socket: &mut Socket, token: &str) -> Vec<Value> {
    send_json(
        socket,
        &json!({"type": "resume", "view": "site", "token": token, "version": 1}),
    )
    .await;
    until_pong(socket).await
}

#[tokio::test]
async fn a_resume_token_of_one_tenant_does_not_resume_under_another_prefix() {
    let server = start().await;
    let addr = server.local_addr();
    let page = http(addr, "GET", "/t/acme/", &[], "").await;
    let mut socket = socket_of(addr, "acme", None).await;
    send_mount(&mut socket, "site", &mount_token(&page.body), "/").await;
    let mounted = recv(&mut socket).await.expect("mount");
    let token = mounted["resume_token"]
        .as_str()
        .expect("resume token")
        .to_owned();
    drop(socket);
    detached(&server, 1).await;

    let mut foreign = socket_of(addr, "globex", None).await;
    let frames = resume_on(&mut foreign, &token).await;
    assert_eq!(frames[0]["type"], "resume_refused", "{frames:?}");
    // The view still waits for its own tenant, which resumes it.
    let mut own = socket_of(addr, "acme", None).await;
    let frames = resume_on(&mut own, &token).await;
    assert_eq!(frames[0]["type"], "resumed", "{frames:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn hostile_tenant_segments_never_reach_a_view() {
    let mounts = Mounts::default();
    let server = start_counting(mounts.clone()).await;
    let addr = server.local_addr();
    let long = format!("/t/{}/", "a".repeat(64));
    for path in [
        "/t/ghost/",              // unknown
        "/t/ACME/",               // not lower case
        "/t/%61cme/",             // percent-encoded letter
        "/t/%2e%2e/",             // encoded dot segment
        "/t/../",                 // dot segment
        "/t/acme%2F..%2Fglobex/", // encoded slash
        "/t/%D0%B0cme/",          // Cyrillic a, percent-encoded
        "/t/ac%E2%80%8Bme/",      // zero-width space
        "/t/acme%00/",            // NUL
        "/t/-acme/",              // not a DNS label
        "/t/ac_me/",
        "/t/acme;x=1/",
        "/t//",
        "/t/",
        "/acme/",
        "/T/acme/",
        long.as_str(),
    ] {
        let response = http(addr, "GET", path, &[], "").await;
        assert_eq!(response.status, 404, "{path}: {}", response.body);
        assert!(
            response.body.contains("There is no such site."),
            "{path}: {}",
            response.body
        );
        assert!(response.headers_named("set-cookie").is_empty(), "{path}");
        assert_eq!(
            refused_status(try_connect_at(addr, &format!("{path}ws/live/"), &[]).await),
            404,
            "{path}"
        );
    }
    // Raw non-ASCII bytes in the request line (a Cyrillic look-alike, an
    // accent) reach the resolver as sent, and are no tenant id.
    for raw in ["/t/аcme/", "/t/acmé/"] {
        let response = http(addr, "GET", raw, &[], "").await;
        assert_eq!(response.status, 404, "{raw}");
        assert!(response.body.contains("There is no such site."), "{raw}");
    }
    // An oversized request target is refused by the HTTP layer.
    let huge = format!("/t/{}/", "a".repeat(100_000));
    let response = http(addr, "GET", &huge, &[], "").await;
    assert!(
        [400, 404, 414, 431].contains(&response.status),
        "{}",
        response.status
    );
    assert_eq!(
        mounts.0.load(Ordering::SeqCst),
        0,
        "no refused request reached the view"
    );
    // A second prefix inside a tenant's path is an app path of that
    // tenant (a 404 there), never the other tenant.
    let nested = http(addr, "GET", "/t/acme/t/globex/", &[], "").await;
    assert_eq!(nested.status, 404);
    assert!(!nested.body.contains("globex"), "{}", nested.body);
    assert_eq!(
        refused_status(try_connect_at(addr, "/t/acme/t/globex/ws/live/", &[]).await),
        404
    );
    // The counter counts: a good request does reach it.
    let page = http(addr, "GET", "/t/acme/", &[], "").await;
    assert_eq!(page.status, 200);
    assert_eq!(mounts.0.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

/// Uploads `bytes` as `note.txt` over `socket` in one chunk and has the
/// view take it: the path the framework kept it at.
async fn upload_and_take(socket: &mut Socket, bytes: &[u8]) -> String {
    use futures_util::SinkExt as _;
    send_json(
        socket,
        &json!({"type": "upload", "slot": "note", "ref": "u1", "name": "note.txt", "size": bytes.len(), "mime": "text/plain"}),
    )
    .await;
    let ack = recv(socket).await.expect("ack");
    assert_eq!(ack["type"], "upload_ack", "{ack}");
    let mut chunk = vec![2_u8];
    chunk.extend_from_slice(b"u1");
    chunk.extend_from_slice(bytes);
    socket
        .send(tokio_tungstenite::tungstenite::Message::Binary(
            chunk.into(),
        ))
        .await
        .expect("send");
    let mut done = false;
    for _ in 0..4 {
        let frame = recv(socket).await.expect("reply");
        if frame["type"] == "upload_done" {
            done = true;
            break;
        }
        assert_eq!(frame["type"], "upload_ack", "{frame}");
    }
    assert!(done, "the upload completed");
    let frames = send_event(socket, "take", json!({}), 9).await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    let html = frames.iter().map(Value::to_string).collect::<String>();
    let start = html.find("<li>").map(|i| i + 4).expect("a kept path");
    let end = html[start..].find("</li>").expect("end") + start;
    html[start..end].replace("\\\\", "\\")
}

#[tokio::test]
async fn each_tenants_uploads_are_kept_apart_under_a_prefix() {
    let server = start().await;
    let addr = server.local_addr();
    let mut kept = Vec::new();
    for id in ["acme", "globex"] {
        let page = http(addr, "GET", &format!("/t/{id}/inbox"), &[], "").await;
        assert_eq!(page.status, 200);
        let mut socket = socket_of(addr, id, None).await;
        send_mount(&mut socket, "inbox", &mount_token(&page.body), "/inbox").await;
        assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
        let path = upload_and_take(&mut socket, b"hello").await;
        let folder = std::path::Path::new(&path)
            .parent()
            .and_then(|parent| parent.file_name())
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(folder, format!("tenant-{id}"), "{path}");
        kept.push(path);
    }
    let acme_dir = std::path::Path::new(&kept[0]).parent().expect("dir");
    let globex_dir = std::path::Path::new(&kept[1]).parent().expect("dir");
    assert_ne!(acme_dir, globex_dir);
    assert!(!globex_dir.starts_with(acme_dir) && !acme_dir.starts_with(globex_dir));
    server.shutdown().await;
}

#[tokio::test]
async fn a_host_only_csrf_cookie_is_named_per_tenant_and_signed_for_it() {
    let config = djust::Config {
        secure_cookies: true,
        ..test_config()
    };
    let server = app(config, Mounts::default())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let acme = http(addr, "GET", "/t/acme/login", &[], "").await;
    let cookie = acme
        .headers_named("set-cookie")
        .into_iter()
        .find(|cookie| cookie.starts_with("__Host-"))
        .expect("a __Host- cookie")
        .to_owned();
    // `__Host-` needs Path=/: not scoped by path, but by name and key.
    assert!(cookie.starts_with("__Host-djust_csrf-acme="), "{cookie}");
    assert!(cookie.contains("; Path=/;"), "{cookie}");
    let token = csrf_from_page(&acme.body).expect("csrf");
    // Planted under globex's name, acme's cookie and token do not pass
    // globex's login.
    let value = pair(&cookie)
        .split_once('=')
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default();
    let body = form_body(&[
        ("username", "alice"),
        ("password", "alice-password"),
        ("next", "/"),
        ("csrf_token", &token),
    ]);
    let planted = format!("__Host-djust_csrf-globex={value}");
    let response = http(
        addr,
        "POST",
        "/t/globex/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &planted),
        ],
        &body,
    )
    .await;
    assert_eq!(response.status, 403, "{}", response.body);
    // ...while under acme they do.
    let response = http(
        addr,
        "POST",
        "/t/acme/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &pair(&cookie)),
        ],
        &body,
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(response.header("location"), Some("/t/acme/"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_bad_prefix_segment_is_a_startup_error() {
    for segment in ["", "T", "a/b", "..", "t%2f"] {
        let error = App::new()
            .config(test_config())
            .tenancy(TenantResolver::path_prefix(segment))
            .live("/", Site::view())
            .bind("127.0.0.1:0")
            .await
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("path_prefix"), "{segment:?}: {error}");
    }
}

#[test]
fn the_audit_states_a_path_prefix_tenancy() {
    let finding = App::new()
        .config(test_config())
        .tenancy(TenantResolver::path_prefix("t"))
        .live("/", Site::view())
        .audit_report()
        .findings
        .into_iter()
        .find(|finding| finding.code == "DJ010")
        .expect("DJ010");
    assert_eq!(finding.severity, djust::runtime::audit::Severity::Info);
    assert!(
        finding.message.contains("path prefix /t/{tenant}/"),
        "{}",
        finding.message
    );
}

/// Pub/sub under a path prefix (feature `redis`, a private redis-server):
/// a message published in one tenant's handler reaches that tenant's
/// views only.
#[cfg(feature = "redis")]
mod pubsub {
    use super::*;
    use djust::runtime::redis::{Redis, RedisBroadcast};
    use std::time::Duration;

    struct Bus(RedisBroadcast<String>);

    /// Shows what its tenant's bus carried.
    struct Wall {
        lines: Vec<String>,
    }

    #[live_view(public, name = "wall")]
    impl Wall {
        fn mount(ctx: &mut MountCtx) -> Result<Self> {
            // In the tenant's scope: the tenant's channel.
            let receiver = ctx.state::<Bus>()?.0.subscribe();
            ctx.subscribe(receiver);
            Ok(Wall { lines: Vec::new() })
        }

        fn render(&self) -> Html {
            html! {
                <ul>
                    for (index, line) in self.lines.iter().enumerate() key = index { <li>{line}</li> }
                </ul>
            }
        }

        fn handle_info(&mut self, line: String) {
            self.lines.push(line);
        }

        #[event_handler]
        #[rate_limit(rate = 100, burst = 100, key = "ip")]
        async fn say(&mut self, ctx: &mut EventCtx, text: String) -> Result<()> {
            let bus = ctx.state::<Bus>()?;
            bus.0
                .publish(&text)
                .await
                .map(|_| ())
                .map_err(|_| Error::bad_request("not sent"))
        }
    }

    async fn wall(addr: SocketAddr, id: &str) -> Socket {
        let page = http(addr, "GET", &format!("/t/{id}/"), &[], "").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let mut socket = socket_of(addr, id, None).await;
        send_mount(&mut socket, "wall", &mount_token(&page.body), "/").await;
        assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
        socket
    }

    /// Frames until one carries `needle` (bounded); all of them.
    async fn frames_until(socket: &mut Socket, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            match tokio::time::timeout_at(deadline, recv(socket)).await {
                Ok(Some(frame)) => {
                    let text = frame.to_string();
                    let found = text.contains(needle);
                    seen.push(text);
                    if found {
                        return seen;
                    }
                }
                _ => break,
            }
        }
        panic!("{needle} never arrived: {seen:?}");
    }

    #[tokio::test]
    async fn a_tenants_messages_reach_only_its_own_views() {
        let Some(redis) = support::redis::RedisServer::start("tenancy_path_pubsub") else {
            return;
        };
        let handle = Redis::open(&redis.url()).expect("url");
        let bus = RedisBroadcast::<String>::new(&handle, "wall", 16).expect("bus");
        assert!(bus.wait_subscribed(Duration::from_secs(10)).await);
        let server = App::new()
            .config(test_config())
            .tenancy(TenantResolver::path_prefix("t"))
            .state(Bus(bus))
            .live("/", Wall::view())
            .bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = server.local_addr();
        let mut acme_speaker = wall(addr, "acme").await;
        let mut acme_reader = wall(addr, "acme").await;
        let mut globex_speaker = wall(addr, "globex").await;
        let mut globex_reader = wall(addr, "globex").await;

        send_event(&mut acme_speaker, "say", json!({ "text": "for acme" }), 1).await;
        frames_until(&mut acme_reader, "for acme").await;
        // globex's own message comes first to globex: acme's, published
        // before it on the same Redis connection, never came.
        send_event(
            &mut globex_speaker,
            "say",
            json!({ "text": "for globex" }),
            2,
        )
        .await;
        let seen = frames_until(&mut globex_reader, "for globex").await;
        assert!(
            seen.iter().all(|frame| !frame.contains("for acme")),
            "{seen:?}"
        );
        server.shutdown().await;
    }
}
