// Trusted markup is written with the visible `{value|safe}` (which the
// audit counts), never through a plain `{value}`, and a `SafeHtml` cannot
// be turned into an `Html` component to hide it.
use djust::prelude::*;

fn main() {
    let note = SafeHtml::sanitize("<b>hi</b>");
    let _ = html! { <p>{note}</p> };
    let _: Html = note.into_html();
}
