//! The flagship example: a multi-page live app managing contacts, with
//! logins, permissions, search, sorting, pages, validation and deletion,
//! on SQLite.
//!
//! Run: `cargo run --example contacts` and open the printed URL. Log in as
//! `viewer` (can only read) or `admin` (can add, edit and delete); the
//! passwords are printed at startup and shown on the login page.
//!
//! Pages (one live session: moving between them keeps the socket, no page
//! load): `/` the list, whose search, sort and page are in its URL
//! (`/?q=ada&sort=email&page=2`), so Back, Forward and reload keep them;
//! `/contacts/{id}` a contact's page with every field; `/contacts/new` and
//! `/contacts/{id}/edit` the form. The root layout (a bar with the user and
//! Log out, the flash area) stays in place while the pages change.
//!
//! Try: type in the search box (the URL follows, debounced, rate limited);
//! sort by a column; page through; open a contact and press Back; add a
//! contact with an invalid email to see inline validation; type in the form
//! and click away (it asks first); save (a flash says so, once); delete one
//! (there is a confirmation step, and only `admin` holds `contacts.delete`).
//! One seeded contact holds XSS payloads in every field and a `javascript:`
//! website: it renders as inert text and a `#blocked` link.
//!
//! Options: `--addr HOST:PORT` (default 127.0.0.1:8000), `--db PATH`
//! (default: `djust-contacts.sqlite3` in the OS temp dir), `--redis URL`
//! (sessions, logins, logouts and rate limits shared by every process
//! started with the same Redis, database file and `DJUST_SECRET_KEY`; needs
//! `--features redis`, see docs/deploy.md), and the `DJUST_*` settings.
//! `cargo run --example contacts -- audit --strict` prints the security
//! audit.

// Example code: public items are documented where it helps the reader.
#![allow(missing_docs)]

pub mod app;
pub mod auth;
pub mod db;
pub mod layout;
pub mod views;

use std::path::PathBuf;
use std::sync::Arc;

use djust::prelude::*;

pub use self::app::app;
use self::db::{Db, DEMO_USERS};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    djust::cli::Cli::new("contacts")
        .option(
            "db",
            "PATH",
            "the SQLite database file (default: djust-contacts.sqlite3 in the temp directory)",
        )
        .run(|args| async move {
            // `--redis URL`: sessions, logins, logouts and rate limits are
            // shared too. Needs a shared DJUST_SECRET_KEY (checked here) and
            // the `redis` feature (checked by the server).
            let config = args.config()?;
            let path = args
                .get("db")
                .map(PathBuf::from)
                .unwrap_or_else(|| std::env::temp_dir().join("djust-contacts.sqlite3"));
            let db = Arc::new(
                Db::open(&path)
                    .map_err(|e| Error::config(format!("cannot open {}: {e}", path.display())))?,
            );
            db.seed_contacts()
                .map_err(|e| Error::msg(format!("seeding contacts: {e}")))?;
            db.seed_users()
                .map_err(|e| Error::msg(format!("seeding users: {e}")))?;
            if args.serves() {
                println!(
                    "Contacts demo on http://{}/  (database: {})",
                    args.addr(),
                    path.display()
                );
                for (username, password, permissions) in DEMO_USERS {
                    println!(
                        "  log in as {username:<7} password {password:<17} permissions: {}",
                        permissions.join(", ")
                    );
                }
            }
            Ok(app(db).config(config))
        })
        .await
}

#[cfg(test)]
mod smoke {
    use super::views::{ContactDetail, ContactEditor, ContactList};
    use super::*;

    fn with_db(builder: djust_testing::TestClientBuilder) -> djust_testing::TestClientBuilder {
        let db = Db::in_memory().expect("in-memory db");
        db.seed_contacts().expect("seed");
        builder.state(Arc::new(db))
    }

    /// The list at its route (its handlers patch the URL).
    fn list(builder: djust_testing::TestClientBuilder) -> djust_testing::TestClientBuilder {
        with_db(builder).route("/").url("/")
    }

