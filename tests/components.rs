//! Stateful components (`#[live_component]`) driven through the in-process
//! test client: events sent to a component by id, every refusal (unknown
//! id, unknown handler, bad parameters, permission, rate limit) leaving
//! state untouched, `notify_parent` reaching the view's `handle_info`,
//! component state surviving re-renders of the parent, `update` with new
//! props, and the patches of one component among a hundred.

use djust::prelude::*;
use djust::runtime::auth::User;
use djust::runtime::security::SafeError;
use djust::runtime::view::registered_components;
use djust_testing::TestClient;
use serde_json::json;

/// What a `Counter` component tells its parent.
#[derive(Debug)]
enum CounterMsg {
    Reached(i64),
}

struct CounterProps {
    label: String,
    step: i64,
}

struct Counter {
    label: String,
    step: i64,
    count: i64,
}

#[live_component]
impl Counter {
    fn mount(props: CounterProps) -> Self {
        Counter {
            label: props.label,
            step: props.step,
            count: 0,
        }
    }

    fn update(&mut self, props: CounterProps) {
        self.label = props.label;
        self.step = props.step;
    }

    fn render(&self) -> Html {
        html! {
            <span class="label">{self.label}</span>
            <span class="count">{self.count}</span>
            <button dj-click="bump">"+"</button>
        }
    }

    #[event_handler]
    fn bump(&mut self, ctx: &mut EventCtx) {
        self.count += self.step;
        if self.count >= 3 {
            ctx.notify_parent(CounterMsg::Reached(self.count));
        }
    }

    #[event_handler]
    fn set(&mut self, value: i64) {
        self.count = value;
    }

    #[event_handler]
    #[permission_required("shop.reset")]
    fn reset(&mut self) {
        self.count = 0;
    }

    #[event_handler]
    #[rate_limit(rate = 0.001, burst = 2)]
    fn spin(&mut self) {
        self.count += 100;
    }
}

struct Page {
    title: String,
    reached: Vec<i64>,
    show_second: bool,
}

#[live_view(public)]
impl Page {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Page {
            title: "Shop".into(),
            reached: Vec::new(),
            show_second: true,
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1>{self.title}</h1>
            <p id="reached">{self.reached.len()}</p>
            {live_component::<Counter>("first", CounterProps { label: self.title.clone(), step: 1 })}
            if self.show_second {
                {live_component::<Counter>("second", CounterProps { label: "two".into(), step: 2 })}
            }
            <button id="outside" dj-click="set" dj-target="first" dj-value-value="7">"seven"</button>
            <button dj-click="rename">"rename"</button>
        }
    }

    #[event_handler]
    fn rename(&mut self, title: String) {
        self.title = title;
    }

    #[event_handler]
    fn toggle_second(&mut self) {
        self.show_second = !self.show_second;
    }

    fn handle_info(&mut self, message: CounterMsg) {
        match message {
            CounterMsg::Reached(count) => self.reached.push(count),
        }
    }
}

fn text_of(client: &TestClient, selector: &str) -> Vec<String> {
    let document = client.document();
    let selector = scraper::Selector::parse(selector).expect("selector");
    document
        .select(&selector)
        .map(|element| element.text().collect::<String>())
        .collect()
}

fn counts(client: &TestClient) -> Vec<String> {
    text_of(client, "[data-djust-component] .count")
}

