use djust::prelude::*;

struct Counter {
    count: i64,
}

#[live_view(login_required)]
impl Counter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Counter { count: 0 })
    }
    fn render(&self) -> Html {
        html! { <p>{self.count}</p> }
    }
    #[event_handler]
    #[permission_required("delete everything")]
    fn reset(&mut self) {
        self.count = 0;
    }
}

fn main() {}
