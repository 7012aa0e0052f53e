use djust::prelude::*;

struct Search {
    query: String,
}

#[live_view(public)]
impl Search {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Search { query: String::new() })
    }
    fn render(&self) -> Html {
        html! { <p>{self.query}</p> }
    }
    #[event_handler]
    fn search(&mut self, q: &str) {
        self.query = q.to_owned();
    }
}

fn main() {}
