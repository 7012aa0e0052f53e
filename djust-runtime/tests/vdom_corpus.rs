//! Named (before, after) cases and their patches, written to `tests/fixtures/patch_corpus.json`
//! for the browser client's tests. `DJUST_BLESS=1` regenerates the file; otherwise the test
//! fails when the committed file is out of date. Every case is also checked with the
//! reference applier.
#![allow(clippy::unwrap_used)]

use djust_runtime::protocol::Patch;
use djust_runtime::vdom::reference::{apply, parse_fragment};
use djust_runtime::vdom::{diff, to_html, ElementTemplate, StaticNode, TAttr, VBuilder, VTree};
use serde::Serialize;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/patch_corpus.json"
);

static DIV: ElementTemplate = ElementTemplate {
    tag: "div",
    attrs: &[
        TAttr::Static {
            name: "class",
            value: Some("card"),
        },
        TAttr::Dynamic { name: "title" },
        TAttr::Dynamic { name: "data-state" },
    ],
    is_void: false,
};
static P: ElementTemplate = ElementTemplate {
    tag: "p",
    attrs: &[],
    is_void: false,
};
static SPAN: ElementTemplate = ElementTemplate {
    tag: "span",
    attrs: &[TAttr::Dynamic { name: "class" }],
    is_void: false,
};
static ANCHORED: ElementTemplate = ElementTemplate {
    tag: "section",
    attrs: &[
        TAttr::Static {
            name: "dj-id",
            value: Some("main"),
        },
        TAttr::Dynamic { name: "aria-busy" },
    ],
    is_void: false,
};
static BUTTON: ElementTemplate = ElementTemplate {
    tag: "button",
    attrs: &[
        TAttr::Static {
            name: "dj-click",
            value: Some("save"),
        },
        TAttr::Dynamic { name: "disabled" },
    ],
    is_void: false,
};
static INPUT: ElementTemplate = ElementTemplate {
    tag: "input",
    attrs: &[
        TAttr::Static {
            name: "name",
            value: Some("q"),
        },
        TAttr::Dynamic { name: "value" },
        TAttr::Static {
            name: "required",
            value: None,
        },
    ],
    is_void: true,
};
static UL: ElementTemplate = ElementTemplate {
    tag: "ul",
    attrs: &[TAttr::Static {
        name: "dj-id",
        value: Some("items"),
    }],
    is_void: false,
};
static PLAIN_UL: ElementTemplate = ElementTemplate {
    tag: "ul",
    attrs: &[],
    is_void: false,
};
static LI: ElementTemplate = ElementTemplate {
    tag: "li",
    attrs: &[TAttr::Dynamic { name: "class" }],
    is_void: false,
};
static EM: ElementTemplate = ElementTemplate {
    tag: "em",
    attrs: &[],
    is_void: false,
};
static HELLO: StaticNode = StaticNode {
    html: "<h1>Hello</h1>",
};
static HELLO_AGAIN: StaticNode = StaticNode {
    html: "<h1>Hello</h1>",
};
static GOODBYE: StaticNode = StaticNode {
    html: "<h1>Goodbye</h1>",
};
static COUNT_LABEL: StaticNode = StaticNode { html: "Count: " };
static FOOTER: StaticNode = StaticNode {
    html: "<footer><a href=\"/about\">About</a></footer>",
};

type Build = fn(&mut VBuilder);

fn el(
    b: &mut VBuilder,
    t: &'static ElementTemplate,
    attrs: &[Option<&str>],
    f: impl FnOnce(&mut VBuilder),
) {
    b.open(t);
    for (slot, value) in attrs.iter().enumerate() {
        b.set_attr(slot, value.map(str::to_owned));
    }
    f(b);
    b.close();
}

fn text(b: &mut VBuilder, t: &str) {
    b.push_text(t);
}

/// `<ul dj-id="items">` with one `<li class=…>label</li>` per key.
fn keyed_list(b: &mut VBuilder, items: &[&str]) {
    keyed_list_in(b, &UL, items);
}

