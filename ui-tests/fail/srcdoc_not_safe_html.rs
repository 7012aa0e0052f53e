// `srcdoc` is parsed by the browser as a whole HTML document in a
// same-origin frame: attribute escaping does not protect it, so it only
// takes trusted markup (`SafeHtml`).
use djust::prelude::*;

fn main() {
    let comment = String::from("<script>alert(1)</script>");
    let preview: &str = "<b>hi</b>";
    let _ = html! {
        <iframe srcdoc={comment}></iframe>
        <iframe srcdoc={preview} sandbox=""></iframe>
    };
}
