//! phoenix_html GHSA-5g2h-9x5v-5h3x (CVE-2021-46871, fixed in 3.0.4): XSS
//! through composite `class` values. HEEx let `class={["btn", @user_value]}`
//! build a class from a list, and the list's items were joined into the
//! attribute without escaping, so a value with a `"` ended the attribute
//! and `onmouseover=...` started a handler.
//!
//! In djust-rs an attribute has exactly one value, and a composite class is
//! an ordinary expression (`format!`, `join`, a helper, an `Option`, or a
//! type implementing `AttrValue` by writing its plain text): whatever builds
//! it, the result is escaped once, as a whole, when it is written into the
//! quoted attribute; on the live path it travels as a raw `set_attr` value
//! that the client sets with `setAttribute`. The tests compose classes from
//! hostile parts every way a template can, parse the output as a browser
//! does, and expect one element per template, the class equal to the text
//! composed, and no other attribute (no `on*`, no injected element); then
//! they send the same parts through a live view's patches and `html_update`.

use djust::prelude::*;
use djust::AttrValue;
use scraper::Html as Document;
use serde_json::{json, Value};

use crate::elements;
use crate::support::*;

/// Class parts that end the attribute or the element if joined unescaped.
const HOSTILE_PARTS: [&str; 12] = [
    "x\" onmouseover=\"alert(1)",
    "x' onmouseover='alert(1)",
    "\" autofocus onfocus=alert(1) x=\"",
    "x onmouseover=alert(1)",
    "x><script>alert(1)</script>",
    "\"/><img src=x onerror=alert(1)>",
    "</span><span onmouseover=alert(1)>",
    "&quot; onmouseover=alert(1) &#34;",
    "x`onmouseover=alert(1)`",
    "a\0\" onclick=alert(1)",
    "\u{feff}\" onmouseover=alert(1)",
    "x\n\" onmouseover=alert(1)",
];

/// A class list implemented the documented way: by writing plain text.
struct ClassList(Vec<String>);

impl AttrValue for ClassList {
    fn is_present(&self) -> bool {
        !self.0.is_empty()
    }

    fn write_attr(&self, out: &mut TextWriter<'_>) {
        out.push_str(&self.0.join(" "));
    }
}

fn joined(parts: &[&str]) -> String {
    parts.join(" ")
}