    /// Contact 1's page.
    fn detail(builder: djust_testing::TestClientBuilder) -> djust_testing::TestClientBuilder {
        with_db(builder).route("/contacts/{id}").url("/contacts/1")
    }

    /// Contact 1's form; saving navigates to its page.
    fn editor(builder: djust_testing::TestClientBuilder) -> djust_testing::TestClientBuilder {
        with_db(builder)
            .route("/contacts/{id}/edit")
            .live("/contacts/{id}", ContactDetail::view())
            .url("/contacts/1/edit")
    }

    // A page of contacts is one query for the rows and one for the count;
    // a query per contact would fail these budgets. A save that navigates
    // counts the next page's query too.
    djust_testing::smoke_tests!(
        ContactList with fixture = list, max_queries = 4,
        ContactDetail with fixture = detail, max_queries = 4,
        ContactEditor with fixture = editor, max_queries = 4,
    );

    fn admin() -> djust::runtime::auth::User {
        djust::runtime::auth::User::new("2", "admin")
            .with_permission("contacts.view")
            .with_permission("contacts.change")
            .with_permission("contacts.delete")
    }

    fn list_at(url: &str) -> Result<djust_testing::TestClient, djust::runtime::live::MountRefusal> {
        list(djust_testing::TestClient::build::<ContactList>())
            .url(url)
            .user(admin())
            .mount()
    }

