// The browser reads the content of `<noscript>`, `<iframe>`, `<xmp>`... as
// raw text (no elements, no entities) and the content of `<textarea>` and
// `<title>` as text: markup or values there would not be what the
// template says. `<plaintext>` swallows the rest of the page.
use djust::prelude::*;

fn main() {
    let name = "x";
    let _ = html! {
        <noscript><p>"Turn on JavaScript"</p></noscript>
        <xmp>{name}</xmp>
        <noscript>"see </noscript> here"</noscript>
        <textarea><b>"bold?"</b></textarea>
        <plaintext>"rest"</plaintext>
    };
}
