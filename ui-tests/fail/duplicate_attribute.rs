use djust::prelude::*;

fn main() {
    let _ = html! { <div class="a" CLASS="b"></div> };
}
