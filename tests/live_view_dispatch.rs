//! The generated allowlist and parameter decoding, driven through the
//! in-process test client: hostile event names, type confusion for every
//! parameter type, permission and rate-limit checks, panics, and the
//! registry entry the macro writes.

use djust::prelude::*;
use djust::runtime::auth::User;
use djust::runtime::protocol::ServerMessage;
use djust::runtime::security::SafeError;
use djust::runtime::view::{AuthPosture, ParamKind, RateKey};
use djust_testing::{payloads, MountRefusal, TestClient};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
struct Filter {
    field: String,
    limit: u8,
}

struct Lab {
    count: i64,
    label: String,
    flags: Vec<bool>,
    ratio: f64,
    note: Option<String>,
    filter: String,
    _secret: djust::Private<String>,
}

#[live_view(public, name = "lab")]
impl Lab {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Lab {
            count: 0,
            label: "start".into(),
            flags: Vec::new(),
            ratio: 0.0,
            note: None,
            filter: String::new(),
            _secret: djust::Private::new("s3cr3t".into()),
        })
    }

    fn render(&self) -> Html {
        html! {
            <p id="count">{self.count}</p>
            <p id="label">{self.label}</p>
            <p id="flags">{self.flags.len()}</p>
            <p id="ratio">{self.ratio}</p>
            if let Some(note) = &self.note { <p id="note">{note}</p> }
            <p id="filter">{self.filter}</p>
            <button dj-click="add" dj-value-by="1">"+"</button>
        }
    }

    #[allow(dead_code)]
    fn helper(&mut self) {
        self.count = 1_000_000;
    }

    #[event_handler]
    fn add(&mut self, #[default(1)] by: i64) {
        self.count = self.count.saturating_add(by);
    }

    #[event_handler]
    async fn rename(&mut self, label: String) -> Result<()> {
        if label.is_empty() {
            return Err(Error::bad_request("label must not be empty"));
        }
        self.label = label;
        Ok(())
    }

    #[event_handler]
    fn small(&mut self, value: u8, ratio: f32, flag: bool) -> std::result::Result<(), String> {
        self.count = i64::from(value);
        self.ratio = f64::from(ratio);
        self.flags.push(flag);
        Ok(())
    }

    #[event_handler]
    fn set_note(&mut self, ctx: &EventCtx, note: Option<String>) {
        let _ = ctx.url();
        self.note = note;
    }

    #[event_handler]
    fn set_flags(&mut self, flags: Vec<bool>) {
        self.flags = flags;
    }

    #[event_handler]
    fn set_filter(&mut self, ctx: &mut EventCtx, filter: Filter) -> Result<()> {
        self.filter = format!("{}:{}", filter.field, filter.limit);
        ctx.push_event("filtered", json!({ "limit": filter.limit }))?;
        Ok(())
    }

    #[event_handler]
    fn boom(&mut self) {
        self.count = -1;
        panic!("handler bug with secret details");
    }

    #[event_handler]
    fn go(&mut self, ctx: &mut EventCtx, to: String) -> Result<()> {
        ctx.redirect(&to)
    }

    #[event_handler]
    #[permission_required("lab.admin")]
    fn admin_only(&mut self) {
        self.count = 42;
    }

    #[event_handler]
    #[rate_limit(rate = 0.001, burst = 2, key = "session")]
    fn limited(&mut self) {
        self.count += 1;
    }
}

fn client() -> TestClient {
    TestClient::mount::<Lab>().expect("mount")
}

