//! htmx #1495: sanitised user HTML could still bind handlers. An app ran
//! user content through an HTML sanitiser that knew nothing of htmx, kept
//! `hx-get`, `hx-trigger` and `data-hx-*` attributes, and htmx then wired
//! them up as requests on the victim's behalf: the sanitiser's idea of
//! "safe" missed the framework's own attributes.
//!
//! The djust-rs client binds behaviour to `dj-*` attributes (`dj-click`,
//! `dj-submit`, `dj-value-*`, `dj-debounce`...) and to `data-djust-*`
//! (`data-djust-view` and `data-djust-token` start a live view,
//! `data-djust-debug` turns on client logging). `SafeHtml::sanitize`, the
//! one way to trust user HTML, must strip every one of them as well as
//! `on*` handlers, however the attribute is spelled. The tests feed it
//! each attribute in many spellings (case, whitespace and slashes around
//! it, unquoted, valueless, entities, inside SVG, MathML, tables, forms and
//! templates), parse the output as a browser does and expect no attribute
//! starting with `dj-`, `data-djust` or `on`; then they send the same
//! markup through a live view and check the patches and `html_update`.

use djust::prelude::*;
use scraper::Html as Document;
use serde_json::{json, Value};

use crate::elements;
use crate::support::*;

/// Attributes the client acts on, plus inline handlers.
const BINDING_ATTRIBUTES: [&str; 20] = [
    "dj-click",
    "dj-submit",
    "dj-change",
    "dj-input",
    "dj-keydown",
    "dj-keydown.enter",
    "dj-keyup",
    "dj-blur",
    "dj-focus",
    "dj-value-id",
    "dj-debounce",
    "dj-throttle",
    "dj-id",
    "dj-loading",
    "data-djust-view",
    "data-djust-token",
    "data-djust-debug",
    "data-djust-status",
    "onclick",
    "onmouseover",
];

/// How an attribute can be spelled: `{}` is the name, upper- or mixed-case
/// variants are generated from it.
const SPELLINGS: [&str; 12] = [
    "<div {}=\"delete\">x</div>",
    "<div {}='delete'>x</div>",
    "<div {}=delete>x</div>",
    "<div {}>x</div>",
    "<div\n{}\t=\n\"delete\">x</div>",
    "<div/{}=\"delete\">x</div>",
    "<div title=\"a\"{}=\"delete\">x</div>",
    "<div {}=\"a\" {}=\"delete\">x</div>",
    "<a href=\"/ok\" {}=\"delete\">x</a>",
    "<b {}=\"&#100;elete\">x</b>",
    "<p><span {}=\"delete\">x</span></p>",
    "<img src=\"/x.png\" alt=\"\" {}=\"delete\">",
];

/// Wrappers that change how the inner markup is parsed: `{}` is the markup.
const WRAPPERS: [&str; 6] = [
    "{}",
    "<svg>{}</svg>",
    "<math>{}</math>",
    "<div><!-- -->{}</div>",
    "<template>{}</template>",
    "<noscript>{}</noscript>",
];

/// Elements of other parsing contexts carrying the attribute (`{}`).
const CONTEXTS: [&str; 6] = [
    "<svg><a {}=\"delete\"><text>x</text></a></svg>",
    "<svg><foreignObject><div {}=\"delete\">x</div></foreignObject></svg>",
    "<math><mi {}=\"delete\">x</mi></math>",
    "<table><tbody><tr><td {}=\"delete\">x</td></tr></tbody></table>",
    "<form {}=\"delete\"><button {}=\"delete\">x</button></form>",
    "<details open {}=\"delete\"><summary {}=\"delete\">x</summary></details>",
];

