//! Tenancy over real sockets (`App::tenancy`, `djust::tenant`): the tenant
//! comes from a header (as a proxy sets it) or the host's subdomain, is in
//! every context, and scopes what the framework issues and keeps: a
//! session, a mount token or a rate-limit bucket of one tenant counts for
//! nothing under another, and a request for no known tenant gets 404.

mod support;

/// The notes example (its own tests run here too).
#[allow(dead_code)]
#[path = "../examples/notes/main.rs"]
mod notes;

use std::net::SocketAddr;

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, User};
use djust::tenant::TenantResolver;
use serde_json::json;
use support::*;

/// Shows the tenant; one event a minute per address.
struct Site {
    tenant: String,
    clicks: u32,
}

#[live_view(public, name = "site")]
impl Site {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let tenant = ctx.tenant().map(|t| t.id().to_owned()).unwrap_or_default();
        Ok(Site { tenant, clicks: 0 })
    }

    fn render(&self) -> Html {
        html! { <p id="tenant">"site of " {&self.tenant}</p><p id="clicks">{self.clicks}</p> }
    }

    #[event_handler]
    #[rate_limit(rate = 0.01, burst = 1, key = "ip")]
    fn click(&mut self) {
        self.clicks += 1;
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

/// Records the tenant each kind of background work sees: a task spawned
/// from `mount` with `djust::tenant::spawn`, `handle_info` for its report,
/// and the first tick.
struct Background {
    seen: Vec<String>,
    ticked: bool,
}

fn tenant_name(tenant: Option<&djust::tenant::Tenant>) -> String {
    tenant.map_or_else(|| "none".to_owned(), |tenant| tenant.id().to_owned())
}

#[live_view(public, name = "background", tick = 50)]
impl Background {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let (report, reports) = tokio::sync::broadcast::channel(4);
        ctx.subscribe(reports);
        djust::tenant::spawn(async move {
            let seen = tenant_name(djust::tenant::current().as_ref());
            let _ = report.send(format!("spawned:{seen}"));
        });
        Ok(Background {
            seen: Vec::new(),
            ticked: false,
        })
    }

    fn render(&self) -> Html {
        html! { <p id="seen">{self.seen.join(" ")}</p> }
    }

    fn handle_info(&mut self, ctx: &mut EventCtx, report: String) {
        self.seen.push(report);
        self.seen
            .push(format!("info:{}", tenant_name(ctx.tenant())));
    }

    fn handle_tick(&mut self, ctx: &mut EventCtx) {
        if !self.ticked {
            self.ticked = true;
            self.seen
                .push(format!("tick:{}", tenant_name(ctx.tenant())));
        }
    }
}

