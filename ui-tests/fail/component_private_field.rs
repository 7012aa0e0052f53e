// A component's template cannot read `_` fields: neither its own nor the
// parent's (passed as props).
use djust::prelude::*;

struct Badge {
    name: String,
    _token: Private<String>,
}

#[live_component]
impl Badge {
    fn mount(name: String) -> Self {
        Badge { name, _token: Private::new("t".into()) }
    }
    fn render(&self) -> Html {
        html! { <p>{self.name} {self._token}</p> }
    }
}

struct Profile {
    _email: String,
}

#[live_view(login_required)]
impl Profile {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Profile { _email: "a@b.c".into() })
    }
    fn render(&self) -> Html {
        html! { {live_component::<Badge>("badge", self._email.clone())} }
    }
}

fn main() {}
