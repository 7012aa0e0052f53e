// Every mistake is reported in one compile, not just the first.
use djust::prelude::*;

fn main() {
    let _ = html! {
        <div onclick="x()">
            <a href="javascript:void(0)" dj-click="Go">"link"</a>
            <script>{1}</script>
        </span>
    };
}
