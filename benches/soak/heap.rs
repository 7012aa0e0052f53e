//! The process's heap as its allocator counts it: every allocation goes
//! through a counting global allocator (`stats_alloc`), so the server can
//! report the bytes it holds now and the most it held since last asked.
//! RSS also counts what the allocator keeps after a free (holes between
//! live blocks, per-thread caches); these numbers do not, which is how a
//! flood's report tells the framework's memory from the allocator's.

use std::alloc::System;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::time::Duration;

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// glibc's per-allocation header (the size word, rounded to 16 bytes),
/// which the requested sizes leave out.
const CHUNK_OVERHEAD: i64 = 16;

/// The most bytes held since [`take_peak`] was last called.
static PEAK: AtomicI64 = AtomicI64::new(0);

/// Bytes held now: requested sizes plus the allocator's header per block.
pub fn held_bytes() -> i64 {
    let stats = GLOBAL.stats();
    // `stats_alloc` adds a realloc's growth to `bytes_allocated` (its
    // shrinking to `bytes_deallocated`).
    let bytes = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64;
    let blocks = stats.allocations as i64 - stats.deallocations as i64;
    bytes + CHUNK_OVERHEAD * blocks
}

/// Samples [`held_bytes`] every 10 ms into the peak, for as long as the
/// runtime runs.
pub fn track_peak() {
    tokio::spawn(async {
        let mut every = tokio::time::interval(Duration::from_millis(10));
        loop {
            every.tick().await;
            PEAK.fetch_max(held_bytes(), Relaxed);
        }
    });
}

/// The peak since the last call, which starts a new one from now.
pub fn take_peak() -> i64 {
    let now = held_bytes();
    PEAK.swap(now, Relaxed).max(now)
}
