// HTML escaping does not make a value safe inside JavaScript.
use djust::prelude::*;

fn main() {
    let code = String::from("alert(1)");
    let _ = html! { <script>{code}</script> };
}
