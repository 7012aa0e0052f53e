//! Phoenix CVE-2026-64941: open redirect through tab, CR or LF in a
//! redirect target. A "local path" check looked at the raw text, but
//! browsers delete ASCII tab, LF and CR from URLs before parsing them, so
//! `/\t/evil.com` passed as a path and was followed as `//evil.com`, a
//! scheme-relative URL to another host (and CR/LF could split headers).
//!
//! djust-rs answers it with one rule for every redirect target,
//! `safe_next_path`: exactly one leading `/`, no backslash, no control or
//! whitespace character anywhere (Unicode line breaks included), no `..`
//! segment, and the same after one round of percent-decoding; anything
//! else becomes `/`. It guards `?next=` on the login form and its POST,
//! the login redirect of `login_required` pages and the socket's `navigate`
//! to the login page, and `ctx.navigate()` in handlers. The tests below
//! send tab, CR and LF (raw, percent-encoded and as Unicode line breaks) in
//! every position through each of those sinks and expect the site's root
//! or a refusal; the controls show same-origin paths still pass.

use djust::prelude::*;
use djust::runtime::auth::{safe_next_path, MemoryAuthBackend, MountToken, User};
use serde_json::{json, Value};

use crate::support::*;
use crate::{now_unix, signer};

/// A page that needs a login; anonymous visitors are sent to `/login`.
struct Account;

#[live_view(login_required, name = "adv64941_account")]
impl Account {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Account)
    }

    fn render(&self) -> Html {
        html! { <p>"account"</p> }
    }
}

/// A page whose handler navigates wherever the client asks.
struct Jump;

#[live_view(public, name = "adv64941_jump")]
impl Jump {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Jump)
    }

    fn render(&self) -> Html {
        html! { <button dj-click="go">"go"</button> }
    }

    #[event_handler]
    fn go(&mut self, ctx: &mut EventCtx, to: String) -> Result<()> {
        ctx.redirect(&to)
    }
}

/// Tab, LF and CR as a browser meets them: raw, percent-encoded in either
/// case, and the Unicode line and form breaks some parsers also drop.
const BREAKS: [&str; 13] = [
    "\t", "\n", "\r", "\r\n", "%09", "%0a", "%0A", "%0d", "%0D", "%0d%0a", "\u{0085}", "\u{2028}",
    "\u{2029}",
];

/// Redirect targets with `{}` where a break goes: each is harmless without
/// the break removed, or already foreign.
const SHAPES: [&str; 14] = [
    "/{}/evil.com",
    "{}//evil.com",
    "/{}\\evil.com",
    "//{}evil.com",
    "/{}{}/evil.com",
    "{}/{}/evil.com",
    "\\{}\\evil.com",
    "https:{}//evil.com",
    "{}https://evil.com",
    "java{}script:alert(1)",
    "/account{}",
    "/account{}Set-Cookie: hacked=1",
    "/account?next={}//evil.com",
    "/account#{}//evil.com",
];

fn attacks() -> Vec<String> {
    let mut all = Vec::new();
    for shape in SHAPES {
        for brk in BREAKS {
            all.push(shape.replace("{}", brk));
        }
    }
    all
}

/// Same-origin targets that must survive unchanged.
const CONTROLS: [&str; 4] = [
    "/account",
    "/account?tab=2&q=a%20b",
    "/a/b/c#top",
    "/account?x=%2F",
];

/// Percent-encodes every byte, as a browser would put the value in a query.
fn encode_all(text: &str) -> String {
    text.bytes().map(|byte| format!("%{byte:02X}")).collect()
}

