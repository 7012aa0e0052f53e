// Client commands in every event attribute, built inline or ahead of time.
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
        let close = JS::hide("#menu").remove_class("#menu-button", "active");
        html! {
            <button id="menu-button" dj-click={JS::toggle("#menu").add_class("#menu-button", "active").keep().push("opened")}>"Menu"</button>
            <ul id="menu" hidden dj-keydown.escape={&close}>
                <li><input dj-focus={JS::add_class("#menu", "focused")} dj-blur={JS::remove_class("#menu", "focused")}></li>
            </ul>
            <button dj-click={close.clone().push_with("opened", &[("via", "close")])}>"Close"</button>
            <p>{self.open}</p>
        }
    }

    #[event_handler]
    fn opened(&mut self) {
        self.open = !self.open;
    }
}

fn main() {
    let page = html! { <button dj-click={JS::focus("#q")}>"Search"</button> };
    assert_eq!(
        page.into_string(),
        "<button dj-click=\"[{&quot;op&quot;:&quot;focus&quot;,&quot;to&quot;:&quot;#q&quot;}]\">Search</button>"
    );
}
