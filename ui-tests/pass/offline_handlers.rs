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
    #[event_handler(offline)]
    #[rate_limit(rate = 2, burst = 10, key = "ip")]
    fn add(&mut self, ctx: &EventCtx, by: i64) -> Result<()> {
        if ctx.offline().is_some_and(|stamp| stamp.at_ms() == 0) {
            return Err(Error::conflict("too old"));
        }
        self.count += by;
        Ok(())
    }
    #[event_handler(offline,)]
    #[permission_required("notes.delete")]
    async fn remove(&mut self) {
        self.count -= 1;
    }
    #[event_handler()]
    fn live_only(&mut self) {}
}

fn main() {
    let meta = Notes::view().meta();
    let offline: Vec<&str> = meta.offline_handlers().map(|h| h.name).collect();
    assert_eq!(offline, ["add", "remove"]);
}
