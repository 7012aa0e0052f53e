//! Form recovery in headless Chromium: the server restarts (its views are
//! gone, so the client cannot resume and mounts afresh), and what the user
//! had typed into a `dj-change` form is put back and sent to `dj-change`
//! again, so the new view's state catches up. Passwords are not recovered,
//! and `dj-auto-recover="ignore"` opts a form out.

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use djust::prelude::*;
use e2e_support::page::{type_into, wait_connected, wait_text, WAIT};
use e2e_support::Browser;
use serde_json::json;

const SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

struct Signup {
    name: String,
    plan: String,
    news: bool,
    changes: u32,
}

#[live_view(public, name = "signup")]
impl Signup {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Signup {
            name: String::new(),
            plan: "free".to_owned(),
            news: false,
            changes: 0,
        })
    }

    fn render(&self) -> Html {
        html! {
            <form id="signup" dj-change="validate">
                <input id="name" name="name" type="text"/>
                <input id="secret" name="secret" type="password"/>
                <select id="plan" name="plan">
                    <option value="free">"Free"</option>
                    <option value="pro">"Pro"</option>
                </select>
                <input id="news" name="news" type="checkbox" value="yes"/>
            </form>
            <form id="other" dj-change="validate" dj-auto-recover="ignore">
                <input id="ignored" name="name" type="text"/>
            </form>
            <p id="seen">{&self.name}" / "{&self.plan}" / "{self.news}</p>
            <p id="changes">{self.changes}</p>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn validate(
        &mut self,
        #[default(String::new())] name: String,
        #[default(String::from("free"))] plan: String,
        #[default(String::new())] news: String,
    ) {
        self.name = name;
        self.plan = plan;
        self.news = news == "yes";
        self.changes += 1;
    }
}

fn app() -> djust::App {
    App::new()
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            ..djust::Config::default()
        })
        .live("/", Signup::view())
}

async fn rebind(addr: SocketAddr) -> djust::Server {
    for _ in 0..50 {
        if let Ok(server) = app().bind(addr).await {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not bind {addr} again");
}

async fn value(browser: &Browser, selector: &str) -> serde_json::Value {
    browser
        .execute(
            "const el = document.querySelector(arguments[0]); return el.type === 'checkbox' ? el.checked : el.value;",
            vec![json!(selector)],
        )
        .await
}

#[tokio::test]
async fn typed_input_survives_a_server_restart() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = app().bind("127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr();
    browser.goto(&format!("http://{addr}/")).await;
    wait_connected(&browser).await;
    type_into(&browser, "#name", "Ada Lovelace").await;
    type_into(&browser, "#secret", "hunter2").await;
    type_into(&browser, "#ignored", "not recovered").await;
    browser
        .execute(
            "const plan = document.querySelector('#plan'); plan.value = 'pro'; \
             plan.dispatchEvent(new Event('change', { bubbles: true })); \
             document.querySelector('#news').click(); return true;",
            vec![],
        )
        .await;
    wait_text(&browser, "#seen", "Ada Lovelace / pro / true").await;

    // The process goes away with its views; a new one takes the address.
    server.shutdown().await;
    browser
        .wait_for(
            "the client to notice",
            "return document.querySelector('[data-djust-view]').dataset.djustStatus !== 'connected';",
            vec![],
            WAIT,
        )
        .await;
    let server = rebind(addr).await;
    wait_connected(&browser).await;

    // The fresh view learnt the form's values from the recovery event.
    wait_text(&browser, "#seen", "Ada Lovelace / pro / true").await;
    wait_text(&browser, "#changes", "1").await;
    assert_eq!(value(&browser, "#name").await, json!("Ada Lovelace"));
    assert_eq!(value(&browser, "#plan").await, json!("pro"));
    assert_eq!(value(&browser, "#news").await, json!(true));
    assert_eq!(
        value(&browser, "#secret").await,
        json!(""),
        "passwords are not recovered"
    );
    assert_eq!(
        value(&browser, "#ignored").await,
        json!(""),
        "dj-auto-recover=ignore"
    );
    browser.close().await;
    server.shutdown().await;
}
