//! The nesting `html!` refuses (djust-macros/src/html/nesting.rs) is what a
//! real HTML parser rewrites, and the nesting it accepts comes back from the
//! parser exactly as written. html5ever parses as browsers do (the WHATWG
//! algorithm, fragment in `<body>`); the compile errors themselves are in
//! `ui-tests/fail/nesting_the_parser_restructures.rs`.

use djust::prelude::*;
use scraper::Html as Document;

/// The markup a browser builds from `html` (parsed as a `<body>` fragment).
fn reparsed(html: &str) -> String {
    Document::parse_fragment(html).root_element().inner_html()
}

#[test]
fn every_refused_nesting_is_rewritten_by_the_parser() {
    let refused = [
        "<table><tr><td>1</td></tr></table>",
        "<table><td>1</td></table>",
        "<table><col></table>",
        "<table><div>x</div></table>",
        "<table>text</table>",
        "<table><tbody>text</tbody></table>",
        "<table><tbody><td>1</td></tbody></table>",
        "<table><tbody><div>x</div></tbody></table>",
        "<table><tbody><tr><div>x</div></tr></tbody></table>",
        "<table><tbody><tr>text</tr></tbody></table>",
        "<table><colgroup><div>x</div></colgroup></table>",
        "<table><tbody><tr><td><tr><td>1</td></tr></td></tr></tbody></table>",
        "<div><tr><td>x</td></tr></div>",
        "<div><td>x</td></div>",
        "<p><div>x</div></p>",
        "<p><span><div>x</div></span></p>",
        "<p><ul><li>x</li></ul></p>",
        "<p><table><tbody></tbody></table></p>",
        "<p><p>x</p></p>",
        "<p><h2>x</h2></p>",
        "<a href=\"/a\"><a href=\"/b\">x</a></a>",
        "<a href=\"/a\"><span><a href=\"/b\">x</a></span></a>",
        "<form><form></form></form>",
        "<form><div><form></form></div></form>",
        "<ul><li>1<li>2</li></li></ul>",
        "<dl><dt>1<dt>2</dt></dt></dl>",
        "<select><option>1<option>2</option></option></select>",
        "<h1><h2>x</h2></h1>",
        "<button><button>x</button></button>",
    ];
    for html in refused {
        assert_ne!(
            reparsed(html),
            html,
            "the parser keeps `{html}`: html! need not refuse it"
        );
    }
}

#[test]
fn accepted_nesting_comes_back_from_the_parser_as_written() {
    let rows = [1_u32, 2];
    let row = |n: u32| html! { <tr><td>{n}</td></tr> };
    let page = html! {
        <table>
            <caption>"Totals"</caption>
            <colgroup><col><col></colgroup>
            <thead><tr><th>"n"</th></tr></thead>
            <tbody>
                for n in &rows {
                    if *n > 1 {
                        <tr><td><a href="/n"><span>{n}</span></a></td></tr>
                    } else {
                        <tr><td><table><tbody><tr><td>"nested"</td></tr></tbody></table></td></tr>
                    }
                }
                {row(3)}
            </tbody>
            <tfoot><tr><td>"end"</td></tr></tfoot>
        </table>
        <p>"A " <b>"bold"</b> " " <a href="/x">"link"</a> <button>"ok"</button></p>
        <a href="/card"><div>"a block inside a link"</div></a>
        <ul><li>"one" <ul><li>"nested"</li></ul></li></ul>
        <dl><dt>"term"</dt><dd>"definition"</dd></dl>
        <select><optgroup label="g"><option>"a"</option></optgroup><option>"b"</option></select>
        <td-like>"custom elements are not table parts"</td-like>
        <form><button>"send"</button></form>
        <h1>"Title " <small>"sub"</small></h1>
    }
    .into_string();
    assert_eq!(reparsed(&page), page);
}
