// Literal `javascript:` URLs are refused in every attribute the browser
// follows as a URL, not only `href`/`src`.
use djust::prelude::*;

fn main() {
    let _ = html! {
        <a href="/a" ping="/count javascript:alert(1)">"a"</a>
        <meta http-equiv="refresh" content="0; url=JavaScript:alert(1)">
        <svg><a href="/"><set attributeName="href" to="javascript:alert(1)"/></a></svg>
        <base href="javascript:alert(1)//">
        <img src="/a.png" srcset="/a.png 1x, data:image/svg+xml,x 2x" alt="">
    };
}
