//! Live navigation through the protocol core (`TestClient`): URL state with
//! `handle_params`, patches and navigations from links, Back/Forward and
//! handlers, and every refusal (off-origin, unregistered route, another
//! view for a patch, forbidden target, bad parameters, too many hops,
//! navigation floods).

#[path = "navigation_support/mod.rs"]
mod navigation_support;

use djust::runtime::auth::User;
use djust::runtime::protocol::{HistoryKind, ServerMessage};
use djust::LiveGroup;
use djust_testing::{TestClient, TestClientBuilder};
use navigation_support::{other_session, routes, Item, Items, Sort};
use std::time::Duration;

fn app(builder: TestClientBuilder) -> TestClientBuilder {
    routes()
        .into_iter()
        .fold(builder, |builder, (path, view)| builder.live(path, view))
        .live_session(other_session())
}

fn items_at(url: &str) -> TestClient {
    app(TestClient::build::<Items>().url(url))
        .mount()
        .expect("mount")
}

fn state(client: &TestClient) -> String {
    client
        .document()
        .select(&scraper::Selector::parse("#state").expect("selector"))
        .next()
        .map(|p| p.text().collect())
        .unwrap_or_default()
}

#[test]
fn handle_params_runs_on_mount_with_typed_values_and_ignores_unknown_keys() {
    let client = items_at("/items?q=ada&page=2&sort=newest&unknown=1");
    assert_eq!(state(&client), "q=ada page=2 sort=Newest");
    assert_eq!(client.title(), "Items, page 2");
    assert_eq!(client.url(), "/items?q=ada&page=2&sort=newest&unknown=1");
}

#[test]
fn a_mount_with_bad_url_parameters_is_refused_with_a_clear_error() {
    for url in [
        "/items?page=abc",
        "/items?page=-1",
        "/items?page=99999999999",
        "/items?sort=sideways",
        "/items?q=a&q=b",
    ] {
        let refused = app(TestClient::build::<Items>().url(url)).mount();
        assert!(refused.is_err(), "{url}");
    }
}

#[test]
fn patch_changes_the_url_without_remounting() {
    let mut client = items_at("/items");
    let result = client.patch("/items?page=3&q=x");
    assert_eq!(result.error(), None, "{:?}", result.frames);
    assert_eq!(state(&client), "q=x page=3 sort=Name");
    assert_eq!(client.url(), "/items?page=3&q=x");
    assert!(result.frames.iter().any(|f| matches!(f,
        ServerMessage::LivePatch { to, kind: HistoryKind::Push } if to == "/items?page=3&q=x")));
    assert!(result
        .frames
        .iter()
        .any(|f| matches!(f, ServerMessage::Title { title } if title == "Items, page 3")));
    // Not remounted: the same view instance counted both calls.
    assert_eq!(client.meta().name, "items");
}

