use djust::prelude::*;

// SVG and HTML run in the browser: a slot takes them only with `active_content`.
struct Avatar;

#[live_view(public, upload(photo, accept = ".png image/svg+xml .html", max_size = "1MB"))]
impl Avatar {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Avatar)
    }
    fn render(&self) -> Html {
        html! { <input type="file" dj-upload="photo"/> }
    }
}

fn main() {}
