// `<base href>` moves every relative URL of the page, `<script src>`
// included: even an `https:` value hands the page to another site.
use djust::prelude::*;

fn main() {
    let tenant_root = String::from("https://tenant.example/");
    let _ = html! { <base href={tenant_root}> };
}