fn case_variants(name: &str) -> Vec<String> {
    let mixed: String = name
        .chars()
        .enumerate()
        .map(|(index, c)| {
            if index % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    vec![name.to_owned(), name.to_ascii_uppercase(), mixed]
}

fn untrusted_inputs() -> Vec<String> {
    let mut all = Vec::new();
    for attribute in BINDING_ATTRIBUTES {
        for name in case_variants(attribute) {
            for spelling in SPELLINGS {
                let markup = spelling.replace("{}", &name);
                for wrapper in WRAPPERS {
                    all.push(wrapper.replace("{}", &markup));
                }
            }
            for context in CONTEXTS {
                all.push(context.replace("{}", &name));
            }
        }
    }
    // Entity-spelled names, which a browser never decodes in a name, and
    // names split by characters a sanitiser might drop.
    for raw in [
        "<div dj&#45;click=\"delete\">x</div>",
        "<div dj&#x2d;click=\"delete\">x</div>",
        "<div data&#45;djust&#45;view=\"admin\">x</div>",
        "<div dj\0-click=\"delete\">x</div>",
        "<div d\u{200b}j-click=\"delete\">x</div>",
        "<div data-djust-view=\"admin\" data-djust-token=\"t\"><button dj-click=\"delete\">x</button></div>",
        "<div data-DJUST-view=\"admin\">x</div>",
        "<div data-djust=\"1\" data-djust-=\"1\">x</div>",
        "<div dj-=\"delete\" dj=\"delete\">x</div>",
    ] {
        all.push(raw.to_owned());
    }
    all
}

/// Attribute names that bind behaviour, found in parsed markup.
fn binding_attributes_in(markup: &str) -> Vec<String> {
    let document = Document::parse_fragment(markup);
    let mut found = Vec::new();
    for element in elements(&document) {
        for (name, _) in element.value().attrs() {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("dj-")
                || lower == "dj"
                || lower.starts_with("data-djust")
                || lower.starts_with("on")
            {
                found.push(name.to_owned());
            }
        }
    }
    // `<template>` content is a separate fragment: parse it on its own.
    for template in document.select(&scraper::Selector::parse("template").expect("selector")) {
        found.extend(binding_attributes_in(&template.inner_html()));
    }
    found
}

#[test]
fn the_oracle_sees_the_attributes_in_raw_markup() {
    // The check below is not vacuous: unsanitised, it finds them.
    for input in untrusted_inputs() {
        // Names a parser does not read as the attribute, and `<noscript>`,
        // whose content is text when scripts run.
        if input.contains("&#")
            || input.contains('\0')
            || input.contains('\u{200b}')
            || input.starts_with("<noscript>")
        {
            continue;
        }
        assert!(!binding_attributes_in(&input).is_empty(), "{input}");
    }
}

#[test]
fn sanitize_strips_every_binding_attribute_in_every_spelling() {
    let inputs = untrusted_inputs();
    assert!(inputs.len() > 4_000, "{}", inputs.len());
    for input in &inputs {
        let clean = SafeHtml::sanitize(input);
        let left = binding_attributes_in(clean.as_str());
        assert!(
            left.is_empty(),
            "{input:?} → {:?} kept {left:?}",
            clean.as_str()
        );
        // Sanitising is stable: the output is already clean.
        assert_eq!(SafeHtml::sanitize(clean.as_str()).as_str(), clean.as_str());
    }
    // Control: ordinary markup survives.
    let kept = SafeHtml::sanitize("<p><b>bold</b> <a href=\"https://example.com/\">link</a></p>");
    assert!(kept.as_str().contains("<b>bold</b>"), "{}", kept.as_str());
    assert!(
        kept.as_str().contains("href=\"https://example.com/\""),
        "{}",
        kept.as_str()
    );
}

/// A comment wall: user HTML, sanitised, shown in a live view.
struct Wall {
    comment: SafeHtml,
}

#[live_view(public, name = "adv1495_wall")]
impl Wall {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Wall {
            comment: SafeHtml::from_static("<p>first</p>"),
        })
    }

    fn render(&self) -> Html {
        html! {
            <button dj-click="post">"post"</button>
            <div id="comment">{self.comment|safe}</div>
        }
    }

    #[event_handler]
    fn post(&mut self, markup: String) {
        self.comment = SafeHtml::sanitize(&markup);
    }
}

/// The markup and attribute names patches of `frames` carry.
fn patched(frames: &[Value]) -> (Vec<String>, Vec<String>) {
    let mut markup = Vec::new();
    let mut keys = Vec::new();
    for frame in frames.iter().filter(|frame| frame["type"] == "patch") {
        for patch in frame["patches"].as_array().cloned().unwrap_or_default() {
            for field in ["value", "node"] {
                if let Some(text) = patch[field].as_str() {
                    if patch["type"] != "set_text" && patch["type"] != "set_attr" {
                        markup.push(text.to_owned());
                    }
                }
            }
            if let Some(key) = patch["key"].as_str() {
                keys.push(key.to_owned());
            }
        }
    }
    (markup, keys)
}

#[tokio::test]
async fn sanitised_comments_bind_nothing_on_the_live_path() {
    let server = App::new()
        .config(djust::Config {
            rate_per_second: 1_000_000.0,
            rate_burst: 1_000_000,
            ..test_config()
        })
        .live("/", Wall::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (mut socket, _) = mount_page(server.local_addr(), "/", "adv1495_wall").await;
    // One input in seven (the sanitiser itself is checked on all of them
    // above): every name and spelling, a mix of wrappers.
    let inputs: Vec<String> = untrusted_inputs().into_iter().step_by(7).collect();
    assert!(inputs.len() > 500, "{}", inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let frames = send_event(
            &mut socket,
            "post",
            json!({ "markup": format!("<p>{index}</p>{input}") }),
            1,
        )
        .await;
        assert!(errors(&frames).is_empty(), "{input}: {frames:?}");
        let (markup, keys) = patched(&frames);
        for key in &keys {
            let lower = key.to_ascii_lowercase();
            assert!(
                !(lower.starts_with("dj-")
                    || lower.starts_with("data-djust")
                    || lower.starts_with("on")),
                "{input:?}: patch sets {key}"
            );
        }
        for piece in &markup {
            assert!(
                binding_attributes_in(piece).is_empty(),
                "{input:?}: {piece}"
            );
        }
        send_json(&mut socket, &json!({ "type": "request_html" })).await;
        let update = recv(&mut socket).await.expect("html_update");
        let html = update["html"].as_str().unwrap_or_default();
        let comment = html
            .split_once("<div id=\"comment\">")
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        assert!(
            binding_attributes_in(comment).is_empty(),
            "{input:?}: {html}"
        );
        // The page's own button keeps its binding: the view still works.
        assert!(html.contains("<button dj-click=\"post\">"), "{html}");
    }
    server.shutdown().await;
}
