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

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use e2e_support::page::{click, text, type_into, wait_connected, wait_text, WAIT};
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

async fn login(browser: &Browser, base: &str, username: &str, password: &str) {
    browser.goto(&format!("{base}login?next=/")).await;
    type_into(browser, "input[name=username]", username).await;
    type_into(browser, "input[name=password]", password).await;
    click(browser, "form[action='/login'] button[type=submit]").await;
    browser
        .wait_for(
            "the contact list",
            "return location.pathname === '/' && !!document.querySelector('#rows');",
            vec![],
            WAIT,
        )
        .await;
    wait_connected(browser).await;
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
    browser
        .execute("window.__same_page = true; return true;", vec![])
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
    login(&browser, &base, "admin", "admin-demo-2026").await;
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
            "return location.pathname === '/contacts/edit';",
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
            "back on the list",
            "return location.pathname === '/' && !!document.querySelector('#notice');",
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
    login(&browser, &base, "viewer", "viewer-demo-2026").await;
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
    login(&browser, &base, "admin", "admin-demo-2026").await;
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
    assert_eq!(report["href"], json!("#blocked"), "{report}");
    assert_eq!(
        report["name"],
        json!("<img src=x onerror=alert('name')>"),
        "{report}"
    );
    // Clicking the neutralised link runs nothing either.
    click(&browser, "#rows td.website a").await;
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
    login(&browser, &base, "admin", "admin-demo-2026").await;
    browser.goto(&format!("{base}contacts/edit?id=1")).await;
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
