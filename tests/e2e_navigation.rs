//! Live navigation in headless Chromium, on the contacts example served for
//! real (issue 18): moving between pages never reloads the page (a marker
//! set on `window` survives), the list's search, sort and page live in the
//! URL (Back, Forward and reload restore them), a flash shows exactly once,
//! the unsaved-changes guard asks before typed input is thrown away, and the
//! list fits a 1,200-pixel-wide window.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); without
//! them each test prints why and skips, except on CI.

// The example's modules without its `main.rs` (whose smoke tests and
// audit snapshot run in tests/e2e_examples.rs).
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/contacts"]
mod contacts {
    pub mod app;
    pub mod auth;
    pub mod db;
    pub mod layout;
    pub mod views;
    pub use app::app;
}
mod e2e_support;

use std::sync::Arc;
use std::time::Duration;

use e2e_support::page::{
    click, log_in_to_contacts, text, type_into, wait_connected, wait_text, WAIT,
};
use e2e_support::{within, Browser, COMMAND_TIMEOUT};
use serde_json::{json, Value};

const SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

/// One browser test at a time: Chromium is heavy on a 2-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn serve() -> djust::Server {
    let db = contacts::db::Db::in_memory().expect("db");
    db.seed_contacts().expect("seed contacts");
    db.seed_users().expect("seed users");
    contacts::app(Arc::new(db))
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            ..djust::Config::default()
        })
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Logs in as `admin` and waits for the connected list.
async fn login_admin(browser: &Browser, base: &str) {
    log_in_to_contacts(browser, base, "admin", "admin-demo-2026").await;
}

/// Marks this document: the mark survives live navigation, not a page load.
async fn mark_page(browser: &Browser) {
    browser
        .execute("window.__same_page = true; return true;", vec![])
        .await;
}

async fn same_page(browser: &Browser) -> bool {
    browser
        .execute("return window.__same_page === true;", vec![])
        .await
        == json!(true)
}

