// Markup the browser's HTML parser would rewrite: every case is reported
// at once, each on the offending tag, with the fix.
use djust::prelude::*;

fn main() {
    let rows = vec![1, 2];
    let _ = html! {
        <table>
            for row in &rows {
                <tr><td>{row}</td></tr>
            }
            <div>"not a row"</div>
        </table>
        <table><tbody>"loose text"<td>"cell without a row"</td></tbody></table>
        <p>"Intro" <span><div>"a block in a paragraph"</div></span></p>
        <a href="/a">"outer " <a href="/b">"inner"</a></a>
        <form><form></form></form>
        <ul><li>"one" <li>"two"</li></li></ul>
        <div><tr><td>"a row outside a table"</td></tr></div>
        <h1>"Title " <h2>"subtitle"</h2></h1>
        <button>"outer " <button>"inner"</button></button>
    };
}
