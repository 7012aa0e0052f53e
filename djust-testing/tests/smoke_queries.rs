//! `max_queries`: the smoke checks fail a mount or an event that runs more
//! database queries than the budget, counted through SQLite's own
//! statement hook (rusqlite `trace_v2`) and `djust::queries`.

use std::sync::{Arc, Mutex};

use djust::prelude::*;
use djust_testing::smoke::{check_no_crash, check_renders};
use djust_testing::{SmokeOptions, TestClientBuilder, ViewFactory};
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::Connection;

/// A database of 30 items whose every statement is counted.
struct Db(Mutex<Connection>);

impl Db {
    fn open() -> Arc<Db> {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
             INSERT INTO items (id, name) SELECT i, 'item ' || i FROM n;",
        )
        .expect("schema");
        conn.trace_v2(
            TraceEventCodes::SQLITE_TRACE_PROFILE,
            Some(|_: TraceEvent<'_>| djust::queries::record_query()),
        );
        Arc::new(Db(Mutex::new(conn)))
    }

    fn ids(&self) -> Vec<i64> {
        let conn = self.0.lock().expect("lock");
        let mut statement = conn
            .prepare("SELECT id FROM items ORDER BY id")
            .expect("prepare");
        let ids = statement
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<rusqlite::Result<Vec<i64>>>()
            .expect("rows");
        ids
    }

    fn name(&self, id: i64) -> String {
        let conn = self.0.lock().expect("lock");
        conn.query_row("SELECT name FROM items WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .expect("name")
    }

    fn names(&self) -> Vec<String> {
        let conn = self.0.lock().expect("lock");
        let mut statement = conn
            .prepare("SELECT name FROM items ORDER BY id")
            .expect("prepare");
        let names = statement
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<rusqlite::Result<Vec<String>>>()
            .expect("rows");
        names
    }
}

fn with_db(builder: TestClientBuilder) -> TestClientBuilder {
    builder.state(Db::open())
}

/// Loads its list with one query per item at mount (31 queries), and twice
/// in `refresh` (62).
pub struct NPlusOne {
    names: Vec<String>,
    _db: Private<Arc<Db>>,
}

fn load_one_by_one(db: &Db) -> Vec<String> {
    db.ids().into_iter().map(|id| db.name(id)).collect()
}

#[live_view(public)]
impl NPlusOne {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let db = ctx.state::<Arc<Db>>()?.clone();
        Ok(NPlusOne {
            names: load_one_by_one(&db),
            _db: Private::new(db),
        })
    }

    fn render(&self) -> Html {
        html! { <ul> for name in &self.names { <li>{name}</li> } </ul> }
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn refresh(&mut self) {
        let db = self._db.expose();
        let first = load_one_by_one(db);
        self.names = if first.is_empty() {
            first
        } else {
            load_one_by_one(db)
        };
    }
}

/// The same list in one query.
pub struct OneQuery {
    names: Vec<String>,
    _db: Private<Arc<Db>>,
}

#[live_view(public)]
impl OneQuery {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let db = ctx.state::<Arc<Db>>()?.clone();
        Ok(OneQuery {
            names: db.names(),
            _db: Private::new(db),
        })
    }

    fn render(&self) -> Html {
        html! { <ul> for name in &self.names { <li>{name}</li> } </ul> }
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn refresh(&mut self) {
        self.names = self._db.expose().names();
    }
}

fn budget(max: u64) -> SmokeOptions {
    SmokeOptions {
        fixture: Some(with_db),
        max_queries: Some(max),
        ..SmokeOptions::default()
    }
}

#[test]
fn a_mount_over_the_budget_fails_with_the_count() {
    let failure = check_renders(ViewFactory::of::<NPlusOne>(), &budget(20))
        .expect_err("31 queries against a budget of 20 must fail");
    let text = failure.to_string();
    assert!(
        text.contains(
            "mount and first render ran 31 database queries, more than `max_queries = 20`"
        ),
        "{text}"
    );
}

#[test]
fn an_event_over_the_budget_fails_with_the_handler() {
    let failure = check_no_crash(ViewFactory::of::<NPlusOne>(), &budget(40))
        .expect_err("the refresh handler runs 62 queries per call");
    let text = failure.to_string();
    assert!(text.contains("refresh"), "{text}");
    assert!(text.contains("ran 62 database queries"), "{text}");
    assert!(!text.contains("mount and first render"), "{text}");
}

#[test]
fn the_same_view_in_one_query_passes_and_no_budget_counts_nothing() {
    check_renders(ViewFactory::of::<OneQuery>(), &budget(1)).expect("one query");
    check_no_crash(ViewFactory::of::<OneQuery>(), &budget(1)).expect("one query per event");
    let unbudgeted = SmokeOptions {
        fixture: Some(with_db),
        ..SmokeOptions::default()
    };
    check_renders(ViewFactory::of::<NPlusOne>(), &unbudgeted).expect("no budget set");
}

djust_testing::smoke_tests!(OneQuery with fixture = with_db, max_queries = 1);