#[test]
fn a_bad_patch_changes_nothing_and_says_why() {
    let mut client = app(TestClient::build::<Items>()
        .url("/items?page=2")
        .frame_spacing(Duration::from_millis(300)))
    .mount()
    .expect("mount");
    let cases = [
        (
            "/items?page=abc",
            "Invalid value for parameter 'page': expected u32",
        ),
        (
            "/items?sort=up",
            "Invalid value for parameter 'sort': expected Option<Sort>",
        ),
        ("/items?page=5000", "Bad request"),
        (
            "/items/3",
            "A patch stays on the same view; navigate to change views",
        ),
        (
            "https://evil.example/items",
            "Navigation only goes to same-origin paths",
        ),
        (
            "//evil.example/items",
            "Navigation only goes to same-origin paths",
        ),
        (
            "javascript:alert(1)",
            "Navigation only goes to same-origin paths",
        ),
        (
            "/items\u{0}?page=3",
            "Navigation only goes to same-origin paths",
        ),
        ("/nope", "No live view is served at this path"),
    ];
    for (url, expected) in cases {
        let result = client.patch(url);
        assert_eq!(result.error(), Some(expected), "{url}");
        assert!(
            !result
                .frames
                .iter()
                .any(|f| matches!(f, ServerMessage::LivePatch { .. })),
            "{url}: no history entry for a refused patch"
        );
        assert_eq!(state(&client), "q= page=2 sort=Name", "{url}");
        assert_eq!(client.url(), "/items?page=2", "{url}");
        assert!(!client.is_closed(), "{url}");
    }
    // Oversized and hostile values are refused too, never a panic.
    let long = format!("/items?q={}", "a".repeat(10_000));
    assert!(client.patch(&long).error().is_some());
    let result = client.patch("/items?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(result.error(), None);
    assert!(client
        .html()
        .contains("q=&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn handle_params_can_normalise_the_url_with_a_replace() {
    let mut client = items_at("/items?page=4");
    let result = client.patch("/items?page=0");
    assert!(result.frames.iter().any(|f| matches!(f,
        ServerMessage::LivePatch { to, kind: HistoryKind::Replace } if to == "/items?page=1")));
    assert_eq!(client.url(), "/items?page=1");
    assert_eq!(state(&client), "q= page=1 sort=Name");
}

#[test]
fn handlers_push_patches() {
    let mut client = items_at("/items?q=k");
    let result = client.event("next_page", serde_json::json!({}));
    assert!(result.frames.iter().any(|f| matches!(f,
        ServerMessage::LivePatch { to, kind: HistoryKind::Push } if to == "/items?page=2&q=k")));
    assert_eq!(state(&client), "q=k page=2 sort=Name");
}

#[test]
fn back_and_forward_patch_without_a_new_history_entry() {
    let mut client = items_at("/items?page=5");
    let result = client.pop_to("/items?page=2", "items");
    assert_eq!(result.error(), None);
    assert_eq!(state(&client), "q= page=2 sort=Name");
    assert!(!result
        .frames
        .iter()
        .any(|f| matches!(f, ServerMessage::LivePatch { .. })));
    // Back to a page of another view of the live session: a navigation.
    let result = client.pop_to("/items/4", "item");
    assert!(result.frames.iter().any(|f| matches!(f,
        ServerMessage::LiveNavigate { kind: HistoryKind::Pop, view, .. } if view == "item")));
    assert_eq!(client.meta().name, "item");
}

#[test]
fn navigate_mounts_another_view_of_the_live_session_on_the_same_connection() {
    let mut client = items_at("/items?q=zz");
    let result = client.navigate("/items/7");
    assert_eq!(result.error(), None, "{:?}", result.frames);
    let frame = result
        .frames
        .iter()
        .find_map(|f| match f {
            ServerMessage::LiveNavigate {
                to,
                kind,
                view,
                title,
                html,
                version,
                mount_token,
                ..
            } => Some((
                to.clone(),
                *kind,
                view.clone(),
                title.clone(),
                html.clone(),
                *version,
                mount_token.clone(),
            )),
            _ => None,
        })
        .expect("live_navigate frame");
    assert_eq!(frame.0, "/items/7");
    assert_eq!(frame.1, HistoryKind::Push);
    assert_eq!(frame.2, "item");
    assert_eq!(frame.3, "Item 7");
    assert!(frame.4.contains("Item 7"), "{}", frame.4);
    assert_eq!(frame.5, 1);
    assert!(!frame.6.is_empty(), "a mount token for the new view");
    assert_eq!(client.meta().name, "item");
    assert_eq!(client.url(), "/items/7");
    // Events now go to the new view's allowlist only.
    assert_eq!(
        client.event("next_page", serde_json::json!({})).error(),
        Some("Unknown event")
    );
    // And back, by link: a fresh mount of the list (its state came from the URL).
    let result = client.navigate("/items?page=3");
    assert_eq!(result.error(), None);
    assert_eq!(state(&client), "q= page=3 sort=Name");
}

#[test]
fn every_navigation_refusal_leaves_the_current_view_in_place() {
    let viewer = User::new("u1", "viewer");
    // Slow enough for the navigation bucket: this test is about refusals.
    let mut client = app(TestClient::build::<Items>()
        .url("/items?page=2")
        .user(viewer)
        .frame_spacing(Duration::from_millis(300)))
    .mount()
    .expect("mount");
    let cases = [
        ("/nope", "No live view is served at this path"),
        (
            "https://evil.example/items/1",
            "Navigation only goes to same-origin paths",
        ),
        (
            "//evil.example/items/1",
            "Navigation only goes to same-origin paths",
        ),
        (
            "/\\evil.example",
            "Navigation only goes to same-origin paths",
        ),
        (
            "data:text/html,<script>alert(1)</script>",
            "Navigation only goes to same-origin paths",
        ),
        ("/admin", "Permission denied"),
        ("/items/0", "Not found"),
        (
            "/items/abc",
            "Invalid value for parameter 'id': expected i64",
        ),
        (
            "/items/99999999999999999999999",
            "Invalid value for parameter 'id': expected i64",
        ),
    ];
    for (url, expected) in cases {
        let result = client.navigate(url);
        let error = result.error().map(str::to_owned);
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.starts_with(expected) || expected.starts_with(e)),
            "{url}: {error:?}"
        );
        assert_eq!(client.meta().name, "items", "{url}");
        assert_eq!(state(&client), "q= page=2 sort=Name", "{url}");
        assert!(client.navigations().is_empty(), "{url}: no page load");
        assert!(!client.is_closed(), "{url}");
    }
}

#[test]
fn a_login_required_target_sends_an_anonymous_user_to_the_login_page() {
    let mut client = items_at("/items");
    let result = client.navigate("/secret");
    assert_eq!(result.error(), None);
    assert_eq!(client.navigations(), ["/login?next=%2Fsecret"]);
    assert_eq!(client.meta().name, "items");
}

#[test]
fn another_live_session_is_a_full_page_load() {
    let mut client = items_at("/items");
    client.navigate("/elsewhere");
    assert_eq!(client.navigations(), ["/elsewhere"]);
    assert_eq!(client.meta().name, "items");
    // Back to it with the browser's history: replaced, not pushed.
    client.pop_to("/elsewhere", "elsewhere");
    assert!(client.frames().iter().any(|f| matches!(f,
        ServerMessage::Navigate { to, replace: true } if to == "/elsewhere")));
}

#[test]
fn flash_survives_a_live_navigation_and_shows_once() {
    let mut client = app(TestClient::build::<Item>().url("/items/3"))
        .mount()
        .expect("mount");
    let result = client.event("save", serde_json::json!({}));
    let flash = result.frames.iter().find_map(|f| match f {
        ServerMessage::LiveNavigate { flash, view, .. } if view == "items" => Some(flash.clone()),
        _ => None,
    });
    let flash = flash.expect("live_navigate with the flash");
    assert_eq!(flash.len(), 1);
    assert_eq!(flash[0].kind, "success");
    assert_eq!(flash[0].message, "Item saved.");
    assert_eq!(state(&client), "q=saved page=1 sort=Name");
    // Shown once: no separate flash frame repeats it.
    assert_eq!(client.flashes().len(), 1);
}

#[test]
fn flash_survives_a_redirect_through_a_signed_link() {
    let mut client = items_at("/items");
    client.event("bounce", serde_json::json!({}));
    let to = client.navigations();
    assert_eq!(to.len(), 1);
    assert!(to[0].starts_with("/djust/flash?t="), "{to:?}");
    assert!(
        client.flashes().is_empty(),
        "carried by the link, not shown here"
    );
}

#[test]
fn a_patch_loop_stops_with_an_error() {
    let client = app(TestClient::build::<navigation_support::Looping>().url("/loop"))
        .mount()
        .expect("mount");
    assert!(
        client.errors().iter().any(|e| e == "Too many redirects"),
        "{:?}",
        client.errors()
    );
}

#[test]
fn navigation_floods_meet_the_navigation_rate_limit() {
    let mut client = app(TestClient::build::<Items>()
        .url("/items")
        .frame_spacing(Duration::from_millis(1)))
    .mount()
    .expect("mount");
    let mut limited = 0;
    for n in 0..60 {
        let result = client.patch(&format!("/items?page={}", n % 9 + 1));
        if result
            .frames
            .iter()
            .any(|f| matches!(f, ServerMessage::RateLimitExceeded { .. }))
        {
            limited += 1;
        }
        if result.closed {
            break;
        }
    }
    assert!(limited >= 1, "the navigation bucket refused some");
    assert!(client.is_closed(), "repeated floods close the connection");
}

#[test]
fn a_live_session_hook_and_posture_apply_to_navigation() {
    let guarded = LiveGroup::new("guarded")
        .on_mount(|ctx| {
            if ctx.query("ok").is_some() {
                Ok(())
            } else {
                Err(djust::Error::forbidden())
            }
        })
        .live("/g/items", Items::view())
        .live("/g/items/{id}", Item::view());
    let mut client = TestClient::build::<Items>()
        .url("/g/items?ok=1")
        .live_session(guarded)
        .mount()
        .expect("mount passes the hook");
    assert_eq!(
        client.navigate("/g/items/3").error(),
        Some("Permission denied")
    );
    assert_eq!(client.meta().name, "items");
    assert_eq!(client.navigate("/g/items/3?ok=1").error(), None);
    assert_eq!(client.meta().name, "item");

    let members = LiveGroup::new("members")
        .login_required()
        .live("/m/items", Items::view());
    let refused = TestClient::build::<Items>()
        .url("/m/items")
        .live_session(members)
        .mount();
    assert!(
        refused.is_err(),
        "the group's posture tightens a public view"
    );
}

#[test]
fn typed_url_params_are_in_the_metadata() {
    let meta = <Items as djust::LiveView>::meta();
    let params = meta.url_params.expect("handle_params");
    let names: Vec<&str> = params.iter().map(|p| p.name).collect();
    assert_eq!(names, ["q", "page", "sort"]);
    assert_eq!(meta.title, Some("Items"));
    let _ = Sort::Name;
}
