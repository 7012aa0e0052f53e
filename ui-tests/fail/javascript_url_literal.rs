use djust::prelude::*;

fn main() {
    let _ = html! { <a href="javascript:alert(1)">"x"</a> };
}
