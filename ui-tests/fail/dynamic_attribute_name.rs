// The name decides how the value is escaped, so it must be literal.
use djust::prelude::*;

fn main() {
    let name = "title";
    let _ = html! { <div {name}="x"></div> };
}
