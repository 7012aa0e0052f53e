// A dynamic `dj-*` value is a client command: a handler name in a String
// would escape the compile-time check against the view, so only `JS` is taken.
use djust::prelude::*;

fn main() {
    let handler = "delete";
    let _ = html! { <button dj-click={handler}>"x"</button> };
    let owned = String::from("delete");
    let _ = html! { <input dj-keydown.enter={owned}> };
}
