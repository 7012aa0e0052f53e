// The constructors generated code uses to wrap unescaped markup are not
// reachable from user code: not on `Html`/`SafeHtml`, not through
// `djust::runtime`. (Only the hidden `djust::__private` re-exports them.)
use djust::prelude::*;

fn main() {
    let input = String::from("<script>alert(1)</script>");
    let _ = Html::__from_generated_markup(input.clone());
    let _ = Html::from_generated_markup(input.clone());
    let _ = SafeHtml::__from_escaped_format(input.clone());
    let _ = SafeHtml::from_trusted(input.clone());
    let _ = djust::runtime::__private::html_from_markup(input);
}
