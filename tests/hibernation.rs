//! Hibernation: an idle view drops its rendered page and keeps only its
//! state (`DJUST_HIBERNATE_AFTER_SECS`, and at once when its socket drops).
//! The next event, message or tick renders the page again before anything
//! changes, so what goes to the client is exactly what an awake view
//! sends; a render that reads something besides the view's state goes out
//! whole. Driven in process through `TestClient` (the same connection core
//! as a socket), with random sequences against a twin that never
//! hibernates, and over a real socket with the idle timer.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use djust::prelude::*;
use djust::runtime::protocol::ServerMessage;
use djust_testing::TestClient;
use proptest::prelude::*;
use serde_json::{json, Value};
use support::*;

/// A page much larger than its state: a grid of numbers, a keyed list
/// that moves, and a label with text that needs escaping.
struct Grid {
    cells: Vec<Vec<u32>>,
    order: Vec<u32>,
    label: String,
}

#[live_view(public)]
impl Grid {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Grid {
            cells: (0..20)
                .map(|row| (0..20).map(|col| row * 20 + col).collect())
                .collect(),
            order: (0..8).collect(),
            label: "start".into(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1 title={self.label}>{self.label}</h1>
            <ul>
                for id in &self.order key = *id {
                    <li class={if *id % 2 == 0 { "even" } else { "odd" }}>{id}</li>
                }
            </ul>
            <table><tbody>
                for row in &self.cells {
                    <tr>for cell in row { <td>{cell}</td> }</tr>
                }
            </tbody></table>
        }
    }

    #[event_handler]
    fn bump(&mut self, cell: usize) {
        let (row, col) = ((cell / 20) % 20, cell % 20);
        if let Some(value) = self.cells.get_mut(row).and_then(|r| r.get_mut(col)) {
            *value = value.wrapping_add(1);
        }
    }

    #[event_handler]
    fn rotate(&mut self, by: usize) {
        if !self.order.is_empty() {
            let by = by % self.order.len();
            self.order.rotate_left(by);
        }
    }

    #[event_handler]
    fn drop_item(&mut self) {
        self.order.pop();
    }

    #[event_handler]
    fn relabel(&mut self, label: String) {
        self.label = label;
    }
}

fn frames_json(frames: &[ServerMessage]) -> Value {
    serde_json::to_value(frames).expect("frames serialize")
}

fn heap_bytes(client: &TestClient) -> usize {
    client
        .connection()
        .live()
        .map_or(0, |live| live.heap_bytes())
}

#[test]
fn an_idle_view_drops_its_page_and_keeps_its_state() {
    let mut client = TestClient::mount::<Grid>().expect("mounts");
    client.event("bump", json!({ "cell": 3 }));
    let page = client.html();
    let awake = heap_bytes(&client);
    assert!(awake > 10_000, "a 20x20 grid's tree: {awake} B");
    assert!(client.hibernate());
    assert!(client.is_hibernating());
    assert_eq!(heap_bytes(&client), 0);
    assert!(!client.hibernate(), "hibernating twice does nothing");
    assert_eq!(client.html(), page, "the browser keeps its page");
    // The state is intact: the next change is diffed against it.
    let result = client.event("bump", json!({ "cell": 3 }));
    assert_eq!(result.error(), None);
    assert!(!client.is_hibernating());
    assert!(client.html().contains("<td>5</td>"), "{}", client.html());
    assert!(heap_bytes(&client) > 10_000);
}

#[test]
fn after_hibernating_an_event_sends_what_an_awake_view_sends() {
    let mut awake = TestClient::mount::<Grid>().expect("mounts");
    let mut sleepy = TestClient::mount::<Grid>().expect("mounts");
    assert!(sleepy.hibernate());
    let expected = awake.event("bump", json!({ "cell": 41 }));
    let got = sleepy.event("bump", json!({ "cell": 41 }));
    assert_eq!(frames_json(&got.frames), frames_json(&expected.frames));
    assert!(
        got.frames
            .iter()
            .all(|frame| !matches!(frame, ServerMessage::HtmlUpdate { .. })),
        "a small patch, not the page: {:?}",
        got.frames
    );
    assert_eq!(sleepy.html(), awake.html());
    assert_eq!(sleepy.version(), awake.version());
}

