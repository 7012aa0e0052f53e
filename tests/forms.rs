//! Typed forms, in process (TestClient) and over a real socket: errors per
//! field from garde, shown only for touched fields; only the struct's
//! fields are read (unknown keys dropped and counted); a submit validates
//! again from its own values whatever `dj-change` saw; wrong types,
//! oversize and unusual Unicode get a clear error next to their field.

mod support;

use djust::forms::{Form, FormState};
use djust::prelude::*;
use djust_testing::TestClient;
use serde_json::json;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, garde::Validate)]
#[serde(default)]
struct Signup {
    #[garde(length(chars, min = 1, max = 20))]
    name: String,
    #[garde(email)]
    email: String,
    #[garde(range(min = 13, max = 130))]
    age: u32,
    #[garde(skip)]
    admin_note: Option<String>,
}

struct SignupView {
    form: FormState<Signup>,
    saved: Vec<String>,
    dropped: usize,
    is_admin: bool,
}

#[live_view(public, name = "signup_form")]
impl SignupView {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(SignupView {
            form: FormState::new(Signup {
                age: 18,
                ..Signup::default()
            }),
            saved: Vec::new(),
            dropped: 0,
            is_admin: false,
        })
    }

    fn render(&self) -> Html {
        html! {
            <form id="signup" dj-change="validate" dj-submit="save">
                <input id="name" name="name" value={self.form.value("name")}>
                <p class="error" id="error-name">{self.form.error_for("name").unwrap_or_default()}</p>
                <input id="email" name="email" value={self.form.value("email")}>
                <p class="error" id="error-email">{self.form.error_for("email").unwrap_or_default()}</p>
                <input id="age" name="age" value={self.form.value("age")}>
                <p class="error" id="error-age">{self.form.error_for("age").unwrap_or_default()}</p>
                <button id="save" type="submit" dj-disable-with="Saving…">"Save"</button>
            </form>
            <p id="saved">{self.saved.join("|")}</p>
            <p id="dropped">{self.dropped}</p>
            <p id="admin">{self.is_admin}</p>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn validate(&mut self, form: Form<Signup>) {
        self.dropped += form.dropped();
        self.form.change(form);
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn save(&mut self, form: Form<Signup>) {
        self.dropped += form.dropped();
        if let Some(valid) = self.form.submit(form) {
            self.saved
                .push(format!("{}/{}/{}", valid.name, valid.email, valid.age));
        }
    }
}

fn client() -> TestClient {
    TestClient::mount::<SignupView>().expect("mount")
}

fn by_id(client: &TestClient, id: &str) -> Option<String> {
    let document = client.document();
    let selector = scraper::Selector::parse(&format!("#{id}")).ok()?;
    let text = document
        .select(&selector)
        .next()
        .map(|el| el.text().collect::<String>());
    text
}

/// The error shown under `field` ("" when none).
fn shown(client: &TestClient, field: &str) -> String {
    by_id(client, &format!("error-{field}")).unwrap_or_default()
}

#[test]
fn errors_show_only_for_touched_fields() {
    let mut c = client();
    // Everything is invalid but nothing is touched: no errors shown.
    assert_eq!(shown(&c, "name"), "");
    let r = c.event(
        "validate",
        json!({ "name": "", "email": "nope", "age": "18", "_target": "email" }),
    );
    assert_eq!(r.error(), None);
    assert!(Some(shown(&c, "email")).is_some_and(|e| e.contains("email")));
    assert_eq!(shown(&c, "name"), "", "name untouched: no error");
    // Fixing the field clears its error; touching name shows name's.
    c.event(
        "validate",
        json!({ "name": "", "email": "a@example.com", "age": "18", "_target": "name" }),
    );
    assert_eq!(shown(&c, "email"), "");
    assert!(Some(shown(&c, "name")).is_some_and(|e| e.contains("length")));
    assert_eq!(by_id(&c, "saved").as_deref(), Some(""));
}

#[test]
fn without_target_the_fields_whose_text_changed_are_touched() {
    let mut c = client();
    c.event("validate", json!({ "name": "", "email": "x", "age": "18" }));
    assert!(!shown(&c, "email").is_empty());
    assert_eq!(shown(&c, "name"), "", "name unchanged");
}

#[test]
fn submit_touches_everything_and_saves_only_valid_values() {
    let mut c = client();
    c.event("save", json!({ "name": "", "email": "", "age": "18" }));
    assert!(!shown(&c, "name").is_empty());
    assert!(!shown(&c, "email").is_empty());
    assert_eq!(by_id(&c, "saved").as_deref(), Some(""));
    c.event(
        "save",
        json!({ "name": "Ada", "email": "ada@example.com", "age": "36" }),
    );
    assert_eq!(shown(&c, "name"), "");
    assert_eq!(
        by_id(&c, "saved").as_deref(),
        Some("Ada/ada@example.com/36")
    );
}

/// CVE-2023-36558's shape: the last dj-change saw valid values, the
/// submit carries invalid ones. The submit is judged on its own values.
#[test]
fn submit_revalidates_and_never_trusts_the_last_change() {
    let mut c = client();
    c.event(
        "validate",
        json!({ "name": "Ada", "email": "ada@example.com", "age": "36", "_target": "age" }),
    );
    assert_eq!(shown(&c, "age"), "");
    c.event(
        "save",
        json!({ "name": "Ada", "email": "ada@example.com", "age": "7" }),
    );
    assert_eq!(by_id(&c, "saved").as_deref(), Some(""), "refused");
    assert!(Some(shown(&c, "age")).is_some_and(|e| e.contains("lower than 13")));
    // And a submit with fields left out does not reuse the earlier values.
    c.event("save", json!({ "email": "ada@example.com", "age": "36" }));
    assert_eq!(
        by_id(&c, "saved").as_deref(),
        Some(""),
        "name missing: refused"
    );
}

#[test]
fn unknown_keys_are_ignored_and_counted() {
    let before = djust::forms::dropped_keys_total();
    let mut c = client();
    c.event(
        "save",
        json!({
            "name": "Ada", "email": "ada@example.com", "age": "36",
            "is_admin": "true", "saved": "forged", "__proto__": {"x": 1}, "_target": "name",
        }),
    );
    // `_target` is the framework's; the other three are dropped.
    assert_eq!(by_id(&c, "dropped").as_deref(), Some("3"));
    assert_eq!(by_id(&c, "admin").as_deref(), Some("false"));
    assert_eq!(
        by_id(&c, "saved").as_deref(),
        Some("Ada/ada@example.com/36")
    );
    assert!(djust::forms::dropped_keys_total() >= before + 3);
}

#[test]
fn wrong_types_get_a_clear_error_on_their_field_never_the_value() {
    let mut c = client();
    for (age, expected) in [
        ("abc", "must be a number"),
        ("3.5", "must be a whole number"),
        ("-1", "out of range"),
        ("99999999999999999999999", "out of range"),
        ("NaN", "must be a number"),
        ("٣", "must be a number"),
    ] {
        c.event(
            "save",
            json!({ "name": "Ada", "email": "ada@example.com", "age": age }),
        );
        let error = shown(&c, "age");
        assert!(error.contains(expected), "{age}: {error}");
        assert!(!error.contains(age), "the value is not echoed: {error}");
        // The other fields still validate and show their own state.
        assert_eq!(shown(&c, "name"), "", "{age}");
        // What was typed stays in the input.
        assert!(c.html().contains(&format!("value=\"{age}\"")), "{age}");
    }
    // Structured values where text is expected.
    for name in [json!({"a": 1}), json!(["a", "b"])] {
        c.event(
            "save",
            json!({ "name": name, "email": "ada@example.com", "age": "20" }),
        );
        let error = shown(&c, "name");
        assert!(error.contains("must be"), "{name}: {error}");
    }
    // Two wrong fields at once: both reported.
    c.event("save", json!({ "name": [1], "email": "x", "age": "old" }));
    assert!(!shown(&c, "name").is_empty());
    assert!(!shown(&c, "age").is_empty());
    assert_eq!(by_id(&c, "saved").as_deref(), Some(""));
}

#[test]
fn oversize_and_unicode_fields() {
    let mut c = client();
    // 20 characters is the limit, in characters, not bytes.
    let twenty = "é".repeat(20);
    c.event(
        "save",
        json!({ "name": twenty, "email": "ada@example.com", "age": "20" }),
    );
    assert_eq!(shown(&c, "name"), "");
    assert_eq!(
        by_id(&c, "saved").as_deref(),
        Some(format!("{twenty}/ada@example.com/20").as_str())
    );
    for name in ["x".repeat(21), "😀".repeat(21), "a".repeat(10_000)] {
        c.event(
            "save",
            json!({ "name": name, "email": "ada@example.com", "age": "20" }),
        );
        let error = shown(&c, "name");
        assert!(error.contains("greater than 20"), "{error}");
    }
    for email in [
        "ada@exa mple.com",
        "ada\u{0}@example.com",
        "\u{202e}@example.com",
    ] {
        c.event(
            "save",
            json!({ "name": "Ada", "email": email, "age": "20" }),
        );
        assert!(!shown(&c, "email").is_empty(), "{email:?}");
    }
    assert_eq!(c.html().matches("Ada/").count(), 0);
}

#[test]
fn the_audit_lists_the_form_fields() {
    let meta = <SignupView as djust::LiveView>::meta();
    let save = meta
        .handlers
        .iter()
        .find(|h| h.name == "save")
        .expect("save");
    let form = save.params[0].form.expect("a form parameter");
    assert_eq!(form.names(), &["name", "email", "age", "admin_note"]);
    let text = App::new()
        .live("/", SignupView::view())
        .audit_report()
        .to_text(false);
    assert!(
        text.contains("{name, email, age, admin_note} (unknown keys dropped, counted)"),
        "{text}"
    );
}

#[tokio::test]
async fn over_a_real_socket() {
    let server = App::new()
        .config(support::test_config())
        .live("/", SignupView::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let (mut socket, _) = support::mount_page(addr, "/", "signup_form").await;
    let frames = support::send_event(
        &mut socket,
        "validate",
        json!({ "name": "", "email": "bad", "age": "18", "_target": "email", "role": "admin" }),
        1,
    )
    .await;
    let text = serde_json::to_string(&frames).unwrap_or_default();
    assert!(text.contains("not a valid email"), "{text}");
    assert!(!text.contains("length is lower"), "name untouched: {text}");
    assert!(support::errors(&frames).is_empty(), "{text}");
    let frames = support::send_event(
        &mut socket,
        "save",
        json!({ "name": "Ada", "email": "bad", "age": "18" }),
        2,
    )
    .await;
    let text = serde_json::to_string(&frames).unwrap_or_default();
    assert!(!text.contains("Ada/"), "refused: {text}");
    let frames = support::send_event(
        &mut socket,
        "save",
        json!({ "name": "Ada", "email": "ada@example.com", "age": "18" }),
        3,
    )
    .await;
    let text = serde_json::to_string(&frames).unwrap_or_default();
    assert!(text.contains("Ada/ada@example.com/18"), "{text}");
    server.shutdown().await;
}
