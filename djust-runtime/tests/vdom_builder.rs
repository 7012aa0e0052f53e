//! Builder normalisation (text merging, keys, raw HTML) and byte-exact HTML serialization.
#![allow(clippy::unwrap_used)]

use djust_runtime::vdom::reference::{apply, parse_fragment};
use djust_runtime::vdom::{
    diff, to_html, ElementHead, ElementTemplate, StaticNode, TAttr, VBuilder, VNode,
};

static DIV: ElementTemplate = ElementTemplate {
    tag: "div",
    attrs: &[
        TAttr::Static {
            name: "class",
            value: Some("a&amp;b"),
        },
        TAttr::Dynamic { name: "title" },
        TAttr::Static {
            name: "hidden",
            value: None,
        },
        TAttr::Dynamic { name: "data-x" },
    ],
    is_void: false,
};
static INPUT: ElementTemplate = ElementTemplate {
    tag: "input",
    attrs: &[
        TAttr::Static {
            name: "type",
            value: Some("text"),
        },
        TAttr::Dynamic { name: "value" },
    ],
    is_void: true,
};
static LI: ElementTemplate = ElementTemplate {
    tag: "li",
    attrs: &[],
    is_void: false,
};
static BOLD: StaticNode = StaticNode {
    html: "<b>bold</b>",
};
static STATIC_TEXT: StaticNode = StaticNode {
    html: "Tom &amp; &quot;Jerry&quot; ",
};

fn texts<'a>(nodes: impl IntoIterator<Item = VNode<'a>>) -> Vec<String> {
    nodes
        .into_iter()
        .map(|node| match node {
            VNode::Text(text) => format!("T:{text}"),
            VNode::Static(node) => format!("S:{}", node.html),
            VNode::Element(element) => format!("E:{}", element.tag()),
        })
        .collect()
}

#[test]
fn serializes_templates_exactly() {
    let mut b = VBuilder::new();
    b.open(&DIV);
    b.set_attr(0, Some("say \"hi\" & <bye>".into()));
    b.set_attr(1, None);
    b.push_text("x < y");
    b.open(&INPUT);
    b.set_attr(0, Some(String::new()));
    b.close();
    b.push_static(&BOLD);
    b.close();
    let nodes = b.finish();
    assert_eq!(
        to_html(&nodes),
        "<div class=\"a&amp;b\" title=\"say &quot;hi&quot; &amp; &lt;bye&gt;\" hidden>x &lt; y<input type=\"text\" value=\"\"><b>bold</b></div>"
    );
}

#[test]
fn adjacent_text_merges_and_empty_text_vanishes() {
    let mut b = VBuilder::with_capacity(4);
    b.push_text("a");
    b.push_text("");
    b.text_buffer().push('b');
    b.push_text("c");
    b.push_static(&BOLD);
    let _ = b.text_buffer();
    b.push_static(&BOLD);
    b.text_buffer();
    let nodes = b.finish();
    assert_eq!(
        texts(nodes.roots()),
        ["T:abc", "S:<b>bold</b>", "S:<b>bold</b>"]
    );
}

#[test]
fn static_text_stays_static_alone_and_merges_with_text() {
    let mut b = VBuilder::new();
    b.push_static(&STATIC_TEXT);
    b.push_static(&BOLD);
    b.push_static(&STATIC_TEXT);
    b.push_text("<3");
    b.push_static(&STATIC_TEXT);
    let nodes = b.finish();
    assert_eq!(
        texts(nodes.roots()),
        [
            "S:Tom &amp; &quot;Jerry&quot; ",
            "S:<b>bold</b>",
            "T:Tom & \"Jerry\" <3Tom & \"Jerry\" "
        ]
    );
    assert_eq!(
        to_html(&nodes),
        "Tom &amp; &quot;Jerry&quot; <b>bold</b>Tom &amp; &quot;Jerry&quot; &lt;3Tom &amp; &quot;Jerry&quot; "
    );
}

#[test]
fn text_and_attributes_keep_cr_and_replace_nul_like_the_escaper() {
    let mut b = VBuilder::new();
    b.open(&DIV);
    b.set_attr(0, Some("a\r\nb\rc\0".into()));
    b.push_text("x\r\ny\r");
    b.text_buffer().push('\0');
    b.close();
    let nodes = b.finish();
    let html = to_html(&nodes);
    assert_eq!(
        html,
        "<div class=\"a&amp;b\" title=\"a&#13;\nb&#13;c\u{FFFD}\" hidden>x&#13;\ny&#13;\u{FFFD}</div>"
    );
    let dom = parse_fragment(&html);
    assert_eq!(
        parse_fragment(&djust_runtime::vdom::reference::serialize(&dom)),
        dom
    );
    let djust_runtime::vdom::reference::DomNode::Element { children, .. } = &dom[0] else {
        panic!("expected div")
    };
    assert_eq!(
        children,
        &[djust_runtime::vdom::reference::DomNode::Text(
            "x\r\ny\r\u{FFFD}".into()
        )]
    );
    assert_eq!(dom[0].attr("title"), Some("a\r\nb\rc\u{FFFD}"));
}

