//! Livewire CVE-2025-54068 (v3 before 3.6.4): the client chose types during
//! hydration. Livewire sends a component's whole state to the browser and
//! takes it back on the next request; property updates carried
//! "synthesizer" tuples (`[value, {"s": "mdl", "class": "..."}]`) that told
//! the server which PHP type to rebuild, so a crafted update could make it
//! instantiate arbitrary classes: remote code execution without a login.
//!
//! In djust-rs the view's state lives on the server and is never sent to
//! or taken from the client. A client sends an event name and params; each
//! param is decoded by name into the handler's declared Rust type (with
//! form coercion such as `"3"` → `3`), and anything else (type hints,
//! class names, `__proto__`, objects or arrays where a scalar is declared,
//! an undeclared enum variant) is refused with an error naming the
//! parameter while the handler does not run. Unknown params and unknown
//! frame fields are ignored. The tests send Livewire-style snapshots,
//! updates and synthesizer tuples over a real socket and expect the
//! declared types to decide: state changes only through handlers, by
//! values of their types.

use djust::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::support::*;

#[derive(Debug, Deserialize)]
struct Filter {
    field: String,
    limit: u8,
}

#[derive(Debug, Deserialize)]
enum Role {
    Viewer,
    Editor,
}

/// State the client can see but only handlers change; `admin` no handler
/// sets at all.
struct Profile {
    count: i64,
    label: String,
    on: bool,
    filter: String,
    role: String,
    admin: bool,
}

#[live_view(public, name = "adv54068_profile")]
impl Profile {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Profile {
            count: 0,
            label: "start".to_owned(),
            on: false,
            filter: String::new(),
            role: "viewer".to_owned(),
            admin: false,
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="count">{self.count}</p>
            <p id="label">{self.label}</p>
            <p id="on">{self.on}</p>
            <p id="filter">{self.filter}</p>
            <p id="role">{self.role}</p>
            <p id="admin">{self.admin}</p>
        }
    }

    #[event_handler]
    fn set_count(&mut self, count: i64) {
        self.count = count;
    }

    #[event_handler]
    fn rename(&mut self, label: String) {
        self.label = label;
    }

    #[event_handler]
    fn toggle(&mut self, on: bool) {
        self.on = on;
    }

    #[event_handler]
    fn set_filter(&mut self, filter: Filter) {
        self.filter = format!("{}:{}", filter.field, filter.limit);
    }

    #[event_handler]
    fn set_role(&mut self, role: Role) {
        self.role = match role {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
        }
        .to_owned();
    }

    #[event_handler]
    fn refresh(&mut self) {}
}

