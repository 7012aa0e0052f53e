//! The contacts database: SQLite through rusqlite (bundled, nothing to
//! install). Every query is parameterised; sort columns come from a fixed
//! list, never from input.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use djust::runtime::auth::{hash_password, User};
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// One contact as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub website: String,
    pub notes: String,
    /// A photo was uploaded (served at `/photos/{id}`).
    pub has_photo: bool,
}

/// The editable fields of a contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub website: String,
    pub notes: String,
}

/// Sort orders the list offers (the only ORDER BY clauses ever used). The
/// list's URL names one (`/?sort=email`); `handle_params` decodes it with
/// serde, so any other value is a parameter error, never a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Name,
    Email,
    Newest,
}

impl Sort {
    /// The value in the list's URL (`?sort=...`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Email => "email",
            Sort::Newest => "newest",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            Sort::Name => "name COLLATE NOCASE ASC, id ASC",
            Sort::Email => "email COLLATE NOCASE ASC, id ASC",
            Sort::Newest => "id DESC",
        }
    }
}

/// The database handle shared by every view (one connection behind a mutex:
/// SQLite serialises writes anyway and these queries take microseconds).
pub struct Db {
    conn: Mutex<Connection>,
}

/// The demo accounts printed at startup: (username, password, permissions).
pub const DEMO_USERS: &[(&str, &str, &[&str])] = &[
    ("viewer", "viewer-demo-2026", &["contacts.view"]),
    (
        "admin",
        "admin-demo-2026",
        &["contacts.view", "contacts.change", "contacts.delete"],
    ),
];

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    website TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS photos (
    contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    mime TEXT NOT NULL,
    bytes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    permissions TEXT NOT NULL DEFAULT '',
    is_active INTEGER NOT NULL DEFAULT 1
);
";

const SAMPLE: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Ada Lovelace",
        "ada@example.com",
        "+44 20 7946 0001",
        "https://en.wikipedia.org/wiki/Ada_Lovelace",
        "Wrote the first published program.",
    ),
    (
        "Alan Turing",
        "alan@example.com",
        "+44 20 7946 0002",
        "https://www.turing.org.uk/",
        "Ask about the halting problem.",
    ),
    (
        "Grace Hopper",
        "grace@example.com",
        "+1 202 555 0103",
        "https://en.wikipedia.org/wiki/Grace_Hopper",
        "Found the first actual bug.",
    ),
    (
        "Edsger Dijkstra",
        "edsger@example.com",
        "+31 20 555 0104",
        "",
        "Prefers structured programming.",
    ),
    (
        "Barbara Liskov",
        "barbara@example.com",
        "+1 617 555 0105",
        "https://www.pmg.csail.mit.edu/~liskov/",
        "Substitution principle.",
    ),
    (
        "Donald Knuth",
        "don@example.com",
        "+1 650 555 0106",
        "https://www-cs-faculty.stanford.edu/~knuth/",
        "Pays $2.56 per error found.",
    ),
    (
        "Margaret Hamilton",
        "margaret@example.com",
        "+1 617 555 0107",
        "",
        "Apollo guidance software.",
    ),
    (
        "Ken Thompson",
        "ken@example.com",
        "+1 908 555 0108",
        "",
        "Unix, B, UTF-8, Go.",
    ),
    (
        "Dennis Ritchie",
        "dmr@example.com",
        "+1 908 555 0109",
        "https://www.bell-labs.com/usr/dmr/www/",
        "C and Unix.",
    ),
    (
        "Frances Allen",
        "frances@example.com",
        "+1 914 555 0110",
        "",
        "Optimising compilers.",
    ),
    (
        "John McCarthy",
        "jmc@example.com",
        "+1 650 555 0111",
        "",
        "Lisp; coined \"AI\".",
    ),
    (
        "Leslie Lamport",
        "leslie@example.com",
        "+1 425 555 0112",
        "https://lamport.azurewebsites.net/",
        "Clocks, Paxos, LaTeX.",
    ),
    (
        "Radia Perlman",
        "radia@example.com",
        "+1 978 555 0113",
        "",
        "Spanning tree protocol.",
    ),
    (
        "Tony Hoare",
        "tony@example.com",
        "+44 1865 555 0114",
        "",
        "Quicksort; the billion-dollar mistake.",
    ),
    (
        "Niklaus Wirth",
        "niklaus@example.com",
        "+41 44 555 0115",
        "",
        "Pascal, Modula, Oberon.",
    ),
    (
        "Sophie Wilson",
        "sophie@example.com",
        "+44 1223 555 0116",
        "",
        "ARM instruction set.",
    ),
    (
        "Bjarne Stroustrup",
        "bjarne@example.com",
        "+1 212 555 0117",
        "https://www.stroustrup.com/",
        "C++.",
    ),
    (
        "Guido van Rossum",
        "guido@example.com",
        "+1 650 555 0118",
        "https://gvanrossum.github.io/",
        "Python.",
    ),
    (
        "Hedy Lamarr",
        "hedy@example.com",
        "+1 310 555 0119",
        "",
        "Frequency hopping.",
    ),
    (
        "Linus Torvalds",
        "linus@example.com",
        "+1 503 555 0120",
        "",
        "Linux and git.",
    ),
    (
        "Katherine Johnson",
        "katherine@example.com",
        "+1 757 555 0121",
        "",
        "Orbital mechanics at NASA.",
    ),
    (
        "Robin Milner",
        "robin@example.com",
        "+44 1223 555 0122",
        "",
        "ML and the pi-calculus.",
    ),
    (
        "Shafi Goldwasser",
        "shafi@example.com",
        "+1 617 555 0123",
        "",
        "Zero-knowledge proofs.",
    ),
    (
        "Whitfield Diffie",
        "whit@example.com",
        "+1 650 555 0124",
        "",
        "Public-key cryptography.",
    ),
    // Stored XSS, as if imported from a legacy system: it must render inert.
    (
        "<img src=x onerror=alert('name')>",
        "xss@example.com",
        "<svg onload=alert(1)>",
        "javascript:alert(document.cookie)",
        "<script>alert('stored xss')</script> \"><svg onload=alert(2)>",
    ),
];