#[test]
fn handlers_run_with_typed_coerced_params() {
    let mut c = client();
    assert_eq!(c.html().matches("<p id=\"count\">0</p>").count(), 1);
    let result = c.event("add", json!({ "by": "3" }));
    assert!(result.error().is_none(), "{result:?}");
    assert!(c.html().contains("<p id=\"count\">3</p>"));
    c.event("add", json!({}));
    assert!(
        c.html().contains("<p id=\"count\">4</p>"),
        "default applies"
    );
    c.event(
        "small",
        json!({ "value": "7", "ratio": "0.5", "flag": "on" }),
    );
    assert!(
        c.html().contains("<p id=\"count\">7</p>") && c.html().contains("<p id=\"ratio\">0.5</p>")
    );
    c.event("set_note", json!({ "note": "<b>hi</b>" }));
    assert!(c
        .html()
        .contains("<p id=\"note\">&lt;b&gt;hi&lt;/b&gt;</p>"));
    c.event("set_note", json!({}));
    assert!(!c.html().contains("id=\"note\""));
    c.event("set_flags", json!({ "flags": [true, "off", 1] }));
    assert!(c.html().contains("<p id=\"flags\">3</p>"));
    c.event(
        "set_filter",
        json!({ "filter": { "field": "name", "limit": 5 } }),
    );
    assert!(c.html().contains("<p id=\"filter\">name:5</p>"));
    assert_eq!(
        c.pushed_events(),
        vec![("filtered".to_string(), json!({ "limit": 5 }))]
    );
}

#[test]
fn only_event_handlers_dispatch_and_state_is_untouched() {
    let mut c = client();
    c.event("add", json!({ "by": 5 }));
    let before = c.html();
    let long = "a".repeat(10 * 1024);
    let hostile = [
        "mount",
        "render",
        "helper",
        "view",
        "meta",
        "dispatch_event",
        "__init__",
        "_helper",
        "Delete",
        "ADD",
        "add ",
        " add",
        "add\u{0}",
        "аdd",
        "ad\u{200b}d",
        "",
        &long,
        "check_permissions",
        "handle_tick",
        "../add",
        "add;rm",
    ];
    for name in hostile {
        let result = c.event(name, json!({ "by": 100 }));
        let error = result.error().unwrap_or_default().to_string();
        assert!(!error.is_empty(), "{name:?} was not refused: {result:?}");
        assert!(!error.contains("100"), "error echoes params: {error}");
        assert_eq!(c.html(), before, "{name:?} changed state");
    }
}

