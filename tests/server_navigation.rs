//! Live navigation over real sockets and HTTP: path parameters and URL
//! state on the first paint, patches and navigations on the socket, every
//! refusal, flash messages across a redirect (the signed link and cookie),
//! the root layout, and startup errors for bad routes.

#[path = "navigation_support/mod.rs"]
mod navigation_support;
mod support;

use std::net::SocketAddr;

use djust::prelude::*;
use djust::runtime::server::LayoutCtx;
use navigation_support::{other_session, routes};
use serde_json::{json, Value};
use support::*;

fn layout(page: &LayoutCtx<'_>) -> Html {
    html! {
        <nav id="menu"><a href="/items" dj-navigate>"Items"</a> <a href="/elsewhere">"Elsewhere"</a></nav>
        {page.flash()}
        <main id="main">{page.content()}</main>
        <footer id="path">{page.path()}</footer>
    }
}

fn app() -> App {
    routes()
        .into_iter()
        .fold(App::new(), |app, (path, view)| app.live(path, view))
        .live_session(other_session())
        .title("Nav")
        .layout(layout)
}

async fn start() -> djust::Server {
    app()
        .config(test_config())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Frames until (and including) the first of type `kind`.
async fn until_type(socket: &mut Socket, kind: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Some(frame) = recv(socket).await {
        let done = frame["type"] == kind;
        frames.push(frame);
        if done {
            break;
        }
    }
    frames
}

async fn send_nav(socket: &mut Socket, kind: &str, url: &str) -> Vec<Value> {
    send_json(socket, &json!({ "type": kind, "url": url, "kind": "push" })).await;
    until_pong(socket).await
}

fn title_of(body: &str) -> &str {
    let start = body.find("<title>").map_or(0, |i| i + 7);
    let end = body[start..].find("</title>").map_or(start, |i| start + i);
    &body[start..end]
}

#[tokio::test]
async fn first_paint_reads_path_parameters_and_url_state() {
    let server = start().await;
    let addr = server.local_addr();
    let page = get(addr, "/items/5").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Item 5"), "{}", page.body);
    assert_eq!(title_of(&page.body), "Item 5 · Nav");
    let page = get(addr, "/items?q=ada&page=3&sort=newest").await;
    assert!(
        page.body.contains("q=ada page=3 sort=Newest"),
        "{}",
        page.body
    );
    assert_eq!(title_of(&page.body), "Items, page 3 · Nav");
    // Bad values: a clear 400 naming the parameter, never a panic or a 500.
    for (path, status, needle) in [
        ("/items?page=abc", 400, "parameter &#x27;page&#x27;"),
        ("/items?page=99999999999", 400, "parameter &#x27;page&#x27;"),
        ("/items/abc", 400, "parameter &#x27;id&#x27;"),
        ("/items/%F0%9F%92%A3", 400, "parameter &#x27;id&#x27;"),
        ("/items/0", 404, "Not found"),
        ("/items?page=5000", 400, "Bad request"),
        ("/nope", 404, ""),
        ("/items/1/2", 404, ""),
    ] {
        let page = get(addr, path).await;
        assert_eq!(page.status, status, "{path}: {}", page.body);
        let body = page.body.replace("&#39;", "&#x27;");
        assert!(body.contains(needle), "{path}: {}", page.body);
    }
    // A handle_params that normalises the URL answers with a redirect.
    let page = get(addr, "/items?page=0").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/items?page=1"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_root_layout_surrounds_the_view() {
    let server = start().await;
    let page = get(server.local_addr(), "/items/2").await;
    let body = &page.body;
    let menu = body.find("id=\"menu\"").expect("menu");
    let flash = body.find("data-djust-flash").expect("flash area");
    let root = body.find("data-djust-view=\"item\"").expect("view root");
    let footer = body.find("id=\"path\"").expect("footer");
    assert!(menu < flash && flash < root && root < footer, "{body}");
    assert!(
        body.contains("<footer id=\"path\">/items/2</footer>"),
        "{body}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn patches_and_navigations_over_the_socket() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut socket, _) = mount_page(addr, "/items", "items").await;
    let frames = send_nav(&mut socket, "live_patch", "/items?page=4&q=x").await;
    let kinds: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(kinds, ["patch", "title", "live_patch"], "{frames:?}");
    assert_eq!(frames[1]["title"], "Items, page 4 · Nav");
    assert_eq!(frames[2]["to"], "/items?page=4&q=x");
    assert_eq!(frames[2]["kind"], "push");

    let frames = send_nav(&mut socket, "live_navigate", "/items/3").await;
    let navigated = frames
        .iter()
        .find(|f| f["type"] == "live_navigate")
        .unwrap_or_else(|| panic!("{frames:?}"));
    assert_eq!(navigated["view"], "item");
    assert_eq!(navigated["to"], "/items/3");
    assert_eq!(navigated["title"], "Item 3 · Nav");
    assert!(navigated["html"]
        .as_str()
        .unwrap_or_default()
        .contains("Item 3"));
    // The new view's mount token works for a fresh mount (a reconnect).
    let token = navigated["mount_token"].as_str().expect("token").to_owned();
    let mut again = connect(addr).await;
    send_mount(&mut again, "item", &token, "/items/3").await;
    let mounted = recv(&mut again).await.expect("mount");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    // ...but not for another view.
    let mut forged = connect(addr).await;
    send_mount(&mut forged, "items", &token, "/items").await;
    let (code, _) = until_close(&mut forged).await;
    assert_eq!(code, Some(4403));
    server.shutdown().await;
}

#[tokio::test]
async fn refused_navigations_leave_the_view_and_the_socket_in_place() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut socket, _) = mount_page(addr, "/items?page=2", "items").await;
    for (kind, url, expected) in [
        (
            "live_navigate",
            "https://evil.example/",
            "Navigation only goes to same-origin paths",
        ),
        (
            "live_navigate",
            "//evil.example/items",
            "Navigation only goes to same-origin paths",
        ),
        (
            "live_navigate",
            "/nope",
            "No live view is served at this path",
        ),
        ("live_navigate", "/admin", "Login required"),
        (
            "live_navigate",
            "/items/abc",
            "Invalid value for parameter 'id': expected i64",
        ),
        (
            "live_patch",
            "/items?page=x",
            "Invalid value for parameter 'page': expected u32",
        ),
        (
            "live_patch",
            "/items/1",
            "A patch stays on the same view; navigate to change views",
        ),
    ] {
        let frames = send_nav(&mut socket, kind, url).await;
        if expected == "Login required" {
            // An anonymous user is sent to log in, as a fresh page would.
            assert!(
                frames
                    .iter()
                    .any(|f| f["type"] == "navigate" && f["to"] == "/login?next=%2Fadmin"),
                "{url}: {frames:?}"
            );
            continue;
        }
        assert_eq!(errors(&frames), [expected], "{url}: {frames:?}");
        tokio::time::sleep(std::time::Duration::from_millis(260)).await;
    }
    // Still the list, still page 2.
    send_json(&mut socket, &json!({ "type": "request_html" })).await;
    let html = until_type(&mut socket, "html_update").await;
    let last = html.last().expect("html_update");
    assert!(
        last["html"].as_str().unwrap_or_default().contains("page=2"),
        "{last}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn navigation_frames_meet_the_rate_limits() {
    let server = start().await;
    let (mut socket, _) = mount_page(server.local_addr(), "/items", "items").await;
    let mut frames = Vec::new();
    for page in 1..40 {
        send_json(
            &mut socket,
            &json!({ "type": "live_patch", "url": format!("/items?page={page}"), "kind": "push" }),
        )
        .await;
    }
    let (code, rest) = until_close(&mut socket).await;
    frames.extend(rest);
    assert!(
        frames.iter().any(|f| f["type"] == "rate_limit_exceeded"),
        "{frames:?}"
    );
    assert_eq!(code, Some(4429));
    server.shutdown().await;
}

async fn flash_link_from(addr: SocketAddr) -> String {
    let (mut socket, _) = mount_page(addr, "/items", "items").await;
    let frames = send_event(&mut socket, "bounce", json!({}), 1).await;
    let to = frames
        .iter()
        .find(|f| f["type"] == "navigate")
        .and_then(|f| f["to"].as_str())
        .unwrap_or_else(|| panic!("{frames:?}"))
        .to_owned();
    assert!(to.starts_with("/djust/flash?t="), "{to}");
    to
}

#[tokio::test]
async fn flash_survives_a_redirect_in_a_signed_http_only_cookie_and_shows_once() {
    let server = start().await;
    let addr = server.local_addr();
    let link = flash_link_from(addr).await;
    let hop = get(addr, &link).await;
    assert_eq!(hop.status, 303);
    assert_eq!(hop.header("location"), Some("/elsewhere"));
    let set = hop
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("djust_flash="))
        .expect("flash cookie")
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = set_cookie_pair(&hop, "djust_flash").expect("pair");
    let page = get_with_cookie(addr, "/elsewhere", &cookie).await;
    assert!(page.body.contains("Off you go."), "{}", page.body);
    let cleared = page
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("djust_flash="))
        .expect("cleared when read");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // Shown once: the next page has no flash.
    assert!(!get(addr, "/elsewhere").await.body.contains("Off you go."));
    // A forged, altered or foreign cookie shows nothing.
    for bad in ["djust_flash=x", "djust_flash=", &format!("{cookie}x")] {
        let page = get_with_cookie(addr, "/elsewhere", bad).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("Off you go."), "{bad}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_forged_or_foreign_flash_link_sets_nothing() {
    let server = start().await;
    let addr = server.local_addr();
    let link = flash_link_from(addr).await;
    for path in [
        "/djust/flash".to_owned(),
        "/djust/flash?t=".to_owned(),
        "/djust/flash?t=abc.def".to_owned(),
        format!("{link}x"),
        format!("/djust/flash?t={}", "A".repeat(20_000)),
    ] {
        let hop = get(addr, &path).await;
        assert!(
            hop.status == 303 || hop.status == 431,
            "{path}: {}",
            hop.status
        );
        if hop.status == 303 {
            assert_eq!(hop.header("location"), Some("/"), "{path}");
        }
        assert!(set_cookie_pair(&hop, "djust_flash").is_none(), "{path}");
    }
    // A link made for an anonymous visitor is refused for a session.
    let hop = get_with_cookie(addr, &link, "djust_session=forged").await;
    assert_eq!(hop.status, 303);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_routes_are_startup_errors() {
    let cases: [(App, &str); 4] = [
        (
            App::new().live("contacts", navigation_support::Items::view()),
            "must start with `/`",
        ),
        (
            App::new()
                .live("/items/{id}", navigation_support::Item::view())
                .live("/items/{key}", navigation_support::Items::view()),
            "matches the same paths",
        ),
        (
            App::new().live("/items/{Id}", navigation_support::Item::view()),
            "snake_case",
        ),
        (
            App::new()
                .live_session(LiveGroup::new("a").live("/x", navigation_support::Items::view()))
                .live_session(LiveGroup::new("a").live("/y", navigation_support::Item::view())),
            "its own non-empty name",
        ),
    ];
    for (app, needle) in cases {
        let error = app
            .config(test_config())
            .bind("127.0.0.1:0")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains(needle), "{needle}: {error}");
    }
}
