//! What `html!` writes for every piece of its syntax (server-side rendering).

use djust::prelude::*;

#[test]
fn elements_text_and_void_elements() {
    let html = html! { <div><p>"a & b"</p><br><img src="/x.png" alt=""/><span/></div> };
    assert_eq!(
        html.into_string(),
        "<div><p>a &amp; b</p><br><img src=\"/x.png\" alt=\"\"><span></span></div>"
    );
}

#[test]
fn values_are_escaped_in_text_and_attributes() {
    let name = "<script>alert('x')</script>";
    let html = html! { <p title={name}>{name}</p> };
    assert_eq!(
        html.into_string(),
        "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>"
    );
}

#[test]
fn numbers_bools_chars_and_options() {
    let n = -12i64;
    let f = 2.5f64;
    let none: Option<&str> = None;
    let some = Some("<x>");
    let html = html! { {n} " " {f} " " {true} " " {'&'} {none} {some} };
    assert_eq!(html.into_string(), "-12 2.5 true &amp;&lt;x&gt;");
}

#[test]
fn boolean_and_optional_attributes() {
    let on = true;
    let off = false;
    let title: Option<String> = None;
    let html = html! { <input disabled={on} checked={off} title={title} required> };
    assert_eq!(html.into_string(), "<input disabled=\"\" required>");
}

#[test]
fn url_attributes_are_filtered() {
    let good = "/contacts?q=a:b";
    let bad = " JaVaScRiPt:alert(1)";
    let html = html! { <a href={good}>"ok"</a><a href={bad}>"no"</a><form action={bad}></form> };
    assert_eq!(
        html.into_string(),
        "<a href=\"/contacts?q=a:b\">ok</a><a href=\"#blocked\">no</a><form action=\"#blocked\"></form>"
    );
}

#[test]
fn srcset_and_style_are_filtered() {
    let srcset = "/a.png 1x, javascript:alert(1) 2x";
    let style = "color: red; background: url(javascript:alert(1))";
    let only_bad_style = "behavior: url(x.htc)";
    let html = html! { <img srcset={srcset}><p style={style}></p><p style={only_bad_style}></p> };
    let out = html.into_string();
    assert!(out.contains("srcset=\"/a.png 1x, #blocked 2x\""), "{out}");
    assert!(out.contains("<p style=\"color: red\"></p>"), "{out}");
    assert!(out.ends_with("<p></p>"), "{out}");
}

#[test]
fn control_flow() {
    let items = vec![3, 1, 2];
    let maybe: Option<u8> = Some(7);
    let html = html! {
        <ul>
            for i in &items key = i { <li>{i}</li> }
        </ul>
        if items.len() > 5 { "many" } else if items.is_empty() { "none" } else { "some" }
        if let Some(x) = maybe { <b>{x}</b> }
        match items.first() {
            Some(1) => { "one" }
            Some(n) if *n > 2 => { "big " {n} }
            _ => {}
        }
    };
    assert_eq!(
        html.into_string(),
        "<ul><li>3</li><li>1</li><li>2</li></ul>some<b>7</b>big 3"
    );
}

#[test]
fn components_and_safe_markup() {
    fn badge(label: &str) -> Html {
        html! { <span class="badge">{label}</span> }
    }
    let trusted = SafeHtml::from_static("<em>ok</em>");
    let cleaned = SafeHtml::sanitize("<em onclick=\"x()\">hi</em><script>bad()</script>");
    let html = html! { <div>{badge("<new>")} {trusted|safe} {cleaned|safe}</div> };
    assert_eq!(
        html.into_string(),
        "<div><span class=\"badge\">&lt;new&gt;</span><em>ok</em><em>hi</em></div>"
    );
}

#[test]
fn format_html_escapes_arguments() {
    let link = format_html!("<a href=\"/u/{}\">{}</a>{{}}", "1\"onmouseover=\"x", "<b>");
    assert_eq!(
        link.as_str(),
        "<a href=\"/u/1&quot;onmouseover=&quot;x\">&lt;b&gt;</a>{}"
    );
}

