use djust::prelude::*;

fn main() {
    let _ = html! { <p>hello</p> };
}
