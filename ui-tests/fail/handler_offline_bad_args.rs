use djust::prelude::*;

struct Notes {
    count: i64,
}

#[live_view(public)]
impl Notes {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Notes { count: 0 })
    }
    fn render(&self) -> Html {
        html! { <p>{self.count}</p> }
    }
    // A typo of `offline`.
    #[event_handler(ofline)]
    fn add(&mut self) {
        self.count += 1;
    }
    // `offline` takes no value.
    #[event_handler(offline = true)]
    fn remove(&mut self) {
        self.count -= 1;
    }
    // Said twice.
    #[event_handler(offline, offline)]
    fn clear(&mut self) {
        self.count = 0;
    }
    #[event_handler = "offline"]
    fn reset(&mut self) {
        self.count = 0;
    }
}

fn main() {}
