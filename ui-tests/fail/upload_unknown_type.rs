use djust::prelude::*;

// `accept` names types from a known table; a near miss gets a suggestion.
struct Avatar;

#[live_view(public, upload(photo, accept = "image/pgn .jpg .exe", max_size = "1MB"))]
impl Avatar {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Avatar)
    }
    fn render(&self) -> Html {
        html! { <input type="file" dj-upload="photo"/> }
    }
}

fn main() {}
