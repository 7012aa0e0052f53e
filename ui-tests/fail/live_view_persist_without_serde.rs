use djust::prelude::*;

// `persist` saves the view's state: the struct needs serde's traits.
struct Draft {
    text: String,
}

#[live_view(public, persist)]
impl Draft {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Draft { text: String::new() })
    }
    fn render(&self) -> Html {
        html! { <p>{self.text}</p> }
    }
}

fn main() {}
