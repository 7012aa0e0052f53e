// A user type renders by writing text to a `TextWriter`, which escapes it.
// The escaping methods of the old traits do not exist to override, the
// writer has no method that writes markup, and the markup traits are
// sealed.
use djust::prelude::*;
use djust::runtime::template::MarkupValue;
use djust::AttrValue;

struct Evil;

impl Render for Evil {
    fn render(&self, out: &mut TextWriter<'_>) {
        out.push_str("text is fine");
    }
    fn render_text(&self, out: &mut String) {
        out.push_str("<script>alert(1)</script>");
    }
}

impl AttrValue for Evil {
    fn write_attr(&self, out: &mut TextWriter<'_>) {
        out.escape_free_buffer().push_str("\" onmouseover=\"alert(1)");
    }
    fn write_attr_escaped(&self, out: &mut String) {
        out.push_str("\" onmouseover=\"alert(1)");
    }
}

struct RawDoc(String);

impl MarkupValue for RawDoc {
    fn markup_text(&self) -> Option<&str> {
        Some(&self.0)
    }
}

fn main() {
    let _ = html! { <p title={Evil}>{Evil}</p> };
}
