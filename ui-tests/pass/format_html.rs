use djust::prelude::*;

fn main() {
    let link: SafeHtml = format_html!("<a href=\"/u/{}\">{}</a> {{braces}} {0}", 7, "<b>");
    let _ = html! { <p>{link|safe}</p> };
    let s: SafeHtml = SafeHtml::from_static("<hr>");
    let from_html: SafeHtml = html! { <b>"x"</b> }.into();
    let _ = html! { {s|safe} {from_html|safe} };
}
