// Inline event handlers are refused in any letter case.
use djust::prelude::*;

fn main() {
    let _ = html! { <button onclick="alert(1)">"Go"</button> };
    let _ = html! { <img src="/a.png" OnMouseOver="alert(1)"/> };
}
