// #[rate_limit] and #[permission_required] protect event handlers only.
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
    #[rate_limit(rate = 5, burst = 3)]
    #[permission_required("counter.reset")]
    fn reset(&mut self) {
        self.count = 0;
    }
}

fn main() {}
