use djust::prelude::*;

fn main() {
    let _ = html! { <p>"text"</p></div> };
}
