//! What `docs/live_views.md` promises about pacing and key filters, in
//! headless Chromium: text input is debounced (300 ms by default, so a
//! quickly typed word is one event), `dj-debounce="blur"` waits for the
//! field to lose focus, `dj-throttle` sends the first of a burst at once
//! and one trailing call, and `dj-keydown.enter` fires on Enter only.

mod e2e_support;

use std::time::Duration;

use djust::prelude::*;
use e2e_support::page::{text, type_into, wait_connected, wait_text};
use e2e_support::Browser;
use fantoccini::key::Key;
use fantoccini::Locator;

#[derive(Default)]
struct Pacing {
    typed: u32,
    last_typed: String,
    blurred: u32,
    last_blurred: String,
    hits: u32,
    entered: u32,
    last_entered: String,
}

#[live_view(public, name = "pacing")]
impl Pacing {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Pacing::default())
    }

    fn render(&self) -> Html {
        html! {
            <input id="typed" type="text" dj-input="typed">
            <p id="typed-count">{self.typed}</p>
            <p id="typed-value">{self.last_typed}</p>
            <input id="blurred" type="text" dj-input="blurred" dj-debounce="blur">
            <p id="blurred-count">{self.blurred}</p>
            <p id="blurred-value">{self.last_blurred}</p>
            <button id="burst" dj-click="hit" dj-throttle="1000">"hit"</button>
            <p id="hits">{self.hits}</p>
            <input id="entered" type="text" dj-keydown.enter="entered">
            <p id="entered-count">{self.entered}</p>
            <p id="entered-value">{self.last_entered}</p>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn typed(&mut self, value: String) {
        self.typed += 1;
        self.last_typed = value;
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn blurred(&mut self, value: String) {
        self.blurred += 1;
        self.last_blurred = value;
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn hit(&mut self) {
        self.hits += 1;
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn entered(&mut self, value: String) {
        self.entered += 1;
        self.last_entered = value;
    }
}

#[tokio::test]
async fn debounce_throttle_and_key_filters_pace_events_as_documented() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = e2e_support::serve_live(Pacing::view()).await;
    browser
        .goto(&format!("http://{}/", server.local_addr()))
        .await;
    wait_connected(&browser).await;

    // A word typed at once (WebDriver types far faster than 300 ms a key)
    // is one debounced event carrying the whole word.
    type_into(&browser, "#typed", "hello").await;
    wait_text(&browser, "#typed-value", "hello").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(text(&browser, "#typed-count").await, "1");

    // dj-debounce="blur": nothing while typing, one event on blur.
    type_into(&browser, "#blurred", "later").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(text(&browser, "#blurred-count").await, "0");
    browser
        .execute("document.getElementById('blurred').blur();", vec![])
        .await;
    wait_text(&browser, "#blurred-value", "later").await;
    assert_eq!(text(&browser, "#blurred-count").await, "1");

    // dj-throttle="1000": five clicks in a burst send the first at once
    // and one trailing call, two in all.
    // (Clicked from the page in one go, so the burst takes well under the
    // window however slow the WebDriver round trips are.)
    browser
        .execute(
            "const b = document.getElementById('burst'); for (let i = 0; i < 5; i++) b.click();",
            vec![],
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(text(&browser, "#hits").await, "2");

    // dj-keydown.enter: letters send nothing, Enter sends the value.
    type_into(&browser, "#entered", "note").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(text(&browser, "#entered-count").await, "0");
    let field = browser
        .client()
        .find(Locator::Css("#entered"))
        .await
        .expect("field");
    field
        .send_keys(&String::from(char::from(Key::Enter)))
        .await
        .expect("Enter");
    wait_text(&browser, "#entered-value", "note").await;
    assert_eq!(text(&browser, "#entered-count").await, "1");

    browser.close().await;
    server.shutdown().await;
}
