//! The notes database (SQLite through rusqlite), where an unscoped query
//! cannot be written: the notes table is reached only through
//! [`TenantNotes`], which only [`Db::for_tenant`] makes, from a
//! [`Tenant`] the framework resolved, and every one of its queries filters
//! on that tenant.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use djust::tenant::Tenant;
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::{params, Connection};

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_tenant ON notes (tenant, id);
";

/// One note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: i64,
    pub text: String,
}

/// The database. It has no query method of its own: see [`TenantNotes`].
pub struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (and creates) the database file at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Db> {
        Self::with_connection(Connection::open(path)?)
    }

    /// A private in-memory database (tests, demos).
    pub fn in_memory() -> rusqlite::Result<Db> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> rusqlite::Result<Db> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        // Every statement counts against the smoke tests' `max_queries`.
        conn.trace_v2(
            TraceEventCodes::SQLITE_TRACE_PROFILE,
            Some(|_: TraceEvent<'_>| djust::queries::record_query()),
        );
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    /// The notes of `tenant`: the only way to the notes table.
    pub fn for_tenant<'a>(&'a self, tenant: &'a Tenant) -> TenantNotes<'a> {
        TenantNotes { db: self, tenant }
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One tenant's notes. Every query names the tenant.
pub struct TenantNotes<'a> {
    db: &'a Db,
    tenant: &'a Tenant,
}

impl TenantNotes<'_> {
    /// The tenant's notes, newest first (at most 200).
    pub fn list(&self) -> rusqlite::Result<Vec<Note>> {
        let conn = self.db.conn();
        let mut statement = conn.prepare_cached(
            "SELECT id, text FROM notes WHERE tenant = ?1 ORDER BY id DESC LIMIT 200",
        )?;
        let notes = statement
            .query_map([self.tenant.id()], |row| {
                Ok(Note {
                    id: row.get(0)?,
                    text: row.get(1)?,
                })
            })?
            .collect();
        notes
    }

    /// Adds a note; its id.
    pub fn add(&self, text: &str) -> rusqlite::Result<i64> {
        let conn = self.db.conn();
        conn.execute(
            "INSERT INTO notes (tenant, text) VALUES (?1, ?2)",
            params![self.tenant.id(), text],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Removes note `id` if it is this tenant's; whether it was.
    pub fn remove(&self, id: i64) -> rusqlite::Result<bool> {
        let conn = self.db.conn();
        let removed = conn.execute(
            "DELETE FROM notes WHERE tenant = ?1 AND id = ?2",
            params![self.tenant.id(), id],
        )?;
        Ok(removed == 1)
    }
}
