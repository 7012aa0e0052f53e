//! The examples, served for real and used from headless Chromium.
//!
//! The example sources are compiled into this test crate (`#[path]`
//! modules), so each test builds the example's `App` in-process and binds
//! it to 127.0.0.1:0; their own `#[cfg(test)]` smoke tests and strict
//! audits run here too. Browser tests need `chromium` and `chromedriver`
//! (`.ci/run` installs them); without them they print why and skip, except
//! on CI, where a missing browser is a failure.
//!
//! Screenshots for the README: `DJUST_SCREENSHOTS=1 cargo test --test
//! e2e_examples` writes `docs/contacts.png` and `docs/chat.png`.
//!
//! The chat's identity and fan-out guards (issue 23) are also tested over
//! plain WebSockets (`tests/support`), where frames can be counted: nick
//! spoofs are refused, messages lose bidi and control characters, and
//! presence reaches each viewer at most once per interval however fast a
//! client opens and closes pages.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/chat/main.rs"]
mod chat;
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/contacts/main.rs"]
mod contacts;
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/counter.rs"]
mod counter;
mod e2e_support;
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use e2e_support::page::{
    click, log_in_to_contacts, text, type_into, wait_connected, wait_text, WAIT,
};
use e2e_support::{within, Browser, COMMAND_TIMEOUT};
use fantoccini::Locator;
use serde_json::{json, Value};

const SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

/// One browser test at a time: Chromium is heavy on a 2-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config() -> djust::Config {
    djust::Config {
        secret_key: Some(SECRET.to_owned()),
        ..djust::Config::default()
    }
}

