// A `Private<T>` field cannot be rendered by any route: copied into a local
// first, returned by a getter, or read directly in the template. Only an
// explicit `.expose()` reaches the value.
use djust::prelude::*;

pub struct Account {
    name: String,
    _api_key: Private<String>,
}

#[live_view(login_required)]
impl Account {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Account { name: "ann".into(), _api_key: Private::new("s3cr3t".into()) })
    }

    fn render(&self) -> Html {
        let key = &self._api_key;
        html! { <p>{self.name} {key}</p> }
    }

    fn api_key(&self) -> &Private<String> {
        &self._api_key
    }

    fn through_a_getter(&self) -> Html {
        html! { <p title={self.api_key()}>{self.api_key()}</p> }
    }

    fn directly(&self) -> Html {
        html! { <p>{self._api_key}</p> }
    }

    fn as_text(&self) -> String {
        format!("{}", self._api_key)
    }
}

fn main() {}
