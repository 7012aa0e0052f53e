//! Encoding and validation of client commands, with hostile input.

use super::*;

fn refused(js: &JS) -> bool {
    js.is_empty() && js.refusals().len() == 1
}

#[test]
fn every_command_encodes_as_tagged_json() {
    let js = JS::show("#a")
        .hide("#b")
        .toggle(".c")
        .add_class("#a", "open  wide")
        .remove_class("#a", "closed")
        .transition("#a", "fade-in", 300)
        .set_attr("#a", "aria-expanded", "true")
        .remove_attr("#a", "disabled")
        .focus("#input")
        .dispatch("#a", "menu:opened")
        .push("opened")
        .push_with("select", &[("id", "3"), ("kind", "a\"b")]);
    assert!(js.refusals().is_empty());
    let value: serde_json::Value = serde_json::from_str(&js.to_json()).unwrap();
    assert_eq!(
        value,
        serde_json::json!([
            {"op": "show", "to": "#a"},
            {"op": "hide", "to": "#b"},
            {"op": "toggle", "to": ".c"},
            {"op": "add_class", "to": "#a", "names": ["open", "wide"]},
            {"op": "remove_class", "to": "#a", "names": ["closed"]},
            {"op": "transition", "to": "#a", "names": ["fade-in"], "ms": 300},
            {"op": "set_attr", "to": "#a", "name": "aria-expanded", "value": "true"},
            {"op": "remove_attr", "to": "#a", "name": "disabled"},
            {"op": "focus", "to": "#input"},
            {"op": "dispatch", "to": "#a", "event": "menu:opened"},
            {"op": "push", "event": "opened"},
            {"op": "push", "event": "select", "params": {"id": "3", "kind": "a\"b"}},
        ])
    );
}

