// Fields starting with `_` never reach a template.
use djust::prelude::*;

struct Account {
    name: String,
    _password_hash: String,
}

impl Account {
    fn render(&self) -> Html {
        html! { <p>{self.name} {self._password_hash}</p> }
    }
}

fn main() {
    let account = Account { name: "a".into(), _password_hash: "x".into() };
    let _ = account.render();
}
