// Every attribute sink with a dynamic value it accepts: URL-filtered
// (`ping`, `formaction`, `poster`, `xlink:href`, `<object data>`,
// `<embed src>`, `<iframe src>`), markup (`srcdoc` with `SafeHtml`), and
// the context-dependent ones where the context makes them plain text.
use djust::prelude::*;

fn main() {
    let url = String::from("/page");
    let preview = SafeHtml::sanitize("<p>hi</p>");
    let maybe: Option<SafeHtml> = None;
    let description = "about us";
    let opacity = "0;1";
    let _ = html! {
        <a href={url} ping={url}>"a"</a>
        <form action={url}><button formaction={url}>"go"</button></form>
        <video poster={url} src={url}></video>
        <svg><use xlink:href={url}/><a href={url}><animate attributeName="opacity" values={opacity} dur="1s"/></a></svg>
        <object data={url}></object>
        <embed src={url}>
        <iframe src={url}></iframe>
        <iframe srcdoc={preview} sandbox=""></iframe>
        <iframe srcdoc={&maybe}></iframe>
        <iframe srcdoc="<p>literal markup is the developer's</p>"></iframe>
        <meta name="description" content={description}>
        <meta http-equiv="refresh" content="30">
        <base href="/app/">
    };
}
