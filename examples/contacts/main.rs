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

struct Args {
    addr: String,
    db: PathBuf,
    redis: Option<String>,
}

fn args() -> Args {
    let mut parsed = Args {
        addr: "127.0.0.1:8000".to_owned(),
        db: std::env::temp_dir().join("djust-contacts.sqlite3"),
        redis: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => parsed.addr = args.next().unwrap_or(parsed.addr),
            "--db" => parsed.db = args.next().map(PathBuf::from).unwrap_or(parsed.db),
            "--redis" => parsed.redis = args.next(),
            _ => {}
        }
    }
    parsed
}

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
        .auth(DbAuth { db })
        .login_note(note)
        .live("/", ContactList::view())
        .live("/contacts/edit", ContactEditor::view())
}

#[tokio::main]
async fn main() -> djust::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = args();
    let mut config = djust::Config::from_env().map_err(Error::config)?;
    if let Some(url) = &args.redis {
        // Sessions, logins, logouts and rate limits are shared too. Needs a
        // shared DJUST_SECRET_KEY (checked here) and the `redis` feature
        // (checked by the server).
        config.redis_url = Some(url.clone());
        config.validate().map_err(Error::config)?;
    }
    let db = Arc::new(
        Db::open(&args.db)
            .map_err(|e| Error::config(format!("cannot open {}: {e}", args.db.display())))?,
    );
    db.seed_contacts()
        .map_err(|e| Error::msg(format!("seeding contacts: {e}")))?;
    db.seed_users()
        .map_err(|e| Error::msg(format!("seeding users: {e}")))?;
    let app = app(db).config(config);
    if std::env::args().nth(1).as_deref() != Some("audit") {
        println!(
            "Contacts demo on http://{}/  (database: {})",
            args.addr,
            args.db.display()
        );
        for (username, password, permissions) in DEMO_USERS {
            println!(
                "  log in as {username:<7} password {password:<17} permissions: {}",
                permissions.join(", ")
            );
        }
    }
    app.serve(&args.addr).await
}

#[cfg(test)]
mod smoke {
    use super::*;

    fn with_db(builder: djust_testing::TestClientBuilder) -> djust_testing::TestClientBuilder {
        let db = Db::in_memory().expect("in-memory db");
        db.seed_contacts().expect("seed");
        builder.state(Arc::new(db))
    }

    djust_testing::smoke_tests!(
        ContactList with fixture = with_db,
        ContactEditor with fixture = with_db,
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