/// Like [`keyed_list`] with another list template (a static `dj-id` must stay unique per page).
fn keyed_list_in(b: &mut VBuilder, list: &'static ElementTemplate, items: &[&str]) {
    el(b, list, &[], |b| {
        for item in items {
            let mark = b.mark();
            el(b, &LI, &[None], |b| text(b, item));
            b.key_since(mark, (*item).to_owned());
        }
    });
}

fn build(f: Build) -> VTree {
    let mut b = VBuilder::new();
    f(&mut b);
    b.finish()
}

#[derive(Serialize)]
struct Case {
    name: &'static str,
    before_html: String,
    after_html: String,
    patches: Vec<Patch>,
}

fn cases() -> Vec<(&'static str, Build, Build)> {
    vec![
        (
            "text_change",
            |b| el(b, &P, &[], |b| text(b, "old")),
            |b| el(b, &P, &[], |b| text(b, "new")),
        ),
        (
            "text_unicode",
            |b| el(b, &P, &[], |b| text(b, "héllo")),
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "ἀλφα ✓ 😀 \u{202e}rtl\u{202c} e\u{301} 中文")
                })
            },
        ),
        (
            "text_escaping",
            |b| el(b, &P, &[], |b| text(b, "plain")),
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "<script>alert('x')</script> & \"q\"")
                })
            },
        ),
        (
            "text_merge_static_and_dynamic",
            |b| {
                el(b, &P, &[], |b| {
                    b.push_static(&COUNT_LABEL);
                    b.text_buffer().push('1');
                })
            },
            |b| {
                el(b, &P, &[], |b| {
                    b.push_static(&COUNT_LABEL);
                    b.text_buffer().push_str("12");
                })
            },
        ),
        (
            "text_merge_when_element_disappears",
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "a");
                    el(b, &EM, &[], |b| text(b, "!"));
                    text(b, "b");
                })
            },
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "a");
                    text(b, "b");
                })
            },
        ),
        (
            "text_split_when_element_appears",
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "a");
                    text(b, "b");
                })
            },
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "a");
                    el(b, &EM, &[], |b| text(b, "!"));
                    text(b, "b");
                })
            },
        ),
        (
            "text_empty_value_makes_no_node",
            |b| {
                el(b, &P, &[], |b| {
                    b.text_buffer();
                    el(b, &EM, &[], |b| text(b, "x"));
                })
            },
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "now ");
                    el(b, &EM, &[], |b| text(b, "x"));
                })
            },
        ),
        (
            "text_crlf_and_nul_normalised",
            |b| el(b, &P, &[], |b| text(b, "a")),
            |b| el(b, &P, &[], |b| text(b, "line1\r\nline2\rline3\0")),
        ),
        (
            "attr_set",
            |b| el(b, &DIV, &[Some("a"), None], |_| {}),
            |b| el(b, &DIV, &[Some("b"), None], |_| {}),
        ),
        (
            "attr_add",
            |b| el(b, &DIV, &[None, None], |_| {}),
            |b| el(b, &DIV, &[None, Some("open")], |_| {}),
        ),
        (
            "attr_remove",
            |b| el(b, &DIV, &[Some("t"), Some("open")], |_| {}),
            |b| el(b, &DIV, &[None, Some("open")], |_| {}),
        ),
        (
            "attr_escaping",
            |b| el(b, &DIV, &[Some("x"), None], |_| {}),
            |b| {
                el(
                    b,
                    &DIV,
                    &[Some("\"><img src=x onerror=alert(1)> & 'q'"), None],
                    |_| {},
                )
            },
        ),
        (
            "attr_unicode",
            |b| el(b, &SPAN, &[Some("a")], |_| {}),
            |b| el(b, &SPAN, &[Some("ünï ✓ 😀")], |_| {}),
        ),
        (
            "attr_boolean_toggle",
            |b| el(b, &BUTTON, &[None], |b| text(b, "Save")),
            |b| el(b, &BUTTON, &[Some("")], |b| text(b, "Save")),
        ),
        (
            "attr_with_dj_id_anchor",
            |b| el(b, &ANCHORED, &[Some("false")], |b| text(b, "x")),
            |b| el(b, &ANCHORED, &[Some("true")], |b| text(b, "y")),
        ),
        (
            "void_input_value",
            |b| el(b, &INPUT, &[Some("ab")], |_| {}),
            |b| el(b, &INPUT, &[Some("abc")], |_| {}),
        ),
        (
            "replace_different_template",
            |b| el(b, &P, &[], |b| text(b, "x")),
            |b| el(b, &SPAN, &[None], |b| text(b, "x")),
        ),
        (
            "replace_text_with_element",
            |b| el(b, &P, &[], |b| text(b, "x")),
            |b| el(b, &P, &[], |b| el(b, &EM, &[], |b| text(b, "x"))),
        ),
        (
            "replace_element_with_text",
            |b| el(b, &P, &[], |b| el(b, &EM, &[], |b| text(b, "x"))),
            |b| el(b, &P, &[], |b| text(b, "x")),
        ),
        (
            "replace_static",
            |b| b.push_static(&HELLO),
            |b| b.push_static(&GOODBYE),
        ),
        (
            "static_same_html_other_pointer",
            |b| b.push_static(&HELLO),
            |b| b.push_static(&HELLO_AGAIN),
        ),
        (
            "replace_anchored_element",
            |b| el(b, &ANCHORED, &[None], |_| {}),
            |b| el(b, &P, &[], |_| {}),
        ),
        (
            "top_level_insert",
            |b| b.push_static(&HELLO),
            |b| {
                b.push_static(&HELLO);
                el(b, &P, &[], |b| text(b, "new"));
                b.push_static(&FOOTER);
            },
        ),
        (
            "top_level_remove",
            |b| {
                b.push_static(&HELLO);
                el(b, &P, &[], |b| text(b, "old"));
                b.push_static(&FOOTER);
            },
            |b| b.push_static(&HELLO),
        ),
        (
            "conditional_show",
            |b| {
                b.push_static(&HELLO);
                b.push_static(&FOOTER);
            },
            |b| {
                b.push_static(&HELLO);
                el(b, &P, &[], |b| text(b, "No contacts."));
                b.push_static(&FOOTER);
            },
        ),
        (
            "conditional_hide",
            |b| {
                b.push_static(&HELLO);
                el(b, &P, &[], |b| text(b, "No contacts."));
                b.push_static(&FOOTER);
            },
            |b| {
                b.push_static(&HELLO);
                b.push_static(&FOOTER);
            },
        ),
        (
            "unkeyed_append",
            |b| {
                el(b, &PLAIN_UL, &[], |b| {
                    el(b, &LI, &[None], |b| text(b, "a"));
                })
            },
            |b| {
                el(b, &PLAIN_UL, &[], |b| {
                    el(b, &LI, &[None], |b| text(b, "a"));
                    el(b, &LI, &[None], |b| text(b, "b"));
                    el(b, &LI, &[None], |b| text(b, "c"));
                })
            },
        ),
        (
            "unkeyed_truncate",
            |b| {
                el(b, &PLAIN_UL, &[], |b| {
                    el(b, &LI, &[None], |b| text(b, "a"));
                    el(b, &LI, &[None], |b| text(b, "b"));
                    el(b, &LI, &[None], |b| text(b, "c"));
                })
            },
            |b| {
                el(b, &PLAIN_UL, &[], |b| {
                    el(b, &LI, &[Some("only")], |b| text(b, "a"));
                })
            },
        ),
        (
            "keyed_move_one",
            |b| keyed_list(b, &["a", "b", "c", "d", "e"]),
            |b| keyed_list(b, &["a", "c", "d", "b", "e"]),
        ),
        (
            "keyed_move_last_to_front",
            |b| keyed_list(b, &["a", "b", "c", "d"]),
            |b| keyed_list(b, &["d", "a", "b", "c"]),
        ),
        (
            "keyed_reverse",
            |b| keyed_list(b, &["a", "b", "c", "d", "e"]),
            |b| keyed_list(b, &["e", "d", "c", "b", "a"]),
        ),
        (
            "keyed_insert_front",
            |b| keyed_list(b, &["b", "c"]),
            |b| keyed_list(b, &["a", "b", "c"]),
        ),
        (
            "keyed_insert_middle",
            |b| keyed_list(b, &["a", "c"]),
            |b| keyed_list(b, &["a", "b", "c"]),
        ),
        (
            "keyed_remove_middle",
            |b| keyed_list(b, &["a", "b", "c"]),
            |b| keyed_list(b, &["a", "c"]),
        ),
        (
            "keyed_replace_all",
            |b| keyed_list(b, &["a", "b"]),
            |b| keyed_list(b, &["x", "y", "z"]),
        ),
        (
            "keyed_from_empty",
            |b| keyed_list(b, &[]),
            |b| keyed_list(b, &["a", "b"]),
        ),
        (
            "keyed_to_empty",
            |b| keyed_list(b, &["a", "b"]),
            |b| keyed_list(b, &[]),
        ),
        (
            "keyed_mixed",
            |b| keyed_list(b, &["a", "b", "c", "d", "e", "f"]),
            |b| keyed_list(b, &["f", "c", "x", "a", "b", "y", "e"]),
        ),
        (
            "keyed_move_with_content_change",
            |b| {
                el(b, &UL, &[], |b| {
                    for (key, class) in [("1", "odd"), ("2", "even"), ("3", "odd")] {
                        let mark = b.mark();
                        el(b, &LI, &[Some(class)], |b| text(b, key));
                        b.key_since(mark, key.to_owned());
                    }
                })
            },
            |b| {
                el(b, &UL, &[], |b| {
                    for (key, class) in [("3", "odd"), ("1", "first"), ("2", "even")] {
                        let mark = b.mark();
                        el(b, &LI, &[Some(class)], |b| text(b, &format!("{key}!")));
                        b.key_since(mark, key.to_owned());
                    }
                })
            },
        ),
        (
            "keyed_multi_element_iterations",
            |b| {
                el(b, &PLAIN_UL, &[], |b| {
                    for key in ["a", "b"] {
                        let mark = b.mark();
                        el(b, &LI, &[None], |b| text(b, key));
                        el(b, &LI, &[Some("detail")], |b| text(b, "detail"));
                        b.key_since(mark, key.to_owned());
                    }
                })
            },
            |b| {
                el(b, &PLAIN_UL, &[], |b| {
                    for key in ["b", "a"] {
                        let mark = b.mark();
                        el(b, &LI, &[None], |b| text(b, key));
                        el(b, &LI, &[Some("detail")], |b| text(b, "detail"));
                        b.key_since(mark, key.to_owned());
                    }
                })
            },
        ),
        (
            "nested_keyed_lists",
            |b| {
                el(b, &PLAIN_UL, &[], |b| {
                    for (group, items) in [("g1", &["a", "b"][..]), ("g2", &["c"][..])] {
                        let mark = b.mark();
                        el(b, &LI, &[None], |b| {
                            text(b, group);
                            keyed_list_in(b, &PLAIN_UL, items);
                        });
                        b.key_since(mark, group.to_owned());
                    }
                })
            },
            |b| {
                el(b, &PLAIN_UL, &[], |b| {
                    for (group, items) in [("g2", &["c", "d"][..]), ("g1", &["b", "a"][..])] {
                        let mark = b.mark();
                        el(b, &LI, &[None], |b| {
                            text(b, group);
                            keyed_list_in(b, &PLAIN_UL, items);
                        });
                        b.key_since(mark, group.to_owned());
                    }
                })
            },
        ),
        (
            "deep_path",
            |b| {
                el(b, &DIV, &[None, None], |b| {
                    b.push_static(&HELLO);
                    el(b, &SPAN, &[None], |b| {
                        text(b, "x");
                        el(b, &EM, &[], |b| {
                            el(b, &SPAN, &[Some("deep")], |b| text(b, "old"))
                        });
                    })
                })
            },
            |b| {
                el(b, &DIV, &[None, None], |b| {
                    b.push_static(&HELLO);
                    el(b, &SPAN, &[None], |b| {
                        text(b, "x");
                        el(b, &EM, &[], |b| {
                            el(b, &SPAN, &[Some("deeper")], |b| text(b, "new"))
                        });
                    })
                })
            },
        ),
        (
            "raw_html_change",
            |b| {
                el(b, &P, &[], |b| {
                    b.push_raw_html("<strong class=\"a\">raw</strong> text")
                })
            },
            |b| {
                el(b, &P, &[], |b| {
                    b.push_raw_html("<strong title=\"t\">raw!</strong> text")
                })
            },
        ),
        (
            "raw_html_tag_change",
            |b| el(b, &P, &[], |b| b.push_raw_html("<b>x</b>")),
            |b| el(b, &P, &[], |b| b.push_raw_html("<i>x</i>")),
        ),
        (
            "component_splice_merges_text",
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "Hi ");
                    let mut inner = VBuilder::new();
                    inner.push_text("Ann");
                    b.push_nodes(inner.finish());
                })
            },
            |b| {
                el(b, &P, &[], |b| {
                    text(b, "Hi ");
                    let mut inner = VBuilder::new();
                    inner.push_text("Bob");
                    el(&mut inner, &EM, &[], |b| text(b, "!"));
                    b.push_nodes(inner.finish());
                })
            },
        ),
        (
            "no_change",
            |b| {
                b.push_static(&HELLO);
                el(b, &DIV, &[Some("t"), None], |b| text(b, "same"));
            },
            |b| {
                b.push_static(&HELLO);
                el(b, &DIV, &[Some("t"), None], |b| text(b, "same"));
            },
        ),
    ]
}

