//! Notes: one app, several tenants, each on its own subdomain.
//!
//! Run: `cargo run --example notes` (options: `--addr HOST:PORT`), then
//! open `http://acme.localhost:8000/` and `http://globex.localhost:8000/`
//! (browsers resolve `*.localhost` to 127.0.0.1): each tenant sees only its
//! own notes. `http://localhost:8000/` and unknown tenants get 404. The
//! tenant is resolved by the framework (`App::tenancy`) and reaches the
//! view as `ctx.tenant()`; the database hands out notes only for a tenant
//! (`db::TenantNotes`), so an unscoped query cannot be written. Sessions,
//! tokens and rate limits are per tenant too.
//!
//! It is an installable app (`App::pwa`) that works offline: adding and
//! removing notes are `#[event_handler(offline)]`, so while the network is
//! down the browser queues them (IndexedDB) and replays them when it is
//! back, over the socket or the service worker's Background Sync (see
//! docs/offline.md). Removing a note someone else removed meanwhile is a
//! conflict, shown to the user. `NOTES_DOMAIN` changes the
//! base domain (default `localhost`); `NOTES_DB` the SQLite file (default
//! in memory). `NOTES_PATH_PREFIX=t` serves the tenants on one host under
//! a path prefix instead (`http://localhost:8000/t/acme/`, see
//! docs/tenancy.md, "Path-prefix tenants").

// Example code: public items are documented where it helps the reader.
#![allow(missing_docs)]

pub mod db;

use std::sync::Arc;

use djust::prelude::*;
use djust::tenant::{Tenant, TenantResolver};
use djust::Pwa;

use db::{Db, Note, MAX_NOTE_CHARS};

/// The tenants this demo serves.
pub const TENANTS: [&str; 3] = ["acme", "globex", "initech"];

/// A tenant's notes.
pub struct Board {
    tenant: String,
    notes: Vec<Note>,
    error: Option<String>,
    _db: Private<Arc<Db>>,
}

fn tenant_of(ctx: &Ctx) -> Result<Tenant> {
    ctx.tenant().cloned().ok_or_else(Error::not_found)
}

fn db_error(error: rusqlite::Error) -> Error {
    tracing::error!(%error, "notes database");
    Error::msg("The notes could not be saved. Please try again.")
}

#[live_view(public, name = "board", title = "Notes")]
impl Board {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let tenant = tenant_of(ctx)?;
        let db = ctx.state::<Arc<Db>>()?.clone();
        let notes = db.for_tenant(&tenant).list().map_err(db_error)?;
        Ok(Board {
            tenant: tenant.id().to_owned(),
            notes,
            error: None,
            _db: Private::new(db),
        })
    }

    fn render(&self) -> Html {
        html! {
            <main class="notes">
                <h1>"Notes of " <span id="tenant">{&self.tenant}</span></h1>
                <p class="offline-notice" role="status">"Offline: " <span dj-offline-count="">"0"</span> " change(s) will be sent when the connection is back."</p>
                <form id="add" dj-submit="add">
                    <input id="text" name="text" type="text" maxlength="500" required/>
                    <button type="submit">"Add"</button>
                </form>
                if let Some(error) = &self.error { <p id="error" class="error">{error}</p> }
                <ul id="notes">
                    for note in &self.notes key = note.id {
                        <li>
                            <span class="text">{&note.text}</span>
                            <button dj-click="remove" dj-value-id={note.id.to_string()}>"×"</button>
                        </li>
                    }
                </ul>
            </main>
        }
    }

    #[event_handler(offline)]
    #[rate_limit(rate = 2, burst = 10, key = "ip")]
    fn add(&mut self, ctx: &mut EventCtx, text: String) -> Result<()> {
        let text = djust::text::display_text(&text);
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
            self.error = Some(format!("A note has 1 to {MAX_NOTE_CHARS} characters."));
            return Ok(());
        }
        let tenant = tenant_of(ctx)?;
        let notes = self._db.expose().for_tenant(&tenant);
        notes.add(text).map_err(db_error)?;
        self.notes = notes.list().map_err(db_error)?;
        self.error = None;
        Ok(())
    }

    #[event_handler(offline)]
    #[rate_limit(rate = 2, burst = 10, key = "ip")]
    fn remove(&mut self, ctx: &mut EventCtx, id: i64) -> Result<()> {
        let tenant = tenant_of(ctx)?;
        let notes = self._db.expose().for_tenant(&tenant);
        if !notes.remove(id).map_err(db_error)? {
            if ctx.offline().is_some() {
                // Queued offline; someone removed it meanwhile.
                self.notes = notes.list().map_err(db_error)?;
                return Err(Error::conflict(
                    "A note you removed offline had already been removed.",
                ));
            }
            return Err(Error::not_found());
        }
        self.notes = notes.list().map_err(db_error)?;
        Ok(())
    }
}

