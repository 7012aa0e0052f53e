//! Streams (`ctx.stream_insert`, `stream_delete`, `stream_reset`): items
//! the server sends once and forgets. Checked in-process with `TestClient`
//! (the frames, the items a browser holds, the session's memory) and over
//! a real socket (the first paint carries the mount's items; events send
//! `stream` frames).

mod support;

use djust::prelude::*;
use djust::runtime::protocol::{ServerMessage, StreamOp};
use djust_testing::TestClient;
use serde_json::json;
use support::*;

/// A feed: three messages at mount, then posts, deletions and a reset.
struct Feed {
    posted: u64,
}

fn message(id: u64, text: &str) -> Html {
    html! { <li class="message">{text}" #"{id}</li> }
}

#[live_view(public)]
impl Feed {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        for id in 1..=3 {
            ctx.stream_insert("messages", id, message(id, "hello"))?;
        }
        Ok(Feed { posted: 3 })
    }

    fn render(&self) -> Html {
        html! {
            <p id="posted">{self.posted}</p>
            <ul id="messages" dj-stream="messages" dj-stream-limit="50"></ul>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 100000, burst = 100000, key = "ip")]
    fn post(&mut self, ctx: &mut EventCtx, text: String) -> Result<()> {
        self.posted += 1;
        ctx.stream_insert("messages", self.posted, message(self.posted, &text))
    }

    #[event_handler]
    #[rate_limit(rate = 100000, burst = 100000, key = "ip")]
    fn pin(&mut self, ctx: &mut EventCtx, id: u64, text: String) -> Result<()> {
        ctx.stream_insert_at("messages", id, message(id, &text), 0)
    }

    #[event_handler]
    #[rate_limit(rate = 100000, burst = 100000, key = "ip")]
    fn remove(&mut self, ctx: &mut EventCtx, id: u64) -> Result<()> {
        ctx.stream_delete("messages", id)
    }

    #[event_handler]
    #[rate_limit(rate = 100000, burst = 100000, key = "ip")]
    fn clear(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.stream_reset("messages")
    }

    #[event_handler]
    #[rate_limit(rate = 100000, burst = 100000, key = "ip")]
    fn bad(&mut self, ctx: &mut EventCtx, id: String) -> Result<()> {
        ctx.stream_insert("messages", id, message(0, "x"))
    }
}

fn ids(client: &TestClient) -> Vec<String> {
    client
        .stream("messages")
        .into_iter()
        .map(|item| item.id)
        .collect()
}

#[test]
fn mount_items_are_in_the_first_render_and_the_view_keeps_none() {
    let client = TestClient::mount::<Feed>().expect("mount");
    let ServerMessage::Mount { html, .. } = &client.frames()[0] else {
        panic!("first frame: {:?}", client.frames()[0]);
    };
    assert!(
        html.contains("<ul id=\"messages\" dj-stream=\"messages\" dj-stream-limit=\"50\"><li data-djust-stream-id=\"1\" class=\"message\">hello #1</li>"),
        "{html}"
    );
    assert_eq!(ids(&client), ["1", "2", "3"]);
    // The view's own tree has the container empty.
    assert!(
        client.html().contains("dj-stream-limit=\"50\"></ul>"),
        "{}",
        client.html()
    );
}

#[test]
fn events_send_stream_frames_after_the_patch() {
    let mut client = TestClient::mount::<Feed>().expect("mount");
    let result = client.event("post", json!({ "text": "<b>new</b>" }));
    let stream = result
        .frames
        .iter()
        .find_map(|frame| match frame {
            ServerMessage::Stream { name, ops } => Some((name.clone(), ops.clone())),
            _ => None,
        })
        .expect("a stream frame");
    assert_eq!(stream.0, "messages");
    assert_eq!(
        stream.1,
        [StreamOp::Insert {
            id: "4".into(),
            html: "<li data-djust-stream-id=\"4\" class=\"message\">&lt;b&gt;new&lt;/b&gt; #4</li>"
                .into(),
            at: -1
        }]
    );
    // The patch (the counter) comes first, the stream frame after it.
    let patch = result
        .frames
        .iter()
        .position(|frame| matches!(frame, ServerMessage::Patch { .. }))
        .expect("a patch");
    let streamed = result
        .frames
        .iter()
        .position(|frame| matches!(frame, ServerMessage::Stream { .. }))
        .expect("stream");
    assert!(patch < streamed);
    assert_eq!(ids(&client), ["1", "2", "3", "4"]);

    client.event("pin", json!({ "id": 9, "text": "pinned" }));
    client.event("pin", json!({ "id": 2, "text": "edited" }));
    client.event("remove", json!({ "id": 3 }));
    assert_eq!(ids(&client), ["9", "1", "2", "4"]);
    assert!(client.stream("messages")[2].html.contains("edited #2"));
    client.event("clear", json!({}));
    assert!(ids(&client).is_empty());
}

#[test]
fn a_bad_item_id_is_a_handler_error_and_sends_nothing() {
    let mut client = TestClient::mount::<Feed>().expect("mount");
    for bad in ["", "a b", "<script>", "\"", "x\u{202e}y", &"x".repeat(500)] {
        let result = client.event("bad", json!({ "id": bad }));
        assert!(result.error().is_some(), "{bad:?}: {:?}", result.frames);
        assert!(
            !result
                .frames
                .iter()
                .any(|frame| matches!(frame, ServerMessage::Stream { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(ids(&client), ["1", "2", "3"]);
}

#[test]
fn the_limit_trims_the_oldest_items() {
    let mut client = TestClient::mount::<Feed>().expect("mount");
    for n in 0..60 {
        client.event("post", json!({ "text": format!("m{n}") }));
    }
    let kept = ids(&client);
    assert_eq!(kept.len(), 50);
    assert_eq!(kept.first().map(String::as_str), Some("14"));
    assert_eq!(kept.last().map(String::as_str), Some("63"));
}

#[test]
fn the_sessions_memory_does_not_grow_with_the_stream() {
    let mut client = TestClient::mount::<Feed>().expect("mount");
    client.event("post", json!({ "text": "first" }));
    let after_one = client.connection().memory_estimate();
    for n in 0..100_000 {
        client.event("post", json!({ "text": format!("message {n}") }));
    }
    assert_eq!(client.connection().memory_estimate(), after_one);
}

#[tokio::test]
async fn the_page_and_the_socket_carry_the_items() {
    let server = App::new()
        .config(test_config())
        .live("/", Feed::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let page = get(addr, "/").await;
    assert!(
        page.body
            .contains("<li data-djust-stream-id=\"3\" class=\"message\">hello #3</li></ul>"),
        "{}",
        page.body
    );
    let (mut socket, mounted) = mount_page(addr, "/", "feed").await;
    assert!(mounted["html"]
        .as_str()
        .unwrap_or_default()
        .contains("hello #2"));
    let frames = send_event(&mut socket, "post", json!({ "text": "over the wire" }), 1).await;
    let stream = frames
        .iter()
        .find(|frame| frame["type"] == "stream")
        .unwrap_or_else(|| panic!("{frames:?}"));
    assert_eq!(stream["name"], "messages");
    assert_eq!(stream["ops"][0]["op"], "insert");
    assert_eq!(stream["ops"][0]["id"], "4");
    assert_eq!(stream["ops"][0]["at"], -1);
    server.shutdown().await;
}
