// The handler name must be a literal so it can be checked against the view.
use djust::prelude::*;

fn main() {
    let handler = "delete";
    let _ = html! { <button dj-click={handler}>"x"</button> };
}
