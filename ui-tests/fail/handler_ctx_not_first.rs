use djust::prelude::*;

struct Counter {
    count: i64,
}

#[live_view(public)]
impl Counter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Counter { count: 0 })
    }
    fn render(&self) -> Html {
        html! { <p>{self.count}</p> }
    }
    #[event_handler]
    fn add(&mut self, by: i64, ctx: &EventCtx) {
        let _ = ctx;
        self.count += by;
    }
}

fn main() {}
