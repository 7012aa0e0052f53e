//! Query budgets: how many database queries a render or a handler ran.
//!
//! A database layer reports each statement it runs with [`record_query`];
//! the count is kept per thread, because a view's `mount`, `render` and
//! handlers run on the thread that drives their socket (and the test
//! client runs them on its own thread), while the hooks database crates
//! offer are plain function pointers that cannot carry a per-connection
//! counter. [`QueryScope`] measures a stretch of code, and the smoke tests'
//! `max_queries` budget (`djust_testing::smoke_tests!`) uses it to fail a
//! render or a handler that runs more queries than allowed: the N+1 query
//! that turns one page into a hundred round trips shows up in `cargo test`.
//!
//! A layer that keeps its own count (a pool with an atomic counter, an ORM
//! with instrumentation) implements [`QueryCounter`] instead.
//!
//! # rusqlite
//!
//! SQLite reports every finished statement to a `trace_v2` hook (rusqlite's
//! `trace` feature); a non-capturing closure is a function pointer:
//!
//! ```ignore
//! use rusqlite::trace::{TraceEvent, TraceEventCodes};
//!
//! conn.trace_v2(
//!     TraceEventCodes::SQLITE_TRACE_PROFILE,
//!     Some(|_: TraceEvent<'_>| djust::queries::record_query()),
//! );
//! ```
//!
//! # sqlx and diesel
//!
//! diesel 2.2: `connection.set_instrumentation(|event: InstrumentationEvent<'_>| {
//! if matches!(event, InstrumentationEvent::FinishQuery { .. }) {
//! djust::queries::record_query() } })`. sqlx runs queries on its own
//! tasks, so count where the handler awaits them: wrap the executor (or
//! your repository functions) so each call records one query, or implement
//! [`QueryCounter`] over a counter your wrapper increments.

use std::cell::Cell;

thread_local! {
    static QUERIES: Cell<u64> = const { Cell::new(0) };
}

/// Records one query run on this thread (call it from a database layer's
/// statement hook).
pub fn record_query() {
    QUERIES.with(|count| count.set(count.get().saturating_add(1)));
}

/// Queries recorded on this thread so far (it only grows).
pub fn queries_run() -> u64 {
    QUERIES.with(Cell::get)
}

/// A source of a growing count of queries run.
pub trait QueryCounter: Send + Sync {
    /// Queries run so far, as this layer counts them.
    fn queries_run(&self) -> u64;
}

/// The per-thread count of [`record_query`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadQueries;

impl QueryCounter for ThreadQueries {
    fn queries_run(&self) -> u64 {
        queries_run()
    }
}

/// The queries run between [`QueryScope::start`] and
/// [`QueryScope::queries`], as `counter` counts them.
pub struct QueryScope<'a> {
    counter: &'a dyn QueryCounter,
    start: u64,
}

impl<'a> QueryScope<'a> {
    /// Starts counting now.
    pub fn start(counter: &'a dyn QueryCounter) -> Self {
        QueryScope {
            counter,
            start: counter.queries_run(),
        }
    }

    /// Queries run since the start.
    pub fn queries(&self) -> u64 {
        self.counter.queries_run().saturating_sub(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_counts_what_ran_on_its_thread_only() {
        let scope = QueryScope::start(&ThreadQueries);
        record_query();
        record_query();
        std::thread::spawn(|| {
            record_query();
            assert_eq!(queries_run(), 1);
        })
        .join()
        .expect("thread");
        assert_eq!(scope.queries(), 2);
    }
}
