// Nesting the browser keeps as written: sections, cells holding tables and
// links, control flow between table parts, inline content in paragraphs,
// and top-level rows for components spliced into a `<tbody>`.
// `tests/html_nesting.rs` includes this file and checks with html5ever
// that `page()` comes back from the parser exactly as rendered.
use djust::prelude::*;

fn row(n: u32) -> Html {
    html! { <tr><td>{n}</td></tr> }
}

/// Every accepted kind of nesting, in one page.
pub fn page() -> Html {
    let rows = [1_u32, 2];
    html! {
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
}

fn main() {
    let _ = page();
    // Foreign content follows its own rules and is not checked.
    let _ = html! { <svg viewBox="0 0 1 1"><g><circle r="1"/></g></svg> };
}
