// `|safe` only accepts SafeHtml: a String is text, not trusted markup.
use djust::prelude::*;

fn main() {
    let markup = String::from("<b>bold</b>");
    let _ = html! { <div>{markup|safe}</div> };
}