#[test]
fn static_script_and_style_text_is_not_entity_escaped() {
    let html = html! { <style>"p > a { color: red }"</style><script src="/djust/djust.js" defer></script> };
    assert_eq!(
        html.into_string(),
        "<style>p > a { color: red }</style><script src=\"/djust/djust.js\" defer></script>"
    );
}

#[test]
fn display_and_into_string_agree() {
    let html = html! { <p>"x"</p> };
    assert_eq!(html.to_string(), html.clone().into_string());
}

#[test]
fn compile_time_and_run_time_escapers_agree() {
    // The macro escapes literals at compile time with the escaper of
    // `djust-rules`, the same function the runtime uses.
    let runtime = djust::runtime::template::escape::escape("<&>\"' é ✓ \u{0}\u{202e}");
    let compiled = html! { "<&>\"' é ✓ \u{0}\u{202e}" };
    assert_eq!(compiled.into_string(), runtime);
}

/// A user type renders by writing text to a `TextWriter`: whatever it
/// writes is escaped in content and in attributes, in both backends, and
/// an `Html` it writes is a component in content but text in an attribute.
#[test]
fn user_render_implementations_only_write_text() {
    use djust::runtime::template::mode::{render_markup, render_nodes};
    use djust::runtime::vdom::to_html;

    struct Tag(&'static str);
    impl Render for Tag {
        fn render(&self, out: &mut TextWriter<'_>) {
            out.push_str("<script>");
            out.push_display(&self.0);
            out.push('"');
        }
    }
    impl djust::AttrValue for Tag {
        fn write_attr(&self, out: &mut TextWriter<'_>) {
            self.render(out);
            // A component written into an attribute is text there.
            html! { <b>"x"</b> }.render(out);
        }
    }
    struct Card;
    impl Render for Card {
        fn render(&self, out: &mut TextWriter<'_>) {
            html! { <b>"card"</b> }.render(out);
        }
    }
    let render = || html! { <p title={Tag("t")}>{Tag("&")} {Card}</p> };
    let expected = "<p title=\"&lt;script&gt;t&quot;&lt;b&gt;x&lt;/b&gt;\">&lt;script&gt;&amp;&quot;<b>card</b></p>";
    assert_eq!(render_markup(render), expected);
    assert_eq!(to_html(&render_nodes(render)), expected);
}

/// Every `{x|safe}` and `srcdoc={x}` of the program is in the registry the
/// audit lists, with the place of the value.
#[test]
fn every_trusted_value_is_registered_with_its_place() {
    use djust::runtime::template::{trusted_sites, TrustedKind};

    let note = SafeHtml::from_static("<i>n</i>");
    let line = line!() + 1;
    let page = html! { <div>{note|safe}</div> <iframe srcdoc={&note}></iframe> };
    assert_eq!(
        page.into_string(),
        "<div><i>n</i></div><iframe srcdoc=\"&lt;i&gt;n&lt;/i&gt;\"></iframe>"
    );
    let here: Vec<_> = trusted_sites()
        .into_iter()
        .filter(|site| site.file.ends_with("html_render.rs") && site.line == line)
        .map(|site| (site.kind, site.column))
        .collect();
    assert_eq!(
        here,
        [(TrustedKind::SafeSplice, 30), (TrustedKind::Srcdoc, 63)],
        "{:?}",
        trusted_sites()
    );
}

/// The audit's per-view count of trusted values covers every `html!` of the
/// view's `impl` block (helpers too) and `srcdoc={..}` as well as `|safe`.
#[test]
fn a_view_counts_trusted_values_in_all_its_templates() {
    pub struct Notes {
        note: SafeHtml,
    }

    #[live_view(public)]
    impl Notes {
        fn mount(_ctx: &mut MountCtx) -> Result<Self> {
            Ok(Notes {
                note: SafeHtml::from_static("<b>n</b>"),
            })
        }

        fn render(&self) -> Html {
            html! { <div>{self.note|safe} {self.preview()}</div> }
        }

        fn preview(&self) -> Html {
            html! { <iframe srcdoc={&self.note}></iframe> <p>{self.note|safe}</p> }
        }
    }

    assert_eq!(<Notes as LiveView>::meta().safe_splices, 3);
}
