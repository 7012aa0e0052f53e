//! Stateful components over a real WebSocket: events with a `target`
//! reach the component, refusals are error frames that change nothing,
//! `notify_parent` re-renders the view, and one component among a hundred
//! costs one small patch.

mod support;

use djust::prelude::*;
use djust::runtime::security::SafeError;
use serde_json::{json, Value};
use support::*;

struct Tally {
    count: i64,
}

#[live_component]
impl Tally {
    fn mount(start: i64) -> Self {
        Tally { count: start }
    }

    fn render(&self) -> Html {
        html! { <b class="count">{self.count}</b><button dj-click="add">"+"</button> }
    }

    #[event_handler]
    #[rate_limit(rate = 0.001, burst = 3)]
    fn add(&mut self, ctx: &mut EventCtx, #[default(1)] by: i64) {
        self.count += by.clamp(-10, 10);
        if self.count >= 10 {
            ctx.notify_parent(self.count);
        }
    }

    #[event_handler]
    #[permission_required("tally.clear")]
    fn clear(&mut self) {
        self.count = 0;
    }
}

struct Board {
    title: String,
    rows: usize,
}

#[live_view(public)]
impl Board {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let rows = if ctx.url().starts_with("/rows") {
            100
        } else {
            2
        };
        Ok(Board {
            title: "board".into(),
            rows,
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1 id="title">{self.title}</h1>
            for i in 0..self.rows key = i {
                {live_component::<Tally>(("tally", i), 0)}
            }
        }
    }

    fn handle_info(&mut self, reached: i64) {
        self.title = format!("reached {reached}");
    }
}

async fn start() -> djust::Server {
    App::new()
        .config(test_config())
        .live("/", Board::view())
        .live("/rows", Board::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

async fn to(
    socket: &mut Socket,
    target: &str,
    event: &str,
    params: Value,
    reference: u64,
) -> Vec<Value> {
    send_json(
        socket,
        &json!({ "type": "event", "event": event, "params": params, "target": target, "ref": reference }),
    )
    .await;
    until_pong(socket).await
}

fn patches(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .filter(|frame| frame["type"] == "patch")
        .flat_map(|frame| frame["patches"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn events_refusals_and_notifications_over_a_socket() {
    let server = start().await;
    let (mut socket, mounted) = mount_page(server.local_addr(), "/", "board").await;
    let html = mounted["html"].as_str().unwrap_or_default().to_owned();
    assert!(html.contains(r#"data-djust-component="tally:1""#), "{html}");

    let frames = to(&mut socket, "tally:1", "add", json!({ "by": "4" }), 1).await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    let applied = patches(&frames);
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0]["type"], "set_text");
    assert_eq!(applied[0]["value"], "4");

    let refusals = [
        ("tally:9", "add", json!({}), SafeError::UnknownComponent),
        ("tally:1", "nope", json!({}), SafeError::UnknownEvent),
        ("tally:1", "clear", json!({}), SafeError::LoginRequired),
    ];
    for (index, (target, event, params, expected)) in refusals.into_iter().enumerate() {
        let frames = to(&mut socket, target, event, params, 10 + index as u64).await;
        assert_eq!(errors(&frames), [generic(expected)], "{target}.{event}");
        assert!(patches(&frames).is_empty());
    }
    let frames = to(&mut socket, "tally:1", "add", json!({ "by": "lots" }), 20).await;
    assert_eq!(errors(&frames).len(), 1);
    assert!(errors(&frames)[0].contains("'by'"), "{frames:?}");
    assert!(patches(&frames).is_empty());

    // 4 + 6 = 10: the component tells the view, which re-renders its title.
    let frames = to(&mut socket, "tally:1", "add", json!({ "by": 6 }), 21).await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    let text = serde_json::to_string(&patches(&frames)).unwrap_or_default();
    assert!(
        text.contains("reached 10") && text.contains("\"10\""),
        "{text}"
    );

    // Burst 3 for the handler, whatever instance: the third `add` above
    // was the last token.
    let frames = to(&mut socket, "tally:0", "add", json!({}), 22).await;
    assert_eq!(errors(&frames), [generic(SafeError::RateLimited)]);
    assert!(patches(&frames).is_empty());

    // The state the refusals left: a full render shows it.
    send_json(&mut socket, &json!({ "type": "request_html" })).await;
    let update = recv(&mut socket).await.expect("html_update");
    let html = update["html"].as_str().unwrap_or_default();
    assert!(html.contains("reached 10"), "{html}");
    assert_eq!(
        html.matches("<b class=\"count\">10</b>").count(),
        1,
        "{html}"
    );
    assert_eq!(
        html.matches("<b class=\"count\">0</b>").count(),
        1,
        "{html}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn one_of_a_hundred_components_sends_only_its_patch() {
    let server = start().await;
    let (mut socket, mounted) = mount_page(server.local_addr(), "/rows", "board").await;
    let html = mounted["html"].as_str().unwrap_or_default();
    assert_eq!(html.matches("data-djust-component").count(), 100);
    let frames = to(&mut socket, "tally:57", "add", json!({}), 1).await;
    let patch_frames: Vec<&Value> = frames.iter().filter(|f| f["type"] == "patch").collect();
    assert_eq!(patch_frames.len(), 1, "{frames:?}");
    let applied = patches(&frames);
    assert_eq!(applied.len(), 1, "{applied:?}");
    // The one patch addresses that component's counter: the view root's
    // child 58 (after the `<h1>`), its `<b>`, the text.
    assert_eq!(applied[0]["path"], "/58/0/0", "{applied:?}");
    assert_eq!(applied[0]["value"], "1");
    let bytes = patch_frames[0].to_string().len();
    assert!(bytes < 200, "{bytes} bytes: {}", patch_frames[0]);
    server.shutdown().await;
}