    /// The ids of the rows shown, in order.
    fn row_ids(client: &djust_testing::TestClient) -> Vec<String> {
        let document = client.document();
        let rows = scraper::Selector::parse("#rows tr").expect("selector");
        document
            .select(&rows)
            .filter_map(|row| row.value().attr("data-id").map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_list_reads_its_state_from_the_url() {
        let client = list_at("/?q=example&sort=newest&page=2&utm=x").expect("mount");
        let html = client.html();
        assert!(html.contains("Page 2 of 3"), "{html}");
        assert!(
            html.contains("id=\"sort-newest\" class=\"sorted\""),
            "{html}"
        );
        assert!(html.contains("value=\"example\""), "{html}");
        assert_eq!(
            client.title(),
            "Contacts matching \u{201c}example\u{201d}, page 2"
        );
        // Newest first: page 2 starts ten below the newest matching id.
        let ids = row_ids(&client);
        assert_eq!(ids.len(), 10, "{ids:?}");
        assert!(
            ids.windows(2)
                .all(|w| w[0].parse::<i64>().ok() > w[1].parse::<i64>().ok()),
            "{ids:?}"
        );
        // A page past the end shows the last page.
        let client = list_at("/?page=99").expect("mount");
        assert!(client.html().contains("Page 3 of 3"));
    }

    #[test]
    fn bad_list_urls_are_refused_with_the_parameter_named() {
        for (url, param) in [
            ("/?page=abc", "page"),
            ("/?page=-1", "page"),
            ("/?sort=shoe", "sort"),
            ("/?sort=NAME", "sort"),
        ] {
            match list_at(url) {
                Err(djust::runtime::live::MountRefusal::BadRequest(error)) => {
                    assert!(
                        error.to_string().contains(&format!("'{param}'")),
                        "{url}: {error}"
                    )
                }
                other => panic!("{url}: {:?}", other.map(|c| c.html())),
            }
        }
    }

    #[test]
    fn searching_patches_the_url_and_back_restores_it() {
        let mut client = list_at("/?sort=email&page=2").expect("mount");
        let page_two = row_ids(&client);
        let result = client.event("search", serde_json::json!({ "q": " Ada & co " }));
        assert_eq!(result.error(), None);
        assert_eq!(client.url(), "/?q=Ada%20%26%20co&sort=email");
        assert_eq!(client.live_urls(), ["/?q=Ada%20%26%20co&sort=email"]);
        assert!(client.html().contains("value=\"Ada &amp; co\""));
        // Back: the browser's URL comes back as a `pop` patch.
        client.pop_to("/?sort=email&page=2", "contacts");
        assert_eq!(row_ids(&client), page_two);
        assert!(client.html().contains("Page 2 of 3"));
    }

    #[test]
    fn a_missing_contact_is_not_found() {
        for url in ["/contacts/999", "/contacts/0"] {
            let refused = detail(djust_testing::TestClient::build::<ContactDetail>())
                .url(url)
                .user(admin())
                .mount();
            assert!(
                matches!(refused, Err(djust::runtime::live::MountRefusal::NotFound)),
                "{url}"
            );
        }
        let refused = detail(djust_testing::TestClient::build::<ContactDetail>())
            .url("/contacts/abc")
            .user(admin())
            .mount();
        assert!(
            matches!(
                refused,
                Err(djust::runtime::live::MountRefusal::BadRequest(_))
            ),
            "/contacts/abc"
        );
    }

    #[test]
    fn the_editor_validates_as_you_type_and_again_on_save() {
        let mut client = editor(djust_testing::TestClient::build::<ContactEditor>())
            .user(admin())
            .mount()
            .expect("mount");
        let error = |client: &djust_testing::TestClient, field: &str| {
            let selector = scraper::Selector::parse(&format!("#error-{field}")).expect("selector");
            let document = client.document();
            let text = document
                .select(&selector)
                .next()
                .map(|el| el.text().collect::<String>())
                .unwrap_or_default();
            text
        };
        // Typing a bad email: only the email's error (name is empty and untouched).
        let result = client.event(
            "validate",
            serde_json::json!({ "name": "", "email": "nope", "phone": "", "website": "", "notes": "", "_target": "email" }),
        );
        assert_eq!(result.error(), None);
        assert!(error(&client, "email").contains("valid email"));
        assert_eq!(error(&client, "name"), "");
        // The last change was valid; the save carries a bad phone and a forged key.
        client.event(
            "validate",
            serde_json::json!({ "name": "Ada", "email": "ada@example.com", "_target": "email" }),
        );
        assert_eq!(error(&client, "email"), "");
        let result = client.event(
            "save",
            serde_json::json!({ "name": "Ada", "email": "ada@example.com", "phone": "<script>", "id": 1 }),
        );
        assert_eq!(result.error(), None);
        assert_eq!(
            client.meta().name,
            "contact_editor",
            "refused: stays on the form"
        );
        assert!(error(&client, "phone").contains("digits"));
        assert!(client.flashes().is_empty());
    }

    #[test]
    fn saving_navigates_to_the_contact_with_a_flash_shown_once() {
        let mut client = editor(djust_testing::TestClient::build::<ContactEditor>())
            .user(admin())
            .mount()
            .expect("mount");
        let result = client.event(
            "save",
            serde_json::json!({ "name": "Ada King", "email": "ada@example.com" }),
        );
        assert_eq!(result.error(), None);
        assert_eq!(client.meta().name, "contact");
        assert_eq!(client.url(), "/contacts/1");
        assert!(client.html().contains("Ada King"));
        let flashes = client.flashes();
        assert_eq!(flashes.len(), 1, "{flashes:?}");
        assert_eq!(flashes[0].message, "Contact saved.");
        assert_eq!(client.title(), "Ada King");
    }

    #[test]
    fn audit_is_clean_in_strict_mode() {
        let db = Arc::new(Db::in_memory().expect("db"));
        let report = app(db)
            .config(djust::Config {
                secret_key: Some("x".repeat(32)),
                ..djust::Config::default()
            })
            .audit_report();
        let text = report.to_text(true);
        assert!(
            !report.has_findings_at_least(djust::runtime::audit::Severity::Warning),
            "{text}"
        );
        djust_testing::assert_snapshot!(
            "tests/snapshots/example_contacts_audit.txt",
            djust_testing::snapshot::example_paths(
                &report.to_text(true),
                module_path!(),
                "contacts"
            )
        );
        djust_testing::assert_snapshot!(
            "tests/snapshots/example_contacts_audit.json",
            djust_testing::snapshot::example_paths(
                &format!("{:#}\n", report.to_json()),
                module_path!(),
                "contacts"
            )
        );
    }
}
