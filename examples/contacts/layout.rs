//! The root layout around every page: a bar with the app's name (a live
//! link to the list), the user and a Log out form, then the flash area and
//! the page. It is rendered on the first paint and stays in place during
//! live navigation; only the view inside `<main>` changes.

use djust::prelude::*;
use djust::runtime::server::{csrf_field, LayoutCtx};

/// The layout (`App::layout`).
pub fn layout(page: &LayoutCtx<'_>) -> Html {
    html! {
        <header class="topbar">
            <a class="brand" href="/" dj-navigate>"Contacts"</a>
            if let Some(user) = page.user() {
                <span class="muted">"Signed in as " <b id="username">{user.username}</b></span>
                <form method="post" action="/logout">
                    {csrf_field(page.csrf_token().unwrap_or_default())}
                    <button type="submit" id="logout">"Log out"</button>
                </form>
            }
        </header>
        {page.flash()}
        <main id="main">{page.content()}</main>
    }
}