#[test]
fn key_since_keys_elements_of_one_iteration() {
    let mut b = VBuilder::new();
    for key in ["a", "b"] {
        let mark = b.mark();
        b.push_text("t");
        b.open(&LI);
        b.close();
        b.push_static(&BOLD);
        b.open(&LI);
        b.close();
        b.open(&LI);
        b.close();
        b.key_since(mark, key.to_owned());
    }
    let nodes = b.finish();
    let keys: Vec<Option<String>> = nodes
        .roots()
        .filter_map(|n| match n {
            VNode::Element(e) => Some(e.key().map(str::to_owned)),
            _ => None,
        })
        .collect();
    assert_eq!(
        keys,
        [
            Some("a".into()),
            Some("a#1".into()),
            Some("a#2".into()),
            Some("b".into()),
            Some("b#1".into()),
            Some("b#2".into())
        ]
    );
}

#[test]
fn mark_ignores_an_unwritten_text_buffer() {
    let mut b = VBuilder::new();
    b.open(&LI);
    b.close();
    b.text_buffer();
    let mark = b.mark();
    b.open(&LI);
    b.close();
    b.key_since(mark, "k".into());
    let nodes = b.finish();
    let nodes: Vec<VNode> = nodes.roots().collect();
    assert_eq!(nodes.len(), 2);
    match (&nodes[0], &nodes[1]) {
        (VNode::Element(first), VNode::Element(second)) => {
            assert_eq!(first.key(), None);
            assert_eq!(second.key(), Some("k"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn push_nodes_merges_text_at_both_ends() {
    let mut inner = VBuilder::new();
    inner.push_text("b");
    inner.push_static(&BOLD);
    inner.push_text("c");
    let component = inner.finish();
    let mut b = VBuilder::new();
    b.push_text("a");
    b.push_nodes(component);
    b.push_text("d");
    let nodes = b.finish();
    assert_eq!(texts(nodes.roots()), ["T:ab", "S:<b>bold</b>", "T:cd"]);
}

#[test]
fn raw_html_becomes_owned_nodes() {
    let mut b = VBuilder::new();
    b.open(&LI);
    b.push_text("a");
    b.push_raw_html("x<em class=\"c&amp;d\" title='q\"'>y<br></em><!-- gone -->z");
    b.push_text("!");
    b.close();
    let nodes = b.finish();
    let Some(VNode::Element(li)) = nodes.roots().next() else {
        panic!("expected li")
    };
    assert_eq!(texts(li.children()), ["T:ax", "E:em", "T:z!"]);
    let Some(VNode::Element(em)) = li.children().nth(1) else {
        panic!("expected em")
    };
    match em.head() {
        ElementHead::Owned(head) => {
            assert_eq!(
                head.attrs,
                [
                    ("class".to_owned(), "c&d".to_owned()),
                    ("title".to_owned(), "q\"".to_owned())
                ]
            );
        }
        ElementHead::Template(_) => panic!("expected an owned head"),
    }
    assert_eq!(
        to_html(&nodes),
        "<li>ax<em class=\"c&amp;d\" title=\"q&quot;\">y<br></em>z!</li>"
    );
}

#[test]
fn raw_text_elements_from_raw_html_are_not_escaped() {
    let mut b = VBuilder::new();
    b.push_raw_html("<style>a > b { color: red }</style>");
    let nodes = b.finish();
    assert_eq!(to_html(&nodes), "<style>a > b { color: red }</style>");
}

#[test]
fn owned_attributes_diff() {
    let build = |html: &str| {
        let mut b = VBuilder::new();
        b.push_raw_html(html);
        b.finish()
    };
    let a = build("<p class=\"x\" id=\"i\">t</p>");
    let b = build("<p class=\"y\" title=\"n\">t</p>");
    let patches = diff(&a, &b).unwrap();
    assert_eq!(patches.len(), 3);
    let mut dom = parse_fragment(&to_html(&a));
    apply(&mut dom, &patches).unwrap();
    assert_eq!(dom, parse_fragment(&to_html(&b)));
}

#[test]
fn node_equality_is_by_html() {
    let mut a = VBuilder::new();
    a.push_text("x");
    let mut b = VBuilder::new();
    b.push_text("x");
    assert_eq!(a.finish(), b.finish());
}