#[test]
fn type_confusion_is_a_clear_error_or_a_valid_coercion() {
    let mut c = client();
    let cases: [(&str, &str, payloads::ParamKind); 6] = [
        ("add", "by", payloads::ParamKind::Integer),
        ("small", "value", payloads::ParamKind::Integer),
        ("small", "ratio", payloads::ParamKind::Float),
        ("small", "flag", payloads::ParamKind::Bool),
        ("rename", "label", payloads::ParamKind::String),
        ("set_flags", "flags", payloads::ParamKind::List),
    ];
    for (handler, param, kind) in cases {
        for value in payloads::type_confusion(kind)
            .into_iter()
            .chain(payloads::type_confusion(payloads::ParamKind::Any))
        {
            let before = c.html();
            let mut params =
                json!({ "value": 1, "ratio": 1, "flag": true, "label": "x", "flags": [] });
            params[param] = value.clone();
            let result = c.event(handler, params);
            assert!(
                !result.closed,
                "{handler}({param}={value}) closed the connection"
            );
            if let Some(error) = result.error() {
                // A value nested deeper than the frame depth limit (the
                // frame adds two levels) is refused by that gate first.
                let too_deep = djust::runtime::live::json_depth_exceeds(&value.to_string(), 30)
                    && error == SafeError::MalformedMessage.public_message(false, None);
                assert!(
                    error.contains(param)
                        || error == SafeError::HandlerFailed.public_message(false, None)
                        || too_deep,
                    "unclear error for {handler}({param}): {error}"
                );
                let shown = value.to_string();
                if shown.len() > 3 {
                    assert!(!error.contains(&shown), "error echoes the value: {error}");
                }
                if error.contains(param) {
                    assert_eq!(c.html(), before, "a refused event changed state");
                }
            }
        }
    }
    // Raw JSON frames: lone surrogates, deep nesting, huge numbers.
    for raw in payloads::raw_json_strings().iter().take(50) {
        let frame =
            format!(r#"{{"type":"event","event":"rename","params":{{"label":{raw}}},"ref":1}}"#);
        let result = c.send_raw(&frame);
        assert!(!result.closed);
    }
    let deep = format!(
        r#"{{"type":"event","event":"set_flags","params":{{"flags":{}{}}}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    let result = c.send_raw(&deep);
    assert!(result.error().is_some(), "{result:?}");
}

#[test]
fn handler_errors_are_generic_in_production() {
    let mut c = client();
    let result = c.event("rename", json!({ "label": "" }));
    let generic = SafeError::HandlerFailed.public_message(false, None);
    assert_eq!(result.error(), Some(generic.as_str()), "{result:?}");
    let mut debug = TestClient::build::<Lab>()
        .debug(true)
        .mount()
        .expect("mount");
    let result = debug.event("rename", json!({ "label": "" }));
    assert!(
        result
            .error()
            .unwrap_or_default()
            .contains("label must not be empty"),
        "{result:?}"
    );
}

#[test]
fn a_panicking_handler_reports_generically_and_closes() {
    let mut c = client();
    let result = c.event("boom", json!({}));
    assert!(result.closed);
    let error = result.error().unwrap_or_default();
    assert!(
        !error.contains("secret") && !error.contains("panic"),
        "{error}"
    );
}

#[test]
fn navigation_is_same_origin_only() {
    let mut c = client();
    c.event("go", json!({ "to": "/contacts" }));
    for evil in [
        "//evil.com",
        "https://evil.com",
        "javascript:alert(1)",
        "/\\evil.com",
        "/a\r\nb",
    ] {
        let result = c.event("go", json!({ "to": evil }));
        assert!(result.error().is_some(), "{evil}");
    }
    assert_eq!(c.navigations(), vec!["/contacts".to_string()]);
}

#[test]
fn permission_required_is_enforced_and_the_socket_stays_open() {
    let mut anonymous = client();
    let result = anonymous.event("admin_only", json!({}));
    assert!(result.error().is_some() && !result.closed);
    let viewer = User::new("1", "viewer");
    let mut c = TestClient::mount_as::<Lab>(viewer).expect("mount");
    let result = c.event("admin_only", json!({}));
    let denied = SafeError::PermissionDenied.public_message(false, None);
    assert_eq!(result.error(), Some(denied.as_str()), "{result:?}");
    let admin = User::new("2", "admin").with_permission("lab.admin");
    let mut c = TestClient::mount_as::<Lab>(admin).expect("mount");
    assert!(c.event("admin_only", json!({})).error().is_none());
    assert!(c.html().contains(">42<"));
}

#[test]
fn rate_limit_refuses_after_the_burst() {
    let mut c = client();
    assert!(c.event("limited", json!({})).error().is_none());
    assert!(c.event("limited", json!({})).error().is_none());
    let third = c.event("limited", json!({}));
    assert!(third.error().is_some(), "{third:?}");
    assert!(c.html().contains("<p id=\"count\">2</p>"));
}

#[test]
fn registry_matches_the_source() {
    let meta = <Lab as LiveView>::meta();
    assert_eq!(meta.name, "lab");
    assert_eq!(meta.type_name, "Lab");
    assert_eq!(meta.auth, AuthPosture::Public);
    let names: Vec<&str> = meta.handlers.iter().map(|h| h.name).collect();
    assert_eq!(
        names,
        [
            "add",
            "rename",
            "small",
            "set_note",
            "set_flags",
            "set_filter",
            "boom",
            "go",
            "admin_only",
            "limited"
        ]
    );
    let add = meta.handler("add").expect("add");
    assert_eq!(
        (
            add.params[0].name,
            add.params[0].ty,
            add.params[0].kind,
            add.params[0].has_default
        ),
        ("by", "i64", ParamKind::Integer, true)
    );
    let note = meta.handler("set_note").expect("set_note");
    assert_eq!(
        (note.params[0].ty, note.params[0].optional),
        ("Option<String>", true)
    );
    assert_eq!(
        meta.handler("set_filter").map(|h| h.params[0].kind),
        Some(ParamKind::Other)
    );
    assert_eq!(meta.handler("rename").map(|h| h.is_async), Some(true));
    assert_eq!(
        meta.handler("admin_only").and_then(|h| h.permission),
        Some("lab.admin")
    );
    let limit = meta
        .handler("limited")
        .and_then(|h| h.rate_limit)
        .expect("rate limit");
    assert_eq!((limit.burst, limit.key), (2, RateKey::Session));
    assert_eq!(
        meta.exposed,
        ["count", "filter", "flags.len()", "label", "note", "ratio"]
    );
    assert!(!meta.exposed.iter().any(|path| path.contains("secret")));
    let assigned: Vec<(&str, &str)> = meta.assigned.iter().map(|a| (a.field, a.by)).collect();
    assert!(
        assigned.contains(&("count", "add"))
            && assigned.contains(&("label", "rename"))
            && assigned.contains(&("flags", "small"))
    );
    assert!(!assigned.iter().any(|(field, _)| field.starts_with('_')));
    assert!(djust::runtime::view::find_view("lab").is_some());
}

struct Private {
    items: Vec<(u32, String)>,
}

#[live_view(login_required, permission = "lab.view", login_url = "/signin")]
impl Private {
    async fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Private {
            items: vec![(1, "a".into())],
        })
    }

    fn render(&self) -> Html {
        html! { <ul> for (id, name) in &self.items key = id { <li>{name}</li> } </ul> }
    }
}

