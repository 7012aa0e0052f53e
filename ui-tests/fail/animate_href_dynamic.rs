// An SVG animation of `href` writes its values into the link's URL without
// any filter, and a dynamic `attributeName` could pick `href`.
use djust::prelude::*;

fn main() {
    let target = String::from("javascript:alert(1)");
    let attribute = "href";
    let _ = html! {
        <svg>
            <a href="/home">
                <animate attributeName="href" values={target} dur="1s"/>
                <set attributeName="xlink:href" to={target}/>
                <animate attributeName={attribute} from="/a" to="/b"/>
                <text>"home"</text>
            </a>
        </svg>
    };
}
