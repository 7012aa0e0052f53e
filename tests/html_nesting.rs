//! What `html!` renders from nesting it accepts comes back from a real HTML
//! parser exactly as written (html5ever parses as browsers do: the WHATWG
//! algorithm, fragment in `<body>`). Each rule of
//! djust-macros/src/html/nesting.rs is checked against the same parser by
//! that module's unit tests; the compile errors as users see them are in
//! `ui-tests/fail/nesting_the_parser_restructures.rs`.

use djust::prelude::*;
use scraper::Html as Document;

/// The markup a browser builds from `html` (parsed as a `<body>` fragment).
fn reparsed(html: &str) -> String {
    Document::parse_fragment(html).root_element().inner_html()
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
