// Markup never splices into an attribute value.
use djust::prelude::*;

fn main() {
    let inner = html! { <b>"x"</b> };
    let _ = html! { <div title={inner}></div> };
}
