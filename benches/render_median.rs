//! The SSR workloads of `render.rs` timed a second way: the median over
//! many batches of repeated calls, each engine's batches interleaved with
//! the others' (criterion measures one engine after the other). The two
//! harnesses disagreeing on small pages is what this one is for: see
//! BENCHMARKS.md, "Two harnesses".
//!
//! Run: `cargo bench -p djust-benches --bench render_median`
//! (`RENDER_MEDIAN_SEQUENTIAL=1` runs each engine's batches in one block).

use std::hint::black_box;
use std::time::{Duration, Instant};

use djust_benches::*;

/// Batches per engine, and calls per batch for each workload.
const BATCHES: usize = 301;
const TEAMS_CALLS: usize = 2_000;
const TABLE_CALLS: usize = 20;

/// Nanoseconds per call of `render` over one batch of `calls`.
fn batch(calls: usize, render: &mut dyn FnMut() -> String) -> f64 {
    let started = Instant::now();
    for _ in 0..calls {
        black_box(render());
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

/// `RENDER_MEDIAN_SEQUENTIAL=1`: one engine after the other instead of
/// interleaved batches.
fn sequential() -> bool {
    std::env::var_os("RENDER_MEDIAN_SEQUENTIAL").is_some_and(|value| value == "1")
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs every engine's batches in turn and prints the medians.
fn compare(workload: &str, calls: usize, engines: &mut [(&str, &mut dyn FnMut() -> String)]) {
    // Warm up: caches, the allocator, djust's learned buffer sizes.
    let warm_until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < warm_until {
        for (_, render) in engines.iter_mut() {
            batch(calls, *render);
        }
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(BATCHES); engines.len()];
    if sequential() {
        // As criterion does: all of one engine's batches, then the next's.
        for (index, (_, render)) in engines.iter_mut().enumerate() {
            for _ in 0..BATCHES {
                samples[index].push(batch(calls, *render));
            }
        }
    } else {
        for _ in 0..BATCHES {
            for (index, (_, render)) in engines.iter_mut().enumerate() {
                samples[index].push(batch(calls, *render));
            }
        }
    }
    let medians: Vec<f64> = samples.into_iter().map(median).collect();
    let sailfish = engines
        .iter()
        .position(|(name, _)| *name == "sailfish")
        .map_or(f64::NAN, |index| medians[index]);
    for ((name, _), median) in engines.iter().zip(&medians) {
        println!(
            "{workload:<18} {name:<9} {:>12.1} ns  {:>5.2}x sailfish",
            median,
            median / sailfish
        );
    }
}

fn main() {
    let (year, teams) = teams_data();
    compare(
        "teams",
        TEAMS_CALLS,
        &mut [
            ("djust", &mut || {
                djust_teams(black_box(year), black_box(&teams))
            }),
            ("sailfish", &mut || {
                sailfish_teams(black_box(year), black_box(&teams))
            }),
            ("maud", &mut || {
                maud_teams(black_box(year), black_box(&teams))
            }),
            ("askama", &mut || {
                askama_teams(black_box(year), black_box(&teams))
            }),
        ],
    );
    let table = big_table_data(100);
    compare(
        "big_table_100x100",
        TABLE_CALLS,
        &mut [
            ("djust", &mut || djust_big_table(black_box(&table))),
            ("sailfish", &mut || sailfish_big_table(black_box(&table))),
            ("maud", &mut || maud_big_table(black_box(&table))),
            ("askama", &mut || askama_big_table(black_box(&table))),
        ],
    );
}
