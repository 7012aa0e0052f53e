//! Stateful components in headless Chromium, against a real server: a
//! click inside a component sends its id as the event's `target`, and the
//! reply changes that component's subtree and nothing else on the page
//! (every DOM mutation is recorded); a page button with `dj-target` drives
//! a component from outside.

mod e2e_support;

use djust::prelude::*;
use e2e_support::page::{click, text, wait_connected, wait_text};
use e2e_support::Browser;
use serde_json::json;

const SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

/// Records what the page sends, and which component each DOM mutation
/// fell in (`"page"` outside every component; the `dj-loading` class the
/// client sets while an event is in flight is not a patch).
const RECORD: &str = r#"
window.__sent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === 'string' && !data.includes('"ping"')) window.__sent.push(JSON.parse(data));
  return send.call(this, data);
};
window.__mutated = [];
const root = document.querySelector('[data-djust-view]');
new MutationObserver((records) => {
  records.forEach((r) => {
    // The client marks the view and the clicked element `dj-loading`
    // while an event is in flight: not a patch.
    if (r.type === 'attributes' && r.attributeName === 'class') {
      const strip = (v) => (v || '').split(/\s+/).filter((c) => c && c !== 'dj-loading').sort().join(' ');
      if (strip(r.oldValue) === strip(r.target.getAttribute('class'))) return;
    }
    const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    const owner = node && node.closest('[data-djust-component]');
    window.__mutated.push(owner ? owner.getAttribute('data-djust-component') : 'page');
  });
}).observe(root, { subtree: true, childList: true, characterData: true, attributes: true, attributeOldValue: true });
return true;
"#;

struct Tally {
    count: i64,
}

#[live_component]
impl Tally {
    fn mount(_props: ()) -> Self {
        Tally { count: 0 }
    }

    fn render(&self) -> Html {
        html! { <b class="count">{self.count}</b><button class="add" dj-click="add">"+"</button> }
    }

    #[event_handler]
    fn add(&mut self) {
        self.count += 1;
    }
}

struct Board;

#[live_view(public, name = "board")]
impl Board {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Board)
    }

    fn render(&self) -> Html {
        html! {
            <h1>"Board"</h1>
            for i in 0..3 key = i {
                <section id={format!("s{i}")}>{live_component::<Tally>(("tally", i), ())}</section>
            }
            {live_component::<Tally>("main", ())}
            <button id="outside" dj-click="add" dj-target="main">"main +1"</button>
        }
    }
}

async fn serve() -> djust::Server {
    App::new()
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            ..djust::Config::default()
        })
        .live("/", Board::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

async fn eval(browser: &Browser, script: &str) -> serde_json::Value {
    browser.execute(script, vec![]).await
}

#[tokio::test]
async fn a_click_in_a_component_updates_only_that_component() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve().await;
    browser
        .goto(&format!("http://{}/", server.local_addr()))
        .await;
    wait_connected(&browser).await;
    eval(&browser, RECORD).await;

    click(&browser, "#s1 .add").await;
    wait_text(&browser, "#s1 .count", "1").await;
    assert_eq!(text(&browser, "#s0 .count").await, "0");
    assert_eq!(text(&browser, "#s2 .count").await, "0");
    let sent = eval(&browser, "return window.__sent;").await;
    assert_eq!(sent.as_array().map(Vec::len), Some(1), "{sent}");
    assert_eq!(sent[0]["event"], json!("add"));
    assert_eq!(sent[0]["target"], json!("tally:1"));
    let mutated = eval(
        &browser,
        "return Array.from(new Set(window.__mutated)).sort();",
    )
    .await;
    assert_eq!(
        mutated,
        json!(["tally:1"]),
        "only the clicked component changes"
    );

    // From the page, by id.
    eval(&browser, "window.__mutated = []; return true;").await;
    click(&browser, "#outside").await;
    wait_text(&browser, "[data-djust-component=\"main\"] .count", "1").await;
    let sent = eval(&browser, "return window.__sent;").await;
    assert_eq!(sent[1]["target"], json!("main"), "{sent}");
    let mutated = eval(
        &browser,
        "return Array.from(new Set(window.__mutated)).sort();",
    )
    .await;
    assert_eq!(mutated, json!(["main"]));
    assert_eq!(text(&browser, "#s1 .count").await, "1");

    browser.close().await;
    server.shutdown().await;
}
