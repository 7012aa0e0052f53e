// Unknown keys, bad values and duplicates are all reported at once.
use djust::prelude::*;

struct Counter {
    count: i64,
}

#[live_view(login_requried, permission = "Contacts View", login_url = "https://evil.example/login", name = "My View", tick = 0, permission = "a.b")]
impl Counter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Counter { count: 0 })
    }
    fn render(&self) -> Html {
        html! { <p>{self.count}</p> }
    }
}

fn main() {}
