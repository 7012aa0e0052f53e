//! Every XSS and template-injection payload of the corpora (seed 002's and
//! more) renders inert in every context `html!` knows: text, attribute,
//! URL attribute, `srcset` and `style`. Checked by parsing the output with
//! html5ever (as a browser would), not by looking for substrings.

use djust::prelude::*;
use djust::runtime::template::filters::is_safe_url;
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
