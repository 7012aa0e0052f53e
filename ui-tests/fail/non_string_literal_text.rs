use djust::prelude::*;

fn main() {
    let _ = html! { <p>42</p> };
}
