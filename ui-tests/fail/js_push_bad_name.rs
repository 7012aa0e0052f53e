// A pushed event name follows the rule of handler names.
use djust::prelude::*;

fn main() {
    let _ = html! { <button dj-click={JS::hide("#m").push("Open-Menu")}>"x"</button> };
}
