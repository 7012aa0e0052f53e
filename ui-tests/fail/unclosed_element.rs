use djust::prelude::*;

fn main() {
    let _ = html! { <div><p>"text"</p> };
}