async fn start() -> djust::Server {
    App::new()
        .config(djust::Config {
            rate_per_second: 1_000_000.0,
            rate_burst: 1_000_000,
            ..test_config()
        })
        .live("/", Profile::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// The view's current HTML and version.
async fn snapshot(socket: &mut Socket) -> (String, u64) {
    send_json(socket, &json!({ "type": "request_html" })).await;
    let update = recv(socket).await.expect("html_update");
    assert_eq!(update["type"], "html_update", "{update}");
    (
        update["html"].as_str().unwrap_or_default().to_owned(),
        update["version"].as_u64().unwrap_or_default(),
    )
}

/// Livewire-style values that name a type or a class, or smuggle an object
/// where a scalar is declared.
fn type_choosing_values() -> Vec<Value> {
    vec![
        json!([5, { "s": "int" }]),
        json!([5, { "s": "mdl", "class": "App\\Models\\User", "key": 1 }]),
        json!({ "s": "mdl", "class": "App\\Models\\User", "key": 1 }),
        json!({ "__proto__": { "admin": true } }),
        json!({ "constructor": { "prototype": { "admin": true } } }),
        json!({ "type": "int", "value": 5 }),
        json!({ "$type": "System.Int64", "value": 5 }),
        json!({ "@class": "java.lang.Runtime" }),
        json!({ "class": "std::process::Command", "args": ["id"] }),
        json!({ "__class__": "os.system" }),
        json!({ "value": 5 }),
        json!([[5]]),
        json!({}),
    ]
}

#[tokio::test]
async fn state_is_never_taken_from_the_client() {
    let server = start().await;
    let addr = server.local_addr();
    let token = mount_token(&get(addr, "/").await.body);
    let mut socket = connect(addr).await;
    // Mount params carrying a whole state and Livewire's snapshot fields.
    send_json(
        &mut socket,
        &json!({
            "type": "mount", "view": "adv54068_profile", "url": "/", "mount_token": token,
            "params": {
                "count": 999, "admin": true, "label": "pwned", "role": "Admin",
                "snapshot": { "data": { "admin": true, "count": 999 }, "memo": { "name": "x" }, "checksum": "x" },
                "__proto__": { "admin": true }, "class": "App\\Models\\User"
            },
            "snapshot": { "data": { "admin": true } }, "state": { "admin": true }
        }),
    )
    .await;
    let mounted = recv(&mut socket).await.expect("mount frame");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    let html = mounted["html"].as_str().unwrap_or_default();
    assert!(html.contains("<p id=\"count\">0</p>"), "{html}");
    assert!(html.contains("<p id=\"admin\">false</p>"), "{html}");
    assert!(html.contains("<p id=\"label\">start</p>"), "{html}");

    // Events with Livewire's update payload beside and inside the params.
    let frames = send_event(
        &mut socket,
        "rename",
        json!({
            "label": "renamed", "admin": true, "count": 999,
            "updates": { "admin": true }, "snapshot": { "data": { "admin": true } },
            "calls": [{ "method": "set_count", "params": [999] }]
        }),
        1,
    )
    .await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    send_json(
        &mut socket,
        &json!({
            "type": "event", "event": "refresh", "params": {}, "ref": 2,
            "updates": { "admin": true, "count": 999 },
            "snapshot": { "data": { "admin": true, "count": 999 } },
            "state": { "admin": true }, "components": [{ "snapshot": "{}" }]
        }),
    )
    .await;
    until_pong(&mut socket).await;
    let (html, _) = snapshot(&mut socket).await;
    assert!(html.contains("<p id=\"label\">renamed</p>"), "{html}");
    assert!(html.contains("<p id=\"count\">0</p>"), "{html}");
    assert!(html.contains("<p id=\"admin\">false</p>"), "{html}");
    server.shutdown().await;
}

#[tokio::test]
async fn type_hints_class_names_and_objects_for_scalars_are_refused() {
    let server = start().await;
    let (mut socket, _) = mount_page(server.local_addr(), "/", "adv54068_profile").await;
    let (before, version) = snapshot(&mut socket).await;
    let cases: [(&str, &str, &str); 3] = [
        ("set_count", "count", "i64"),
        ("rename", "label", "String"),
        ("toggle", "on", "bool"),
    ];
    for (handler, param, declared) in cases {
        for value in type_choosing_values() {
            let frames = send_event(&mut socket, handler, json!({ param: value }), 3).await;
            let errors = errors(&frames);
            assert_eq!(errors.len(), 1, "{handler}({param}={value}): {frames:?}");
            assert!(
                errors[0].contains(&format!("'{param}'")) && errors[0].contains(declared),
                "{handler}({param}={value}): {}",
                errors[0]
            );
            assert!(
                frames.iter().all(|frame| frame["type"] == "error"),
                "{handler}({param}={value}) rendered: {frames:?}"
            );
        }
    }
    let (after, after_version) = snapshot(&mut socket).await;
    assert_eq!((after, after_version), (before, version), "state changed");
    server.shutdown().await;
}

#[tokio::test]
async fn the_servers_declared_types_decide_what_a_value_becomes() {
    let server = start().await;
    let (mut socket, _) = mount_page(server.local_addr(), "/", "adv54068_profile").await;
    // Coercion by the declared type, never by the client's hint.
    for (handler, params, shown) in [
        (
            "set_count",
            json!({ "count": "42" }),
            "<p id=\"count\">42</p>",
        ),
        ("rename", json!({ "label": 7 }), "<p id=\"label\">7</p>"),
        ("toggle", json!({ "on": "on" }), "<p id=\"on\">true</p>"),
        (
            "set_filter",
            json!({ "filter": { "field": "name", "limit": 3, "__proto__": { "admin": true }, "class": "Evil" } }),
            "<p id=\"filter\">name:3</p>",
        ),
        (
            "set_role",
            json!({ "role": "Editor" }),
            "<p id=\"role\">editor</p>",
        ),
    ] {
        let frames = send_event(&mut socket, handler, params.clone(), 4).await;
        assert!(
            errors(&frames).is_empty(),
            "{handler}({params}): {frames:?}"
        );
        let (html, _) = snapshot(&mut socket).await;
        assert!(html.contains(shown), "{handler}({params}): {html}");
    }
    let (before, version) = snapshot(&mut socket).await;
    // Structured params: only what the declared type admits.
    for (handler, params) in [
        (
            "set_filter",
            json!({ "filter": { "field": { "class": "Evil" }, "limit": 3 } }),
        ),
        (
            "set_filter",
            json!({ "filter": { "field": "name", "limit": 300 } }),
        ),
        ("set_filter", json!({ "filter": { "field": "name" } })),
        (
            "set_filter",
            json!({ "filter": [5, { "s": "mdl", "class": "Evil" }] }),
        ),
        ("set_filter", json!({ "filter": "App\\Models\\User" })),
        ("set_role", json!({ "role": "Admin" })),
        ("set_role", json!({ "role": { "Admin": null } })),
        ("set_role", json!({ "role": "editor" })),
        ("set_role", json!({ "role": ["Editor", { "s": "enum" }] })),
        ("set_role", json!({ "role": { "__proto__": "Editor" } })),
    ] {
        let frames = send_event(&mut socket, handler, params.clone(), 5).await;
        let errors = errors(&frames);
        assert_eq!(errors.len(), 1, "{handler}({params}): {frames:?}");
        assert!(
            errors[0].contains("'filter'") || errors[0].contains("'role'"),
            "{handler}({params}): {}",
            errors[0]
        );
    }
    assert_eq!(
        snapshot(&mut socket).await,
        (before, version),
        "state changed"
    );
    assert!(!snapshot(&mut socket).await.0.contains("admin\">true"));
    server.shutdown().await;
}
