use djust::prelude::*;

// Sizes need a unit (or bytes), entries a sensible count, permissions `app.codename`.
struct Avatar;

#[live_view(
    public,
    upload(photo, accept = ".png", max_size = "8 parsecs", max_entries = 0, permission = "Edit Photos"),
    upload(docs, accept = ".pdf", max_size = "2TB", max_entris = 3),
    upload(photo, accept = ".png", max_size = "1MB"),
)]
impl Avatar {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Avatar)
    }
    fn render(&self) -> Html {
        html! { <input type="file" dj-upload="photo"/> }
    }
}

fn main() {}
