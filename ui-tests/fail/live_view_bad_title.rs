// `title` is the page title: plain text, not empty.
use djust::prelude::*;

struct Blank;

#[live_view(public, title = "  ")]
impl Blank {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Blank)
    }
    fn render(&self) -> Html {
        html! { <p>"blank"</p> }
    }
}

fn main() {}
