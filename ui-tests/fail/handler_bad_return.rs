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
    fn add(&mut self) -> i64 {
        self.count += 1;
        self.count
    }
}

fn main() {}