async fn serve(app: djust::App) -> djust::Server {
    app.config(config())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

fn contacts_app() -> djust::App {
    let db = contacts::db::Db::in_memory().expect("db");
    db.seed_contacts().expect("seed contacts");
    db.seed_users().expect("seed users");
    contacts::app(Arc::new(db))
}

/// Overrides alert/confirm/prompt to record calls.
async fn trap_dialogs(browser: &Browser) {
    browser
        .execute(
            "window.__dialogs = []; for (const name of ['alert', 'confirm', 'prompt']) { window[name] = (...args) => { window.__dialogs.push(name); return null; }; } return true;",
            vec![],
        )
        .await;
}

async fn dialogs(browser: &Browser) -> Value {
    browser
        .execute("return window.__dialogs || [];", vec![])
        .await
}

async fn screenshot(browser: &Browser, name: &str) {
    if std::env::var_os("DJUST_SCREENSHOTS").is_none() {
        return;
    }
    within(
        "resize",
        COMMAND_TIMEOUT,
        browser.client().set_window_size(1280, 800),
    )
    .await
    .expect("resize");
    let png = within("screenshot", COMMAND_TIMEOUT, browser.client().screenshot())
        .await
        .expect("screenshot");
    let path = format!("{}/docs/{name}.png", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(&path, png).expect("write screenshot");
}

#[tokio::test]
async fn counter_clicks_update_the_dom_without_reloading() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve(counter::app()).await;
    browser
        .goto(&format!("http://{}/", server.local_addr()))
        .await;
    wait_connected(&browser).await;
    // The socket's first render was the page's own: the DOM stayed, and
    // the patches that follow apply to it without a repair.
    assert_eq!(
        browser
            .execute(
                "return document.querySelector('[data-djust-view]').getAttribute('data-djust-mount');",
                vec![]
            )
            .await,
        json!("kept")
    );
    browser
        .execute(
            "window.__same_page = true; window.__resyncs = 0; \
             document.addEventListener('djust:resync', () => { window.__resyncs += 1; }); return true;",
            vec![],
        )
        .await;
    click(&browser, "#increment").await;
    wait_text(&browser, "#count", "1").await;
    click(&browser, "#add10").await;
    wait_text(&browser, "#count", "11").await;
    click(&browser, "#decrement").await;
    wait_text(&browser, "#count", "10").await;
    // The About panel opens and closes with client commands.
    let about = "return [document.querySelector('#about').hidden, document.activeElement.id];";
    click(&browser, "#about-toggle").await;
    assert_eq!(browser.execute(about, vec![]).await[0], json!(false));
    click(&browser, "#about-close").await;
    assert_eq!(
        browser.execute(about, vec![]).await,
        json!([true, "about-toggle"])
    );
    assert_eq!(
        browser
            .execute("return window.__same_page === true;", vec![])
            .await,
        json!(true),
        "the page reloaded"
    );
    assert_eq!(
        browser.execute("return window.__resyncs;", vec![]).await,
        json!(0),
        "a patch did not apply to the kept DOM"
    );
    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn contacts_admin_flow_search_validate_add_delete() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve(contacts_app()).await;
    let base = format!("http://{}/", server.local_addr());
    log_in_to_contacts(&browser, &base, "admin", "admin-demo-2026").await;
    screenshot(&browser, "contacts").await;

    // Search: results update as you type (debounced dj-input).
    type_into(&browser, "#search", "lovelace").await;
    browser
        .wait_for(
            "one search result",
            "return document.querySelectorAll('#rows tr').length === 1;",
            vec![],
            WAIT,
        )
        .await;
    assert!(text(&browser, "#rows").await.contains("Ada Lovelace"));

    // Add with a validation error, then valid.
    click(&browser, "#add").await;
    browser
        .wait_for(
            "the form",
            "return location.pathname === '/contacts/new' && !!document.querySelector('#contact-form');",
            vec![],
            WAIT,
        )
        .await;
    wait_connected(&browser).await;
    type_into(&browser, "#email", "not-an-email").await;
    click(&browser, "#save").await;
    wait_text(&browser, "#error-name", "Name is required").await;
    wait_text(&browser, "#error-email", "valid email").await;
    type_into(&browser, "#name", "Zed Example").await;
    type_into(&browser, "#email", "zed@example.com").await;
    click(&browser, "#save").await;
    browser
        .wait_for(
            "the new contact's page, with the flash",
            "return /^\\/contacts\\/\\d+$/.test(location.pathname) && !!document.querySelector('.djust-flash .flash-success') && document.querySelector('#contact-name').textContent.includes('Zed Example');",
            vec![],
            WAIT,
        )
        .await;
    click(&browser, "#back").await;
    browser
        .wait_for(
            "back on the list",
            "return location.pathname === '/' && !!document.querySelector('#rows');",
            vec![],
            WAIT,
        )
        .await;
    wait_connected(&browser).await;

    // Find and delete it, with the confirmation step.
    type_into(&browser, "#search", "Zed").await;
    browser.wait_for("the new contact", "return document.querySelectorAll('#rows tr').length === 1 && document.querySelector('#rows').textContent.includes('Zed Example');", vec![], WAIT).await;
    click(&browser, "#rows tr .delete").await;
    wait_text(&browser, "#rows", "Yes, delete").await;
    click(&browser, "#rows tr .confirm-delete").await;
    browser.wait_for("the row to go", "return document.querySelectorAll('#rows tr').length === 0 && !!document.querySelector('#empty');", vec![], WAIT).await;
    wait_text(&browser, ".djust-flash .flash-success", "Contact deleted.").await;
    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn contacts_viewer_cannot_delete_even_with_a_forged_button() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve(contacts_app()).await;
    let base = format!("http://{}/", server.local_addr());
    log_in_to_contacts(&browser, &base, "viewer", "viewer-demo-2026").await;
    assert_eq!(
        browser
            .execute(
                "return document.querySelectorAll('.delete, #add, .edit').length;",
                vec![]
            )
            .await,
        json!(0)
    );
    let rows_before = browser
        .execute(
            "return document.querySelectorAll('#rows tr').length;",
            vec![],
        )
        .await;
    // Forge the button the viewer does not get, and click it.
    browser
        .execute(
            "const root = document.querySelector('[data-djust-view]');
             window.__errors = [];
             root.addEventListener('djust:error', (e) => window.__errors.push(e.detail && e.detail.error));
             const id = document.querySelector('#rows tr').dataset.id;
             const forged = document.createElement('button');
             forged.id = 'forged'; forged.setAttribute('dj-click', 'delete'); forged.setAttribute('dj-value-id', id);
             forged.textContent = 'forged';
             document.querySelector('#rows td.actions').appendChild(forged);
             return id;",
            vec![],
        )
        .await;
    click(&browser, "#forged").await;
    browser
        .wait_for(
            "the refusal",
            "return window.__errors.length > 0;",
            vec![],
            WAIT,
        )
        .await;
    let errors = browser.execute("return window.__errors;", vec![]).await;
    assert!(
        errors.to_string().to_lowercase().contains("permission"),
        "{errors}"
    );
    browser.execute("return location.reload();", vec![]).await;
    wait_connected(&browser).await;
    assert_eq!(
        browser
            .execute(
                "return document.querySelectorAll('#rows tr').length;",
                vec![]
            )
            .await,
        rows_before
    );
    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn stored_xss_renders_inert() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve(contacts_app()).await;
    let base = format!("http://{}/", server.local_addr());
    log_in_to_contacts(&browser, &base, "admin", "admin-demo-2026").await;
    trap_dialogs(&browser).await;
    // Bring the XSS contact in through a live patch, then check the DOM.
    type_into(&browser, "#search", "xss@").await;
    browser
        .wait_for(
            "the payload row",
            "return document.querySelectorAll('#rows tr').length === 1;",
            vec![],
            WAIT,
        )
        .await;
    let report = browser
        .execute(
            "const root = document.querySelector('[data-djust-view]');
             const injected = root.querySelectorAll('#rows img, #rows svg, #rows script, #rows iframe');
             const handlers = [...root.querySelectorAll('*')].filter(el => [...el.attributes].some(a => a.name.toLowerCase().startsWith('on')));
             const link = root.querySelector('#rows td.website a');
             return { injected: injected.length, handlers: handlers.length, href: link && link.getAttribute('href'), name: root.querySelector('#rows td.name').textContent };",
            vec![],
        )
        .await;
    assert_eq!(report["injected"], json!(0), "{report}");
    assert_eq!(report["handlers"], json!(0), "{report}");
    assert_eq!(
        report["name"],
        json!("<img src=x onerror=alert('name')>"),
        "{report}"
    );
    // Its page (live navigation) shows every field, the website among
    // them, all inert.
    click(&browser, "#rows td.name a").await;
    browser
        .wait_for(
            "the contact's page",
            "return !!document.querySelector('#website');",
            vec![],
            WAIT,
        )
        .await;
    let report = browser
        .execute(
            "const root = document.querySelector('[data-djust-view]');
             const injected = root.querySelectorAll('img, svg, script, iframe');
             const handlers = [...document.querySelectorAll('*')].filter(el => [...el.attributes].some(a => a.name.toLowerCase().startsWith('on')));
             const link = root.querySelector('#website a');
             return { injected: injected.length, handlers: handlers.length, href: link && link.getAttribute('href'),
                      name: root.querySelector('#contact-name').textContent, notes: root.querySelector('#notes').textContent, title: document.title };",
            vec![],
        )
        .await;
    assert_eq!(report["injected"], json!(0), "{report}");
    assert_eq!(report["handlers"], json!(0), "{report}");
    assert_eq!(report["href"], json!("#blocked"), "{report}");
    assert_eq!(
        report["name"],
        json!("<img src=x onerror=alert('name')>"),
        "{report}"
    );
    assert!(
        report["notes"]
            .as_str()
            .unwrap_or_default()
            .starts_with("<script>alert('stored xss')</script>"),
        "{report}"
    );
    assert!(
        report["title"]
            .as_str()
            .unwrap_or_default()
            .starts_with("<img src=x onerror=alert('name')>"),
        "{report}"
    );
    // Clicking the neutralised link runs nothing either.
    click(&browser, "#website a").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dialogs(&browser).await, json!([]));
    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_page_reconnects_after_a_server_restart() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve(counter::app()).await;
    let addr = server.local_addr();
    browser.goto(&format!("http://{addr}/")).await;
    wait_connected(&browser).await;
    click(&browser, "#increment").await;
    wait_text(&browser, "#count", "1").await;
    server.shutdown().await;
    browser
        .wait_for("the client to notice", "return document.querySelector('[data-djust-view]').dataset.djustStatus !== 'connected';", vec![], WAIT)
        .await;
    // Same address, same secret: the page's mount token is still valid.
    let mut restarted = None;
    for _ in 0..50 {
        match counter::app().config(config()).bind(addr).await {
            Ok(server) => {
                restarted = Some(server);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let server = restarted.expect("rebind the same port");
    wait_connected(&browser).await;
    click(&browser, "#increment").await;
    // A fresh server mounts a fresh view: the count starts again from 0.
    wait_text(&browser, "#count", "1").await;
    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn without_javascript_the_server_rendered_page_is_there() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start_with(false).await else {
        return;
    };
    let server = serve(counter::app()).await;
    browser
        .goto(&format!("http://{}/", server.local_addr()))
        .await;
    assert_eq!(text(&browser, "h1").await, "Counter");
    assert_eq!(text(&browser, "#count").await, "0");
    let status = browser
        .execute(
            "return document.querySelector('[data-djust-view]').dataset.djustStatus || null;",
            vec![],
        )
        .await;
    assert_eq!(status, Value::Null, "JavaScript ran");
    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn chat_between_two_browsers() {
    let _serial = SERIAL.lock().await;
    let Some(ann) = Browser::start().await else {
        return;
    };
    let Some(bob) = Browser::start().await else {
        return;
    };
    let server = serve(chat::app(Arc::new(chat::Room::new()))).await;
    let url = format!("http://{}/", server.local_addr());
    for (browser, name) in [(&ann, "Ann"), (&bob, "Bob")] {
        browser.goto(&url).await;
        wait_connected(browser).await;
        type_into(browser, "#name", name).await;
        click(browser, "#join-button").await;
        wait_text(browser, "#nick", name).await;
    }
    wait_text(&ann, "#online", "2 online").await;
    type_into(&ann, "#text", "hello <b>Bob</b>").await;
    wait_text(&bob, "#typing", "Ann is typing").await;
    click(&ann, "#send-button").await;
    wait_text(&bob, "#messages", "Ann: hello <b>Bob</b>").await;
    assert_eq!(
        bob.execute(
            "return document.querySelectorAll('#messages b').length;",
            vec![]
        )
        .await,
        json!(1),
        "markup in a message was rendered"
    );
    ann.wait_for(
        "the input to clear",
        "return document.querySelector('#text').value === '';",
        vec![],
        WAIT,
    )
    .await;
    screenshot(&bob, "chat").await;
    bob.close().await;
    wait_text(&ann, "#online", "1 online").await;
    ann.close().await;
    server.shutdown().await;
}

// ----- photo uploads (contacts)

fn corpus_file(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("djust-testing/payloads/uploads")
        .join(file)
}

/// Files made for this test, removed at its end.
struct Files(PathBuf);

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn choose(browser: &Browser, path: &std::path::Path) {
    let input = within(
        "find the file input",
        COMMAND_TIMEOUT,
        browser.client().find(Locator::Css("#photo")),
    )
    .await
    .expect("file input");
    within(
        "choose a file",
        COMMAND_TIMEOUT,
        input.send_keys(path.to_str().expect("utf-8 path")),
    )
    .await
    .expect("send the file path");
}

#[tokio::test]
async fn contact_photos_upload_with_progress_cancel_and_clear_refusals() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let scratch = std::env::temp_dir().join(format!(
        "djust-e2e-uploads-{}",
        djust::runtime::auth::generate_token()
    ));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let _files = Files(scratch.clone());
    // A real PNG with 1.5 MB after its end (browsers ignore it): slow
    // enough at the configured rate to watch its progress.
    let big = scratch.join("big.png");
    let mut bytes = std::fs::read(corpus_file("valid.png")).expect("png");
    bytes.extend(std::iter::repeat_n(0u8, 1_500_000));
    std::fs::write(&big, bytes).expect("big png");
    let oversize = scratch.join("huge.png");
    let mut bytes = std::fs::read(corpus_file("valid.png")).expect("png");
    bytes.extend(std::iter::repeat_n(0u8, 3 * 1024 * 1024));
    std::fs::write(&oversize, bytes).expect("huge png");
    let disguised = scratch.join("avatar.png");
    std::fs::copy(corpus_file("svg_as_png.png"), &disguised).expect("svg");

    let db = contacts::db::Db::in_memory().expect("db");
    db.seed_contacts().expect("seed contacts");
    db.seed_users().expect("seed users");
    let server = contacts::app(Arc::new(db))
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            upload_bytes_per_second: 256 * 1024,
            upload_dir: Some(scratch.join("uploads")),
            ..djust::Config::default()
        })
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/", server.local_addr());
    log_in_to_contacts(&browser, &base, "admin", "admin-demo-2026").await;
    browser.goto(&format!("{base}contacts/1/edit")).await;
    wait_connected(&browser).await;

    // A disguised SVG, a PDF, a 3 MB image: refused, each with its reason.
    choose(&browser, &disguised).await;
    wait_text(&browser, "#error-photo", "not the type its name says").await;
    choose(&browser, &corpus_file("valid.pdf")).await;
    wait_text(&browser, "#error-photo", "not accepted").await;
    choose(&browser, &oversize).await;
    wait_text(&browser, "#error-photo", "at most 2 MB").await;

    // A slow upload shows its progress, then is cancelled.
    choose(&browser, &big).await;
    browser
        .wait_for(
            "progress between 0 and 100",
            "const p = document.querySelector('#photo-progress'); return p.value > 0 && p.value < 100;",
            vec![],
            WAIT,
        )
        .await;
    assert_eq!(
        browser
            .execute(
                "return document.querySelector('#error-photo').textContent;",
                vec![]
            )
            .await,
        json!(""),
        "a new choice clears the last error"
    );
    assert_eq!(
        browser
            .execute(
                "return !!document.querySelector('#photo-preview').getAttribute('src');",
                vec![]
            )
            .await,
        json!(true),
        "a preview of the chosen image"
    );
    click(&browser, "#photo-cancel").await;
    browser
        .wait_for(
            "the upload to be cancelled",
            "return !document.querySelector('#photo-preview').getAttribute('src') && document.querySelector('#photo').value === '';",
            vec![],
            WAIT,
        )
        .await;

    // A real photo: uploaded, saved, shown in the list.
    choose(&browser, &corpus_file("valid.png")).await;
    browser
        .wait_for(
            "the upload to finish",
            "return document.querySelector('#photo').classList.contains('dj-upload-done') && document.querySelector('#photo-progress').value === 100;",
            vec![],
            WAIT,
        )
        .await;
    click(&browser, "#save").await;
    browser
        .wait_for(
            "the contact's page with the photo",
            "return location.pathname === '/contacts/1' && !!document.querySelector('#contact-name img.photo');",
            vec![],
            WAIT,
        )
        .await;
    click(&browser, "#back").await;
    browser
        .wait_for(
            "the list with the photo",
            "return location.pathname === '/' && !!document.querySelector('#rows tr[data-id=\"1\"] img.thumb');",
            vec![],
            WAIT,
        )
        .await;
    let served = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/photos/1').then((r) => done([r.status, r.headers.get('content-type'), r.headers.get('x-content-type-options'), r.headers.get('content-security-policy')]));",
            vec![],
        )
        .await;
    assert_eq!(served[0], json!(200), "{served}");
    assert_eq!(served[1], json!("image/png"), "{served}");
    assert_eq!(served[2], json!("nosniff"), "{served}");
    assert!(
        served[3]
            .as_str()
            .unwrap_or_default()
            .starts_with("sandbox"),
        "{served}"
    );
    // Nothing left in the upload directory.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let left: Vec<_> = std::fs::read_dir(scratch.join("uploads"))
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    browser.close().await;
    server.shutdown().await;
}

