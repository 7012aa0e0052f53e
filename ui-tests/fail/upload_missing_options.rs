use djust::prelude::*;

// A slot needs a name, the types it accepts and its largest file.
struct Avatar;

#[live_view(public, upload(photo), upload(accept = ".png", max_size = "1MB"), upload(doc, accept = ".pdf"))]
impl Avatar {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Avatar)
    }
    fn render(&self) -> Html {
        html! { <p>"x"</p> }
    }
}

fn main() {}
