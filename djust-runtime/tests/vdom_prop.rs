//! Property tests: for random trees a, b built through `VBuilder`, applying `diff(a, b)` to
//! the parsed DOM of `a` yields the parsed DOM of `b`; `diff(a, a)` is empty; and the parsed
//! DOM of a tree has the tree's shape (what makes child-index paths valid).
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use djust_runtime::protocol::Patch;
use djust_runtime::vdom::reference::{apply, parse_fragment, DomNode};
use djust_runtime::vdom::{
    diff, to_html, ElementTemplate, StaticNode, TAttr, VBuilder, VNode, VTree,
};
use proptest::prelude::*;

fn leak_template(tag: &'static str, attrs: Vec<TAttr>, is_void: bool) -> &'static ElementTemplate {
    Box::leak(Box::new(ElementTemplate {
        tag,
        attrs: Box::leak(attrs.into_boxed_slice()),
        is_void,
    }))
}

fn templates() -> &'static [&'static ElementTemplate] {
    static POOL: OnceLock<Vec<&'static ElementTemplate>> = OnceLock::new();
    POOL.get_or_init(|| {
        let stat = |name, value| TAttr::Static { name, value };
        let dynamic = |name| TAttr::Dynamic { name };
        vec![
            leak_template(
                "div",
                vec![
                    stat("class", Some("box")),
                    dynamic("title"),
                    dynamic("data-x"),
                ],
                false,
            ),
            leak_template("span", vec![dynamic("class")], false),
            leak_template(
                "section",
                vec![
                    stat("dj-id", Some("sec&amp;&quot;1")),
                    dynamic("aria-label"),
                    stat("hidden", None),
                ],
                false,
            ),
            leak_template(
                "input",
                vec![
                    stat("type", Some("text")),
                    dynamic("value"),
                    dynamic("disabled"),
                ],
                true,
            ),
            leak_template("div", vec![], false),
            // Same contents as the previous one, different pointer.
            leak_template("div", vec![], false),
            leak_template("em", vec![stat("dj-id", Some("e1"))], false),
            leak_template("article", vec![dynamic("id"), dynamic("class")], false),
        ]
    })
}

fn statics() -> &'static [&'static StaticNode] {
    static POOL: OnceLock<Vec<&'static StaticNode>> = OnceLock::new();
    POOL.get_or_init(|| {
        [
            "<b>bold</b>",
            "<hr>",
            "static &amp; &lt;text&gt; ",
            "<i dj-id=\"st\">x<u>y</u></i>",
            "more &#39;text&#39;",
            "<b>bold</b>",
        ]
        .into_iter()
        .map(|html| &*Box::leak(Box::new(StaticNode { html })))
        .collect()
    })
}

const RAW: &[&str] = &[
    "raw <strong class=\"r\">R&amp;D</strong> tail",
    "<span title=\"t\">t</span>",
    "just text &lt;",
    "<!-- c --><em>e</em>",
    "",
];

/// A template program, rendered once for state `a` and once for state `b`.
#[derive(Debug, Clone)]
enum P {
    Text(String, String),
    Static(usize, usize),
    Elem {
        tpl: (usize, usize),
        attrs: Vec<(Option<String>, Option<String>)>,
        children: Vec<P>,
    },
    If {
        a: bool,
        b: bool,
        then: Vec<P>,
        els: Vec<P>,
    },
    For {
        keys_a: Vec<u8>,
        keys_b: Vec<u8>,
        wrap: bool,
        item_tpl: usize,
        multi: bool,
        loose_text: bool,
        inner: Vec<P>,
    },
    Raw(usize, usize),
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z<>&\"' ]{1,6}",
        ".{0,6}",
        "[\r\n\0é✓\u{202e}\u{1F600}a]{1,4}",
    ]
}

fn attr_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), text().prop_map(Some)]
}

fn keys() -> impl Strategy<Value = Vec<u8>> {
    proptest::sample::subsequence((0u8..12).collect::<Vec<_>>(), 0..=12).prop_shuffle()
}

fn program() -> impl Strategy<Value = Vec<P>> {
    let n_tpl = templates().len();
    let n_static = statics().len();
    let leaf = prop_oneof![
        4 => (text(), text()).prop_map(|(a, b)| P::Text(a, b)),
        2 => (0..n_static, 0..n_static, any::<bool>()).prop_map(|(a, b, same)| P::Static(a, if same { a } else { b })),
        1 => (0..RAW.len(), 0..RAW.len(), any::<bool>()).prop_map(|(a, b, same)| P::Raw(a, if same { a } else { b })),
    ];
    leaf.prop_recursive(4, 64, 5, move |inner| {
        let children = prop::collection::vec(inner, 0..5);
        prop_oneof![
            4 => (0..n_tpl, 0..n_tpl, prop::collection::vec((attr_value(), attr_value()), 3), children.clone())
                .prop_map(|(a, b, attrs, children)| P::Elem {
                    tpl: (a, if b % 4 == 0 { b } else { a }),
                    attrs,
                    children,
                }),
            2 => (any::<bool>(), any::<bool>(), children.clone(), children.clone())
                .prop_map(|(a, b, then, els)| P::If { a, b, then, els }),
            2 => (keys(), keys(), any::<bool>(), prop::sample::select(vec![1usize, 4, 7]), any::<bool>(), prop::bool::weighted(0.2), children)
                .prop_map(|(keys_a, keys_b, wrap, item_tpl, multi, loose_text, inner)| P::For {
                    keys_a, keys_b, wrap, item_tpl, multi, loose_text, inner,
                }),
        ]
    })
    .prop_map(|p| vec![p])
    .boxed()
}

