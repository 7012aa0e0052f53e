use djust::prelude::*;

// `restored` runs when a persisted view comes back: without `persist` it
// would never run.
struct Draft {
    text: String,
}

#[live_view(public)]
impl Draft {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Draft { text: String::new() })
    }
    fn restored(&mut self, _ctx: &mut MountCtx) {}
    fn render(&self) -> Html {
        html! { <p>{self.text}</p> }
    }
}

fn main() {}
