use djust::prelude::*;

struct Contact {
    name: String,
}

fn main() {
    let contact = Contact { name: "Ann".into() };
    let _ = html! { <p>{contact}</p> };
    let _ = contact.name;
}
