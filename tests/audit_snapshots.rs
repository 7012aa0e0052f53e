//! Snapshot tests of the audit (`djust_runtime::audit`) over three
//! realistic views built with the real `#[live_view]` macros: the text
//! report (plain and `--verbose`) and the JSON report are compared with the
//! files in `tests/snapshots/`.
//!
//! To accept a deliberate change of the output, rewrite the snapshots:
//!
//! ```text
//! DJUST_BLESS=1 cargo test -p djust --test audit_snapshots
//! ```
//!
//! and review the diff of `tests/snapshots/audit_*` before committing.

use std::path::PathBuf;

use djust::runtime::audit::{audit, audit_registered, run_cli_with, AuditReport};
use djust::Config;
use djust::{LiveView, ViewMeta};
use serde_json::Value;

/// DESIGN section 1's contacts view: permissioned, a rate-limited search and
/// a guarded delete.
mod contacts {
    use djust::prelude::*;

    pub struct Contact {
        pub id: i64,
        pub name: String,
        pub website: String,
    }

    pub struct Contacts {
        query: String,
        contacts: Vec<Contact>,
        _owner_notes: Private<String>,
    }

    fn load(query: &str) -> Vec<Contact> {
        [
            (1, "Ada", "https://ada.example"),
            (2, "Grace", "https://grace.example"),
        ]
        .into_iter()
        .filter(|(_, name, _)| name.to_lowercase().contains(&query.to_lowercase()))
        .map(|(id, name, website)| Contact {
            id,
            name: name.to_owned(),
            website: website.to_owned(),
        })
        .collect()
    }

    #[live_view(login_required, permission = "contacts.view", login_url = "/login")]
    impl Contacts {
        async fn mount(_ctx: &mut MountCtx) -> Result<Self> {
            Ok(Contacts {
                query: String::new(),
                contacts: load(""),
                _owner_notes: Private::new("internal".to_owned()),
            })
        }

        fn render(&self) -> Html {
            html! {
                <form dj-submit="search">
                    <input name="q" value={self.query} dj-input="search" dj-debounce="300"/>
                </form>
                <ul>
                    for c in &self.contacts key = c.id {
                        <li>
                            <a href={c.website}>{c.name}</a>
                            <button dj-click="delete" dj-value-id={c.id}>"Delete"</button>
                        </li>
                    }
                </ul>
                if self.contacts.is_empty() { <p>"No contacts."</p> }
            }
        }

        #[event_handler]
        #[rate_limit(rate = 5, burst = 3)]
        async fn search(&mut self, q: String) -> Result<()> {
            self.query = q;
            self.reload();
            Ok(())
        }

        /// A helper in the view's block: what it assigns is attributed to
        /// the handlers that call it.
        fn reload(&mut self) {
            self.contacts = load(&self.query);
        }

        #[event_handler]
        #[permission_required("contacts.delete")]
        async fn delete(&mut self, _ctx: &EventCtx, id: i64) -> Result<()> {
            self.contacts.retain(|c| c.id != id);
            Ok(())
        }
    }
}

/// A public counter with a clock: one handler is rate-limited, `reset` is not.
mod counter {
    use djust::prelude::*;

    pub struct Counter {
        count: i64,
        seconds: u64,
    }

    #[live_view(public, tick = 1000)]
    impl Counter {
        fn mount(_ctx: &mut MountCtx) -> Result<Self> {
            Ok(Counter {
                count: 0,
                seconds: 0,
            })
        }

        fn render(&self) -> Html {
            html! {
                <p>"Count: " {self.count}</p>
                <p>"Up for " {self.seconds} "s"</p>
                <button dj-click="increment" dj-value-by="1">"+1"</button>
                <button dj-click="reset">"Reset"</button>
            }
        }

        fn handle_tick(&mut self) -> Result<()> {
            self.seconds += 1;
            Ok(())
        }

        #[event_handler]
        #[rate_limit(rate = 10, burst = 5, key = "ip")]
        fn increment(&mut self, #[default(1)] by: i64) {
            self.count = self.count.saturating_add(by);
        }

        #[event_handler]
        fn reset(&mut self) {
            self.count = 0;
        }
    }
}

/// An account page with problems for the audit to find: it renders an API
/// key, splices trusted markup, and any logged-in user may do everything.
mod account {
    use djust::prelude::*;

    pub struct Profile {
        pub name: String,
        pub email: String,
    }

    pub struct Account {
        user: Profile,
        api_key: String,
        bio: SafeHtml,
        nickname: Option<String>,
    }

    #[live_view(login_required, reauth_each_event)]
    impl Account {
        fn mount(_ctx: &mut MountCtx) -> Result<Self> {
            Ok(Account {
                user: Profile {
                    name: "Ada".to_owned(),
                    email: "ada@example.com".to_owned(),
                },
                api_key: "ak_live_0000".to_owned(),
                bio: SafeHtml::sanitize("<em>hi</em>"),
                nickname: None,
            })
        }

        fn render(&self) -> Html {
            html! {
                <h1>{self.user.name}</h1>
                <p>{self.user.email}</p>
                <code>{self.api_key}</code>
                <div class="bio">{self.bio|safe}</div>
                if let Some(nick) = &self.nickname { <p>{nick}</p> }
                <button dj-click="rotate_key">"Rotate key"</button>
            }
        }

