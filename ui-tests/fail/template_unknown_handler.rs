// Every dj-* event in the view's templates must name an #[event_handler].
use djust::prelude::*;

struct Contacts {
    count: i64,
}

#[live_view(login_required)]
impl Contacts {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Contacts { count: 0 })
    }
    fn render(&self) -> Html {
        html! {
            <button dj-click="delet">"Delete"</button>
            <form dj-submit="save"></form>
            <p>{self.count}</p>
        }
    }
    #[event_handler]
    fn delete(&mut self) {
        self.count -= 1;
    }
}

fn main() {}
