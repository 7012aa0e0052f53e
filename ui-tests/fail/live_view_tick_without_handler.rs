use djust::prelude::*;

struct Clock {
    now: u64,
}

#[live_view(public, tick = 1000)]
impl Clock {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Clock { now: 0 })
    }
    fn render(&self) -> Html {
        html! { <p>{self.now}</p> }
    }
}

fn main() {}
