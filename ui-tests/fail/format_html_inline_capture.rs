// An inline capture would bypass the escaping of format_html!'s arguments.
use djust::prelude::*;

fn main() {
    let name = "<b>";
    let _ = format_html!("<p>{name}</p>");
    let _ = format_html!("<p>{}</p>", value = name);
}
