// Handler names are wire names: snake_case, no `__`, not a lifecycle method.
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
    #[allow(non_snake_case)]
    fn Increment(&mut self) {}
    #[event_handler]
    fn reset__all(&mut self) {}
    #[event_handler]
    fn _private(&mut self) {}
}

fn main() {}
