//! Reading and driving a live page in the browser: wait until the view is
//! connected, read and wait for text, click, type. Every wait is bounded.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use super::{within, Browser, COMMAND_TIMEOUT};

/// How long a page may take to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(15);

pub async fn wait_connected(browser: &Browser) {
    browser
        .wait_for(
            "the live view to connect",
            "const root = document.querySelector('[data-djust-view]'); return root && root.dataset.djustStatus === 'connected';",
            vec![],
            WAIT,
        )
        .await;
}

pub async fn text(browser: &Browser, selector: &str) -> String {
    browser
        .execute(
            "const el = document.querySelector(arguments[0]); return el ? el.textContent : null;",
            vec![json!(selector)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

pub async fn wait_text(browser: &Browser, selector: &str, expected: &str) {
    browser
        .wait_for(
            &format!("{selector} to read {expected:?}"),
            "const el = document.querySelector(arguments[0]); return !!el && el.textContent.includes(arguments[1]);",
            vec![json!(selector), json!(expected)],
            WAIT,
        )
        .await;
}

pub async fn click(browser: &Browser, selector: &str) {
    let element = within(
        "find element",
        COMMAND_TIMEOUT,
        browser.client().find(Locator::Css(selector)),
    )
    .await
    .unwrap_or_else(|error| panic!("no {selector}: {error}"));
    within("click", COMMAND_TIMEOUT, element.click())
        .await
        .unwrap_or_else(|error| panic!("click {selector}: {error}"));
}

pub async fn type_into(browser: &Browser, selector: &str, value: &str) {
    let element = within(
        "find input",
        COMMAND_TIMEOUT,
        browser.client().find(Locator::Css(selector)),
    )
    .await
    .unwrap_or_else(|error| panic!("no {selector}: {error}"));
    within("clear", COMMAND_TIMEOUT, element.clear())
        .await
        .unwrap_or_else(|error| panic!("clear {selector}: {error}"));
    within("type", COMMAND_TIMEOUT, element.send_keys(value))
        .await
        .unwrap_or_else(|error| panic!("type into {selector}: {error}"));
}

/// Logs in through the contacts example's login form as `username` and
/// waits for the connected contact list (`base`: the server's root URL,
/// with or without its trailing slash).
pub async fn log_in_to_contacts(browser: &Browser, base: &str, username: &str, password: &str) {
    let base = base.trim_end_matches('/');
    browser.goto(&format!("{base}/login?next=/")).await;
    type_into(browser, "input[name=username]", username).await;
    type_into(browser, "input[name=password]", password).await;
    click(browser, "form[action='/login'] button[type=submit]").await;
    browser
        .wait_for(
            "the contact list",
            "return location.pathname === '/' && !!document.querySelector('#rows');",
            vec![],
            WAIT,
        )
        .await;
    wait_connected(browser).await;
}
