// `push("..")` in a client command names a handler like `dj-click=".."` does,
// and is checked against the view's `#[event_handler]` methods.
use djust::prelude::*;

pub struct Menu {
    open: bool,
}

#[live_view(public)]
impl Menu {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Menu { open: false })
    }

    fn render(&self) -> Html {
        html! {
            <button dj-click={JS::toggle("#menu").push("opend")}>"Menu"</button>
            <button dj-click={JS::push_with("clsoe", &[("why", "x")])}>"Close"</button>
            <ul id="menu" hidden>"…"</ul>
            <p>{self.open}</p>
        }
    }

    #[event_handler]
    fn opened(&mut self) {
        self.open = true;
    }

    #[event_handler]
    fn close(&mut self) {
        self.open = false;
    }
}

fn main() {}
