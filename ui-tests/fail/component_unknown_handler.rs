// An event sent to a component with `dj-target` must name one of the
// component's `#[event_handler]`s (checked against its handler list at
// compile time, with a "did you mean").
use djust::prelude::*;

struct Cart {
    items: u32,
}

#[live_component]
impl Cart {
    fn mount(items: u32) -> Self {
        Cart { items }
    }
    fn render(&self) -> Html {
        html! { <p>{self.items}</p> }
    }
    #[event_handler]
    fn add(&mut self) {
        self.items += 1;
    }
    #[event_handler]
    fn remove(&mut self) {
        self.items = self.items.saturating_sub(1);
    }
}

struct Shop;

#[live_view(public)]
impl Shop {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Shop)
    }
    fn render(&self) -> Html {
        html! {
            {live_component::<Cart>("cart", 0)}
            <button dj-click="ad" dj-target="cart">"Add"</button>
            <button dj-click="checkout" dj-target="cart">"Buy"</button>
        }
    }
}

fn main() {}
