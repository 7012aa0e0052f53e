//! Path-prefix tenancy in headless Chromium (`TenantResolver::path_prefix`):
//! a page under `/t/acme/` loads its client and mounts over the tenant's
//! socket, a click updates it, and live navigation (a `dj-navigate` link,
//! a handler's `push_navigate`, Back) moves between the app's routes
//! while the browser's URL keeps the `/t/acme/` prefix, without a page
//! load. Another tenant on the same host gets its own page.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); without
//! them the test prints why and skips, except on CI.

mod e2e_support;

use djust::prelude::*;
use djust::tenant::TenantResolver;
use e2e_support::page::{click, text, wait_connected, wait_text, WAIT};
use e2e_support::{Browser, SERVER_SECRET};
use serde_json::json;

/// The tenant's home: a counter and a link to its about page.
struct Home {
    tenant: String,
    about: String,
    count: u32,
}

#[live_view(public, name = "home")]
impl Home {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        Ok(Home {
            tenant: ctx.tenant().map(|t| t.id().to_owned()).unwrap_or_default(),
            about: ctx.path("/about"),
            count: 0,
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1 id="tenant">{&self.tenant}</h1>
            <p id="count">{self.count}</p>
            <button id="inc" dj-click="inc">"+1"</button>
            <a id="to-about" href={&self.about} dj-navigate>"About"</a>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn inc(&mut self) {
        self.count += 1;
    }
}

/// The tenant's about page; its button goes home from the handler.
struct About {
    tenant: String,
}

#[live_view(public, name = "about")]
impl About {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        Ok(About {
            tenant: ctx.tenant().map(|t| t.id().to_owned()).unwrap_or_default(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1 id="about">"About " {&self.tenant}</h1>
            <button id="home" dj-click="home">"Home"</button>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn home(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.push_navigate("/")
    }
}

async fn serve() -> djust::Server {
    App::new()
        .config(djust::Config {
            secret_key: Some(SERVER_SECRET.to_owned()),
            ..djust::Config::default()
        })
        .tenancy(TenantResolver::path_prefix("t"))
        .live("/", Home::view())
        .live("/about", About::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Waits until the browser shows `path` (path and query) with a
/// connected view.
async fn wait_url(browser: &Browser, path: &str) {
    browser
        .wait_for(
            &format!("the URL {path}"),
            "const root = document.querySelector('[data-djust-view]'); \
             return location.pathname + location.search === arguments[0] && !!root && root.dataset.djustStatus === 'connected';",
            vec![json!(path)],
            WAIT,
        )
        .await;
}

async fn same_page(browser: &Browser) -> bool {
    browser
        .execute("return window.__same_page === true;", vec![])
        .await
        == json!(true)
}

#[tokio::test]
async fn a_tenant_under_a_path_prefix_mounts_updates_and_navigates_keeping_its_prefix() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = serve().await;
    let origin = format!("http://{}", server.local_addr());

    browser.goto(&format!("{origin}/t/acme/")).await;
    wait_connected(&browser).await;
    assert_eq!(text(&browser, "#tenant").await, "acme");
    // Mounted over the socket (the page's own render was kept, so the
    // mount frame said so).
    assert_eq!(
        browser
            .execute(
                "return document.querySelector('[data-djust-view]').getAttribute('data-djust-mount');",
                vec![]
            )
            .await,
        json!("kept")
    );
    browser
        .execute("window.__same_page = true; return true;", vec![])
        .await;

    click(&browser, "#inc").await;
    wait_text(&browser, "#count", "1").await;
    click(&browser, "#inc").await;
    wait_text(&browser, "#count", "2").await;

    // A dj-navigate link: the about view over the same socket, the URL
    // under the tenant.
    click(&browser, "#to-about").await;
    wait_url(&browser, "/t/acme/about").await;
    wait_text(&browser, "#about", "About acme").await;
    assert!(same_page(&browser).await, "live navigation, no page load");

    // A handler's push_navigate("/"): home again, still under the tenant.
    click(&browser, "#home").await;
    wait_url(&browser, "/t/acme/").await;
    wait_text(&browser, "#tenant", "acme").await;
    assert!(same_page(&browser).await);

    // Back: the about page, from the browser's history.
    browser
        .execute("history.back(); return true;", vec![])
        .await;
    wait_url(&browser, "/t/acme/about").await;
    wait_text(&browser, "#about", "About acme").await;
    assert!(same_page(&browser).await);

    // The URL is real: a reload serves the same page of the same tenant.
    browser
        .execute("location.reload(); return true;", vec![])
        .await;
    browser
        .wait_for(
            "the reloaded page",
            "return window.__same_page !== true && document.readyState === 'complete';",
            vec![],
            WAIT,
        )
        .await;
    wait_url(&browser, "/t/acme/about").await;
    wait_text(&browser, "#about", "About acme").await;

    // Another tenant on the same host: its own page and socket.
    browser.goto(&format!("{origin}/t/globex/about")).await;
    wait_connected(&browser).await;
    wait_text(&browser, "#about", "About globex").await;
    click(&browser, "#home").await;
    wait_url(&browser, "/t/globex/").await;
    wait_text(&browser, "#tenant", "globex").await;

    browser.close().await;
    server.shutdown().await;
}
