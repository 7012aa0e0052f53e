// `<meta http-equiv="refresh" content>` redirects to the URL in `content`,
// `javascript:` included, and no filter knows where the URL starts.
use djust::prelude::*;

fn main() {
    let next = String::from("0; url=javascript:alert(1)");
    let pragma = "refresh";
    let _ = html! {
        <meta http-equiv="refresh" content={next}>
        <meta http-equiv={pragma} content="5">
    };
}
