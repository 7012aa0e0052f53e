//! Property: any string rendered as text or as a quoted attribute value
//! parses back (with html5ever, as a browser would) to exactly that string,
//! in exactly one text node or attribute, with no other element or attribute.
//!
//! The one unavoidable change is NUL: HTML cannot carry it (parsers drop or
//! replace it), so the escaper writes U+FFFD and we expect U+FFFD.

use djust::prelude::*;
use proptest::prelude::*;
use scraper::node::Node;
use scraper::{ElementRef, Html as Document};

fn expected(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

/// The single `<p>` of a fragment, asserting that nothing else was created.
fn only_paragraph(document: &Document) -> ElementRef<'_> {
    let elements: Vec<ElementRef> = document
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() != "html")
        .collect();
    assert_eq!(elements.len(), 1, "extra elements: {:?}", document.html());
    assert_eq!(elements[0].value().name(), "p");
    elements[0]
}

fn check_text(s: &str) {
    let html = html! { <p>{s}</p> }.into_string();
    let document = Document::parse_fragment(&html);
    let p = only_paragraph(&document);
    assert_eq!(p.value().attrs().count(), 0, "{html}");
    let children: Vec<_> = p.children().collect();
    if s.is_empty() {
        assert!(children.is_empty(), "{html}");
    } else {
        assert_eq!(children.len(), 1, "{html}");
        match children[0].value() {
            Node::Text(text) => assert_eq!(&**text, expected(s).as_str(), "{html}"),
            other => panic!("expected one text node, got {other:?} from {html}"),
        }
    }
}

fn check_attribute(s: &str) {
    let html = html! { <p title={s}></p> }.into_string();
    let document = Document::parse_fragment(&html);
    let p = only_paragraph(&document);
    let attrs: Vec<(&str, &str)> = p.value().attrs().collect();
    assert_eq!(attrs, vec![("title", expected(s).as_str())], "{html}");
    assert_eq!(p.children().count(), 0, "{html}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn any_string_is_one_text_node(s in any::<String>()) {
        check_text(&s);
    }

    #[test]
    fn any_string_is_one_attribute_value(s in any::<String>()) {
        check_attribute(&s);
    }

    #[test]
    fn markup_like_strings_stay_text(s in r#"[<>&"' a-z/=;:!\-\r\n\t\x00]{0,40}"#) {
        check_text(&s);
        check_attribute(&s);
    }
}

#[test]
fn known_breakouts_stay_inert() {
    for s in [
        "</p><script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "' onmouseover='alert(1)",
        "<!--",
        "]]>",
        "&lt;already&gt; escaped",
        "&#x3C;script&#x3E;",
        "\r\n\r",
        "\0",
        "\u{202e}\u{200b}\u{feff}",
    ] {
        check_text(s);
        check_attribute(s);
    }
}
