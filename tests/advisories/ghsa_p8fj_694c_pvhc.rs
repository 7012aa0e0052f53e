//! Phoenix GHSA-p8fj-694c-pvhc: a token leaked internal addresses. A token
//! that a page or a URL carries is readable by any script on the page, by
//! browser history and by every log the URL passes through; Phoenix's held
//! more than it needed (internal node addresses).
//!
//! djust-rs tokens carry only what their check needs, signed: the mount
//! token `{v, b, t}` (view, a keyed hash binding session and user, time),
//! the resume token `{i, v, t}` (a random id the server keeps the binding
//! for), the flash link `{n, f, s, t}` (page, messages, a keyed hash of the
//! session, time), and the socket's `connect` id is random, not the
//! session's. The tests decode each one a real server hands out and look
//! for the session id, the user id and name, the address and the port.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, User};
use serde_json::{json, Value};

use crate::support::*;

/// An internal-looking user id that must never reach the client.
const USER_ID: &str = "user-7f3a9c-db01";

struct Home;

#[live_view(login_required, name = "adv_p8fj_home")]
impl Home {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Home)
    }

    fn render(&self) -> Html {
        html! { <button dj-click="leave">"leave"</button> }
    }

    #[event_handler]
    fn leave(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.put_flash(FlashKind::Info, "see you");
        ctx.redirect("/p8fj")
    }
}

async fn start() -> djust::Server {
    let backend = MemoryAuthBackend::new();
    backend.insert(User::new(USER_ID, "alice"), quick_hash("alice-password"));
    App::new()
        .config(test_config())
        .auth(backend)
        .live("/p8fj", Home::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// The JSON payload of a signed token (`payload.tag`, base64url).
fn payload_of(token: &str) -> (Value, String) {
    let (payload, tag) = token.split_once('.').expect("payload.tag");
    assert!(!tag.is_empty());
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    let text = String::from_utf8(bytes).expect("UTF-8 payload");
    (serde_json::from_str(&text).expect("JSON payload"), text)
}

fn sorted_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
    keys.sort_unstable();
    keys
}

/// Everything that identifies the session, the user or the server.
fn secrets(cookie: &str, port: u16) -> Vec<String> {
    let value = cookie.split_once('=').map_or(cookie, |(_, value)| value);
    // The cookie is the signed session id: `base64url(id).tag`.
    let (encoded_id, _) = value.split_once('.').expect("a signed session cookie");
    let session_id = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded_id).expect("base64url"))
        .expect("UTF-8 session id");
    vec![
        value.to_owned(),
        session_id.chars().take(12).collect(),
        session_id,
        USER_ID.to_owned(),
        "alice".to_owned(),
        "127.0.0.1".to_owned(),
        port.to_string(),
    ]
}

fn assert_holds_none(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} holds {secret:?}: {text}"
        );
    }
}

#[tokio::test]
async fn no_token_the_client_sees_holds_an_identifier_or_an_address() {
    let server = start().await;
    let addr = server.local_addr();
    let cookie = log_in(addr, "alice", "alice-password", "/p8fj").await;
    let secrets = secrets(&cookie, addr.port());

    // The page's mount token.
    let page = get_with_cookie(addr, "/p8fj", &cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (mount, text) = payload_of(&mount_token(&page.body));
    assert_eq!(sorted_keys(&mount), ["b", "t", "v"], "{text}");
    assert_holds_none("the mount token", &text, &secrets);

    // The socket's greeting and the resume token of the mount frame.
    let mut socket = try_connect(addr, &[("Cookie", &cookie)])
        .await
        .expect("ws connect");
    let greeting = recv(&mut socket).await.expect("connect frame");
    assert_eq!(greeting["type"], "connect");
    assert_holds_none("the connect frame", &greeting.to_string(), &secrets);
    send_mount(
        &mut socket,
        "adv_p8fj_home",
        &mount_token(&page.body),
        "/p8fj",
    )
    .await;
    let mounted = recv(&mut socket).await.expect("mount frame");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    let (resume, text) = payload_of(mounted["resume_token"].as_str().expect("resume token"));
    assert_eq!(sorted_keys(&resume), ["i", "t", "v"], "{text}");
    assert_holds_none("the resume token", &text, &secrets);

    // The flash link of a redirect with a message: a URL, so it ends up in
    // history and logs.
    let frames = send_event(&mut socket, "leave", json!({}), 1).await;
    let to = frames
        .iter()
        .find(|frame| frame["type"] == "navigate")
        .and_then(|frame| frame["to"].as_str())
        .unwrap_or_else(|| panic!("a navigate frame: {frames:?}"))
        .to_owned();
    let token = to
        .strip_prefix("/djust/flash?t=")
        .unwrap_or_else(|| panic!("a flash link: {to}"));
    let (link, text) = payload_of(token);
    assert_eq!(sorted_keys(&link), ["f", "n", "s", "t"], "{text}");
    assert_holds_none("the flash link", &text, &secrets);

    // Still bound: the link sets the flash for alice's session only.
    let foreign = get(addr, &to).await;
    assert!(
        foreign
            .headers_named("set-cookie")
            .iter()
            .all(|cookie| !cookie.starts_with("djust_flash=")),
        "{:?}",
        foreign.headers_named("set-cookie")
    );
    let own = get_with_cookie(addr, &to, &cookie).await;
    assert_eq!(own.status, 303);
    assert!(
        own.headers_named("set-cookie")
            .iter()
            .any(|cookie| cookie.starts_with("djust_flash=")),
        "{:?}",
        own.headers_named("set-cookie")
    );
    server.shutdown().await;
}
