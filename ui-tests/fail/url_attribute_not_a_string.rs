// URL attributes take string types, which the scheme allowlist can check.
use djust::prelude::*;

fn main() {
    let id = 42;
    let _ = html! { <a href={id}>"contact"</a> };
}
