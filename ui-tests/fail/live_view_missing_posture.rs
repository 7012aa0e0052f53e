// Public must be explicit: a view without an auth posture does not compile.
use djust::prelude::*;

struct Counter {
    count: i64,
}

#[live_view]
impl Counter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Counter { count: 0 })
    }
    fn render(&self) -> Html {
        html! { <p>{self.count}</p> }
    }
}

fn main() {}