#[test]
fn request_html_wakes_the_view_and_sends_the_page_it_had() {
    let mut client = TestClient::mount::<Grid>().expect("mounts");
    let page = client.html();
    client.hibernate();
    let result = client.send_raw(r#"{"type":"request_html"}"#);
    match result.frames.as_slice() {
        [ServerMessage::HtmlUpdate { html, .. }] => assert_eq!(html, &page),
        other => panic!("expected one html_update: {other:?}"),
    }
    assert!(!client.is_hibernating());
}

#[test]
fn a_refused_event_leaves_a_hibernating_view_correct() {
    let mut awake = TestClient::mount::<Grid>().expect("mounts");
    let mut sleepy = TestClient::mount::<Grid>().expect("mounts");
    sleepy.hibernate();
    for (name, params) in [
        ("explode", json!({})),
        ("bump", json!({ "cell": "not a number" })),
        ("bump", json!({ "cell": "<script>alert(1)</script>" })),
        ("relabel", json!({ "label": ["wrong", "type"] })),
    ] {
        let expected = awake.event(name, params.clone());
        let got = sleepy.event(name, params);
        assert!(got.error().is_some(), "{name} refused");
        assert_eq!(frames_json(&got.frames), frames_json(&expected.frames));
    }
    let expected = awake.event("relabel", json!({ "label": "a < b & \"c\"" }));
    let got = sleepy.event("relabel", json!({ "label": "a < b & \"c\"" }));
    assert_eq!(frames_json(&got.frames), frames_json(&expected.frames));
    assert_eq!(sleepy.html(), awake.html());
}

/// The number the impure view reads besides its state.
static OUTSIDE: AtomicU64 = AtomicU64::new(0);

/// Renders a value that is not part of its state (as a view reading a
/// clock or a database in `render` would).
struct ReadsOutside {
    clicks: u32,
}

#[live_view(public)]
impl ReadsOutside {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(ReadsOutside { clicks: 0 })
    }

    fn render(&self) -> Html {
        let outside = OUTSIDE.load(Ordering::SeqCst);
        html! { <p id="outside">{outside}</p><p id="clicks">{self.clicks}</p> }
    }

    #[event_handler]
    fn click(&mut self) {
        self.clicks += 1;
    }
}

#[test]
fn a_page_that_reads_outside_its_state_is_sent_whole_after_hibernating() {
    OUTSIDE.store(1, Ordering::SeqCst);
    let mut client = TestClient::mount::<ReadsOutside>().expect("mounts");
    assert!(client.html().contains("<p id=\"outside\">1</p>"));
    client.hibernate();
    // While it slept, what its render reads changed: diffing the next
    // render against the woken tree would miss that change in the
    // browser's page.
    OUTSIDE.store(2, Ordering::SeqCst);
    let result = client.event("click", json!({}));
    assert_eq!(result.error(), None);
    let html = result
        .frames
        .iter()
        .find_map(|frame| match frame {
            ServerMessage::HtmlUpdate { html, .. } => Some(html.clone()),
            _ => None,
        })
        .expect("the page goes out whole");
    assert!(html.contains("<p id=\"outside\">2</p>"), "{html}");
    assert!(html.contains("<p id=\"clicks\">1</p>"), "{html}");
    assert_eq!(client.html(), html);
    // Awake again, the next change is a patch as usual.
    let result = client.event("click", json!({}));
    assert!(result
        .frames
        .iter()
        .any(|frame| matches!(frame, ServerMessage::Patch { .. })));
    assert!(!result
        .frames
        .iter()
        .any(|frame| matches!(frame, ServerMessage::HtmlUpdate { .. })));
}

/// Props of [`Tally`].
struct TallyProps {
    step: u32,
}

/// A component that counts its `update`s on the page: waking must not
/// call it (the parent's state did not change).
struct Tally {
    step: u32,
    count: u32,
    updates: u32,
}

#[live_component]
impl Tally {
    fn mount(props: TallyProps) -> Self {
        Tally {
            step: props.step,
            count: 0,
            updates: 0,
        }
    }

    fn update(&mut self, props: TallyProps) {
        self.step = props.step;
        self.updates += 1;
    }

    fn render(&self) -> Html {
        html! { <b class="count">{self.count}</b><i class="updates">{self.updates}</i> }
    }

    #[event_handler]
    fn add(&mut self) {
        self.count += self.step;
    }
}

struct WithTally {
    step: u32,
}

#[live_view(public)]
impl WithTally {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(WithTally { step: 1 })
    }

    fn render(&self) -> Html {
        html! {
            <p id="step">{self.step}</p>
            {live_component::<Tally>("tally", TallyProps { step: self.step })}
        }
    }

    #[event_handler]
    fn faster(&mut self) {
        self.step += 1;
    }
}

#[test]
fn components_wake_as_they_were_without_an_update() {
    let mut awake = TestClient::mount::<WithTally>().expect("mounts");
    let mut sleepy = TestClient::mount::<WithTally>().expect("mounts");
    for client in [&mut awake, &mut sleepy] {
        client.event_to("tally", "add", json!({}));
        client.event("faster", json!({}));
    }
    assert_eq!(sleepy.html(), awake.html());
    sleepy.hibernate();
    let expected = awake.event_to("tally", "add", json!({}));
    let got = sleepy.event_to("tally", "add", json!({}));
    assert_eq!(frames_json(&got.frames), frames_json(&expected.frames));
    sleepy.hibernate();
    let expected = awake.event("faster", json!({}));
    let got = sleepy.event("faster", json!({}));
    assert_eq!(frames_json(&got.frames), frames_json(&expected.frames));
    assert_eq!(sleepy.html(), awake.html());
}

