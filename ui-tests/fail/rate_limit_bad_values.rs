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
    #[rate_limit(rate = 0, burst = 0, key = "tenant")]
    fn add(&mut self) {
        self.count += 1;
    }
    #[event_handler]
    #[rate_limit(rate = 5)]
    fn sub(&mut self) {
        self.count -= 1;
    }
}

fn main() {}
