//! The VDOM backend of `html!` against the SSR backend: for every template
//! the VDOM serialises to exactly the server-rendered HTML, its shape matches
//! what a browser parses from that HTML (so patch paths are valid), and
//! diffing two renders then applying the patches to the first page gives
//! the second.

use djust::prelude::*;
use djust::runtime::template::mode::{render_markup, render_nodes};
use djust::runtime::vdom::reference::{apply, parse_fragment};
use djust::runtime::vdom::{diff, to_html, VTree};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Row {
    id: u32,
    name: String,
    url: String,
    done: bool,
}

fn badge(label: &str) -> Html {
    html! { <span class="badge">{label}</span> }
}

fn page(title: &str, rows: &[Row], note: Option<&str>) -> Html {
    let trusted = SafeHtml::from_static("<em>trusted</em>");
    html! {
        <header><h1>"Static title"</h1><p class="x">"static & text"</p></header>
        <h2 title={title}>"Title: " {title} "!"</h2>
        {badge(title)}
        <ul>
            for row in rows key = row.id {
                <li data-id={row.id} class={if row.done { "done" } else { "open" }}>
                    <a href={row.url}>{row.name}</a>
                    <input type="checkbox" checked={row.done} disabled>
                </li>
            }
        </ul>
        if let Some(text) = note { <p>{text}</p> } else { <p>"no note"</p> }
        match rows.len() { 0 => { "empty" } n => { {n} " rows" } }
        <div>{trusted|safe}</div>
        <img srcset={"/a.png 1x"} style={"color: red"} alt="">
    }
}

fn rows(names: &[&str]) -> Vec<Row> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| Row {
            id: i as u32,
            name: (*name).into(),
            url: if i % 2 == 0 {
                format!("/r/{i}")
            } else {
                "javascript:alert(1)".into()
            },
            done: i % 3 == 0,
        })
        .collect()
}

fn check_equivalent(render: impl Fn() -> Html) {
    let markup = render_markup(&render);
    let nodes = render_nodes(&render);
    assert_eq!(to_html(&nodes), markup, "VDOM and SSR disagree");
    // A browser parsing the markup gets the same tree the VDOM describes.
    let reparsed = parse_fragment(&markup);
    assert_eq!(
        reparsed.len(),
        nodes.len(),
        "top-level node count differs for {markup}"
    );
}

#[test]
fn vdom_serialises_exactly_like_ssr() {
    check_equivalent(|| {
        page(
            "Hello <world> & 'you'",
            &rows(&["a", "b<", "c\"", "d"]),
            Some("n\r\0te"),
        )
    });
    check_equivalent(|| page("", &[], None));
    check_equivalent(|| html! { "a" {1} "b" <br> {""} "c" });
    check_equivalent(|| html! { <p>{""}</p><p>{None::<&str>}</p> });
}

#[test]
fn ssr_is_the_default_mode() {
    let html = page("t", &[], None);
    assert!(html
        .into_string()
        .starts_with("<header><h1>Static title</h1>"));
}

fn check_update(old: &VTree, new: &VTree) {
    let patches = diff(old, new).expect("diff");
    let mut dom = parse_fragment(&to_html(old));
    apply(&mut dom, &patches).expect("apply");
    assert_eq!(dom, parse_fragment(&to_html(new)), "patches: {patches:?}");
}

#[test]
fn diff_of_two_renders_turns_one_page_into_the_other() {
    let a = rows(&["a", "b", "c", "d"]);
    let mut b = a.clone();
    b.swap(0, 3);
    b[1].name = "changed".into();
    b.push(Row {
        id: 9,
        name: "new".into(),
        url: "/n".into(),
        done: true,
    });
    let before = render_nodes(|| page("one", &a, None));
    let after = render_nodes(|| page("two", &b, Some("note")));
    check_update(&before, &after);
}

