//! The contacts demo, server-side rendering only (for now).
//!
//! Run: `cargo run --example contacts`
//!
//! Prints the page `html!` renders for a contact list, including contacts
//! whose fields hold XSS payloads, so you can see them come out inert: text
//! is escaped, and a `javascript:` website becomes `#blocked`. The live,
//! WebSocket-served version of this example arrives with the runtime server.

use djust::prelude::*;

struct Contact {
    id: i64,
    name: String,
    website: String,
    notes: String,
    // Private by convention: a template reading it does not compile.
    _password_hash: String,
}

fn contact_row(contact: &Contact) -> Html {
    html! {
        <li>
            <a href={contact.website}>{contact.name}</a>
            <p class="notes">{contact.notes}</p>
            <button dj-click="delete" dj-value-id={contact.id}>"Delete"</button>
        </li>
    }
}

fn contact_list(query: &str, contacts: &[Contact]) -> Html {
    html! {
        <main>
            <h1>"Contacts"</h1>
            <form dj-submit="search">
                <input name="q" value={query} dj-input="search" dj-debounce="300">
            </form>
            <ul>
                for contact in contacts key = contact.id {
                    {contact_row(contact)}
                }
            </ul>
            if contacts.is_empty() { <p>"No contacts."</p> }
        </main>
    }
}

fn main() {
    let contacts = vec![
        Contact {
            id: 1,
            name: "Ada Lovelace".into(),
            website: "https://example.com/ada".into(),
            notes: "First programmer.".into(),
            _password_hash: String::new(),
        },
        Contact {
            id: 2,
            name: "<img src=x onerror=alert(1)>".into(),
            website: " JaVaScRiPt:alert(document.cookie)".into(),
            notes: "<script>alert('stored xss')</script>".into(),
            _password_hash: String::new(),
        },
    ];
    let page = contact_list("\"><svg onload=alert(1)>", &contacts);
    let _ = contacts
        .iter()
        .map(|c| c._password_hash.len())
        .sum::<usize>();
    // An example binary's output is its purpose: print the rendered page.
    println!("{page}");
}