fn programs() -> impl Strategy<Value = Vec<P>> {
    prop::collection::vec(program(), 1..4).prop_map(|v| v.into_iter().flatten().collect())
}

fn render_all(ps: &[P], state_b: bool, b: &mut VBuilder) {
    for p in ps {
        render(p, state_b, b);
    }
}

fn pick<T: Copy>(pair: (T, T), state_b: bool) -> T {
    if state_b {
        pair.1
    } else {
        pair.0
    }
}

fn render(p: &P, state_b: bool, b: &mut VBuilder) {
    match p {
        P::Text(x, y) => b.push_text(if state_b { y } else { x }),
        P::Static(x, y) => b.push_static(statics()[pick((*x, *y), state_b)]),
        P::Raw(x, y) => b.push_raw_html(RAW[pick((*x, *y), state_b)]),
        P::Elem {
            tpl,
            attrs,
            children,
        } => {
            let template = templates()[pick(*tpl, state_b)];
            b.open(template);
            for (slot, (x, y)) in attrs.iter().enumerate().take(template.slot_count()) {
                b.set_attr(slot, if state_b { y.clone() } else { x.clone() });
            }
            if !template.is_void {
                render_all(children, state_b, b);
            }
            b.close();
        }
        P::If {
            a,
            b: cb,
            then,
            els,
        } => {
            if pick((*a, *cb), state_b) {
                render_all(then, state_b, b);
            } else {
                render_all(els, state_b, b);
            }
        }
        P::For {
            keys_a,
            keys_b,
            wrap,
            item_tpl,
            multi,
            loose_text,
            inner,
        } => {
            // Keys unique per loop even when two unwrapped loops share a parent.
            let loop_id = p as *const P as usize;
            if *wrap {
                b.open(templates()[4]);
            }
            for key in if state_b { keys_b } else { keys_a } {
                let mark = b.mark();
                if *loose_text {
                    b.push_text("·");
                }
                b.open(templates()[*item_tpl]);
                b.push_text(&format!("item {key}"));
                render_all(inner, state_b, b);
                b.close();
                if *multi {
                    b.open(templates()[6]);
                    b.close();
                }
                b.key_since(mark, format!("{loop_id:x}:{key}"));
            }
            if *wrap {
                b.close();
            }
        }
    }
}

fn build(ps: &[P], state_b: bool) -> VTree {
    let mut b = VBuilder::new();
    render_all(ps, state_b, &mut b);
    b.finish()
}

/// Same number of nodes per level, same kinds and tags.
fn same_shape(v: &[VNode], d: &[DomNode]) -> Result<(), String> {
    if v.len() != d.len() {
        return Err(format!(
            "{} vdom nodes vs {} dom nodes: {v:?} / {d:?}",
            v.len(),
            d.len()
        ));
    }
    for (vn, dn) in v.iter().zip(d) {
        match (vn, dn) {
            (VNode::Static(_), _) => {}
            (VNode::Text(a), DomNode::Text(b)) if a == b => {}
            (VNode::Element(e), DomNode::Element { tag, children, .. }) if e.tag() == tag => {
                same_shape(&e.children().collect::<Vec<_>>(), children)?;
            }
            _ => return Err(format!("{vn:?} vs {dn:?}")),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.max(400), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn diff_then_apply_matches_render(ps in programs()) {
        let a = build(&ps, false);
        let b = build(&ps, true);
        let html_a = to_html(&a);
        let html_b = to_html(&b);
        let dom_a = parse_fragment(&html_a);
        let dom_b = parse_fragment(&html_b);
        if let Err(why) = same_shape(&a.roots().collect::<Vec<_>>(), &dom_a) {
            return Err(TestCaseError::fail(format!("shape a: {why}\n{html_a}")));
        }
        if let Err(why) = same_shape(&b.roots().collect::<Vec<_>>(), &dom_b) {
            return Err(TestCaseError::fail(format!("shape b: {why}\n{html_b}")));
        }
        prop_assert!(diff(&a, &a).unwrap().is_empty());
        prop_assert!(diff(&b, &b).unwrap().is_empty());
        let patches = diff(&a, &b).unwrap();
        let json = serde_json::to_string(&patches).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Vec<Patch>>(&json).unwrap(), &patches);
        let mut dom = dom_a.clone();
        if let Err(error) = apply(&mut dom, &patches) {
            return Err(TestCaseError::fail(format!("{error}\n{html_a}\n{html_b}\n{patches:#?}")));
        }
        prop_assert!(dom == dom_b, "\nbefore {}\nafter  {}\ngot    {}\n{:#?}",
            html_a, html_b, djust_runtime::vdom::reference::serialize(&dom), patches);
    }
}