#[test]
fn one_changed_value_is_one_small_patch() {
    let a = rows(&["a", "b", "c"]);
    let mut b = a.clone();
    b[2].name = "z".into();
    let before = render_nodes(|| page("t", &a, None));
    let after = render_nodes(|| page("t", &b, None));
    let patches = diff(&before, &after).expect("diff");
    assert_eq!(patches.len(), 1, "{patches:?}");
    let json = serde_json::to_string(&patches).expect("json");
    assert!(json.contains("\"set_text\""), "{json}");
    assert!(json.len() < 100, "{json}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_data_renders_identically_and_diffs_correctly(
        title in any::<String>(),
        names_a in proptest::collection::vec(any::<String>(), 0..6),
        names_b in proptest::collection::vec(any::<String>(), 0..6),
        note in proptest::option::of(any::<String>()),
    ) {
        let a: Vec<&str> = names_a.iter().map(String::as_str).collect();
        let b: Vec<&str> = names_b.iter().map(String::as_str).collect();
        check_equivalent(|| page(&title, &rows(&a), note.as_deref()));
        let before = render_nodes(|| page(&title, &rows(&a), None));
        let after = render_nodes(|| page("x", &rows(&b), note.as_deref()));
        check_update(&before, &after);
    }
}

/// Raw-text elements (the shared table of `djust-rules`): their literal text
/// is written unescaped by both backends, also when the element has a
/// dynamic attribute (so the VDOM builds it as a template), and a browser
/// reads it back as the same single text node.
#[test]
fn raw_text_elements_serialise_alike_in_both_backends() {
    let class = "fallback";
    let render = || {
        html! {
            <noscript class={class}>"<p>Turn on JavaScript & reload</p>"</noscript>
            <noscript>"<b>static</b>"</noscript>
            <xmp title={class}>"a < b && c"</xmp>
            <textarea name={class}>{"<b>x</b> &"}</textarea>
            <p>"<escaped> & text"</p>
        }
    };
    let markup = render_markup(render);
    assert_eq!(
        markup,
        "<noscript class=\"fallback\"><p>Turn on JavaScript & reload</p></noscript>\
         <noscript><b>static</b></noscript>\
         <xmp title=\"fallback\">a < b && c</xmp>\
         <textarea name=\"fallback\">&lt;b&gt;x&lt;/b&gt; &amp;</textarea>\
         <p>&lt;escaped&gt; &amp; text</p>"
    );
    check_equivalent(render);
}

/// An attribute whose value is chosen among string literals (`if`/`else
/// if`/`else`, `match` with guards and `|` patterns, nested blocks) is
/// written whole at compile time: both backends still agree, the literals
/// are escaped, the condition runs once, and switching branches is one
/// attribute patch.
#[test]
fn attributes_chosen_among_literals_render_and_patch_like_any_value() {
    fn card(level: u8, hostile: bool, calls: &std::cell::Cell<u32>) -> Html {
        let counted = |on: bool| {
            calls.set(calls.get() + 1);
            on
        };
        html! {
            <div
                class={if level == 0 { "none" } else if level < 3 { "few" } else { "many" }}
                data-kind={match level { 0 => "zero", 1 | 2 => { "small" } n if n > 200 => "huge", _ => "other" }}
                title={if hostile { "\"><script>alert(1)</script>" } else { "it's <fine> & 'quoted'" }}
                data-once={if counted(level > 1) { ("yes") } else { "" }}
            >{level}</div>
        }
    }
    let calls = std::cell::Cell::new(0);
    for level in [0, 1, 2, 3, 201, 255] {
        for hostile in [false, true] {
            check_equivalent(|| card(level, hostile, &calls));
        }
    }
    let before = calls.get();
    let markup = render_markup(|| card(2, true, &calls));
    assert_eq!(calls.get(), before + 1, "the condition ran more than once");
    assert_eq!(
        markup,
        "<div class=\"few\" data-kind=\"small\" \
         title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\" data-once=\"yes\">2</div>"
    );
    let markup = render_markup(|| card(0, false, &calls));
    assert_eq!(
        markup,
        "<div class=\"none\" data-kind=\"zero\" \
         title=\"it&#39;s &lt;fine&gt; &amp; &#39;quoted&#39;\" data-once=\"\">0</div>"
    );
    let zero = render_nodes(|| card(0, false, &calls));
    let many = render_nodes(|| card(3, true, &calls));
    check_update(&zero, &many);
    check_update(&many, &zero);
    let patches = diff(&zero, &render_nodes(|| card(1, false, &calls))).expect("diff");
    // class, data-kind and the text change; title and data-once do not.
    assert_eq!(patches.len(), 3, "{patches:?}");
}
