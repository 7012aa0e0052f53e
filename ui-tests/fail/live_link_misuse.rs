// `dj-patch` and `dj-navigate` make an `<a href>` move without a page load:
// each mistake is reported on its own token, all in one compile.
use djust::prelude::*;

fn main() {
    // Not a link.
    let _ = html! { <button dj-navigate>"Go"</button> };
    // The href is the target: no value.
    let _ = html! { <a href="/contacts" dj-patch="/contacts?page=2">"Next"</a> };
    // Either one or the other.
    let _ = html! { <a href="/contacts" dj-patch dj-navigate>"Both"</a> };
    // A link needs somewhere to go.
    let _ = html! { <a dj-navigate>"Nowhere"</a> };
    // Live links stay on the site.
    let _ = html! { <a href="https://example.com/" dj-navigate>"Away"</a> };
    let _ = html! { <a href="//example.com/" dj-patch>"Away"</a> };
    let _ = html! { <a href="contacts" dj-navigate>"Relative"</a> };
    // `dj-replace` only modifies a live link.
    let _ = html! { <a href="/contacts" dj-replace>"Plain"</a> };
}
