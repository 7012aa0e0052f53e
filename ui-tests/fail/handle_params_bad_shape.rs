// `handle_params` reads typed values from the URL like a handler's
// parameters: `&mut self`, owned types, plain names.
use djust::prelude::*;

struct List {
    page: u32,
}

#[live_view(public)]
impl List {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(List { page: 1 })
    }
    fn handle_params(&self, q: &str, (a, b): (u32, u32), PageNumber: u32) -> Result<()> {
        let _ = (q, a, b, PageNumber);
        Ok(())
    }
    fn render(&self) -> Html {
        html! { <p>{self.page}</p> }
    }
}

fn main() {}