        #[event_handler]
        fn rotate_key(&mut self) {
            self.api_key = format!("ak_live_{}", self.api_key.len());
        }

        #[event_handler]
        fn save_profile(&mut self, bio: String, nickname: Option<String>) {
            self.bio = SafeHtml::sanitize(&bio);
            self.nickname = nickname;
        }
    }
}

fn views() -> Vec<&'static ViewMeta> {
    vec![
        <contacts::Contacts as LiveView>::meta(),
        <counter::Counter as LiveView>::meta(),
        <account::Account as LiveView>::meta(),
    ]
}

/// The default settings behind TLS: no config finding, so the snapshots
/// show the views' findings only.
fn production() -> Config {
    Config {
        secure_cookies: true,
        ..Config::default()
    }
}

fn report() -> AuditReport {
    audit(&views(), &production())
}

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("snapshots")
        .join(name)
}

fn blessing() -> bool {
    std::env::var_os("DJUST_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the snapshot `name`, or rewrites it under `DJUST_BLESS=1`.
fn check_text(name: &str, actual: &str) {
    let path = snapshot_path(name);
    if blessing() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing snapshot {}: {e}; run with DJUST_BLESS=1",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the snapshot at line {}\n--- expected\n{expected}\n--- actual\n{actual}\n\
             (rerun with DJUST_BLESS=1 if the change is intended)",
            first + 1
        );
    }
}

#[test]
fn text_snapshot() {
    check_text("audit.txt", &report().to_text(false));
}

#[test]
fn verbose_text_snapshot() {
    check_text("audit_verbose.txt", &report().to_text(true));
}

#[test]
fn json_snapshot() {
    let actual = report().to_json();
    let rendered = format!("{actual:#}\n");
    if blessing() {
        check_text("audit.json", &rendered);
        return;
    }
    // Compared as JSON values, so the test does not depend on key order.
    let path = snapshot_path("audit.json");
    let stored = std::fs::read_to_string(&path).expect("missing snapshot; run with DJUST_BLESS=1");
    let expected: Value = serde_json::from_str(&stored).expect("snapshot is valid JSON");
    assert!(
        expected == actual,
        "audit.json differs from the snapshot\n--- expected\n{stored}\n--- actual\n{rendered}\n\
         (rerun with DJUST_BLESS=1 if the change is intended)"
    );
}

#[test]
fn what_the_snapshots_must_show() {
    // Independent of the snapshot files, so a wrong blessing cannot hide these.
    let report = report();
    let found: Vec<(&str, Option<&str>, Option<&str>)> = report
        .findings
        .iter()
        .map(|f| (f.code, f.view, f.handler))
        .collect();
    assert_eq!(
        found,
        [
            ("DJ001", Some("counter"), Some("reset")),
            ("DJ002", Some("account"), None),
            ("DJ004", Some("contacts"), Some("search")),
            ("DJ003", Some("account"), None),
            ("DJ007", Some("account"), None),
        ]
    );
    let names: Vec<&str> = report.views.iter().map(|v| v.meta.name).collect();
    assert_eq!(names, ["account", "contacts", "counter"]);
    let contacts = &report.views[1];
    let rows: Vec<(&str, Vec<&str>, Vec<String>)> = contacts
        .exposed
        .iter()
        .map(|row| (row.field, row.assigned_by.clone(), row.sub_paths.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "contacts",
                vec!["mount", "delete", "search"],
                vec![
                    "id".to_owned(),
                    "is_empty()".to_owned(),
                    "name".to_owned(),
                    "website".to_owned()
                ]
            ),
            ("query", vec!["mount", "search"], vec![]),
        ]
    );
    let text = report.to_text(false);
    assert!(text.contains("@rate_limit(rate=5, burst=3, key=user)"));
    assert!(text.contains("@permission_required(\"contacts.delete\")"));
    assert!(!text.contains("_owner_notes"));
}

#[test]
fn strict_fails_on_these_views() {
    let (_, code) = run_cli_with(&["audit".to_owned(), "--strict".to_owned()], &report());
    assert_eq!(code, 1);
}

#[test]
fn registry_holds_exactly_these_views() {
    // This binary links only the three views above, so the registry audit
    // must agree with the explicit one, plus the program-wide list of
    // trusted markup: this binary's one `{self.bio|safe}`.
    let registered = audit_registered(&production());
    let explicit = report();
    assert_eq!(registered.views, explicit.views);
    let extra: Vec<_> = registered
        .findings
        .iter()
        .filter(|finding| !explicit.findings.contains(finding))
        .collect();
    assert_eq!(extra.len(), 1, "{extra:?}");
    assert_eq!((extra[0].code, extra[0].view), ("DJ003", None));
    assert!(
        extra[0]
            .message
            .contains("at 1 place: tests/audit_snapshots.rs:"),
        "{}",
        extra[0].message
    );
    assert!(
        extra[0].message.contains(" {..|safe};"),
        "{}",
        extra[0].message
    );
    assert_eq!(registered.findings.len(), explicit.findings.len() + 1);
}
