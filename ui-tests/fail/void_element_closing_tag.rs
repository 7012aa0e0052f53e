use djust::prelude::*;

fn main() {
    let _ = html! { <p>"line"<br></br></p> };
}
