//! The application: its routes (one live session), root layout, state,
//! login and stored photos. Shared by `main.rs`, the browser tests and the
//! live-navigation benchmark, which include these files directly.

use std::sync::Arc;

use djust::prelude::*;

use super::auth::DbAuth;
use super::db::Db;
use super::layout;
use super::views::{ContactDetail, ContactEditor, ContactList};

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
        .layout(layout::layout)
        .live_session(
            // One live session: a logged-in user moves between these pages
            // over one socket; each page still runs its own permission
            // checks, `mount` and `handle_params` as a fresh page would.
            LiveGroup::new("contacts")
                .login_required()
                .live("/", ContactList::view())
                .live("/contacts/new", ContactEditor::view())
                .live("/contacts/{id}", ContactDetail::view())
                .live("/contacts/{id}/edit", ContactEditor::view()),
        )
}
