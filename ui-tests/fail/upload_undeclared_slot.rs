use djust::prelude::*;

// `dj-upload` must name a declared slot, on an `<input type="file">`.
struct Avatar;

#[live_view(public, upload(photo, accept = ".png", max_size = "1MB"))]
impl Avatar {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Avatar)
    }
    fn render(&self) -> Html {
        html! {
            <input type="file" dj-upload="phot"/>
            <input type="text" dj-upload="photo"/>
            <div dj-upload="photo"></div>
        }
    }
}

fn main() {}
