//! The notes example offline, in headless Chromium, served through a TCP
//! proxy that can cut the network.
//!
//! 1. Network down (the proxy drops every connection and refuses new ones,
//!    and the page is emulated offline with Chromium's
//!    `Network.emulateNetworkConditions` over chromedriver, so
//!    `navigator.onLine` is false): notes added queue in IndexedDB and the
//!    page says so; when the network is back they replay over the socket
//!    through the server's event dispatch, each applied once.
//! 2. Only the page offline (the emulation covers the page, not its service
//!    worker, which still reaches the server): the service worker's
//!    Background Sync posts the queue to `/djust/offline/sync`; the page
//!    shows the result once it is back, and nothing applies twice.

mod e2e_support;
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/notes/main.rs"]
mod notes;

use std::sync::Arc;

use djust::tenant::Tenant;
use e2e_support::page::{click, type_into, wait_connected, wait_text, WAIT};
use e2e_support::proxy::Proxy;
use e2e_support::Browser;
use serde_json::json;

const SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

fn texts(db: &notes::db::Db) -> Vec<String> {
    let acme = Tenant::new("acme").expect("tenant");
    db.for_tenant(&acme)
        .list()
        .expect("list")
        .into_iter()
        .map(|note| note.text)
        .collect()
}

async fn add(browser: &Browser, text: &str) {
    type_into(browser, "#text", text).await;
    click(browser, "#add button[type=submit]").await;
}

#[tokio::test]
async fn notes_queue_offline_and_replay_once_when_the_network_is_back() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = Arc::new(notes::db::Db::in_memory().expect("db"));
    let server = notes::app(db.clone(), "localhost")
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            ..djust::Config::default()
        })
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let proxy = Proxy::start(server.local_addr()).await;
    // Chromium resolves *.localhost to the loopback address, and treats it
    // as a secure context (service workers work over plain HTTP there).
    let base = format!("http://acme.localhost:{}/", proxy.addr().port());
    browser.goto(&base).await;
    wait_connected(&browser).await;
    // Installable: the manifest is linked and the service worker controls
    // the origin.
    browser
        .wait_for(
            "the service worker to be active",
            "return navigator.serviceWorker.getRegistration('/').then(r => !!(r && r.active && r.scope === location.origin + '/'));",
            vec![],
            WAIT,
        )
        .await;

    add(&browser, "written online").await;
    wait_text(&browser, "#notes", "written online").await;

    proxy.cut();
    browser.set_offline(true).await;
    browser
        .wait_for(
            "the page to show it is offline",
            "return !navigator.onLine && document.documentElement.classList.contains('dj-offline');",
            vec![],
            WAIT,
        )
        .await;
    add(&browser, "first while offline").await;
    add(&browser, "second while offline: שלום 👋").await;
    browser
        .wait_for(
            "two queued actions",
            "const root = document.querySelector('[data-djust-view]'); return root.getAttribute('data-djust-queued') === '2' && document.querySelector('[dj-offline-count]').textContent === '2';",
            vec![],
            WAIT,
        )
        .await;
    let notice_shown = browser
        .execute(
            "return getComputedStyle(document.querySelector('.offline-notice')).display !== 'none';",
            vec![],
        )
        .await;
    assert_eq!(notice_shown, json!(true));
    // Queued in IndexedDB with a key and a time, not sent.
    let queued = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const open = indexedDB.open('djust-offline', 1);
             open.onsuccess = () => {
               const req = open.result.transaction('actions').objectStore('actions').getAll();
               req.onsuccess = () => done(req.result.map(a => ({ event: a.event, key: a.key, at: a.at })));
             };
             open.onerror = () => done(null);",
            vec![],
        )
        .await;
    let queued = queued.as_array().expect("queued actions").clone();
    assert_eq!(queued.len(), 2, "{queued:?}");
    for action in &queued {
        assert_eq!(action["event"], "add");
        assert!(
            action["key"].as_str().is_some_and(|k| k.len() == 22),
            "{action}"
        );
        assert!(action["at"].as_u64().is_some_and(|at| at > 0), "{action}");
    }
    assert_eq!(
        texts(&db),
        ["written online"],
        "nothing applied while offline"
    );

    proxy.restore();
    browser.set_offline(false).await;
    browser
        .wait_for(
            "the queue to drain and the notes to show",
            "const root = document.querySelector('[data-djust-view]');
             const items = Array.from(document.querySelectorAll('#notes .text')).map(e => e.textContent);
             return !root.hasAttribute('data-djust-queued') && items.length === 3
               && !document.documentElement.classList.contains('dj-offline');",
            vec![],
            WAIT,
        )
        .await;
    wait_connected(&browser).await;
    let mut applied = texts(&db);
    applied.sort();
    assert_eq!(
        applied,
        [
            "first while offline",
            "second while offline: שלום 👋",
            "written online"
        ],
        "each queued note applied exactly once"
    );
    // A reload shows the same: nothing is replayed twice.
    browser.goto(&base).await;
    wait_connected(&browser).await;
    let count = browser
        .execute(
            "return document.querySelectorAll('#notes .text').length;",
            vec![],
        )
        .await;
    assert_eq!(count, json!(3));
    assert_eq!(texts(&db).len(), 3);

    // 2. Only the page is offline: Background Sync delivers the queue.
    browser.set_offline(true).await;
    browser
        .wait_for(
            "the page to be offline",
            "return !navigator.onLine && document.documentElement.classList.contains('dj-offline');",
            vec![],
            WAIT,
        )
        .await;
    add(&browser, "sent by the service worker").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while texts(&db).len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Background Sync did not deliver the queued note: {:?}",
            texts(&db)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser.set_offline(false).await;
    browser
        .wait_for(
            "the page to show the synced note",
            "const root = document.querySelector('[data-djust-view]');
             return !root.hasAttribute('data-djust-queued') && document.querySelectorAll('#notes .text').length === 4;",
            vec![],
            WAIT,
        )
        .await;
    let synced = texts(&db);
    assert_eq!(synced.len(), 4, "{synced:?}");
    assert_eq!(
        synced
            .iter()
            .filter(|t| *t == "sent by the service worker")
            .count(),
        1
    );
    browser.close().await;
    server.shutdown().await;
}