// --- The chat over plain WebSockets ---------------------------------------------

/// The chat on 127.0.0.1:0, taking client addresses from `X-Forwarded-For`
/// so each simulated person has an address of their own (their own
/// `#[rate_limit]` buckets and per-IP connection count), as behind a proxy.
async fn serve_chat(room: Arc<chat::Room>) -> djust::Server {
    chat::app(room)
        .config(djust::Config {
            trusted_proxies: 1,
            ..config()
        })
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// A chat view mounted over a socket from address `ip`.
async fn chat_socket(addr: std::net::SocketAddr, token: &str, ip: &str) -> support::Socket {
    chat_mount(addr, token, ip).await.0
}

/// A chat view mounted over a socket from address `ip`, and its mount frame.
async fn chat_mount(addr: std::net::SocketAddr, token: &str, ip: &str) -> (support::Socket, Value) {
    let mut socket = support::connect_with(addr, &[("X-Forwarded-For", ip)]).await;
    support::send_mount(&mut socket, "chat", token, "/").await;
    let mounted = support::recv(&mut socket).await.expect("mount frame");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    (socket, mounted)
}

/// The chat page's mount token (anonymous visitors share its session "").
async fn chat_token(addr: std::net::SocketAddr) -> String {
    let page = support::get(addr, "/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    support::mount_token(&page.body)
}

/// Every frame's JSON, as one string.
fn frames_text(frames: &[Value]) -> String {
    frames.iter().map(Value::to_string).collect()
}

#[tokio::test]
async fn chat_refuses_nick_spoofs_over_sockets() {
    let room = Arc::new(chat::Room::new());
    let server = serve_chat(room).await;
    let addr = server.local_addr();
    let token = chat_token(addr).await;
    let mut ann = chat_socket(addr, &token, "10.0.0.1").await;
    let joined = support::send_event(&mut ann, "join", json!({ "name": "Ann" }), 1).await;
    assert!(frames_text(&joined).contains("You are "), "{joined:?}");

    for (index, (spoof, reason)) in [
        ("Ann", "the name is taken: someone in the room is “Ann”"),
        ("ann", "the name is taken: someone in the room is “Ann”"),
        ("ＡＮＮ", "the name is taken: someone in the room is “Ann”"),
        (
            "\u{410}nn",
            "the name is taken: someone in the room is “Ann”",
        ),
        (
            " Ann\u{FE0F} ",
            "the name is taken: someone in the room is “Ann”",
        ),
        ("Ann\u{200B}", "invisible character (U+200B)"),
        ("A\u{200C}nn", "invisible character (U+200C)"),
        ("An\u{200D}n", "invisible character (U+200D)"),
        ("\u{FEFF}Ann", "invisible character (U+FEFF)"),
        ("An\u{AD}n", "invisible character (U+00AD)"),
        ("Ann\u{2060}", "invisible character (U+2060)"),
        ("\u{202E}nnA", "bidirectional control character (U+202E)"),
        ("Ann\u{200F}", "bidirectional control character (U+200F)"),
        (
            "\u{2067}Ann\u{2069}",
            "bidirectional control character (U+2067)",
        ),
        ("Ann\u{7}", "control character or line break (U+0007)"),
        ("Ann\u{1B}[0m", "control character or line break (U+001B)"),
        ("An\nn", "control character or line break (U+000A)"),
        ("Ann\u{0}", "control character or line break (U+0000)"),
        ("\u{E000}Ann", "private-use character (U+E000)"),
        ("", "the name is empty"),
        ("   ", "the name is empty"),
        // An ideographic space is a space after NFKC.
        ("\u{3000}", "the name is empty"),
        ("Annabel Lee of the Kingdom", "longer than 24 characters"),
        // One character NFKC expands to 18: two are too long.
        ("\u{FDFA}\u{FDFA}", "longer than 24 characters"),
    ]
    .into_iter()
    .map(|(spoof, reason)| (spoof.to_owned(), reason))
    .chain([
        // Á and five more marks on it (NFKC composes the first).
        (format!("A{}nn", "\u{301}".repeat(6)), "combining marks"),
        ("A".repeat(20_000), "longer than 24 characters"),
    ])
    .enumerate()
    {
        let ip = format!("10.0.1.{index}");
        let mut mallory = chat_socket(addr, &token, &ip).await;
        let frames = support::send_event(&mut mallory, "join", json!({ "name": spoof }), 1).await;
        let text = frames_text(&frames);
        assert!(text.contains("Cannot join: "), "{spoof:?}: {text}");
        assert!(text.contains(reason), "{spoof:?}: {text}");
        assert!(!text.contains("You are "), "{spoof:?} joined: {text}");
        let _ = mallory.close(None).await;
    }

    // Not a string, or too big for a frame: refused before the handler.
    for (index, params) in [
        json!({}),
        json!({ "name": null }),
        json!({ "name": ["Ann"] }),
        json!({ "name": { "first": "Ann" } }),
    ]
    .into_iter()
    .enumerate()
    {
        let ip = format!("10.0.3.{index}");
        let mut mallory = chat_socket(addr, &token, &ip).await;
        let frames = support::send_event(&mut mallory, "join", params.clone(), 1).await;
        assert!(!support::errors(&frames).is_empty(), "{params}: {frames:?}");
        assert!(
            !frames_text(&frames).contains("You are "),
            "{params}: {frames:?}"
        );
        let _ = mallory.close(None).await;
    }

    // A name too big for a frame: an error, and the socket is closed.
    let mut mallory = chat_socket(addr, &token, "10.0.3.100").await;
    support::send_json(
        &mut mallory,
        &json!({ "type": "event", "event": "join", "params": { "name": "A".repeat(70_000) }, "ref": 1 }),
    )
    .await;
    let (code, frames) = support::until_close(&mut mallory).await;
    assert_eq!(code, Some(1009), "{frames:?}");
    assert!(!support::errors(&frames).is_empty(), "{frames:?}");
    assert!(!frames_text(&frames).contains("You are "), "{frames:?}");

    // A nick is text, never markup: others see it escaped.
    let mut eve = chat_socket(addr, &token, "10.0.4.1").await;
    let frames = support::send_event(&mut eve, "join", json!({ "name": "<i>Eve</i>" }), 1).await;
    assert!(frames_text(&frames).contains("You are "), "{frames:?}");
    support::send_event(&mut eve, "send", json!({ "text": "hello" }), 2).await;
    assert!(
        support::wait_for_text(&mut ann, "&lt;i&gt;Eve&lt;/i&gt;").await,
        "Ann never saw Eve's escaped nick"
    );
    let _ = eve.close(None).await;

    // Ann's own view may join again with her nick.
    let again = support::send_event(&mut ann, "join", json!({ "name": "ANN" }), 2).await;
    assert!(!frames_text(&again).contains("Cannot join"), "{again:?}");
    // Once Ann has left, the nick is free.
    let _ = ann.close(None).await;
    support::wait_hangup(&mut ann).await;
    let mut later = chat_socket(addr, &token, "10.0.2.1").await;
    let frames = support::send_event(&mut later, "join", json!({ "name": "ann" }), 1).await;
    let text = frames_text(&frames);
    assert!(
        text.contains("You are ") && !text.contains("Cannot join"),
        "{text}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn chat_messages_lose_bidi_overrides_and_control_characters() {
    let room = Arc::new(chat::Room::new());
    let server = serve_chat(room).await;
    let addr = server.local_addr();
    let token = chat_token(addr).await;
    let mut ann = chat_socket(addr, &token, "10.0.0.1").await;
    let mut bob = chat_socket(addr, &token, "10.0.0.2").await;
    support::send_event(&mut ann, "join", json!({ "name": "Ann" }), 1).await;
    let sent = support::send_event(
        &mut ann,
        "send",
        json!({ "text": "open invoice_\u{202E}gnp.exe\u{7}\u{1B}[2J\u{200B} now" }),
        2,
    )
    .await;
    assert!(support::errors(&sent).is_empty(), "{sent:?}");
    assert!(
        support::wait_for_text(&mut bob, "open invoice_gnp.exe[2J now").await,
        "Bob never got the cleaned message"
    );
    // Nothing hidden reached Ann's own view either.
    let text = frames_text(&sent);
    assert!(text.contains("open invoice_gnp.exe[2J now"), "{text}");
    for hidden in ['\u{202E}', '\u{7}', '\u{1B}', '\u{200B}'] {
        assert!(!text.contains(hidden), "U+{:04X} sent", u32::from(hidden));
    }
    // ... nor does it come back to a page loaded later (the history).
    let page = support::get(addr, "/").await;
    assert!(
        page.body.contains("open invoice_gnp.exe[2J now"),
        "{}",
        page.body
    );
    assert!(!page.body.contains('\u{202E}') && !page.body.contains('\u{1B}'));
    server.shutdown().await;
}

/// The count in a frame that shows the chat's "N online": the mount
/// frame's page, or a patch setting that text.
fn count_in(frame: &Value) -> Option<usize> {
    let leading_count = |text: &str| -> Option<usize> {
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        text[digits.len()..]
            .starts_with(" online")
            .then(|| digits.parse().ok())
            .flatten()
    };
    if frame["type"] == "mount" {
        let (_, after) = frame["html"].as_str()?.split_once("id=\"online\">")?;
        return leading_count(after);
    }
    frame["patches"]
        .as_array()?
        .iter()
        .rev()
        .find_map(|patch| leading_count(patch["value"].as_str()?))
}

/// The chat's "N online" as a viewer last saw it.
fn last_count(frames: &[(std::time::Instant, Value)]) -> Option<usize> {
    frames.iter().rev().find_map(|(_, frame)| count_in(frame))
}

#[tokio::test]
async fn chat_presence_reaches_each_viewer_at_most_once_per_interval() {
    const VIEWERS: usize = 20;
    const CYCLES: usize = 40;
    let room = Arc::new(chat::Room::new());
    let server = serve_chat(room).await;
    let addr = server.local_addr();
    let token = chat_token(addr).await;

    // The viewers, each reading its frames into a log as they arrive.
    type Log = Arc<std::sync::Mutex<Vec<(std::time::Instant, Value)>>>;
    let mut logs: Vec<Log> = Vec::new();
    let mut readers = Vec::new();
    for viewer in 0..VIEWERS {
        let (mut socket, mounted) = chat_mount(addr, &token, &format!("10.1.0.{viewer}")).await;
        assert!(count_in(&mounted).is_some(), "{mounted}");
        let log: Log = Arc::new(std::sync::Mutex::new(vec![(
            std::time::Instant::now(),
            mounted,
        )]));
        logs.push(Arc::clone(&log));
        readers.push(tokio::spawn(async move {
            loop {
                match support::next(&mut socket).await {
                    support::Incoming::Frame(frame) => log
                        .lock()
                        .expect("log")
                        .push((std::time::Instant::now(), frame)),
                    support::Incoming::Timeout => continue,
                    support::Incoming::Closed(_) => return,
                }
            }
        }));
    }
    let settled = |logs: &[Log], count: usize| {
        logs.iter()
            .all(|log| last_count(&log.lock().expect("log")) == Some(count))
    };
    // Everyone sees everyone before the churn starts.
    let deadline = std::time::Instant::now() + WAIT;
    while !settled(&logs, VIEWERS) {
        assert!(
            std::time::Instant::now() < deadline,
            "viewers never saw {VIEWERS} online"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // One client loads the page, mounts and closes, over and over.
    let start = std::time::Instant::now();
    let before: Vec<usize> = logs
        .iter()
        .map(|log| log.lock().expect("log").len())
        .collect();
    for _ in 0..CYCLES {
        let token = chat_token(addr).await;
        let mut churn = chat_socket(addr, &token, "10.2.0.1").await;
        let _ = churn.close(None).await;
        support::wait_hangup(&mut churn).await;
    }
    // The final count always arrives.
    while !settled(&logs, VIEWERS) {
        assert!(
            std::time::Instant::now() < start + WAIT * 2,
            "final count lost"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Stopped before the clock is read: every frame counted arrived in
    // `elapsed`.
    for reader in readers {
        reader.abort();
        let _ = reader.await;
    }
    let elapsed = start.elapsed();
    // Deliveries are at least one interval apart, so in `elapsed` there
    // are at most elapsed / interval + 1 of them; each is one frame.
    let bound =
        (elapsed.as_secs_f64() / chat::PRESENCE_INTERVAL.as_secs_f64()).floor() as usize + 1;
    for (viewer, log) in logs.iter().enumerate() {
        let log = log.lock().expect("log");
        let frames = log[before[viewer]..]
            .iter()
            .filter(|(_, frame)| count_in(frame).is_some())
            .count();
        assert!(
            frames <= bound,
            "viewer {viewer}: {frames} frames in {elapsed:?} for {CYCLES} page loads; at most {bound} expected (one per {:?})",
            chat::PRESENCE_INTERVAL
        );
    }
    server.shutdown().await;
}
