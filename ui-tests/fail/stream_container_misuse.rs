use djust::prelude::*;

fn name() -> String {
    "messages".to_owned()
}

fn containers() -> Html {
    html! {
        <ul dj-stream="Messages"></ul>
        <ul dj-stream={name()}></ul>
        <ul dj-stream></ul>
        <ol dj-stream="feed" dj-stream-limit="0"></ol>
        <ol dj-stream="log"><li>"written in the template"</li></ol>
    }
}

fn main() {
    let _ = containers();
}
