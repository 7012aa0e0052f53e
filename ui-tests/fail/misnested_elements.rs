use djust::prelude::*;

fn main() {
    let _ = html! { <b><i>"text"</b></i> };
}
