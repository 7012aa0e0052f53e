//! Round-trips every protocol frame and patch against literal JSON from DESIGN section 5.
#![allow(clippy::unwrap_used)]

use djust_runtime::protocol::{ClientMessage, Patch, ServerMessage};
use serde_json::{json, Value};

fn same_json(a: &str, b: &str) {
    let a: Value = serde_json::from_str(a).unwrap();
    let b: Value = serde_json::from_str(b).unwrap();
    assert_eq!(a, b);
}

fn client_round_trip(text: &str, expected: ClientMessage) {
    let parsed = ClientMessage::from_json(text).unwrap();
    assert_eq!(parsed, expected);
    same_json(&serde_json::to_string(&parsed).unwrap(), text);
}

fn server_round_trip(text: &str, message: ServerMessage) {
    same_json(&message.to_json(), text);
    assert_eq!(ServerMessage::from_json(text).unwrap(), message);
}

#[test]
fn client_mount() {
    let mut params = serde_json::Map::new();
    params.insert("page".into(), json!("2"));
    client_round_trip(
        r#"{"type":"mount","view":"contacts","params":{"page":"2"},"url":"/contacts?page=2","mount_token":"tok.sig"}"#,
        ClientMessage::Mount {
            view: "contacts".into(),
            params,
            url: Some("/contacts?page=2".into()),
            mount_token: "tok.sig".into(),
            digest: None,
        },
    );
}

#[test]
fn client_mount_defaults_and_unknown_fields() {
    let parsed = ClientMessage::from_json(
        r#"{"type":"mount","view":"contacts","mount_token":"t","extra":[1,2]}"#,
    )
    .unwrap();
    assert_eq!(
        parsed,
        ClientMessage::Mount {
            view: "contacts".into(),
            params: serde_json::Map::new(),
            url: None,
            mount_token: "t".into(),
            digest: None,
        }
    );
}

