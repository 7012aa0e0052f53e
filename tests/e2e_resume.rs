//! Reconnects in headless Chromium, through a proxy that plays the
//! network: it goes away for 5 s while the server keeps changing the view,
//! and loses or reorders patches.
//!
//! - After the outage the page is the same page (no reload: a marker on
//!   `window` survives), with the same view state, the updates made while
//!   it was away, and the text the user had typed.
//! - A lost or reordered patch makes the client ask for the whole HTML
//!   (`request_html`), after which the page is right again.

mod e2e_support;

use std::time::Duration;

use djust::prelude::*;
use e2e_support::page::{click, text, type_into, wait_connected, wait_text, WAIT};
use e2e_support::proxy::Proxy;
use e2e_support::Browser;
use serde_json::json;
use tokio::sync::broadcast;

const SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

/// One browser test at a time: Chromium is heavy on a 2-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Clone)]
struct Feed(broadcast::Sender<String>);

struct Notes {
    count: i64,
    notes: Vec<String>,
}

#[live_view(public, name = "notes")]
impl Notes {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        if let Ok(feed) = ctx.state::<Feed>() {
            ctx.subscribe(feed.0.subscribe());
        }
        Ok(Notes {
            count: 0,
            notes: Vec::new(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="count">{self.count}</p>
            <button id="add" dj-click="add">"+1"</button>
            <input id="draft" name="draft" type="text"/>
            <ol id="notes">
                for (index, note) in self.notes.iter().enumerate() key = index {
                    <li>{note}</li>
                }
            </ol>
        }
    }

    fn handle_info(&mut self, note: String) {
        self.notes.push(note);
    }

    #[event_handler]
    #[rate_limit(rate = 50, burst = 50, key = "ip")]
    fn add(&mut self) {
        self.count += 1;
    }
}

struct Setup {
    server: djust::Server,
    proxy: Proxy,
    feed: broadcast::Sender<String>,
}

async fn setup() -> Setup {
    let (feed, _) = broadcast::channel(16);
    let server = App::new()
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            ..djust::Config::default()
        })
        .state(Feed(feed.clone()))
        .live("/", Notes::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let proxy = Proxy::start(server.local_addr()).await;
    Setup {
        server,
        proxy,
        feed,
    }
}

/// The version of the page the client has applied.
async fn version(browser: &Browser) -> serde_json::Value {
    browser
        .execute(
            "return window.djust.version(document.querySelector('[data-djust-view]'));",
            vec![],
        )
        .await
}

async fn marker(browser: &Browser) -> serde_json::Value {
    browser
        .execute("return window.__loaded || null;", vec![])
        .await
}

#[tokio::test]
async fn after_five_seconds_offline_the_same_page_resumes_with_its_state_and_typed_input() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let setup = setup().await;
    browser
        .goto(&format!("http://{}/", setup.proxy.addr()))
        .await;
    wait_connected(&browser).await;
    browser
        .execute("window.__loaded = 'first load'; return true;", vec![])
        .await;
    click(&browser, "#add").await;
    click(&browser, "#add").await;
    wait_text(&browser, "#count", "2").await;
    type_into(&browser, "#draft", "half-written note").await;

    setup.proxy.cut();
    browser
        .wait_for(
            "the client to notice the network is gone",
            "return document.querySelector('[data-djust-view]').dataset.djustStatus !== 'connected';",
            vec![],
            WAIT,
        )
        .await;
    // The server keeps working on the detached view meanwhile.
    for note in ["while you were away", "and one more"] {
        setup.feed.send(note.to_owned()).expect("send");
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    setup.proxy.restore();

    wait_connected(&browser).await;
    wait_text(&browser, "#notes", "and one more").await;
    assert_eq!(text(&browser, "#count").await, "2", "the same view state");
    assert_eq!(
        marker(&browser).await,
        json!("first load"),
        "no page load happened"
    );
    let draft = browser
        .execute("return document.querySelector('#draft').value;", vec![])
        .await;
    assert_eq!(draft, json!("half-written note"), "typed input survives");
    // And it is live again.
    click(&browser, "#add").await;
    wait_text(&browser, "#count", "3").await;
    assert_eq!(setup.server.detached_views().0, 0);
    browser.close().await;
    setup.server.shutdown().await;
}

#[tokio::test]
async fn a_lost_or_reordered_patch_is_repaired_with_request_html() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let setup = setup().await;
    browser
        .goto(&format!("http://{}/", setup.proxy.addr()))
        .await;
    wait_connected(&browser).await;

    // Lost: the patch to version 2 never arrives; version 3 shows the gap.
    setup.proxy.drop_next_frame("\"type\":\"patch\"");
    click(&browser, "#add").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(text(&browser, "#count").await, "0", "the patch was lost");
    click(&browser, "#add").await;
    wait_text(&browser, "#count", "2").await;
    assert_eq!(version(&browser).await, json!(3));

    // Reordered: version 5 arrives before version 4.
    setup.proxy.swap_next_two_frames("\"type\":\"patch\"");
    click(&browser, "#add").await;
    click(&browser, "#add").await;
    wait_text(&browser, "#count", "4").await;
    browser
        .wait_for(
            "the client to be at version 5",
            "return window.djust.version(document.querySelector('[data-djust-view]')) === 5;",
            vec![],
            WAIT,
        )
        .await;
    // The page is exactly the server's page: one more click patches cleanly.
    click(&browser, "#add").await;
    wait_text(&browser, "#count", "5").await;
    browser.close().await;
    setup.server.shutdown().await;
}