#[test]
fn components_render_inside_their_root_with_their_id() {
    let client = TestClient::mount::<Page>().expect("mounts");
    let html = client.html();
    assert!(
        html.contains(r#"<div data-djust-component="first">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<div data-djust-component="second">"#),
        "{html}"
    );
    assert_eq!(counts(&client), ["0", "0"]);
    assert_eq!(text_of(&client, ".label"), ["Shop", "two"]);
}

#[test]
fn an_event_goes_to_the_component_named_by_target_only() {
    let mut client = TestClient::mount::<Page>().expect("mounts");
    let result = client.event_to("second", "bump", json!({}));
    assert_eq!(result.error(), None);
    assert_eq!(counts(&client), ["0", "2"]);
    let result = client.event_to("first", "set", json!({ "value": "5" }));
    assert_eq!(result.error(), None);
    assert_eq!(counts(&client), ["5", "2"]);
}

#[test]
fn refusals_leave_every_state_as_it_was() {
    let mut client = TestClient::mount::<Page>().expect("mounts");
    client.event_to("first", "set", json!({ "value": 1 }));
    let before = client.html();
    let version = client.version();
    let cases = [
        ("nowhere", "bump", json!({}), SafeError::UnknownComponent),
        ("first", "explode", json!({}), SafeError::UnknownEvent),
        // A view handler is not a component handler, and the reverse.
        (
            "first",
            "rename",
            json!({ "title": "x" }),
            SafeError::UnknownEvent,
        ),
        ("first", "mount", json!({}), SafeError::UnknownEvent),
        ("first", "update", json!({}), SafeError::UnknownEvent),
        ("first", "render", json!({}), SafeError::UnknownEvent),
        ("first", "reset", json!({}), SafeError::LoginRequired),
    ];
    for (target, event, params, expected) in cases {
        let result = client.event_to(target, event, params);
        assert_eq!(
            result.error(),
            Some(expected.to_string().as_str()),
            "{target}.{event}"
        );
        assert!(result.patches().is_empty());
    }
    let bad = client.event_to("first", "set", json!({ "value": "seven" }));
    assert!(
        bad.error().is_some_and(|error| error.contains("'value'")),
        "{:?}",
        bad.error()
    );
    // A view event never reaches a component handler.
    let view_event = client.event("bump", json!({}));
    assert_eq!(
        view_event.error(),
        Some(SafeError::UnknownEvent.to_string().as_str())
    );
    assert_eq!(client.html(), before);
    assert_eq!(client.version(), version);
    assert_eq!(counts(&client), ["1", "0"]);
}

#[test]
fn permissions_come_from_the_parents_user() {
    let user = User::new("1", "ann").with_permission("shop.reset");
    let mut client = TestClient::mount_as::<Page>(user).expect("mounts");
    client.event_to("first", "set", json!({ "value": 4 }));
    let result = client.event_to("first", "reset", json!({}));
    assert_eq!(result.error(), None);
    assert_eq!(counts(&client), ["0", "0"]);

    let other = User::new("2", "bob");
    let mut client = TestClient::mount_as::<Page>(other).expect("mounts");
    client.event_to("first", "set", json!({ "value": 4 }));
    let result = client.event_to("first", "reset", json!({}));
    assert_eq!(
        result.error(),
        Some(SafeError::PermissionDenied.to_string().as_str())
    );
    assert_eq!(counts(&client), ["4", "0"]);
}

#[test]
fn rate_limits_apply_per_component_handler() {
    let mut client = TestClient::mount::<Page>().expect("mounts");
    assert_eq!(client.event_to("first", "spin", json!({})).error(), None);
    assert_eq!(client.event_to("second", "spin", json!({})).error(), None);
    // The bucket is the handler's (shared by every instance), burst 2.
    let limited = client.event_to("first", "spin", json!({}));
    assert_eq!(
        limited.error(),
        Some(SafeError::RateLimited.to_string().as_str())
    );
    assert_eq!(counts(&client), ["100", "100"]);
}

#[test]
fn notify_parent_reaches_handle_info_and_the_view_re_renders() {
    let mut client = TestClient::mount::<Page>().expect("mounts");
    client.event_to("second", "bump", json!({}));
    assert_eq!(text_of(&client, "#reached"), ["0"]);
    client.event_to("second", "bump", json!({}));
    assert_eq!(text_of(&client, "#reached"), ["1"]);
    assert_eq!(counts(&client), ["0", "4"]);
}

#[test]
fn component_state_survives_parent_renders_and_update_brings_new_props() {
    let mut client = TestClient::mount::<Page>().expect("mounts");
    client.event_to("first", "set", json!({ "value": 9 }));
    let result = client.event("rename", json!({ "title": "Store" }));
    assert_eq!(result.error(), None);
    // `update` got the new label; the count is the component's own state.
    assert_eq!(text_of(&client, ".label"), ["Store", "two"]);
    assert_eq!(counts(&client), ["9", "0"]);
}

#[test]
fn a_component_the_parent_stops_rendering_is_dropped() {
    let mut client = TestClient::mount::<Page>().expect("mounts");
    client.event_to("second", "bump", json!({}));
    client.event("toggle_second", json!({}));
    assert_eq!(counts(&client), ["0"]);
    let gone = client.event_to("second", "bump", json!({}));
    assert_eq!(
        gone.error(),
        Some(SafeError::UnknownComponent.to_string().as_str())
    );
    // Back again: mounted afresh.
    client.event("toggle_second", json!({}));
    assert_eq!(counts(&client), ["0", "0"]);
}

#[test]
fn dj_target_from_the_parents_template_reaches_the_component() {
    let client = TestClient::mount::<Page>().expect("mounts");
    let document = client.document();
    let selector = scraper::Selector::parse("#outside").expect("selector");
    let button = document.select(&selector).next().expect("button");
    assert_eq!(button.value().attr("dj-target"), Some("first"));
}

#[test]
fn the_registry_lists_components_with_their_exposure() {
    let counter = registered_components()
        .into_iter()
        .find(|meta| meta.type_name == "Counter")
        .expect("registered");
    assert_eq!(counter.name, "counter");
    let handlers: Vec<&str> = counter.handlers.iter().map(|h| h.name).collect();
    assert_eq!(handlers, ["bump", "set", "reset", "spin"]);
    assert_eq!(counter.exposed, ["count", "label"]);
    assert_eq!(
        counter.handler("reset").and_then(|h| h.permission),
        Some("shop.reset")
    );
}

// One row component among a hundred.

struct Row {
    label: String,
    hits: u32,
}

#[live_component]
impl Row {
    fn mount(label: String) -> Self {
        Row { label, hits: 0 }
    }

    fn render(&self) -> Html {
        html! {
            <span>{self.label}</span>
            <b>{self.hits}</b>
            <button dj-click="hit">"hit"</button>
        }
    }

    #[event_handler]
    fn hit(&mut self) {
        self.hits += 1;
    }
}

struct Table {
    labels: Vec<String>,
}

#[live_view(public)]
impl Table {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Table {
            labels: (0..100).map(|i| format!("row {i}")).collect(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <div id="rows">
                for (i, label) in self.labels.iter().enumerate() key = i {
                    {live_component::<Row>(("row", i), label.clone())}
                }
            </div>
        }
    }
}

#[test]
fn one_component_among_a_hundred_sends_only_its_patches() {
    let mut client = TestClient::mount::<Table>().expect("mounts");
    assert_eq!(client.html().matches("data-djust-component").count(), 100);
    let result = client.event_to("row:42", "hit", json!({}));
    assert_eq!(result.error(), None);
    let patches = result.patches();
    assert_eq!(patches.len(), 1, "{patches:?}");
    let encoded = serde_json::to_string(&patches).expect("json");
    assert!(encoded.contains("\"1\""), "{encoded}");
    let document = client.document();
    let selector = scraper::Selector::parse("[data-djust-component=\"row:42\"] b").expect("sel");
    let hits: String = document.select(&selector).flat_map(|b| b.text()).collect();
    assert_eq!(hits, "1");
    // Every other row is as it was.
    let all = scraper::Selector::parse("[data-djust-component] b").expect("sel");
    let total: usize = document
        .select(&all)
        .filter(|b| b.text().collect::<String>() == "1")
        .count();
    assert_eq!(total, 1);
}

#[test]
fn the_audit_lists_components_with_their_exposed_fields_and_handlers() {
    let app = App::new()
        .live("/", Page::view())
        .live("/rows", Table::view());
    let report = app.audit_report();
    let text = report.to_text(false);
    assert!(text.contains("LiveComponent: counter ("), "{text}");
    assert!(
        text.contains("inherited from the view that embeds it"),
        "{text}"
    );
    let json = report.to_json();
    let components = json["components"].as_array().expect("components");
    let counter = components
        .iter()
        .find(|c| c["component"] == "counter")
        .expect("counter");
    assert_eq!(counter["exposed_state"], json!(["count", "label"]));
    assert_eq!(counter["auth"], "inherited");
    let reset = counter["handlers"]
        .as_array()
        .and_then(|handlers| handlers.iter().find(|h| h["name"] == "reset"))
        .expect("reset");
    assert_eq!(reset["permission"], "shop.reset");
    let row = components
        .iter()
        .find(|c| c["component"] == "row")
        .expect("row");
    assert_eq!(row["exposed_state"], json!(["hits", "label"]));
}

// `smoke_tests!` on the views also fuzzes their components' handlers.
djust_testing::smoke_tests!(Page, Table);

/// A view with no handlers of its own: every event the smoke checks send
/// to it goes to its component.
struct Host;

#[live_view(public)]
impl Host {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Host)
    }

    fn render(&self) -> Html {
        html! { {live_component::<Counter>("only", CounterProps { label: "x".into(), step: 1 })} }
    }
}

#[test]
fn smoke_checks_reach_component_handlers() {
    let options = djust_testing::SmokeOptions::default();
    let report = djust_testing::smoke::check_type_confusion(Host::view(), &options).expect("clean");
    assert!(report.events > 0, "{report:?}");
}