async fn start() -> djust::Server {
    let backend = MemoryAuthBackend::new();
    backend.insert(User::new("1", "alice"), quick_hash("alice-password"));
    // Many sockets and events in a row: the limits are not what is tested.
    let config = djust::Config {
        rate_per_second: 1_000_000.0,
        rate_burst: 1_000_000,
        max_connections_per_ip: 1_000,
        login_per_minute: 1_000,
        login_per_ip_per_minute: 1_000,
        login_per_user_per_minute: 1_000,
        ..test_config()
    };
    App::new()
        .config(config)
        .auth(backend)
        .live("/account", Account::view())
        .live("/jump", Jump::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

#[test]
fn safe_next_path_turns_every_break_into_the_root() {
    let attacks = attacks();
    assert!(attacks.len() > 150, "{}", attacks.len());
    for attack in &attacks {
        assert_eq!(safe_next_path(attack), "/", "{attack:?}");
    }
    for control in CONTROLS {
        assert_eq!(safe_next_path(control), control);
    }
}

#[tokio::test]
async fn next_on_the_login_form_and_its_post_never_leaves_the_site() {
    let server = start().await;
    let addr = server.local_addr();
    // Fewer shapes over HTTP (each POST is a login): every break once.
    let mut cases: Vec<String> = BREAKS
        .iter()
        .flat_map(|brk| {
            [
                format!("/{brk}/evil.com"),
                format!("{brk}//evil.com"),
                format!("/account{brk}Set-Cookie: hacked=1"),
            ]
        })
        .collect();
    cases.extend(CONTROLS.iter().map(|control| (*control).to_owned()));
    for next in &cases {
        let expected = if CONTROLS.contains(&next.as_str()) {
            next.as_str()
        } else {
            "/"
        };
        // GET: the form carries the validated value.
        let page = get(addr, &format!("/login?next={}", encode_all(next))).await;
        assert_eq!(page.status, 200, "{next:?}");
        let field = format!("name=\"next\" value=\"{}\"", expected.replace('&', "&amp;"));
        assert!(page.body.contains(&field), "{next:?}: {}", page.body);
        // POST: the redirect after logging in.
        let cookie = set_cookie_pair(&page, "djust_csrf").expect("login CSRF cookie");
        let csrf = csrf_from_page(&page.body).expect("csrf field");
        let response = post_form(
            addr,
            "/login",
            Some(&cookie),
            &[
                ("username", "alice"),
                ("password", "alice-password"),
                ("next", next),
                ("csrf_token", &csrf),
            ],
        )
        .await;
        assert_eq!(response.status, 303, "{next:?}");
        assert_eq!(response.header("location"), Some(expected), "{next:?}");
        assert!(
            response
                .headers_named("set-cookie")
                .iter()
                .all(|cookie| !cookie.contains("hacked")),
            "{next:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_login_redirect_of_a_login_required_page_drops_a_target_with_breaks() {
    let server = start().await;
    let addr = server.local_addr();
    for query in [
        "%09//evil.com",
        "%0d%0aSet-Cookie:%20hacked=1",
        "x=%0A%2F%2Fevil.com",
    ] {
        let page = get(addr, &format!("/account?{query}")).await;
        assert_eq!(page.status, 303, "{query}");
        assert_eq!(page.header("location"), Some("/login?next=%2F"), "{query}");
        assert!(page.headers_named("set-cookie").is_empty(), "{query}");
    }
    let page = get(addr, "/account?tab=2").await;
    assert_eq!(
        page.header("location"),
        Some("/login?next=%2Faccount%3Ftab%3D2")
    );
    server.shutdown().await;
}

/// The `next` parameter of a `/login?next=...` target, decoded.
fn next_of(target: &str) -> String {
    let query = target
        .strip_prefix("/login?")
        .unwrap_or_else(|| panic!("not the login page: {target}"));
    let (key, value) = query.split_once('=').expect("one parameter");
    assert_eq!(key, "next");
    let mut bytes = Vec::new();
    let mut rest = value.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' && tail.len() >= 2 {
            let hex = std::str::from_utf8(&tail[..2]).expect("ascii");
            bytes.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            rest = &tail[2..];
        } else {
            bytes.push(if byte == b'+' { b' ' } else { byte });
            rest = tail;
        }
    }
    String::from_utf8(bytes).expect("utf-8")
}

#[tokio::test]
async fn the_sockets_navigate_to_login_drops_a_url_with_breaks() {
    let server = start().await;
    let addr = server.local_addr();
    // An anonymous GET of the page is redirected and carries no token, so
    // sign a valid anonymous one: the refusal below is about the login.
    let token = MountToken::new("adv64941_account", "", None, now_unix()).encode(&signer());
    // One attack in three: every shape, and every break in several shapes.
    let mut urls: Vec<String> = attacks().into_iter().step_by(3).collect();
    // The controls that are URLs of the mounted view (the socket refuses
    // a URL routed to another page before any login check).
    let controls: Vec<&str> = CONTROLS
        .into_iter()
        .filter(|control| control.starts_with("/account"))
        .collect();
    urls.extend(controls.iter().map(|control| (*control).to_owned()));
    for url in &urls {
        let mut socket = connect(addr).await;
        send_mount(&mut socket, "adv64941_account", &token, url).await;
        let (code, frames) = until_close(&mut socket).await;
        if code == Some(4404) {
            // A URL that routes to no page of the view (a break in its
            // path) is refused as such: nothing navigates anywhere.
            assert!(!controls.contains(&url.as_str()), "{url:?}");
            assert_eq!(frames.len(), 1, "{url:?}: {frames:?}");
            assert_eq!(frames[0]["type"], "error", "{url:?}");
            continue;
        }
        assert_eq!(code, Some(4403), "{url:?}");
        assert_eq!(frames.len(), 1, "{url:?}: {frames:?}");
        assert_eq!(frames[0]["type"], "navigate", "{url:?}");
        let to = frames[0]["to"].as_str().expect("a target");
        let next = next_of(to);
        if controls.contains(&url.as_str()) {
            assert_eq!(next, *url, "{url:?} → {to}");
        } else {
            // The break is gone: either the whole URL, or (when the break
            // was in the fragment, which is never routed) the fragment.
            assert!(next == "/" || next == "/account", "{url:?} → {to}");
        }
        assert!(!to.chars().any(char::is_whitespace), "{to:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_handler_cannot_navigate_to_a_target_with_breaks() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut socket, _) = mount_page(addr, "/jump", "adv64941_jump").await;
    for (index, to) in attacks().iter().enumerate() {
        let frames = send_event(&mut socket, "go", json!({ "to": to }), index as u64).await;
        let navigations: Vec<&Value> = frames
            .iter()
            .filter(|frame| frame["type"] == "navigate")
            .collect();
        assert!(navigations.is_empty(), "{to:?} navigated: {navigations:?}");
        assert_eq!(errors(&frames).len(), 1, "{to:?}: {frames:?}");
    }
    for control in CONTROLS {
        let frames = send_event(&mut socket, "go", json!({ "to": control }), 1_000).await;
        assert!(
            frames.contains(&json!({ "type": "navigate", "to": control })),
            "{control}: {frames:?}"
        );
    }
    server.shutdown().await;
}