#[test]
fn client_event() {
    let mut params = serde_json::Map::new();
    params.insert("id".into(), json!("3"));
    client_round_trip(
        r#"{"type":"event","event":"delete","params":{"id":"3"},"ref":7}"#,
        ClientMessage::Event {
            event: "delete".into(),
            params,
            target: None,
            reference: Some(7),
        },
    );
    assert_eq!(
        ClientMessage::from_json(r#"{"type":"event","event":"inc"}"#).unwrap(),
        ClientMessage::Event {
            event: "inc".into(),
            params: serde_json::Map::new(),
            target: None,
            reference: None,
        }
    );
}

#[test]
fn client_ping_and_request_html() {
    client_round_trip(r#"{"type":"ping"}"#, ClientMessage::Ping);
    client_round_trip(r#"{"type":"request_html"}"#, ClientMessage::RequestHtml);
    assert_eq!(
        ClientMessage::from_json(r#"{"type":"ping","x":1}"#).unwrap(),
        ClientMessage::Ping
    );
}

#[test]
fn client_rejects_unknown_types_and_missing_fields() {
    assert!(ClientMessage::from_json(r#"{"type":"__call__"}"#).is_err());
    assert!(ClientMessage::from_json(r#"{"event":"x"}"#).is_err());
    assert!(ClientMessage::from_json(r#"{"type":"mount","view":"v"}"#).is_err());
    assert!(ClientMessage::from_json(r#"{"type":"event","event":"x","ref":-1}"#).is_err());
    assert!(ClientMessage::from_json("not json").is_err());
}

#[test]
fn server_connect_mount_update() {
    server_round_trip(
        r#"{"type":"connect","session_id":"abc"}"#,
        ServerMessage::Connect {
            session_id: "abc".into(),
        },
    );
    server_round_trip(
        r#"{"type":"mount","view":"contacts","version":1,"html":"<p>x</p>"}"#,
        ServerMessage::Mount {
            view: "contacts".into(),
            version: 1,
            html: "<p>x</p>".into(),
            unchanged: false,
            resume_token: None,
        },
    );
    server_round_trip(
        r#"{"type":"mount","view":"contacts","version":1,"unchanged":true}"#,
        ServerMessage::Mount {
            view: "contacts".into(),
            version: 1,
            html: String::new(),
            unchanged: true,
            resume_token: None,
        },
    );
    server_round_trip(
        r#"{"type":"html_update","html":"<p>y</p>","version":4}"#,
        ServerMessage::HtmlUpdate {
            html: "<p>y</p>".into(),
            version: 4,
        },
    );
}

#[test]
fn server_patch() {
    server_round_trip(
        r#"{"type":"patch","patches":[{"type":"replace","path":"/1/3","value":"<b>x</b>"}],"version":2,"ref":7}"#,
        ServerMessage::Patch {
            patches: vec![Patch::Replace {
                path: "/1/3".into(),
                value: "<b>x</b>".into(),
                id: None,
            }],
            version: 2,
            reference: Some(7),
        },
    );
    server_round_trip(
        r#"{"type":"patch","patches":[],"version":3}"#,
        ServerMessage::Patch {
            patches: vec![],
            version: 3,
            reference: None,
        },
    );
}

#[test]
fn server_noop_error_limits_navigation() {
    server_round_trip(
        r#"{"type":"noop","ref":7}"#,
        ServerMessage::Noop { reference: Some(7) },
    );
    server_round_trip(
        r#"{"type":"error","error":"Event rejected","ref":7}"#,
        ServerMessage::Error {
            error: "Event rejected".into(),
            reference: Some(7),
        },
    );
    server_round_trip(
        r#"{"type":"error","error":"Internal error"}"#,
        ServerMessage::Error {
            error: "Internal error".into(),
            reference: None,
        },
    );
    server_round_trip(
        r#"{"type":"rate_limit_exceeded","message":"Slow down"}"#,
        ServerMessage::RateLimitExceeded {
            message: "Slow down".into(),
        },
    );
    server_round_trip(
        r#"{"type":"navigate","to":"/login"}"#,
        ServerMessage::Navigate {
            to: "/login".into(),
            replace: false,
        },
    );
    server_round_trip(
        r#"{"type":"navigate","to":"/a","replace":true}"#,
        ServerMessage::Navigate {
            to: "/a".into(),
            replace: true,
        },
    );
    server_round_trip(
        r#"{"type":"push_event","event":"flash","payload":{"level":"info","n":[1,2]}}"#,
        ServerMessage::PushEvent {
            event: "flash".into(),
            payload: json!({"level": "info", "n": [1, 2]}),
        },
    );
    server_round_trip(r#"{"type":"pong"}"#, ServerMessage::Pong);
}

#[test]
fn every_patch_kind() {
    let cases = [
        (
            r#"{"type":"replace","path":"/1/3","value":"<b>x</b>"}"#,
            Patch::Replace {
                path: "/1/3".into(),
                value: "<b>x</b>".into(),
                id: None,
            },
        ),
        (
            r#"{"type":"set_text","path":"/0","value":"a<b"}"#,
            Patch::SetText {
                path: "/0".into(),
                value: "a<b".into(),
                id: None,
            },
        ),
        (
            r#"{"type":"set_attr","path":"/2","key":"class","value":"on","id":"row"}"#,
            Patch::SetAttr {
                path: "/2".into(),
                key: "class".into(),
                value: "on".into(),
                id: Some("row".into()),
            },
        ),
        (
            r#"{"type":"remove_attr","path":"/2","key":"disabled"}"#,
            Patch::RemoveAttr {
                path: "/2".into(),
                key: "disabled".into(),
                id: None,
            },
        ),
        (
            r#"{"type":"insert_child","path":"","index":0,"node":"<li>a</li>"}"#,
            Patch::InsertChild {
                path: String::new(),
                index: 0,
                node: "<li>a</li>".into(),
                id: None,
            },
        ),
        (
            r#"{"type":"remove_child","path":"/1","index":4}"#,
            Patch::RemoveChild {
                path: "/1".into(),
                index: 4,
                id: None,
            },
        ),
        (
            r#"{"type":"move_child","path":"/1","from":4,"to":0,"id":"list"}"#,
            Patch::MoveChild {
                path: "/1".into(),
                from: 4,
                to: 0,
                id: Some("list".into()),
            },
        ),
    ];
    for (text, patch) in cases {
        same_json(&serde_json::to_string(&patch).unwrap(), text);
        assert_eq!(serde_json::from_str::<Patch>(text).unwrap(), patch);
    }
    assert!(serde_json::from_str::<Patch>(r#"{"type":"eval","path":""}"#).is_err());
}
