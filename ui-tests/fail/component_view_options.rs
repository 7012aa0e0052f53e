// A component has no auth posture of its own: it runs with its parent
// view's, so it can never widen access. View-only hooks are refused too.
use djust::prelude::*;

struct Panel;

#[live_component(public, permission = "app.open")]
impl Panel {
    fn mount(_props: ()) -> Self {
        Panel
    }
    fn render(&self) -> Html {
        html! { <p>"panel"</p> }
    }
    fn handle_info(&mut self, _message: u32) {}
}

fn main() {}