#[test]
fn login_and_view_permission_are_checked_at_mount() {
    match TestClient::mount::<Private>() {
        Err(MountRefusal::LoginRequired { login_url }) => assert_eq!(login_url, "/signin"),
        other => panic!("anonymous mount not refused: {:?}", other.err()),
    }
    assert!(matches!(
        TestClient::mount_as::<Private>(User::new("1", "u")),
        Err(MountRefusal::PermissionDenied)
    ));
    let c = TestClient::mount_as::<Private>(User::new("1", "u").with_permission("lab.view"))
        .expect("mount");
    assert!(c.html().contains("<li>a</li>"));
    assert!(matches!(
        c.frames()[0],
        ServerMessage::Mount { version: 1, .. }
    ));
    let meta = <Private as LiveView>::meta();
    assert_eq!(
        (meta.auth, meta.permission, meta.login_url),
        (
            AuthPosture::LoginRequired,
            Some("lab.view"),
            Some("/signin")
        )
    );
    assert_eq!(meta.exposed, ["items", "items[]"]);
}

#[test]
fn unknown_extra_params_are_ignored() {
    let mut c = client();
    let result = c.event(
        "add",
        json!({ "by": 2, "count": 999, "__proto__": { "x": 1 }, "_secret": "x" }),
    );
    assert!(result.error().is_none());
    assert!(c.html().contains("<p id=\"count\">2</p>"));
    let _: Value = json!(null);
}

/// A view whose `render` panics while `broken` is set.
struct Fragile {
    count: i64,
    broken: bool,
}

#[live_view(public, name = "fragile")]
impl Fragile {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Fragile {
            count: 0,
            broken: false,
        })
    }

    fn render(&self) -> Html {
        if self.broken {
            panic!("render bug with secret details");
        }
        html! { <p id="count">{self.count}</p> }
    }

    #[event_handler]
    fn set(&mut self, count: i64, broken: bool) {
        self.count = count;
        self.broken = broken;
    }
}

#[test]
fn a_failed_render_keeps_the_last_tree_and_the_socket() {
    let mut c = TestClient::mount::<Fragile>().expect("mount");
    assert!(c.html().contains(">0<"), "{}", c.html());
    let result = c.event("set", json!({ "count": "5", "broken": "on" }));
    assert!(!result.closed, "a render panic closed the socket");
    assert_eq!(
        result.error(),
        Some(SafeError::RenderFailed.public_message(false, None).as_str())
    );
    assert!(result.patches().is_empty());
    assert!(c.html().contains(">0<"), "{}", c.html());
    // The next render that works diffs against the kept tree.
    let result = c.event("set", json!({ "count": "6", "broken": "false" }));
    assert!(result.error().is_none(), "{:?}", result.frames);
    assert!(!result.patches().is_empty());
    assert!(c.html().contains(">6<"), "{}", c.html());
}
