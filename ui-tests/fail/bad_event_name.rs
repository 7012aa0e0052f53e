// Event names must match ^[a-z][a-z0-9_]*$, like the handlers they call.
use djust::prelude::*;

fn main() {
    let _ = html! { <button dj-click="Delete">"x"</button> };
    let _ = html! { <form dj-submit="save-contact"></form> };
}