/// The app on `db`, tenants resolved as subdomains of `domain`.
pub fn app(db: Arc<Db>, domain: &str) -> App {
    app_with(db, TenantResolver::subdomain(domain))
}

/// The app on `db`, tenants resolved by `resolver` (a subdomain, or a
/// path prefix: the routes are the same).
pub fn app_with(db: Arc<Db>, resolver: TenantResolver) -> App {
    App::new()
        .title("Notes")
        .stylesheet("/static/demo.css")
        .static_dir(
            "static",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/static"),
        )
        .tenancy(resolver)
        .tenants(|tenant| TENANTS.contains(&tenant.id()))
        .pwa(Pwa::new("Notes"))
        .state(db)
        .live("/", Board::view())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    djust::cli::Cli::new("notes")
        .run(|args| async move {
            let config = args.config()?;
            let domain = std::env::var("NOTES_DOMAIN").unwrap_or_else(|_| "localhost".to_owned());
            let db = match std::env::var_os("NOTES_DB") {
                Some(path) => Db::open(std::path::Path::new(&path)),
                None => Db::in_memory(),
            }
            .map_err(|error| djust::Error::msg(format!("notes database: {error}")))?;
            let prefix = std::env::var("NOTES_PATH_PREFIX")
                .ok()
                .filter(|p| !p.is_empty());
            if args.serves() {
                let port = args.addr().rsplit(':').next().unwrap_or("8000");
                for tenant in TENANTS {
                    match &prefix {
                        Some(segment) => {
                            println!(
                                "Notes of {tenant} on http://{domain}:{port}/{segment}/{tenant}/"
                            )
                        }
                        None => println!("Notes of {tenant} on http://{tenant}.{domain}:{port}/"),
                    }
                }
            }
            let resolver = match prefix {
                Some(segment) => TenantResolver::path_prefix(segment),
                None => TenantResolver::subdomain(domain),
            };
            Ok(app_with(Arc::new(db), resolver).config(config))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use djust_testing::{TestClient, TestClientBuilder};
    use serde_json::json;

    fn tenant(id: &str) -> Tenant {
        Tenant::new(id).expect("tenant id")
    }

    fn acme(builder: TestClientBuilder) -> TestClientBuilder {
        builder
            .tenant(tenant("acme"))
            .state(Arc::new(Db::in_memory().expect("db")))
    }

    djust_testing::smoke_tests!(Board with fixture = acme, max_queries = 3);

    #[test]
    fn each_tenant_sees_only_its_own_notes() {
        let db = Arc::new(Db::in_memory().expect("db"));
        let mount = |id: &str| {
            TestClient::build::<Board>()
                .tenant(tenant(id))
                .state(db.clone())
                .mount()
                .expect("mount")
        };
        let mut acme = mount("acme");
        acme.event("add", json!({ "text": "the secret plan of acme" }));
        assert!(
            acme.html().contains("the secret plan of acme"),
            "{}",
            acme.html()
        );
        let globex = mount("globex");
        assert!(!globex.html().contains("secret plan"), "{}", globex.html());
        // globex cannot remove acme's note by its id.
        let id = db.for_tenant(&tenant("acme")).list().expect("list")[0].id;
        let mut globex = globex;
        let result = globex.event("remove", json!({ "id": id }));
        assert!(result.error().is_some(), "{:?}", result.frames);
        assert_eq!(
            db.for_tenant(&tenant("acme")).list().expect("list").len(),
            1
        );
    }

    #[test]
    fn notes_are_checked_text() {
        let mut client = TestClient::build::<Board>()
            .tenant(tenant("acme"))
            .state(Arc::new(Db::in_memory().expect("db")))
            .mount()
            .expect("mount");
        for bad in ["", "   ", "\u{202e}\u{200b}", &"x".repeat(501)] {
            client.event("add", json!({ "text": bad }));
            assert!(
                client.html().contains("id=\"error\""),
                "{bad:?}: {}",
                client.html()
            );
        }
        client.event("add", json!({ "text": "gnp.\u{202e}exe" }));
        assert!(client.html().contains("gnp.exe"), "{}", client.html());
    }

    #[test]
    fn without_a_tenant_nothing_mounts() {
        let refused = TestClient::build::<Board>()
            .state(Arc::new(Db::in_memory().expect("db")))
            .mount();
        assert!(refused.is_err());
    }
}
