//! Client commands and hooks in headless Chromium, against a real server.
//!
//! - `dj-click={JS::..}` runs in the browser with no frame sent (every
//!   `WebSocket.send` of the page is counted); `push` sends one event.
//! - A class added with `.keep()` survives a server patch of the element's
//!   `class`; one added without it does not.
//! - `dj-hook` callbacks: `mounted`, `updated`, `destroyed`, and
//!   `disconnected`/`reconnected` around a cut network (a proxy); a hook's
//!   `handleEvent` gets a `push_event` payload as parsed JSON, and its
//!   `pushEvent` reaches the server.
//! - The client checks commands again: hostile commands written into the
//!   DOM change nothing and send nothing.
//!
//! The hook script is an ordinary static file (`App::script`): the page's
//! Content-Security-Policy stays `script-src 'self'`.

mod e2e_support;

use djust::prelude::*;
use e2e_support::page::{click, text, wait_connected, wait_text, WAIT};
use e2e_support::proxy::Proxy;
use e2e_support::Browser;
use serde_json::json;
use warp::Filter;

const SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

/// One browser test at a time: Chromium is heavy on a 2-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The hook, as an app would ship it in a static file.
const HOOKS_JS: &str = r#"
window.__hookLog = [];
window.djust.registerHook('Chart', {
  mounted() {
    window.__hookLog.push('mounted:' + this.el.id);
    this.handleEvent('chart_data', (payload) => { window.__payload = payload; });
  },
  updated() { window.__hookLog.push('updated:' + this.el.textContent); },
  destroyed() { window.__hookLog.push('destroyed'); },
  disconnected() { window.__hookLog.push('disconnected'); },
  reconnected() {
    window.__hookLog.push('reconnected');
    this.pushEvent('bump', { by: '10' });
  },
});
"#;

/// Counts what the page sends on its sockets (pings aside).
const COUNT_SENDS: &str = r#"
window.__sent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === 'string' && !data.includes('"ping"')) window.__sent.push(JSON.parse(data));
  return send.call(this, data);
};
return true;
"#;

struct Panel {
    count: i64,
    chart: bool,
}

#[live_view(public, name = "panel")]
impl Panel {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Panel {
            count: 0,
            chart: true,
        })
    }

    fn render(&self) -> Html {
        let menu_class = format!("menu n{}", self.count);
        html! {
            <p id="count">{self.count}</p>
            <button id="toggle" dj-click={JS::toggle("#menu").add_class("#menu", "open").keep().add_class("#menu", "transient")}>"Menu"</button>
            <ul id="menu" hidden class={menu_class}><li>"One"</li></ul>
            <button id="bump" dj-click="bump">"+1"</button>
            <button id="push" dj-click={JS::add_class("#menu", "pushed").push_with("bump", &[("by", "5")])}>"+5"</button>
            <button id="ping" dj-click="ping">"Ping"</button>
            <button id="remove" dj-click="remove_chart">"Remove"</button>
            if self.chart {
                <div id="chart" dj-hook="Chart">{self.count}</div>
            }
        }
    }

    #[event_handler]
    #[rate_limit(rate = 50, burst = 50, key = "ip")]
    fn bump(&mut self, #[default(1)] by: i64) {
        self.count += by;
    }

    #[event_handler]
    fn ping(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.push_event(
            "chart_data",
            json!({ "points": [1, 2, 3], "label": "</script><script>window.__pwned = 1</script>" }),
        )
    }

    #[event_handler]
    fn remove_chart(&mut self) {
        self.chart = false;
    }
}

