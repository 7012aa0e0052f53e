//! Views of a small multi-page live app, shared by the navigation tests
//! (in-process and over real sockets): a list whose URL holds its query,
//! page and sort; a detail page per item; a page that needs a login; one
//! that needs a permission; one in another live session.

#![allow(dead_code)]

use djust::prelude::*;
use serde::Deserialize;

/// Sort orders the list's URL may name (`?sort=name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Name,
    Newest,
}

/// `/items`: search, page and sort come from the URL.
pub struct Items {
    pub q: String,
    pub page: u32,
    pub sort: Sort,
    pub params_calls: u32,
}

#[live_view(public, name = "items", title = "Items")]
impl Items {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Items {
            q: String::new(),
            page: 1,
            sort: Sort::Name,
            params_calls: 0,
        })
    }

    fn handle_params(
        &mut self,
        ctx: &mut EventCtx,
        q: Option<String>,
        #[default(1)] page: u32,
        sort: Option<Sort>,
    ) -> Result<()> {
        if page == 0 {
            // A URL can be normalised: page 0 is page 1.
            return ctx.replace_patch("/items?page=1");
        }
        if page > 1_000 {
            return Err(Error::bad_request("no such page"));
        }
        self.q = q.unwrap_or_default();
        self.page = page;
        self.sort = sort.unwrap_or_default();
        self.params_calls += 1;
        ctx.set_title(&format!("Items, page {page}"));
        Ok(())
    }

    fn render(&self) -> Html {
        html! {
            <h1>"Items"</h1>
            <p id="state">"q=" {self.q} " page=" {self.page} " sort=" {format!("{:?}", self.sort)}</p>
            <a id="next" href={format!("/items?page={}", self.page + 1)} dj-patch>"Next"</a>
            <a id="first" href="/items/1" dj-navigate>"First item"</a>
            <button id="more" dj-click="next_page">"More"</button>
            <button id="bounce" dj-click="bounce">"Bounce"</button>
        }
    }

    #[event_handler]
    fn next_page(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.push_patch(&format!("/items?page={}&q={}", self.page + 1, self.q))
    }

    #[event_handler]
    fn bounce(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.put_flash(FlashKind::Info, "Off you go.");
        ctx.redirect("/elsewhere")
    }
}

/// `/items/{id}`: one item; id 0 does not exist.
pub struct Item {
    pub id: i64,
}

#[live_view(public, name = "item")]
impl Item {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Item { id: 0 })
    }

    fn handle_params(&mut self, ctx: &mut EventCtx, id: i64) -> Result<()> {
        if id <= 0 {
            return Err(Error::not_found());
        }
        self.id = id;
        ctx.set_title(&format!("Item {id}"));
        Ok(())
    }

    fn render(&self) -> Html {
        html! {
            <h1 id="item">"Item " {self.id}</h1>
            <a id="back" href="/items" dj-navigate>"Back"</a>
            <button id="save" dj-click="save">"Save"</button>
        }
    }

    #[event_handler]
    fn save(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.put_flash(FlashKind::Success, "Item saved.");
        ctx.push_navigate("/items?q=saved")
    }
}

/// `/secret`: logged-in users only.
pub struct Secret;

#[live_view(login_required, name = "secret")]
impl Secret {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Secret)
    }

    fn render(&self) -> Html {
        html! { <p id="secret">"secret"</p> }
    }
}

/// `/admin`: users holding `items.admin` only.
pub struct Admin;

#[live_view(permission = "items.admin", name = "admin")]
impl Admin {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Admin)
    }

    fn render(&self) -> Html {
        html! { <p id="admin">"admin"</p> }
    }
}

/// `/elsewhere`: in another live session.
pub struct Elsewhere;

#[live_view(public, name = "elsewhere")]
impl Elsewhere {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Elsewhere)
    }

    fn render(&self) -> Html {
        html! { <p id="elsewhere">"elsewhere"</p> }
    }
}

/// `/loop`: its `handle_params` always patches again.
pub struct Looping;

#[live_view(public, name = "looping")]
impl Looping {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Looping)
    }

    fn handle_params(&mut self, ctx: &mut EventCtx, #[default(0)] n: u32) -> Result<()> {
        ctx.push_patch(&format!("/loop?n={}", n + 1))
    }

    fn render(&self) -> Html {
        html! { <p>"loop"</p> }
    }
}

/// The live session of the other views.
pub fn other_session() -> LiveGroup {
    LiveGroup::new("other").live("/elsewhere", Elsewhere::view())
}

/// The whole app's routes, for `App` and `TestClientBuilder`.
pub fn routes() -> Vec<(&'static str, djust::ViewFactory)> {
    vec![
        ("/items", Items::view()),
        ("/items/{id}", Item::view()),
        ("/secret", Secret::view()),
        ("/admin", Admin::view()),
        ("/loop", Looping::view()),
    ]
}