async fn url(browser: &Browser) -> String {
    browser
        .execute("return location.pathname + location.search;", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until the page's URL (path and query) is `expected` and the view
/// is connected.
async fn wait_url(browser: &Browser, expected: &str) {
    browser
        .wait_for(
            &format!("the URL {expected}"),
            "const root = document.querySelector('[data-djust-view]'); \
             return location.pathname + location.search === arguments[0] && !!root && root.dataset.djustStatus === 'connected';",
            vec![json!(expected)],
            WAIT,
        )
        .await;
}

/// The list as the page shows it: search box, page label, sorted column,
/// first row's email.
async fn list_state(browser: &Browser) -> Value {
    browser
        .execute(
            "const first = document.querySelector('#rows tr td.email');
             const sorted = document.querySelector('th a.sorted');
             return { q: document.querySelector('#search').value, page: document.querySelector('#page').textContent,
                      sorted: sorted && sorted.id, first: first && first.textContent,
                      rows: document.querySelectorAll('#rows tr').length };",
            vec![],
        )
        .await
}

/// Waits until the list shows `q`, `page` and the column `sorted`.
async fn wait_list(browser: &Browser, q: &str, page: &str, sorted: &str) {
    browser
        .wait_for(
            &format!("the list with q={q:?}, {page:?}, sorted by {sorted}"),
            "const search = document.querySelector('#search'); const sorted = document.querySelector('th a.sorted');
             return !!search && search.value === arguments[0] && document.querySelector('#page').textContent === arguments[1]
                 && !!sorted && sorted.id === arguments[2];",
            vec![json!(q), json!(page), json!(sorted)],
            WAIT,
        )
        .await;
}

/// The flash messages on screen.
async fn flashes(browser: &Browser) -> Value {
    browser
        .execute(
            "return [...document.querySelectorAll('.djust-flash .flash .flash-message')].map((m) => m.textContent);",
            vec![],
        )
        .await
}

async fn reload(browser: &Browser) {
    browser
        .execute("location.reload(); return true;", vec![])
        .await;
    browser
        .wait_for(
            "the reloaded page",
            "return window.__same_page !== true && document.readyState === 'complete';",
            vec![],
            WAIT,
        )
        .await;
    wait_connected(browser).await;
}

async fn history(browser: &Browser, step: &str) {
    browser
        .execute(&format!("history.{step}(); return true;"), vec![])
        .await;
}

#[tokio::test]
async fn url_state_survives_live_navigation_back_forward_and_reload() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve().await;
    let base = format!("http://{}", server.local_addr());
    login_admin(&browser, &base).await;
    mark_page(&browser).await;
    wait_list(&browser, "", "Page 1 of 3", "sort-name").await;

    // Sort and page: dj-patch links, the same view, new URLs.
    click(&browser, "#sort-email").await;
    wait_url(&browser, "/?sort=email").await;
    wait_list(&browser, "", "Page 1 of 3", "sort-email").await;
    assert_eq!(
        list_state(&browser).await["first"],
        json!("ada@example.com")
    );
    click(&browser, "#next").await;
    wait_url(&browser, "/?sort=email&page=2").await;
    wait_list(&browser, "", "Page 2 of 3", "sort-email").await;
    let page_two = list_state(&browser).await;

    // A search patches the URL from the handler (back to page 1).
    type_into(&browser, "#search", "an").await;
    wait_url(&browser, "/?q=an&sort=email").await;
    wait_list(&browser, "an", "Page 1 of 1", "sort-email").await;
    let searched = list_state(&browser).await;
    assert!(searched["rows"].as_u64().unwrap_or(0) > 0, "{searched}");

    // A contact's page: another view over the same socket, no page load;
    // its title, focus and announcement follow.
    click(&browser, "#rows tr:first-child td.name a").await;
    browser
        .wait_for(
            "the contact's page",
            "return /^\\/contacts\\/\\d+$/.test(location.pathname) && !!document.querySelector('#contact-name');",
            vec![],
            WAIT,
        )
        .await;
    let name = text(&browser, "#contact-name").await;
    let page = browser
        .execute(
            "return { title: document.title, focused: document.activeElement && document.activeElement.id,
                      view: document.querySelector('[data-djust-view]').dataset.djustView };",
            vec![],
        )
        .await;
    assert_eq!(page["view"], json!("contact"), "{page}");
    assert_eq!(page["focused"], json!("contact-name"), "{page}");
    assert!(
        page["title"]
            .as_str()
            .unwrap_or_default()
            .starts_with(name.trim()),
        "{page}"
    );
    browser
        .wait_for(
            "the announcement of the new page",
            "const region = document.querySelector('[data-djust-announce]'); return !!region && region.textContent === document.title;",
            vec![],
            WAIT,
        )
        .await;
    assert!(same_page(&browser).await, "live navigation loaded a page");

    // Back and Forward restore each state, still without a page load.
    history(&browser, "back").await;
    wait_url(&browser, "/?q=an&sort=email").await;
    wait_list(&browser, "an", "Page 1 of 1", "sort-email").await;
    assert_eq!(list_state(&browser).await, searched);
    history(&browser, "back").await;
    wait_url(&browser, "/?sort=email&page=2").await;
    wait_list(&browser, "", "Page 2 of 3", "sort-email").await;
    assert_eq!(list_state(&browser).await, page_two);
    history(&browser, "forward").await;
    wait_url(&browser, "/?q=an&sort=email").await;
    wait_list(&browser, "an", "Page 1 of 1", "sort-email").await;
    history(&browser, "forward").await;
    browser
        .wait_for(
            "the contact's page again",
            "const h = document.querySelector('#contact-name'); return !!h && h.textContent === arguments[0];",
            vec![json!(name)],
            WAIT,
        )
        .await;
    history(&browser, "back").await;
    wait_url(&browser, "/?q=an&sort=email").await;
    wait_list(&browser, "an", "Page 1 of 1", "sort-email").await;
    assert!(same_page(&browser).await, "Back or Forward loaded a page");

    // Reload: a new page, the same state from the URL.
    reload(&browser).await;
    assert_eq!(url(&browser).await, "/?q=an&sort=email");
    wait_list(&browser, "an", "Page 1 of 1", "sort-email").await;
    assert_eq!(list_state(&browser).await, searched);
    // ... and the history before the reload still works, live.
    mark_page(&browser).await;
    history(&browser, "back").await;
    wait_url(&browser, "/?sort=email&page=2").await;
    wait_list(&browser, "", "Page 2 of 3", "sort-email").await;
    assert!(
        same_page(&browser).await,
        "Back after a reload loaded a page"
    );

    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_flash_shows_once_after_a_save_and_after_a_delete() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve().await;
    let base = format!("http://{}", server.local_addr());
    login_admin(&browser, &base).await;
    mark_page(&browser).await;
    assert_eq!(flashes(&browser).await, json!([]));

    // Save: the form navigates to the contact's page with the flash.
    click(&browser, "#rows tr[data-id='1'] .edit").await;
    wait_url(&browser, "/contacts/1/edit").await;
    type_into(&browser, "#phone", "+44 20 7946 0999").await;
    click(&browser, "#save").await;
    wait_url(&browser, "/contacts/1").await;
    wait_text(&browser, "#phone", "+44 20 7946 0999").await;
    wait_text(&browser, ".djust-flash", "Contact saved.").await;
    assert_eq!(flashes(&browser).await, json!(["Contact saved."]));
    assert!(same_page(&browser).await, "saving loaded a page");

    // Gone on the next navigation, and Back does not bring it back.
    click(&browser, "#back").await;
    wait_url(&browser, "/").await;
    assert_eq!(flashes(&browser).await, json!([]));
    history(&browser, "back").await;
    wait_url(&browser, "/contacts/1").await;
    assert_eq!(flashes(&browser).await, json!([]));
    reload(&browser).await;
    assert_eq!(flashes(&browser).await, json!([]));

    // Delete (from the list): the flash appears in place.
    click(&browser, "#back").await;
    wait_url(&browser, "/").await;
    mark_page(&browser).await;
    click(&browser, "#rows tr[data-id='2'] .delete").await;
    wait_text(&browser, "#rows tr[data-id='2']", "Yes, delete").await;
    click(&browser, "#rows tr[data-id='2'] .confirm-delete").await;
    browser
        .wait_for(
            "the row to go",
            "return !document.querySelector(\"#rows tr[data-id='2']\");",
            vec![],
            WAIT,
        )
        .await;
    wait_text(&browser, ".djust-flash", "Contact deleted.").await;
    assert_eq!(flashes(&browser).await, json!(["Contact deleted."]));
    // A reload shows the list without it.
    reload(&browser).await;
    assert_eq!(flashes(&browser).await, json!([]));

    // Another delete: gone on the next live navigation too.
    click(&browser, "#rows tr[data-id='3'] .delete").await;
    wait_text(&browser, "#rows tr[data-id='3']", "Yes, delete").await;
    click(&browser, "#rows tr[data-id='3'] .confirm-delete").await;
    wait_text(&browser, ".djust-flash", "Contact deleted.").await;
    assert_eq!(flashes(&browser).await, json!(["Contact deleted."]));
    click(&browser, "#rows tr[data-id='1'] td.name a").await;
    wait_url(&browser, "/contacts/1").await;
    assert_eq!(flashes(&browser).await, json!([]));

    // The user can dismiss one without a round trip: with the socket
    // closed, the close button still removes it.
    click(&browser, "#edit").await;
    wait_url(&browser, "/contacts/1/edit").await;
    click(&browser, "#save").await;
    wait_url(&browser, "/contacts/1").await;
    wait_text(&browser, ".djust-flash", "Contact saved.").await;
    browser
        .execute("window.djust.disconnect(); return true;", vec![])
        .await;
    click(&browser, ".djust-flash .flash-close").await;
    assert_eq!(flashes(&browser).await, json!([]));

    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_guard_asks_before_typed_input_is_thrown_away() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve().await;
    let base = format!("http://{}", server.local_addr());
    login_admin(&browser, &base).await;
    mark_page(&browser).await;
    // confirm() answers what `window.__answer` says and records each question.
    browser
        .execute(
            "window.__asked = []; window.__answer = false;
             window.confirm = (message) => { window.__asked.push(String(message)); return window.__answer; };
             return true;",
            vec![],
        )
        .await;
    let asked = "return window.__asked;";
    let unload_blocked = "const e = new Event('beforeunload', { cancelable: true }); window.dispatchEvent(e); return e.defaultPrevented;";

    // Nothing typed: leaving asks nothing.
    click(&browser, "#rows tr[data-id='1'] .edit").await;
    wait_url(&browser, "/contacts/1/edit").await;
    assert_eq!(browser.execute(unload_blocked, vec![]).await, json!(false));
    click(&browser, "#cancel").await;
    wait_url(&browser, "/contacts/1").await;
    assert_eq!(browser.execute(asked, vec![]).await, json!([]));

    // Typed input: a link asks, and "no" keeps the form and what was typed.
    click(&browser, "#edit").await;
    wait_url(&browser, "/contacts/1/edit").await;
    type_into(&browser, "#notes", "half-typed note").await;
    click(&browser, "#cancel").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        browser.execute(asked, vec![]).await,
        json!(["Discard your changes to this contact?"])
    );
    assert_eq!(url(&browser).await, "/contacts/1/edit");
    // So does Back: the URL goes back to the form.
    history(&browser, "back").await;
    browser
        .wait_for(
            "the second question",
            "return window.__asked.length === 2;",
            vec![],
            WAIT,
        )
        .await;
    wait_url(&browser, "/contacts/1/edit").await;
    assert_eq!(
        browser
            .execute("return document.querySelector('#notes').value;", vec![])
            .await,
        json!("half-typed note")
    );
    // An unload (reload, closing the tab, another site) is held too.
    assert_eq!(browser.execute(unload_blocked, vec![]).await, json!(true));

    // "Yes" leaves, live; what was typed is thrown away.
    browser
        .execute("window.__answer = true; return true;", vec![])
        .await;
    click(&browser, "#cancel").await;
    wait_url(&browser, "/contacts/1").await;
    assert_eq!(
        browser
            .execute(asked, vec![])
            .await
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(browser.execute(unload_blocked, vec![]).await, json!(false));
    assert!(
        !text(&browser, "#notes").await.contains("half-typed"),
        "the typed note was saved"
    );

    // Submitting is not leaving: a save navigates without asking.
    click(&browser, "#edit").await;
    wait_url(&browser, "/contacts/1/edit").await;
    type_into(&browser, "#notes", "saved note").await;
    click(&browser, "#save").await;
    wait_url(&browser, "/contacts/1").await;
    wait_text(&browser, "#notes", "saved note").await;
    assert_eq!(
        browser
            .execute(asked, vec![])
            .await
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert!(same_page(&browser).await, "a navigation loaded a page");

    browser.close().await;
    server.shutdown().await;
}

/// Whether the page scrolls sideways, and the widths behind it.
async fn overflow(browser: &Browser) -> Value {
    browser
        .execute(
            "const d = document.documentElement;
             return { overflows: d.scrollWidth > d.clientWidth, scroll: d.scrollWidth, client: d.clientWidth, inner: window.innerWidth };",
            vec![],
        )
        .await
}

#[tokio::test]
async fn the_list_fits_a_1200_pixel_window() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve().await;
    let base = format!("http://{}", server.local_addr());
    within(
        "resize",
        COMMAND_TIMEOUT,
        browser.client().set_window_size(1200, 900),
    )
    .await
    .expect("resize");
    login_admin(&browser, &base).await;
    let size = overflow(&browser).await;
    assert!(
        size["inner"].as_u64().unwrap_or(0) >= 1100,
        "the window is not about 1,200 pixels wide: {size}"
    );
    // Page 1 holds the stored-XSS contact, whose fields have the longest words.
    assert_eq!(size["overflows"], json!(false), "{size}");
    // With a deletion being confirmed (the widest actions cell).
    click(&browser, "#rows tr:first-child .delete").await;
    wait_text(&browser, "#rows", "Yes, delete").await;
    assert_eq!(overflow(&browser).await["overflows"], json!(false));
    // Every page of every sort order.
    for sort in ["name", "email", "newest"] {
        for page in 1..=3 {
            browser
                .goto(&format!("{base}/?sort={sort}&page={page}"))
                .await;
            wait_connected(&browser).await;
            let size = overflow(&browser).await;
            assert_eq!(
                size["overflows"],
                json!(false),
                "{sort} page {page}: {size}"
            );
        }
    }
    // The long fields live on each contact's page, which fits too: Ada's
    // long website, and the stored-XSS contact's longest words.
    browser.goto(&format!("{base}/contacts/1")).await;
    wait_connected(&browser).await;
    let size = overflow(&browser).await;
    assert_eq!(size["overflows"], json!(false), "contact 1: {size}");
    browser.goto(&format!("{base}/?q=xss%40")).await;
    wait_connected(&browser).await;
    click(&browser, "#rows td.name a").await;
    browser
        .wait_for(
            "the stored-XSS contact's page",
            "const email = document.querySelector('#email'); return !!email && email.textContent === 'xss@example.com';",
            vec![],
            WAIT,
        )
        .await;
    let size = overflow(&browser).await;
    assert_eq!(size["overflows"], json!(false), "the XSS contact: {size}");
    browser.close().await;
    server.shutdown().await;
}
