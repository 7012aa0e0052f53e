//! Forms that validate as you type, in headless Chromium: typing in one
//! field shows only that field's error, fixing it clears it, and while a
//! submit is in flight its button shows `dj-disable-with` (disabled) and
//! the form has the `dj-submitting` class, both undone by the reply.

mod e2e_support;

use std::sync::Arc;

use djust::forms::{Form, FormState};
use djust::prelude::*;
use e2e_support::page::{click, type_into, wait_connected, wait_text, WAIT};
use e2e_support::Browser;
use serde_json::json;
use tokio::sync::Notify;

const SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, garde::Validate)]
#[serde(default)]
struct Signup {
    #[garde(length(chars, min = 1, max = 20))]
    name: String,
    #[garde(email)]
    email: String,
}

/// Holds a submit until the test releases it (no timing involved).
struct Gate(Arc<Notify>);

struct SignupView {
    form: FormState<Signup>,
    saved: Vec<String>,
    _gate: Private<Arc<Notify>>,
}

#[live_view(public, name = "e2e_signup")]
impl SignupView {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let gate = ctx.state::<Gate>()?.0.clone();
        Ok(SignupView {
            form: FormState::new(Signup::default()),
            saved: Vec::new(),
            _gate: Private::new(gate),
        })
    }

    fn render(&self) -> Html {
        html! {
            <form id="signup" dj-change="validate" dj-submit="save">
                <input id="name" name="name" value={self.form.value("name")}>
                <p class="error" id="error-name">{self.form.error_for("name").unwrap_or_default()}</p>
                <input id="email" name="email" value={self.form.value("email")}>
                <p class="error" id="error-email">{self.form.error_for("email").unwrap_or_default()}</p>
                <button id="save" type="submit" dj-disable-with="Saving…">"Save"</button>
            </form>
            <p id="saved">{self.saved.join("|")}</p>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn validate(&mut self, form: Form<Signup>) {
        self.form.change(form);
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    async fn save(&mut self, form: Form<Signup>) {
        let gate = self._gate.expose().clone();
        if let Some(valid) = self.form.submit(form) {
            gate.notified().await;
            self.saved.push(valid.name);
        }
    }
}

async fn js(browser: &Browser, script: &str) -> serde_json::Value {
    browser.execute(script, vec![]).await
}

#[tokio::test]
async fn errors_follow_typing_and_a_submit_shows_its_progress() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gate = Arc::new(Notify::new());
    let server = App::new()
        .config(djust::Config {
            secret_key: Some(SECRET.to_owned()),
            ..djust::Config::default()
        })
        .state(Gate(gate.clone()))
        .live("/", SignupView::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    browser
        .goto(&format!("http://{}/", server.local_addr()))
        .await;
    wait_connected(&browser).await;

    // Typing a bad email: only the email's error shows (name is empty and
    // invalid too, but untouched).
    type_into(&browser, "#email", "not-an-email").await;
    wait_text(&browser, "#error-email", "not a valid email").await;
    assert_eq!(
        js(
            &browser,
            "return document.querySelector('#error-name').textContent;"
        )
        .await,
        json!("")
    );
    // What is being typed is never overwritten by the replies.
    assert_eq!(
        js(&browser, "return document.querySelector('#email').value;").await,
        json!("not-an-email")
    );

    // Fixing it clears it, without a blur or a submit.
    type_into(&browser, "#email", "ada@example.com").await;
    browser
        .wait_for(
            "the email error to clear",
            "return document.querySelector('#error-email').textContent === '';",
            vec![],
            WAIT,
        )
        .await;

    // A valid submit, held on the server: the button says so meanwhile.
    type_into(&browser, "#name", "Ada").await;
    click(&browser, "#save").await;
    browser
        .wait_for(
            "the submit in flight",
            "const b = document.querySelector('#save'); \
             return b.textContent === 'Saving…' && b.disabled && \
             document.querySelector('#signup').classList.contains('dj-submitting');",
            vec![],
            WAIT,
        )
        .await;
    gate.notify_one();
    wait_text(&browser, "#saved", "Ada").await;
    browser
        .wait_for(
            "the button restored by the reply",
            "const b = document.querySelector('#save'); \
             return b.textContent === 'Save' && !b.disabled && \
             !document.querySelector('#signup').classList.contains('dj-submitting');",
            vec![],
            WAIT,
        )
        .await;

    // An invalid submit shows every field's error (all are touched now).
    type_into(&browser, "#name", "").await;
    type_into(&browser, "#email", "x").await;
    click(&browser, "#save").await;
    wait_text(&browser, "#error-name", "length is lower than 1").await;
    wait_text(&browser, "#error-email", "not a valid email").await;
    assert_eq!(
        js(
            &browser,
            "return document.querySelector('#saved').textContent;"
        )
        .await,
        json!("Ada")
    );
    browser.close().await;
    server.shutdown().await;
}
