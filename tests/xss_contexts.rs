//! Every XSS and template-injection payload of the corpora (seed 002's and
//! more) renders inert in every context `html!` knows: text, attribute,
//! URL attribute (every URL sink of the shared sink table: `href`, `src`,
//! `action`, `formaction`, `poster`, `xlink:href`, `<object data>`,
//! `<embed src>`, `ping`), `srcset`, `style` and `srcdoc` (trusted markup
//! only). Checked by parsing the output with html5ever (as a browser
//! would), not by looking for substrings, for both backends.

use djust::prelude::*;
use djust::runtime::template::filters::is_safe_url;
use djust::runtime::template::mode::{render_markup, render_nodes};
use djust::runtime::vdom::to_html;
use djust_testing::payloads;
use scraper::{ElementRef, Html as Document};

/// Elements of a fragment (without the parser's `<html>` wrapper).
fn elements(document: &Document) -> Vec<ElementRef<'_>> {
    document
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() != "html")
        .collect()
}

fn corpus() -> Vec<String> {
    let mut all: Vec<String> = payloads::xss().to_vec();
    all.extend(payloads::template_injection().iter().cloned());
    all.extend(payloads::unicode().iter().cloned());
    all
}

fn expected_text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

#[test]
fn payloads_are_inert_in_every_context() {
    let corpus = corpus();
    assert!(corpus.len() > 300, "corpus too small: {}", corpus.len());
    for payload in &corpus {
        let p = payload.as_str();
        let html = html! {
            <div class="text">{p}</div>
            <div title={p} data-x={p}></div>
            <a href={p}>"link"</a>
            <img src={p} srcset={p} alt="">
            <p style={p}></p>
            <form action={p}><button formaction={p}>"go"</button></form>
        }
        .into_string();
        let document = Document::parse_fragment(&html);
        let found = elements(&document);
        let names: Vec<&str> = found.iter().map(|e| e.value().name()).collect();
        assert_eq!(
            names,
            ["div", "div", "a", "img", "p", "form", "button"],
            "payload {p:?} → {html}"
        );

        // Text stays one text node equal to the payload.
        assert_eq!(
            found[0].text().collect::<String>(),
            expected_text(p),
            "payload {p:?}"
        );

        for element in &found {
            for (name, value) in element.value().attrs() {
                assert!(
                    !name.to_ascii_lowercase().starts_with("on"),
                    "payload {p:?} made attribute {name}"
                );
                if matches!(name, "href" | "src" | "action" | "formaction") {
                    assert!(is_safe_url(value), "payload {p:?} left {name}={value:?}");
                }
                if name == "srcset" {
                    for candidate in value.split(',') {
                        let url = candidate.split_whitespace().next().unwrap_or("");
                        assert!(
                            is_safe_url(url),
                            "payload {p:?} left srcset candidate {url:?}"
                        );
                    }
                }
                if name == "style" {
                    let lower = value.to_ascii_lowercase();
                    for bad in [
                        "url(",
                        "expression(",
                        "javascript",
                        "behavior",
                        "@import",
                        "\\",
                    ] {
                        assert!(!lower.contains(bad), "payload {p:?} left style {value:?}");
                    }
                }
            }
        }
        // Attribute values come back exactly.
        assert_eq!(
            found[1].value().attr("title"),
            Some(expected_text(p).as_str()),
            "payload {p:?}"
        );
    }
}

#[test]
fn template_injection_is_never_evaluated() {
    for payload in payloads::template_injection() {
        let html = html! { <p>{payload}</p> }.into_string();
        let document = Document::parse_fragment(&html);
        let text: String = document.root_element().text().collect();
        assert_eq!(text, expected_text(payload));
    }
    let html = html! { {"${7*7}"} {"{{7*7}}"} }.into_string();
    assert!(!html.contains("49"));
}

/// The values of attributes with local name `name` (any namespace, so
/// `xlink:href` counts as `href`) of every element named `tag`.
fn attr_values<'a>(document: &'a Document, tag: &str, name: &str) -> Vec<&'a str> {
    elements(document)
        .into_iter()
        .filter(|e| e.value().name() == tag)
        .flat_map(|e| e.value().attrs().filter(|(local, _)| *local == name))
        .map(|(_, value)| value)
        .collect()
}

/// `ping`, `poster`, `xlink:href`, `<object data>`, `<embed src>` and
/// `<iframe src>` are URL sinks: every hostile payload comes out with an
/// allowlisted scheme (or `#blocked`), in server-side rendering and in the
/// VDOM (which live updates send), and `srcdoc` holds only markup that went
/// through `SafeHtml::sanitize`. (`ping` was written unfiltered before.)
#[test]
fn payloads_are_inert_in_every_url_sink() {
    for payload in corpus() {
        let p = payload.as_str();
        let cleaned = SafeHtml::sanitize(p);
        let render = || {
            html! {
                <a href="/a" ping={p}>"a"</a>
                <video poster={p}></video>
                <svg><a xlink:href={p}><text>"x"</text></a></svg>
                <object data={p}></object>
                <embed src={p}>
                <iframe src={p} srcdoc={&cleaned}></iframe>
            }
        };
        let markup = render_markup(render);
        assert_eq!(
            to_html(&render_nodes(render)),
            markup,
            "backends differ for {p:?}"
        );
        let document = Document::parse_fragment(&markup);
        let pings = attr_values(&document, "a", "ping");
        assert_eq!(pings.len(), 1, "payload {p:?}: {markup}");
        for url in pings {
            for part in url.split_ascii_whitespace() {
                assert!(is_safe_url(part), "payload {p:?} left ping {url:?}");
            }
        }
        // `xlink:href` is found by its local name: the SVG link's `href`
        // is the second one (the first is the literal "/a").
        for (tag, name, count) in [
            ("video", "poster", 1),
            ("a", "href", 2),
            ("object", "data", 1),
            ("embed", "src", 1),
            ("iframe", "src", 1),
        ] {
            let values = attr_values(&document, tag, name);
            assert_eq!(
                values.len(),
                count,
                "payload {p:?}: <{tag} {name}> in {markup}"
            );
            for value in values {
                assert!(
                    is_safe_url(value),
                    "payload {p:?} left <{tag} {name}={value:?}>"
                );
            }
        }
        // The frame's document is the sanitised markup, nothing more.
        for srcdoc in attr_values(&document, "iframe", "srcdoc") {
            assert_eq!(srcdoc, cleaned.as_str(), "payload {p:?}");
            let frame = Document::parse_document(srcdoc);
            for element in elements(&frame) {
                assert_ne!(element.value().name(), "script", "payload {p:?}");
                for (name, value) in element.value().attrs() {
                    assert!(!name.starts_with("on"), "payload {p:?} made {name}");
                    if matches!(name, "href" | "src" | "action" | "formaction") {
                        assert!(is_safe_url(value), "payload {p:?} left {name}={value:?}");
                    }
                }
            }
        }
    }
}

/// A hostile `ping` list keeps its safe URLs and blocks each unsafe one.
#[test]
fn ping_blocks_each_unsafe_url() {
    let list = "/count javascript:alert(1)\thttps://stats.example/hit DATA:text/html,x";
    let html = html! { <a href="/" ping={list}>"x"</a> }.into_string();
    assert_eq!(
        html,
        "<a href=\"/\" ping=\"/count #blocked\thttps://stats.example/hit #blocked\">x</a>"
    );
}
