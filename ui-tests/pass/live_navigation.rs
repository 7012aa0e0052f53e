// Live links, `handle_params` in its shapes, and the navigation API.
use djust::prelude::*;

struct List {
    page: u32,
    q: String,
}

#[live_view(public, title = "Contacts")]
impl List {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(List { page: 1, q: String::new() })
    }

    async fn handle_params(&mut self, ctx: &mut EventCtx, #[default(1)] page: u32, q: Option<String>) -> Result<()> {
        self.page = page;
        self.q = q.unwrap_or_default();
        ctx.set_title(&format!("Contacts, page {page}"));
        Ok(())
    }

    fn render(&self) -> Html {
        html! {
            <a href={format!("?page={}", self.page + 1)} dj-patch>"Next"</a>
            <a href="/contacts?page=1" dj-patch dj-replace>"First"</a>
            <a href="/contacts/3" dj-navigate>"Ada"</a>
            <a href={format!("/contacts/{}", self.page)} dj-navigate dj-replace>"Dynamic"</a>
            <form dj-submit="save" dj-guard="Discard your changes?"><input name="q" value={self.q}></form>
            <p>{self.q}</p>
        }
    }

    #[event_handler]
    fn save(&mut self, ctx: &mut EventCtx, q: String) -> Result<()> {
        self.q = q;
        ctx.put_flash(FlashKind::Success, "Saved.");
        ctx.push_navigate("/contacts/3")?;
        ctx.push_patch("/contacts?page=2")?;
        ctx.replace_patch("/contacts?page=2")?;
        ctx.replace_navigate("/contacts")?;
        ctx.redirect("/logout")
    }
}

struct Detail;

#[live_view(public)]
impl Detail {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Detail)
    }
    fn handle_params(&mut self, id: i64) {
        let _ = id;
    }
    fn render(&self) -> Html {
        html! { <a href="/contacts" dj-navigate>"Back"</a> }
    }
}

fn layout(page: &djust::runtime::server::LayoutCtx<'_>) -> Html {
    html! { <nav><a href="/contacts" dj-navigate>"Contacts"</a></nav> {page.flash()} <main>{page.content()}</main> }
}

fn main() {
    let _app = App::new()
        .layout(layout)
        .live("/contacts", List::view())
        .live_session(LiveGroup::new("detail").login_required().live("/contacts/{id}", Detail::view()));
}