/// What IndexedDB's queue holds: each action's key.
async fn queued_keys(browser: &Browser) -> Vec<String> {
    let keys = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const open = indexedDB.open('djust-offline', 1);
             open.onupgradeneeded = () => open.result.createObjectStore('actions', { keyPath: 'key' });
             open.onsuccess = () => {
               const req = open.result.transaction('actions').objectStore('actions').getAllKeys();
               req.onsuccess = () => done(req.result);
             };
             open.onerror = () => done(null);",
            vec![],
        )
        .await;
    keys.as_array()
        .expect("queued keys")
        .iter()
        .filter_map(|key| key.as_str().map(str::to_owned))
        .collect()
}

/// The notes example with its tenants under a path prefix on one host
/// (`NOTES_PATH_PREFIX`): the service worker is the tenant's (served and
/// scoped under `/t/acme/`), its Background Sync posts to the tenant's
/// sync endpoint, and it leaves the actions another tenant queued in the
/// origin's shared IndexedDB alone.
#[tokio::test]
async fn under_a_path_prefix_the_tenants_worker_syncs_only_its_own_queue() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = Arc::new(notes::db::Db::in_memory().expect("db"));
    let server = notes::app_with(db.clone(), djust::tenant::TenantResolver::path_prefix("t"))
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            ..djust::Config::default()
        })
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    // `localhost` is a secure context: service workers work over HTTP.
    let base = format!("http://localhost:{}/t/acme/", server.local_addr().port());
    browser.goto(&base).await;
    wait_connected(&browser).await;
    browser
        .wait_for(
            "the tenant's service worker to be active",
            "return navigator.serviceWorker.getRegistration(location.origin + '/t/acme/').then(r => !!(r && r.active && r.scope === location.origin + '/t/acme/' && r.active.scriptURL === location.origin + '/t/acme/djust/sw.js'));",
            vec![],
            WAIT,
        )
        .await;
    add(&browser, "written online").await;
    wait_text(&browser, "#notes", "written online").await;

    // An action another tenant's page queued in this origin's IndexedDB
    // (its worker is not running): acme's worker must not send it.
    let put = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const open = indexedDB.open('djust-offline', 1);
             open.onsuccess = () => {
               const tx = open.result.transaction('actions', 'readwrite');
               tx.objectStore('actions').put({ key: 'globex-action', event: 'add', params: { text: 'of globex' },
                 at: Date.now(), owner: 'x', csrf: 'x', url: '/', base: '/t/globex', view: 'board' });
               tx.oncomplete = () => done(true);
               tx.onerror = () => done(false);
             };
             open.onerror = () => done(false);",
            vec![],
        )
        .await;
    assert_eq!(put, json!(true));

    // Only the page offline: acme's worker delivers acme's queue.
    browser.set_offline(true).await;
    browser
        .wait_for(
            "the page to be offline",
            "return !navigator.onLine && document.documentElement.classList.contains('dj-offline');",
            vec![],
            WAIT,
        )
        .await;
    add(&browser, "sent by the tenant's worker").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while texts(&db).len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Background Sync did not deliver the queued note: {:?}",
            texts(&db)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser.set_offline(false).await;
    browser
        .wait_for(
            "the page to show the synced note",
            "const root = document.querySelector('[data-djust-view]');
             return !root.hasAttribute('data-djust-queued') && document.querySelectorAll('#notes .text').length === 2;",
            vec![],
            WAIT,
        )
        .await;
    assert_eq!(
        browser.execute("return location.pathname;", vec![]).await,
        json!("/t/acme/")
    );
    let mut synced = texts(&db);
    synced.sort();
    assert_eq!(synced, ["sent by the tenant's worker", "written online"]);
    // globex's action is still queued (acme's worker did not post it,
    // which would have spent it on a refusal), and globex has no note.
    assert_eq!(queued_keys(&browser).await, ["globex-action"]);
    let globex = Tenant::new("globex").expect("tenant");
    assert!(db.for_tenant(&globex).list().expect("list").is_empty());
    browser.close().await;
    server.shutdown().await;
}
