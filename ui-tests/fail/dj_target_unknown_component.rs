// `dj-target` must name a component the view's template embeds.
use djust::prelude::*;

struct Cart;

#[live_component]
impl Cart {
    fn mount(_props: ()) -> Self {
        Cart
    }
    fn render(&self) -> Html {
        html! { <p>"cart"</p> }
    }
    #[event_handler]
    fn add(&mut self) {}
}

struct Shop;

#[live_view(public)]
impl Shop {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Shop)
    }
    fn render(&self) -> Html {
        html! {
            {live_component::<Cart>("cart", ())}
            <button dj-click="add" dj-target="carts">"Add"</button>
        }
    }
}

struct Empty;

#[live_view(public)]
impl Empty {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Empty)
    }
    fn render(&self) -> Html {
        html! { <button dj-click="add" dj-target="cart">"Add"</button> }
    }
}

fn main() {}
