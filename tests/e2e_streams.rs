//! Streams in headless Chromium: the first paint's items, inserts, an
//! in-place replacement, deletions, the container's `dj-stream-limit`,
//! and an `html_update` (which renders containers empty) keeping the
//! items the browser holds.

mod e2e_support;

use djust::prelude::*;
use e2e_support::page::{click, wait_connected, wait_text};
use e2e_support::Browser;
use serde_json::json;

struct Log {
    posted: u64,
    round: u32,
}

fn entry(id: u64, text: &str) -> Html {
    html! { <li class="entry">{text}" #"{id}</li> }
}

#[live_view(public, name = "log")]
impl Log {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        for id in 1..=3 {
            ctx.stream_insert("entries", id, entry(id, "first"))?;
        }
        Ok(Log {
            posted: 3,
            round: 0,
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="posted">{self.posted}</p>
            <button id="post" dj-click="post">"post"</button>
            <button id="edit" dj-click="edit">"edit 2"</button>
            <button id="drop" dj-click="drop_first">"drop 1"</button>
            <button id="bulk" dj-click="bulk">"bulk"</button>
            <ol id="entries" dj-stream="entries" dj-stream-limit="5"></ol>
            <div id="bulk-rows">
                for n in 0..400u32 { <span>{n + self.round}</span> }
            </div>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn post(&mut self, ctx: &mut EventCtx) -> Result<()> {
        self.posted += 1;
        ctx.stream_insert("entries", self.posted, entry(self.posted, "posted"))
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn edit(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.stream_insert("entries", 2, entry(2, "edited"))
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn drop_first(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.stream_delete("entries", 1)
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn bulk(&mut self) {
        self.round += 1;
    }
}

async fn entries(browser: &Browser) -> serde_json::Value {
    browser
        .execute(
            "return Array.from(document.querySelectorAll('#entries > li'), (li) => li.textContent);",
            vec![],
        )
        .await
}

async fn wait_entries(browser: &Browser, expected: serde_json::Value) {
    for _ in 0..100 {
        if entries(browser).await == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(entries(browser).await, expected);
}

#[tokio::test]
async fn stream_items_live_in_the_browser_only() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = e2e_support::serve_live(Log::view()).await;
    browser
        .goto(&format!("http://{}/", server.local_addr()))
        .await;
    wait_connected(&browser).await;
    wait_entries(&browser, json!(["first #1", "first #2", "first #3"])).await;

    click(&browser, "#post").await;
    wait_text(&browser, "#posted", "4").await;
    wait_entries(
        &browser,
        json!(["first #1", "first #2", "first #3", "posted #4"]),
    )
    .await;

    click(&browser, "#edit").await;
    wait_entries(
        &browser,
        json!(["first #1", "edited #2", "first #3", "posted #4"]),
    )
    .await;

    // 400 changed texts: the server sends one html_update (smaller than
    // the patches), whose containers are empty; the items stay.
    click(&browser, "#bulk").await;
    browser
        .wait_for(
            "the bulk update",
            "return document.querySelector('#bulk-rows span').textContent === '1';",
            vec![],
            e2e_support::page::WAIT,
        )
        .await;
    wait_entries(
        &browser,
        json!(["first #1", "edited #2", "first #3", "posted #4"]),
    )
    .await;

    click(&browser, "#drop").await;
    wait_entries(&browser, json!(["edited #2", "first #3", "posted #4"])).await;

    // The limit (5) trims the oldest as new ones arrive at the end.
    for expected in 5..=8 {
        click(&browser, "#post").await;
        wait_text(&browser, "#posted", &expected.to_string()).await;
    }
    wait_entries(
        &browser,
        json!([
            "posted #4",
            "posted #5",
            "posted #6",
            "posted #7",
            "posted #8"
        ]),
    )
    .await;
    browser.close().await;
    server.shutdown().await;
}

/// The browser test's `bulk` click must really come back as an
/// `html_update` (else it would not test that containers keep their items).
#[test]
fn the_bulk_toggle_is_an_html_update() {
    let mut client = djust_testing::TestClient::mount::<Log>().expect("mount");
    let result = client.event("bulk", json!({}));
    assert!(
        result.frames.iter().any(|frame| matches!(
            frame,
            djust::runtime::protocol::ServerMessage::HtmlUpdate { .. }
        )),
        "{:?}",
        result.frames
    );
}