async fn serve() -> djust::Server {
    let hooks = warp::path!("static" / "hooks.js").map(|| {
        warp::reply::with_header(HOOKS_JS, "content-type", "text/javascript; charset=utf-8")
    });
    App::new()
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            ..djust::Config::default()
        })
        .route(hooks)
        .script("/static/hooks.js")
        .live("/", Panel::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

async fn eval(browser: &Browser, script: &str) -> serde_json::Value {
    browser.execute(script, vec![]).await
}

async fn sent(browser: &Browser) -> serde_json::Value {
    eval(browser, "return window.__sent;").await
}

async fn wait_hook_log(browser: &Browser, entry: &str) {
    browser
        .wait_for(
            &format!("hook log entry {entry:?}"),
            "return (window.__hookLog || []).includes(arguments[0]);",
            vec![json!(entry)],
            WAIT,
        )
        .await;
}

#[tokio::test]
async fn client_commands_run_without_a_frame_and_kept_classes_survive_patches() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve().await;
    browser
        .goto(&format!("http://{}/", server.local_addr()))
        .await;
    wait_connected(&browser).await;
    eval(&browser, COUNT_SENDS).await;

    click(&browser, "#toggle").await;
    let menu = "const m = document.querySelector('#menu'); return [m.hidden, Array.from(m.classList).sort()];";
    assert_eq!(
        eval(&browser, menu).await,
        json!([false, ["menu", "n0", "open", "transient"]])
    );
    assert_eq!(
        sent(&browser).await,
        json!([]),
        "no frame for a client command"
    );

    // A server patch of the class: the kept class stays, the other goes.
    click(&browser, "#bump").await;
    wait_text(&browser, "#count", "1").await;
    assert_eq!(
        eval(&browser, menu).await,
        json!([false, ["menu", "n1", "open"]])
    );
    assert_eq!(sent(&browser).await.as_array().map(Vec::len), Some(1));

    // `push` sends the event like dj-click, with its params.
    click(&browser, "#push").await;
    wait_text(&browser, "#count", "6").await;
    let frames = sent(&browser).await;
    assert_eq!(frames[1]["type"], json!("event"));
    assert_eq!(frames[1]["event"], json!("bump"));
    assert_eq!(frames[1]["params"], json!({ "by": "5" }));
    assert_eq!(frames.as_array().map(Vec::len), Some(2));
    assert_eq!(
        eval(&browser, menu).await,
        json!([false, ["menu", "n6", "open"]]),
        "`pushed` was not kept"
    );

    // Toggle again: hidden (kept), and it stays hidden across a patch.
    click(&browser, "#toggle").await;
    click(&browser, "#bump").await;
    wait_text(&browser, "#count", "7").await;
    assert_eq!(
        eval(&browser, "return document.querySelector('#menu').hidden;").await,
        json!(true)
    );

    // The client checks commands again: a tampered attribute cannot run
    // script, fake a native click or push a reserved name.
    let frames_before = sent(&browser).await.as_array().map(Vec::len);
    let hostile = json!([
        { "op": "set_attr", "to": "#menu", "name": "onclick", "value": "window.__pwned = 1" },
        { "op": "set_attr", "to": "#menu", "name": "href", "value": "javascript:window.__pwned = 2" },
        { "op": "set_attr", "to": "#menu", "name": "style", "value": "background:url(//x)" },
        { "op": "set_attr", "to": "#menu", "name": "dj-click", "value": "bump" },
        { "op": "dispatch", "to": "#bump", "event": "click" },
        { "op": "push", "event": "__proto__" },
        { "op": "add_class", "to": "img[src=x", "names": ["bad-selector"] },
        { "op": "set_attr", "to": "#menu", "name": "title", "value": "\"><img src=x onerror=window.__pwned=3>" },
    ]);
    browser
        .execute(
            "document.querySelector('#toggle').setAttribute('dj-click', arguments[0]); return true;",
            vec![json!(hostile.to_string())],
        )
        .await;
    click(&browser, "#toggle").await;
    let menu_attrs = "const m = document.querySelector('#menu'); return [m.getAttributeNames().sort(), m.title, window.__pwned || null];";
    assert_eq!(
        eval(&browser, menu_attrs).await,
        json!([
            ["class", "hidden", "id", "title"],
            "\"><img src=x onerror=window.__pwned=3>",
            null
        ])
    );
    assert_eq!(sent(&browser).await.as_array().map(Vec::len), frames_before);
    assert_eq!(text(&browser, "#count").await, "7");
    browser.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn hooks_see_their_lifecycle_and_push_event_payloads() {
    let _serial = SERIAL.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve().await;
    let proxy = Proxy::start(server.local_addr()).await;
    browser.goto(&format!("http://{}/", proxy.addr())).await;
    wait_connected(&browser).await;
    wait_hook_log(&browser, "mounted:chart").await;

    click(&browser, "#bump").await;
    wait_hook_log(&browser, "updated:1").await;

    click(&browser, "#ping").await;
    browser
        .wait_for(
            "the push_event payload",
            "return !!window.__payload;",
            vec![],
            WAIT,
        )
        .await;
    assert_eq!(
        eval(
            &browser,
            "return [window.__payload, window.__pwned || null];"
        )
        .await,
        json!([{ "points": [1, 2, 3], "label": "</script><script>window.__pwned = 1</script>" }, null])
    );

    proxy.cut();
    wait_hook_log(&browser, "disconnected").await;
    proxy.restore();
    wait_hook_log(&browser, "reconnected").await;
    // The hook's pushEvent in `reconnected` reached the server.
    wait_text(&browser, "#count", "11").await;

    click(&browser, "#remove").await;
    wait_hook_log(&browser, "destroyed").await;
    assert_eq!(text(&browser, "#count").await, "11");
    let log = eval(&browser, "return window.__hookLog;").await;
    assert_eq!(log[0], json!("mounted:chart"));
    assert_eq!(
        log.as_array().map(|l| l.last().cloned()),
        Some(Some(json!("destroyed")))
    );
    browser.close().await;
    drop(proxy);
    server.shutdown().await;
}