impl Db {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Db> {
        let conn = Connection::open(path)?;
        Self::with_connection(conn)
    }

    /// A private in-memory database (tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn in_memory() -> rusqlite::Result<Db> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> rusqlite::Result<Db> {
        // Several processes may share the file (`--redis`): wait for a
        // writer instead of failing with SQLITE_BUSY.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")?;
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

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Seeds the sample contacts when the table is empty.
    pub fn seed_contacts(&self) -> rusqlite::Result<()> {
        let mut conn = self.conn();
        // One write transaction, so two processes starting on the same file
        // cannot both see an empty table and seed it twice.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let count: i64 = tx.query_row("SELECT COUNT(*) FROM contacts", [], |row| row.get(0))?;
        if count == 0 {
            for (name, email, phone, website, notes) in SAMPLE {
                tx.execute(
                    "INSERT INTO contacts (name, email, phone, website, notes) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![name, email, phone, website, notes],
                )?;
            }
        }
        tx.commit()
    }

    /// Creates the demo users (argon2-hashed passwords) when there are none.
    pub fn seed_users(&self) -> Result<(), Box<dyn std::error::Error>> {
        let count: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))?;
        if count > 0 {
            return Ok(());
        }
        // Hash outside the write transaction: argon2 takes a while.
        let mut hashed = Vec::with_capacity(DEMO_USERS.len());
        for (username, password, permissions) in DEMO_USERS {
            hashed.push((username, hash_password(password)?, permissions.join(",")));
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let count: i64 = tx.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))?;
        if count == 0 {
            for (username, hash, permissions) in hashed {
                tx.execute(
                    "INSERT INTO users (username, password_hash, permissions) VALUES (?1, ?2, ?3)",
                    params![username, hash, permissions],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// One page of contacts matching `query` (name or email,
    /// case-insensitive), the total, and the page shown: `page` brought
    /// within 1..=last, so a stale URL (`?page=9` after deletions) shows the
    /// last page instead of an empty one, in the same two queries.
    pub fn search(
        &self,
        query: &str,
        sort: Sort,
        page: u32,
        per_page: u32,
    ) -> rusqlite::Result<(Vec<Contact>, u32, u32)> {
        let pattern = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let conn = self.conn();
        let total: u32 = conn.query_row(
            "SELECT COUNT(*) FROM contacts WHERE name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'",
            params![pattern],
            |row| row.get(0),
        )?;
        let sql = format!(
            "SELECT id, name, email, phone, website, notes, {HAS_PHOTO} FROM contacts WHERE name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\' ORDER BY {} LIMIT ?2 OFFSET ?3",
            sort.order_by()
        );
        let page = page.clamp(1, total.div_ceil(per_page.max(1)).max(1));
        let offset = (page - 1).saturating_mul(per_page);
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map(params![pattern, per_page, offset], row_to_contact)?;
        Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total, page))
    }

    /// The contact with `id`.
    pub fn get(&self, id: i64) -> rusqlite::Result<Option<Contact>> {
        self.conn()
            .query_row(
                &format!("SELECT id, name, email, phone, website, notes, {HAS_PHOTO} FROM contacts WHERE id = ?1"),
                params![id],
                row_to_contact,
            )
            .optional()
    }

    /// Stores (or replaces) the photo of contact `id`: bytes whose type an
    /// upload slot already proved.
    pub fn set_photo(&self, id: i64, mime: &str, bytes: &[u8]) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT INTO photos (contact_id, mime, bytes) VALUES (?1, ?2, ?3) ON CONFLICT(contact_id) DO UPDATE SET mime = excluded.mime, bytes = excluded.bytes",
            params![id, mime, bytes],
        )?;
        Ok(())
    }

    /// The photo of contact `id`: its MIME type and bytes.
    pub fn photo(&self, id: i64) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
        self.conn()
            .query_row(
                "SELECT mime, bytes FROM photos WHERE contact_id = ?1",
                params![id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
    }

    /// Inserts a contact; returns its id.
    pub fn insert(&self, input: &ContactInput) -> rusqlite::Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO contacts (name, email, phone, website, notes) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                input.name,
                input.email,
                input.phone,
                input.website,
                input.notes
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Updates a contact; `false` if it no longer exists.
    pub fn update(&self, id: i64, input: &ContactInput) -> rusqlite::Result<bool> {
        let changed = self.conn().execute(
            "UPDATE contacts SET name = ?1, email = ?2, phone = ?3, website = ?4, notes = ?5 WHERE id = ?6",
            params![input.name, input.email, input.phone, input.website, input.notes, id],
        )?;
        Ok(changed == 1)
    }

    /// Deletes a contact (and its photo); `false` if it did not exist.
    pub fn delete(&self, id: i64) -> rusqlite::Result<bool> {
        let conn = self.conn();
        conn.execute("DELETE FROM photos WHERE contact_id = ?1", params![id])?;
        Ok(conn.execute("DELETE FROM contacts WHERE id = ?1", params![id])? == 1)
    }

    /// The user named `username` and their password hash.
    pub fn user_by_name(&self, username: &str) -> rusqlite::Result<Option<(User, String)>> {
        self.conn()
            .query_row(
                "SELECT id, username, permissions, is_active, password_hash FROM users WHERE username = ?1",
                params![username],
                |row| Ok((row_to_user(row)?, row.get::<_, String>(4)?)),
            )
            .optional()
    }

    /// The user with `id`.
    pub fn user_by_id(&self, id: &str) -> rusqlite::Result<Option<User>> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        self.conn()
            .query_row(
                "SELECT id, username, permissions, is_active FROM users WHERE id = ?1",
                params![id],
                row_to_user,
            )
            .optional()
    }
}

fn row_to_contact(row: &rusqlite::Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        id: row.get(0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        phone: row.get(3)?,
        website: row.get(4)?,
        notes: row.get(5)?,
        has_photo: row.get(6)?,
    })
}

/// The column that says whether a contact has a photo.
const HAS_PHOTO: &str = "EXISTS(SELECT 1 FROM photos WHERE photos.contact_id = contacts.id)";

fn row_to_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let id: i64 = row.get(0)?;
    let mut user = User::new(id.to_string(), row.get::<_, String>(1)?);
    for permission in row
        .get::<_, String>(2)?
        .split(',')
        .filter(|p| !p.is_empty())
    {
        user = user.with_permission(permission);
    }
    user.is_active = row.get::<_, i64>(3)? != 0;
    Ok(user)
}
