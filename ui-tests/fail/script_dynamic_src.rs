// A dynamic script source could load attacker-controlled code.
use djust::prelude::*;

fn main() {
    let url = String::from("/static/app.js");
    let _ = html! { <script src={url}></script> };
}