#[test]
fn keep_marks_the_previous_command_only_when_it_changes_the_element() {
    let js = JS::add_class("#m", "open")
        .keep()
        .set_attr("#m", "title", "x");
    assert!(js.to_json().contains(r#""names":["open"],"keep":true"#));
    assert!(!js.to_json().contains(r#""value":"x","keep""#));
    assert_eq!(JS::push("go").keep().refusals(), &[JsRefusal::Keep]);
    assert_eq!(JS::default().keep().refusals(), &[JsRefusal::Keep]);
}

#[test]
fn attribute_names_that_run_script_or_rebind_events_are_refused() {
    for name in [
        "onclick",
        "ONCLICK",
        "onmouseover",
        "on",
        "style",
        "STYLE",
        "srcdoc",
        "dj-click",
        "DJ-SUBMIT",
        "data-djust-view",
        "is",
        "attributeName",
        "values",
        "from",
        "to",
        "by",
        "http-equiv",
        "content",
        "xmlns",
        "xmlns:xlink",
        "",
        " title",
        "title ",
        "a b",
        "a\"b",
        "a=b",
        "a>b",
        "a/b",
        "1abc",
        "-x",
        "ti\u{0}tle",
        "tïtle",
        "title\u{200B}",
    ] {
        let js = JS::set_attr("#a", name, "v");
        assert!(refused(&js), "{name:?} should be refused");
        assert!(refused(&JS::remove_attr("#a", name)), "{name:?} removal");
    }
    assert!(refused(&JS::set_attr(
        "#a",
        &"a".repeat(MAX_ATTR_NAME_LEN + 1),
        "v"
    )));
    assert!(!refused(&JS::set_attr(
        "#a",
        &"a".repeat(MAX_ATTR_NAME_LEN),
        "v"
    )));
    // Names are lowercased like the HTML parser does.
    assert!(JS::set_attr("#a", "Aria-Label", "x")
        .to_json()
        .contains("\"aria-label\""));
}

#[test]
fn url_attributes_go_through_the_url_filter() {
    for (name, value) in [
        ("href", "javascript:alert(1)"),
        ("HREF", " JavaScript:alert(1)"),
        ("href", "java\tscript:alert(1)"),
        ("href", "&#106;avascript:alert(1)"),
        ("href", "%6Aavascript:alert(1)"),
        ("src", "data:text/html,<script>alert(1)</script>"),
        ("formaction", "vbscript:x"),
        ("action", "ｊavascript:alert(1)"),
        ("xlink:href", "javascript:alert(1)"),
        ("srcset", "/ok.png 1x, javascript:alert(1) 2x"),
        ("ping", "/ok javascript:alert(1)"),
    ] {
        assert!(
            refused(&JS::set_attr("#a", name, value)),
            "{name}={value:?}"
        );
    }
    for (name, value) in [
        ("href", "/contacts/3"),
        ("href", "https://example.com/?q=1"),
        ("src", "/static/a.png"),
        ("srcset", "/a.png 1x, /b.png 2x"),
        ("title", "javascript:alert(1) is just text here"),
    ] {
        let js = JS::set_attr("#a", name, value);
        assert!(js.refusals().is_empty(), "{name}={value:?}");
    }
}

#[test]
fn attribute_values_are_bounded_and_free_of_control_characters() {
    let long = "x".repeat(MAX_ATTR_VALUE_LEN + 1);
    assert!(refused(&JS::set_attr("#a", "title", &long)));
    assert!(refused(&JS::set_attr("#a", "title", "a\u{0}b")));
    assert!(refused(&JS::set_attr("#a", "title", "a\nb")));
    // Markup is just text: the client sets it with setAttribute.
    let js = JS::set_attr(
        "#a",
        "title",
        "\"><script>alert(1)</script> \u{202E}مرحبا 👍",
    );
    assert!(js.refusals().is_empty());
    let parsed: serde_json::Value = serde_json::from_str(&js.to_json()).unwrap();
    assert_eq!(
        parsed[0]["value"],
        "\"><script>alert(1)</script> \u{202E}مرحبا 👍"
    );
}

#[test]
fn selectors_are_bounded_and_free_of_control_characters() {
    for selector in ["", "   ", "#a\u{0}", "#a\nb", "\u{7f}"] {
        assert!(refused(&JS::show(selector)), "{selector:?}");
    }
    assert!(refused(&JS::show(&"a".repeat(MAX_SELECTOR_LEN + 1))));
    // Any CSS the browser can parse is fine: it is only ever a selector.
    for selector in [
        "#menu",
        "[data-x=\"</script>\"]",
        "li:nth-child(2n+1) > a",
        "#ünï",
    ] {
        assert!(!refused(&JS::toggle(selector)), "{selector:?}");
    }
}

#[test]
fn class_names_are_checked() {
    for classes in ["", "   ", "a\u{0}", &"c".repeat(MAX_CLASS_LEN + 1)] {
        assert!(refused(&JS::add_class("#a", classes)), "{classes:?}");
    }
    let many = vec!["c"; MAX_CLASSES + 1].join(" ");
    assert!(refused(&JS::remove_class("#a", &many)));
    assert!(refused(&JS::transition(
        "#a",
        "fade",
        MAX_TRANSITION_MS + 1
    )));
    assert!(!refused(&JS::transition("#a", "fade", MAX_TRANSITION_MS)));
}

#[test]
fn dispatch_takes_custom_event_names_only() {
    for event in [
        "click",
        "submit",
        "input",
        "focus",
        "keydown",
        "",
        "menu:",
        "-menu",
        "Menu:open",
        "djust:error",
        "djust:reconnected",
        "menu open",
        "menu:ö",
        "menu:<x>",
    ] {
        assert!(refused(&JS::dispatch("#a", event)), "{event:?}");
    }
    assert!(refused(&JS::dispatch(
        "#a",
        &format!("a:{}", "b".repeat(64))
    )));
    for event in ["menu:open", "menu-open", "app:menu-open2"] {
        assert!(!refused(&JS::dispatch("#a", event)), "{event:?}");
    }
}

#[test]
fn push_takes_handler_names_and_bounded_params() {
    for event in [
        "", "Opened", "__init__", "_private", "opened!", "a-b", "ｏpened",
    ] {
        assert!(refused(&JS::push(event)), "{event:?}");
    }
    assert!(refused(&JS::push(&"a".repeat(65))));
    assert!(refused(&JS::push_with("go", &[("Bad-Key", "1")])));
    let long = "v".repeat(MAX_PUSH_VALUE_LEN + 1);
    assert!(refused(&JS::push_with("go", &[("id", long.as_str())])));
    let keys: Vec<String> = (0..=MAX_PUSH_PARAMS).map(|i| format!("k{i}")).collect();
    let params: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "1")).collect();
    assert!(refused(&JS::push_with("go", &params)));
}

#[test]
fn a_value_holds_a_bounded_number_of_commands() {
    let mut js = JS::default();
    for _ in 0..MAX_COMMANDS + 5 {
        js = js.focus("#a");
    }
    assert_eq!(js.refusals(), vec![JsRefusal::TooMany; 5].as_slice());
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&js.to_json())
            .unwrap()
            .len(),
        MAX_COMMANDS
    );
}

#[test]
fn the_attribute_writes_escaped_json() {
    let js = JS::set_attr("#a", "title", "\"'<&>");
    let mut out = String::new();
    crate::__private::write_attr_escaped(&js_command(&js), &mut out);
    assert!(!out.contains('"') && !out.contains('<') && !out.contains('\''));
    assert_eq!(js_command(&&js), js.to_json());
}
