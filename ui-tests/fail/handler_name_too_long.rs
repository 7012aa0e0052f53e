// An event name longer than 64 bytes is refused by the runtime before
// dispatch, so a handler with such a name could never be called: the
// macro refuses it, and a template naming it too.
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
        html! {
            <p>{self.count}</p>
            <button dj-click="increment_the_counter_by_one_and_then_refresh_every_open_tab_right_now">"+"</button>
        }
    }
    #[event_handler]
    fn increment_the_counter_by_one_and_then_refresh_every_open_tab_right_now(&mut self) {
        self.count += 1;
    }
    // Exactly 64 bytes: accepted.
    #[event_handler]
    fn reset_the_counter_to_zero_and_then_refresh_every_open_tab_now_xy(&mut self) {
        self.count = 0;
    }
}

fn main() {}
