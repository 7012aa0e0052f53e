//! The flagship example: a contact manager with logins, permissions,
//! search, sorting, pages, validation and deletion, on SQLite.
//!
//! Run: `cargo run --example contacts` and open the printed URL. Log in as
//! `viewer` (can only read) or `admin` (can add, edit and delete); the
//! passwords are printed at startup and shown on the login page.
//!
//! Try: type in the search box (results update as you type, debounced,
//! rate limited); sort by a column; page through; add a contact with an
//! invalid email to see inline validation; delete one (there is a
//! confirmation step, and only `admin` holds `contacts.delete`). One seeded
//! contact holds XSS payloads in every field and a `javascript:` website:
//! it renders as inert text and a `#blocked` link.
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

pub mod auth;
pub mod db;
pub mod views;

use std::path::PathBuf;
use std::sync::Arc;

use djust::prelude::*;

use self::auth::DbAuth;
use self::db::{Db, DEMO_USERS};
use self::views::{ContactEditor, ContactList};

/// The application, ready to serve or audit.
pub fn app(db: Arc<Db>) -> App {
    let note = SafeHtml::from_static("<p class=\"muted\">Demo accounts: <b>viewer</b> / viewer-demo-2026 (read only), <b>admin</b> / admin-demo-2026 (everything).</p>");
    App::new()
        .title("Contacts")
        .stylesheet("/static/demo.css")
        .static_dir(
            "static",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/static"),
        )
        .state(db.clone())
        .stored_files("photos", Some("contacts.view"), {
            let db = db.clone();
            move |id| {
                let id = id.parse::<i64>().ok()?;
                let (mime, bytes) = db.photo(id).ok()??;
                Some(djust::StoredFile {
                    bytes,
                    mime,
                    name: format!("contact-{id}"),
                })
            }
        })
        .auth(DbAuth { db })
        .login_note(note)
        .live("/", ContactList::view())
        .live("/contacts/edit", ContactEditor::view())
}

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
    use super::*;

    fn with_db(builder: djust_testing::TestClientBuilder) -> djust_testing::TestClientBuilder {
        let db = Db::in_memory().expect("in-memory db");
        db.seed_contacts().expect("seed");
        builder.state(Arc::new(db))
    }

    // A page of contacts is one query for the rows and one for the count;
    // a query per contact would fail these budgets.
    djust_testing::smoke_tests!(
        ContactList with fixture = with_db, max_queries = 4,
        ContactEditor with fixture = with_db, max_queries = 4,
    );

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
            report.to_text(true)
        );
        djust_testing::assert_snapshot!(
            "tests/snapshots/example_contacts_audit.json",
            format!("{:#}\n", report.to_json())
        );
    }
}