/// The class as a browser reads it back (NUL becomes U+FFFD).
fn as_parsed(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// Every way a template composes a class from `parts`, one element each.
fn composites(parts: &[&str]) -> Html {
    let list = ClassList(parts.iter().map(|part| (*part).to_owned()).collect());
    let first = parts.first().copied().unwrap_or_default();
    let active = true;
    html! {
        <span id="format" class={format!("btn btn-{} {}", first, joined(parts))}>"a"</span>
        <span id="join" class={parts.join(" ")}>"b"</span>
        <span id="helper" class={joined(parts)}>"c"</span>
        <span id="option" class={active.then(|| joined(parts))}>"d"</span>
        <span id="type" class={list}>"e"</span>
        <span id="collect" class={parts.iter().map(|part| format!("is-{part}")).collect::<Vec<_>>().join(" ")}>"f"</span>
    }
}

/// The class each element of [`composites`] must carry.
fn expected_classes(parts: &[&str]) -> Vec<(&'static str, String)> {
    let first = parts.first().copied().unwrap_or_default();
    vec![
        ("format", format!("btn btn-{} {}", first, joined(parts))),
        ("join", joined(parts)),
        ("helper", joined(parts)),
        ("option", joined(parts)),
        ("type", joined(parts)),
        (
            "collect",
            parts
                .iter()
                .map(|part| format!("is-{part}"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ]
}

/// Asserts `markup` holds exactly the six spans with exactly `id` and the
/// expected `class`, nothing else.
fn assert_classes_inert(markup: &str, parts: &[&str]) {
    let document = Document::parse_fragment(markup);
    let found = elements(&document);
    let names: Vec<&str> = found.iter().map(|element| element.value().name()).collect();
    assert_eq!(names, ["span"; 6], "{parts:?} → {markup}");
    for (element, (id, class)) in found.iter().zip(expected_classes(parts)) {
        let mut attributes: Vec<(&str, &str)> = element.value().attrs().collect();
        attributes.sort_unstable();
        assert_eq!(
            attributes,
            [("class", as_parsed(&class).as_str()), ("id", id)],
            "{parts:?} → {markup}"
        );
    }
}

#[test]
fn composite_classes_from_hostile_parts_stay_one_attribute() {
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for part in HOSTILE_PARTS {
        cases.push(vec!["btn", part]);
        cases.push(vec![part, "active"]);
        cases.push(vec!["a", part, "b", part]);
    }
    cases.push(HOSTILE_PARTS.to_vec());
    for parts in &cases {
        let markup = composites(parts).into_string();
        assert_classes_inert(&markup, parts);
    }
    // Control: ordinary parts come back as written.
    let markup = composites(&["btn", "primary"]).into_string();
    assert!(
        markup.contains("<span id=\"join\" class=\"btn primary\">b</span>"),
        "{markup}"
    );
}

/// A live view whose classes are composed from parts the client adds.
struct Badges {
    parts: Vec<String>,
}

#[live_view(public, name = "adv5g2h_badges")]
impl Badges {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Badges {
            parts: vec!["badge".to_owned()],
        })
    }

    fn render(&self) -> Html {
        let parts: Vec<&str> = self.parts.iter().map(String::as_str).collect();
        composites(&parts)
    }

    #[event_handler]
    fn add(&mut self, part: String) {
        self.parts.push(part);
    }
}

/// The HTML carried by `replace` and `insert_child` patches of `frames`.
fn patch_markup(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|frame| frame["type"] == "patch")
        .flat_map(|frame| frame["patches"].as_array().cloned().unwrap_or_default())
        .filter_map(|patch| match patch["type"].as_str() {
            Some("replace") => patch["value"].as_str().map(str::to_owned),
            Some("insert_child") => patch["node"].as_str().map(str::to_owned),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_live_path_keeps_them_one_attribute_too() {
    let server = App::new()
        .config(djust::Config {
            rate_per_second: 1_000_000.0,
            rate_burst: 1_000_000,
            ..test_config()
        })
        .live("/", Badges::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (mut socket, _) = mount_page(server.local_addr(), "/", "adv5g2h_badges").await;
    let mut parts = vec!["badge"];
    for part in HOSTILE_PARTS {
        parts.push(part);
        let frames = send_event(&mut socket, "add", json!({ "part": part }), 1).await;
        let patches: Vec<Value> = frames
            .iter()
            .filter(|frame| frame["type"] == "patch")
            .flat_map(|frame| frame["patches"].as_array().cloned().unwrap_or_default())
            .collect();
        assert!(!patches.is_empty(), "{part:?}: {frames:?}");
        for patch in &patches {
            if patch["type"] == "set_attr" {
                // A raw value for setAttribute on the one `class` attribute.
                assert_eq!(patch["key"], "class", "{patch}");
            }
            let key = patch["key"].as_str().unwrap_or_default();
            assert!(!key.to_ascii_lowercase().starts_with("on"), "{patch}");
        }
        for markup in patch_markup(&frames) {
            let document = Document::parse_fragment(&markup);
            for element in elements(&document) {
                for (name, _) in element.value().attrs() {
                    assert!(matches!(name, "id" | "class"), "{part:?}: {markup}");
                }
            }
        }
        send_json(&mut socket, &json!({ "type": "request_html" })).await;
        let update = recv(&mut socket).await.expect("html_update");
        assert_classes_inert(update["html"].as_str().unwrap_or_default(), &parts);
    }
    server.shutdown().await;
}
