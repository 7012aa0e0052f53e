// A view's `_` fields must be `Private<_>`: otherwise a `let`, a getter or
// a helper could render them, which the template check cannot see.
use djust::prelude::*;

pub struct Account {
    name: String,
    _password_hash: String,
    _token: Option<String>,
}

#[live_view(login_required)]
impl Account {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Self { name: "ann".into(), _password_hash: String::new(), _token: None })
    }

    fn render(&self) -> Html {
        html! { <p>{self.name}</p> }
    }

    #[event_handler]
    fn check(&mut self) {
        let _ = self._password_hash.len();
    }
}

fn main() {}
