//! The server end to end over real sockets: first paint, mount, events,
//! patches, versions, `request_html`, ping.

mod support;

use djust::prelude::*;
use serde_json::json;
use support::*;

struct Counter {
    count: i64,
}

#[live_view(public)]
impl Counter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Counter { count: 0 })
    }
    fn render(&self) -> Html {
        html! { <p id="count">"Count: " {self.count}</p><button dj-click="increment">"+"</button> }
    }
    #[event_handler]
    fn increment(&mut self, #[default(1)] by: i64) {
        self.count = self.count.saturating_add(by);
    }
}

async fn start() -> djust::Server {
    App::new()
        .config(test_config())
        .live("/", Counter::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

#[tokio::test]
async fn first_paint_is_a_complete_secure_page() {
    let server = start().await;
    let page = get(server.local_addr(), "/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.starts_with("<!DOCTYPE html>"), "{}", page.body);
    assert!(page
        .body
        .contains("<div data-djust-view=\"counter\" data-djust-token=\""));
    assert!(page.body.contains("<p id=\"count\">Count: 0</p>"));
    assert!(page
        .body
        .contains("<script src=\"/djust/djust.js\" defer></script>"));
    let csp = page.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-eval")
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        page.headers_named("set-cookie").is_empty(),
        "an anonymous GET must leave no state"
    );
    let js = get(server.local_addr(), "/djust/djust.js").await;
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap_or_default()
        .contains("javascript"));
    let missing = get(server.local_addr(), "/nope").await;
    assert_eq!(missing.status, 404);
    // Every response carries the security headers, not only pages.
    for response in [&js, &missing] {
        assert_eq!(response.header("content-security-policy"), Some(csp));
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn events_become_patches_with_versions() {
    let server = start().await;
    let (mut socket, mounted) = mount_page(server.local_addr(), "/", "counter").await;
    assert_eq!(mounted["version"], 1);
    assert!(mounted["html"]
        .as_str()
        .unwrap_or_default()
        .contains("Count: 0"));
    send_json(
        &mut socket,
        &json!({ "type": "event", "event": "increment", "params": { "by": "5" }, "ref": 7 }),
    )
    .await;
    let patch = recv(&mut socket).await.expect("patch");
    assert_eq!(patch["type"], "patch", "{patch}");
    assert_eq!(patch["version"], 2);
    assert_eq!(patch["ref"], 7);
    assert_eq!(
        patch["patches"],
        json!([{ "type": "set_text", "path": "/0/0", "value": "Count: 5" }])
    );
    send_json(&mut socket, &json!({ "type": "request_html" })).await;
    let update = recv(&mut socket).await.expect("html_update");
    assert_eq!(update["type"], "html_update");
    assert_eq!(update["version"], 2);
    assert!(update["html"]
        .as_str()
        .unwrap_or_default()
        .contains("Count: 5"));
    send_json(&mut socket, &json!({ "type": "ping" })).await;
    assert_eq!(recv(&mut socket).await.expect("pong")["type"], "pong");
    send_json(
        &mut socket,
        &json!({ "type": "event", "event": "increment", "params": { "by": 0 }, "ref": 8 }),
    )
    .await;
    assert_eq!(
        recv(&mut socket).await.expect("noop"),
        json!({ "type": "noop", "ref": 8 })
    );
    server.shutdown().await;
}

/// Renders the app's shared number, so a test can change the page between
/// the GET and the socket's mount.
struct Shared {
    value: u64,
}

#[live_view(public)]
impl Shared {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let value = ctx
            .state::<std::sync::Arc<std::sync::atomic::AtomicU64>>()?
            .load(std::sync::atomic::Ordering::SeqCst);
        Ok(Shared { value })
    }
    fn render(&self) -> Html {
        html! { <table><tbody><tr><td id="value">{self.value}</td></tr></tbody></table> }
    }
}

/// The `data-djust-digest` of a page.
fn digest_of(page: &str) -> String {
    let start = page.find("data-djust-digest=\"").expect("a digest") + 19;
    page[start..]
        .split('"')
        .next()
        .expect("closing quote")
        .to_owned()
}

async fn mount_with_digest(
    addr: std::net::SocketAddr,
    path: &str,
    view: &str,
    digest: &str,
) -> serde_json::Value {
    let page = get(addr, path).await;
    let mut socket = connect(addr).await;
    send_json(
        &mut socket,
        &json!({ "type": "mount", "view": view, "url": path, "mount_token": mount_token(&page.body), "digest": digest }),
    )
    .await;
    recv(&mut socket).await.expect("mount frame")
}

#[tokio::test]
async fn a_mount_whose_render_the_page_already_shows_leaves_the_html_out() {
    let value = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(7));
    let server = App::new()
        .config(test_config())
        .state(value.clone())
        .live("/", Shared::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let page = get(addr, "/").await;
    let digest = digest_of(&page.body);
    assert_eq!(digest.len(), 32, "{digest}");

    // Unchanged since the GET: no HTML, the client keeps its DOM.
    let mounted = mount_with_digest(addr, "/", "shared", &digest).await;
    assert_eq!(mounted["type"], "mount", "{mounted}");
    assert_eq!(mounted["unchanged"], true, "{mounted}");
    assert!(mounted.get("html").is_none(), "{mounted}");
    assert!(mounted.to_string().len() < 1024, "{mounted}");

    // Changed between the GET and the mount: the whole HTML.
    value.store(8, std::sync::atomic::Ordering::SeqCst);
    let mounted = mount_with_digest(addr, "/", "shared", &digest).await;
    assert!(mounted.get("unchanged").is_none(), "{mounted}");
    assert!(
        mounted["html"].as_str().unwrap_or_default().contains(">8<"),
        "{mounted}"
    );

    // A wrong, hostile or oversized digest is only a miss.
    for wrong in [
        "",
        "00000000000000000000000000000000",
        "<script>",
        &"f".repeat(10_000),
    ] {
        let mounted = mount_with_digest(addr, "/", "shared", wrong).await;
        assert_eq!(mounted["type"], "mount", "{mounted}");
        assert!(mounted.get("unchanged").is_none(), "{wrong:.40}: {mounted}");
        assert!(mounted["html"].as_str().is_some(), "{mounted}");
    }
    server.shutdown().await;
}
