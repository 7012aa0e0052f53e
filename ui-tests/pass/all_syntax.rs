use djust::prelude::*;

enum Status {
    Active,
    Away { minutes: u32 },
}

struct Contact {
    id: i64,
    name: String,
    website: Option<String>,
    status: Status,
}

fn header(title: &str) -> Html {
    html! { <header><h1>{title}</h1></header> }
}

fn main() {
    let contacts = vec![Contact { id: 1, name: "Ann".into(), website: None, status: Status::Active }];
    let query = String::from("a");
    let busy = false;
    let note = SafeHtml::sanitize("<em>hi</em>");
    let page = html! {
        {header("Contacts")}
        <form dj-submit="search" class="search">
            <input type="text" name="q" value={query} dj-input="search" dj-debounce="300" autofocus>
            <button type="submit" disabled={busy}>"Search"</button>
        </form>
        <ul>
            for c in &contacts key = c.id {
                <li data-id={c.id} style={"color: red"}>
                    if let Some(url) = &c.website {
                        <a href={url}>{c.name}</a>
                    } else {
                        {c.name}
                    }
                    match c.status {
                        Status::Active => { " (active)" }
                        Status::Away { minutes } if minutes > 60 => { " (away " {minutes} " min)" }
                        Status::Away { .. } => { " (away)" }
                    }
                    <button dj-click="delete" dj-value-id={c.id}>"Delete"</button>
                    <input dj-keydown.enter="save">
                </li>
            }
        </ul>
        if contacts.is_empty() { <p>"No contacts."</p> } else if contacts.len() > 10 { <p>"Many"</p> } else { <p>{contacts.len()}</p> }
        <div>{note|safe}</div>
        <img srcset={"/a.png 1x, /b.png 2x"} alt="">
        <br/>
    };
    let _: String = page.into_string();
}