#[tokio::test]
async fn ticks_messages_and_spawned_tasks_carry_the_tenant() {
    let server = App::new()
        .config(test_config())
        .tenancy(TenantResolver::header("X-Tenant"))
        .live("/", Background::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    for id in ["acme", "globex"] {
        let page = http(addr, "GET", "/", &[tenant(id)], "").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let token = mount_token(&page.body);
        let mut socket = connect_with(addr, &[tenant(id)]).await;
        send_mount(&mut socket, "background", &token, "/").await;
        // The paragraph's whole text goes out with each change: wait for
        // the frame that has all three.
        let expected = [
            format!("spawned:{id}"),
            format!("info:{id}"),
            format!("tick:{id}"),
        ];
        let mut frames = Vec::new();
        let all_seen = loop {
            match next(&mut socket).await {
                Incoming::Frame(frame) => {
                    let text = frame.to_string();
                    if expected.iter().all(|part| text.contains(part.as_str())) {
                        break true;
                    }
                    frames.push(text);
                }
                _ => break false,
            }
        };
        assert!(all_seen, "{id}: {expected:?} never together in {frames:?}");
    }
    server.shutdown().await;
}

async fn start(resolver: TenantResolver) -> djust::Server {
    let backend = MemoryAuthBackend::new();
    backend.insert(User::new("1", "alice"), quick_hash("alice-password"));
    App::new()
        .config(test_config())
        .auth(backend)
        .tenancy(resolver)
        .tenants(|tenant| tenant.id() != "ghost")
        .live("/", Site::view())
        .live("/account", Account::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

fn tenant(id: &str) -> (&'static str, &str) {
    ("X-Tenant", id)
}

/// Logs alice in under tenant `id`; the session cookie.
async fn log_in_as_tenant(addr: SocketAddr, id: &str) -> String {
    let page = http(addr, "GET", "/login", &[tenant(id)], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
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
        "/login",
        &[
            tenant(id),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &csrf_cookie),
        ],
        &body,
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);
    set_cookie_pair(&response, "djust_session").expect("session cookie")
}

#[tokio::test]
async fn every_request_has_a_known_tenant_or_gets_404() {
    let server = start(TenantResolver::header("X-Tenant")).await;
    let addr = server.local_addr();
    for id in ["acme", "globex"] {
        let page = http(addr, "GET", "/", &[tenant(id)], "").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains(&format!("site of {id}")),
            "{}",
            page.body
        );
    }
    for (headers, why) in [
        (vec![], "no tenant"),
        (vec![tenant("ghost")], "unknown"),
        (vec![tenant("Bad Id")], "invalid"),
        (vec![tenant("../etc")], "path"),
        (vec![tenant(&"a".repeat(64))], "too long"),
    ] {
        let page = http(addr, "GET", "/", &headers, "").await;
        assert_eq!(page.status, 404, "{why}: {}", page.body);
        assert!(page.body.contains("There is no such site."), "{why}");
        assert!(page.headers_named("set-cookie").is_empty(), "{why}");
    }
    // The socket endpoint too: no upgrade for an unknown tenant.
    assert_eq!(
        refused_status(try_connect(addr, &[tenant("ghost")]).await),
        404
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_session_of_one_tenant_is_nobody_under_another() {
    let server = start(TenantResolver::header("X-Tenant")).await;
    let addr = server.local_addr();
    let cookie = log_in_as_tenant(addr, "acme").await;
    let own = http(
        addr,
        "GET",
        "/account",
        &[tenant("acme"), ("Cookie", &cookie)],
        "",
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(own.body.contains("your account"));
    let foreign = http(
        addr,
        "GET",
        "/account",
        &[tenant("globex"), ("Cookie", &cookie)],
        "",
    )
    .await;
    assert_eq!(foreign.status, 303, "{}", foreign.body);
    assert_eq!(foreign.header("location"), Some("/login?next=%2Faccount"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_mount_token_of_one_tenant_does_not_mount_under_another() {
    let server = start(TenantResolver::header("X-Tenant")).await;
    let addr = server.local_addr();
    let page = http(addr, "GET", "/", &[tenant("acme")], "").await;
    let token = mount_token(&page.body);

    let mut foreign = connect_with(addr, &[tenant("globex")]).await;
    send_mount(&mut foreign, "site", &token, "/").await;
    let (code, frames) = until_close(&mut foreign).await;
    assert_eq!(code, Some(4403), "{frames:?}");
    assert_eq!(frames[0]["type"], "error", "{frames:?}");

    let mut own = connect_with(addr, &[tenant("acme")]).await;
    send_mount(&mut own, "site", &token, "/").await;
    let mounted = recv(&mut own).await.expect("mount");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    assert!(mounted["html"]
        .as_str()
        .unwrap_or_default()
        .contains("site of acme"));
    server.shutdown().await;
}

#[tokio::test]
async fn each_tenant_has_its_own_rate_limit_buckets() {
    let server = start(TenantResolver::header("X-Tenant")).await;
    let addr = server.local_addr();
    let mut sockets = Vec::new();
    for id in ["acme", "globex"] {
        let page = http(addr, "GET", "/", &[tenant(id)], "").await;
        let mut socket = connect_with(addr, &[tenant(id)]).await;
        send_mount(&mut socket, "site", &mount_token(&page.body), "/").await;
        assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
        sockets.push(socket);
    }
    let limited = generic(djust::runtime::security::SafeError::RateLimited);
    // acme spends its one token, then is limited...
    let first = send_event(&mut sockets[0], "click", json!({}), 1).await;
    assert!(errors(&first).is_empty(), "{first:?}");
    let second = send_event(&mut sockets[0], "click", json!({}), 2).await;
    assert_eq!(errors(&second), [limited], "{second:?}");
    // ...and the same address under globex still has its own.
    let other = send_event(&mut sockets[1], "click", json!({}), 3).await;
    assert!(errors(&other).is_empty(), "{other:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn subdomains_name_tenants() {
    let server = start(TenantResolver::subdomain("localhost")).await;
    let addr = server.local_addr();
    let port = addr.port();
    let page = http(
        addr,
        "GET",
        "/",
        &[("Host", &format!("acme.localhost:{port}"))],
        "",
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("site of acme"), "{}", page.body);
    for host in [
        format!("localhost:{port}"),
        format!("ghost.localhost:{port}"),
        format!("a.b.localhost:{port}"),
        format!("acme.localhost.evil.example:{port}"),
        format!("127.0.0.1:{port}"),
    ] {
        let page = http(addr, "GET", "/", &[("Host", &host)], "").await;
        assert_eq!(page.status, 404, "{host}: {}", page.body);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn tenants_without_tenancy_is_a_startup_error() {
    let result = App::new()
        .config(test_config())
        .tenants(|_| true)
        .live("/", Site::view())
        .bind("127.0.0.1:0")
        .await;
    let error = result.err().expect("refused").to_string();
    assert!(error.contains("App::tenants needs App::tenancy"), "{error}");
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
            <button dj-click="take">"take"</button>
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

#[test]
fn each_tenants_uploads_are_kept_in_its_own_directory() {
    for (id, other) in [("acme", "globex"), ("globex", "acme")] {
        let tenant = djust::tenant::Tenant::new(id).expect("tenant id");
        let mut client = djust_testing::TestClient::build::<Inbox>()
            .tenant(tenant)
            .mount()
            .expect("mount");
        let result = client.upload("note", "note.txt", "text/plain", b"hello");
        assert!(result.error().is_none(), "{:?}", result.frames);
        let result = client.event("take", json!({}));
        assert!(result.error().is_none(), "{:?}", result.frames);
        let html = client.html();
        let kept = html
            .split("<li>")
            .nth(1)
            .and_then(|rest| rest.split("</li>").next())
            .unwrap_or_else(|| panic!("no kept path in {html}"))
            .to_owned();
        let path = std::path::Path::new(&kept);
        let folder = path
            .parent()
            .and_then(|parent| parent.file_name())
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        assert_eq!(folder, format!("tenant-{id}"), "{kept}");
        assert!(!kept.contains(other), "{kept}");
    }
}

#[test]
fn the_audit_states_the_tenancy_and_warns_about_a_spoofable_header() {
    let finding = |app: djust::App| {
        app.config(test_config())
            .live("/", Site::view())
            .audit_report()
            .findings
            .into_iter()
            .find(|finding| finding.code == "DJ010")
    };
    let by_subdomain =
        finding(App::new().tenancy(TenantResolver::subdomain("example.com"))).expect("DJ010");
    assert_eq!(by_subdomain.severity, djust::runtime::audit::Severity::Info);
    assert!(
        by_subdomain.message.contains("subdomain of example.com"),
        "{}",
        by_subdomain.message
    );
    assert!(by_subdomain
        .message
        .contains("every valid tenant id is served"));
    let by_header = finding(
        App::new()
            .tenancy(TenantResolver::header("X-Tenant"))
            .tenants(|_| true),
    )
    .expect("DJ010");
    assert_eq!(by_header.severity, djust::runtime::audit::Severity::Warning);
    assert!(by_header
        .message
        .contains("only tenants App::tenants knows are served"));
    assert!(
        by_header.message.contains("DJUST_TRUSTED_PROXIES is 0"),
        "{}",
        by_header.message
    );
    assert!(finding(App::new()).is_none());
}

#[tokio::test]
async fn the_notes_example_keeps_each_tenants_notes_apart_over_the_wire() {
    let db = std::sync::Arc::new(notes::db::Db::in_memory().expect("db"));
    let server = notes::app(db.clone(), "localhost")
        .config(test_config())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let host = |id: &str| format!("{id}.localhost:{}", addr.port());
    let acme = djust::tenant::Tenant::new("acme").expect("tenant");
    db.for_tenant(&acme).add("acme only").expect("add");

    let page = http(addr, "GET", "/", &[("Host", &host("acme"))], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("acme only"));
    let page = http(addr, "GET", "/", &[("Host", &host("globex"))], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("acme only"));
    for other in ["localhost", "umbrella.localhost"] {
        let page = http(
            addr,
            "GET",
            "/",
            &[("Host", &format!("{other}:{}", addr.port()))],
            "",
        )
        .await;
        assert_eq!(page.status, 404, "{other}");
    }

    // globex's socket adds a note that acme never sees.
    let page = http(addr, "GET", "/", &[("Host", &host("globex"))], "").await;
    let origin = format!("http://{}", host("globex"));
    // The board has offline handlers, so the page gave the visitor a
    // session (its mount token is bound to it), as a browser keeps it.
    let cookie = set_cookie_pair(&page, "djust_session").expect("a session");
    let mut socket = connect_with(
        addr,
        &[
            ("Host", &host("globex")),
            ("Origin", &origin),
            ("Cookie", &cookie),
        ],
    )
    .await;
    send_mount(&mut socket, "board", &mount_token(&page.body), "/").await;
    assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
    let frames = send_event(&mut socket, "add", json!({ "text": "globex plan" }), 1).await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    let globex = djust::tenant::Tenant::new("globex").expect("tenant");
    assert_eq!(db.for_tenant(&globex).list().expect("list").len(), 1);
    assert_eq!(db.for_tenant(&acme).list().expect("list").len(), 1);
    server.shutdown().await;
}
