// HTML escaping does not make a value safe inside CSS.
use djust::prelude::*;

fn main() {
    let css = String::from("body { color: red }");
    let _ = html! { <style>{css}</style> };
}