/// A view with a tick: ticks wake it too.
struct Clock {
    ticks: u64,
    rows: Vec<u64>,
}

#[live_view(public, tick = 1000)]
impl Clock {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Clock {
            ticks: 0,
            rows: (0..50).collect(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="ticks">{self.ticks}</p>
            <ol>for row in &self.rows { <li>{row}</li> }</ol>
        }
    }

    fn handle_tick(&mut self) {
        self.ticks += 1;
    }
}

#[test]
fn a_tick_wakes_the_view_and_patches_as_usual() {
    let mut awake = TestClient::mount::<Clock>().expect("mounts");
    let mut sleepy = TestClient::mount::<Clock>().expect("mounts");
    sleepy.hibernate();
    let expected = awake.tick();
    let got = sleepy.tick();
    assert_eq!(frames_json(&got.frames), frames_json(&expected.frames));
    assert!(sleepy.html().contains("<p id=\"ticks\">1</p>"));
}

/// One step of a random session.
#[derive(Debug, Clone)]
enum Step {
    Hibernate,
    Bump(usize),
    Rotate(usize),
    DropItem,
    Relabel(String),
    RequestHtml,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Hibernate),
        3 => (0usize..400).prop_map(Step::Bump),
        1 => (0usize..10).prop_map(Step::Rotate),
        1 => Just(Step::DropItem),
        1 => any::<String>().prop_map(Step::Relabel),
        1 => Just(Step::RequestHtml),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the order of inputs and naps, a view that hibernates
    /// sends the same frames as one that never does, and ends on the
    /// same page.
    #[test]
    fn hibernating_never_changes_what_the_client_gets(steps in proptest::collection::vec(step(), 1..24)) {
        let mut awake = TestClient::mount::<Grid>().expect("mounts");
        let mut sleepy = TestClient::mount::<Grid>().expect("mounts");
        for step in steps {
            let (name, params) = match step {
                Step::Hibernate => {
                    sleepy.hibernate();
                    prop_assert_eq!(sleepy.html(), awake.html());
                    continue;
                }
                Step::RequestHtml => {
                    let expected = awake.send_raw(r#"{"type":"request_html"}"#);
                    let got = sleepy.send_raw(r#"{"type":"request_html"}"#);
                    prop_assert_eq!(frames_json(&got.frames), frames_json(&expected.frames));
                    continue;
                }
                Step::Bump(cell) => ("bump", json!({ "cell": cell })),
                Step::Rotate(by) => ("rotate", json!({ "by": by })),
                Step::DropItem => ("drop_item", json!({})),
                Step::Relabel(label) => ("relabel", json!({ "label": label })),
            };
            let expected = awake.event(name, params.clone());
            let got = sleepy.event(name, params);
            prop_assert_eq!(frames_json(&got.frames), frames_json(&expected.frames));
            prop_assert_eq!(sleepy.html(), awake.html());
        }
    }
}

// ----- over a real socket, with the idle timer

/// Renders of [`Counted`], to see the wake render from outside.
static RENDERS: AtomicU64 = AtomicU64::new(0);

struct Counted {
    count: u32,
}

#[live_view(public)]
impl Counted {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Counted { count: 0 })
    }

    fn render(&self) -> Html {
        RENDERS.fetch_add(1, Ordering::SeqCst);
        html! { <p id="count">{self.count}</p> }
    }

    #[event_handler]
    fn increment(&mut self) {
        self.count += 1;
    }
}

#[tokio::test]
async fn over_a_socket_an_idle_view_hibernates_and_the_next_click_patches_as_usual() {
    let server = App::new()
        .config(djust::Config {
            hibernate_after_secs: 1,
            ..test_config()
        })
        .live("/", Counted::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (mut socket, _mount) = mount_page(server.local_addr(), "/", "counted").await;
    let frames = send_event(&mut socket, "increment", json!({}), 1).await;
    assert!(
        frames.iter().any(|frame| frame["type"] == "patch"),
        "{frames:?}"
    );
    // Awake: one render per click.
    let before = RENDERS.load(Ordering::SeqCst);
    send_event(&mut socket, "increment", json!({}), 2).await;
    assert_eq!(RENDERS.load(Ordering::SeqCst) - before, 1);
    // Idle past the timer (pings do not count as input for the view).
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let before = RENDERS.load(Ordering::SeqCst);
    let frames = send_event(&mut socket, "increment", json!({}), 3).await;
    assert_eq!(
        RENDERS.load(Ordering::SeqCst) - before,
        2,
        "woken: the page it dropped, then the change"
    );
    let patch = frames
        .iter()
        .find(|frame| frame["type"] == "patch")
        .unwrap_or_else(|| panic!("a patch, not the page: {frames:?}"));
    assert!(patch.to_string().contains('3'), "{patch}");
    assert!(!frames.iter().any(|frame| frame["type"] == "html_update"));
}