fn corpus() -> String {
    let mut out = Vec::new();
    for (name, before, after) in cases() {
        let a = build(before);
        let b = build(after);
        let patches = diff(&a, &b).unwrap();
        let before_html = to_html(&a);
        let after_html = to_html(&b);
        let mut dom = parse_fragment(&before_html);
        apply(&mut dom, &patches).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            dom == parse_fragment(&after_html),
            "{name}: applied DOM differs"
        );
        assert!(diff(&b, &b).unwrap().is_empty(), "{name}");
        out.push(Case {
            name,
            before_html,
            after_html,
            patches,
        });
    }
    assert!(out.len() >= 30);
    let mut json = serde_json::to_string_pretty(&out).unwrap();
    json.push('\n');
    json
}

#[test]
fn corpus_fixture_is_up_to_date() {
    let json = corpus();
    if std::env::var_os("DJUST_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).unwrap();
        std::fs::write(FIXTURE, &json).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(FIXTURE)
        .unwrap_or_else(|_| panic!("{FIXTURE} is missing; run with DJUST_BLESS=1"));
    assert!(
        committed == json,
        "{FIXTURE} is out of date; run `DJUST_BLESS=1 cargo test -p djust-runtime --test vdom_corpus`"
    );
}

#[test]
fn corpus_covers_every_patch_kind() {
    let json: serde_json::Value = serde_json::from_str(&corpus()).unwrap();
    let mut kinds: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|case| case["patches"].as_array().unwrap())
        .map(|patch| patch["type"].as_str().unwrap())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "insert_child",
            "move_child",
            "remove_attr",
            "remove_child",
            "replace",
            "set_attr",
            "set_text"
        ]
    );
    assert!(json.to_string().contains("\"id\":\"items\""));
}
