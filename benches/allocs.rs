//! Allocation counts per render and per live update (issues 3 and 4).
//!
//! Not a timing benchmark: a counting global allocator (`stats_alloc`, an
//! atomic counter around the system allocator, no `unsafe` needed here) would
//! slow down every allocation, so it lives in this separate binary and the
//! criterion benches run with the plain system allocator. Each scenario runs
//! once to warm up, then once inside a counting region.
//!
//! Run: `cargo bench -p djust-benches --bench allocs`

use djust::runtime::template::mode::render_nodes;
use djust::runtime::vdom::diff;
use djust_benches::*;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Runs `work` once to warm up, then once counted; prints one table row.
fn count<T>(name: &str, mut work: impl FnMut() -> T) {
    drop(black_box(work()));
    let region = Region::new(GLOBAL);
    let output = black_box(work());
    drop(output);
    let stats = region.change();
    println!(
        "| {name} | {} | {} | {} |",
        stats.allocations, stats.reallocations, stats.bytes_allocated
    );
}

fn main() {
    println!("| scenario | allocations | reallocations | bytes allocated |");
    println!("| --- | ---: | ---: | ---: |");

    let table = big_table_data(100);
    count("big_table_100x100 / djust", || djust_big_table(&table));
    count("big_table_100x100 / sailfish", || {
        sailfish_big_table(&table)
    });
    count("big_table_100x100 / maud", || maud_big_table(&table));
    count("big_table_100x100 / askama", || askama_big_table(&table));
    let (year, teams) = teams_data();
    count("teams / djust", || djust_teams(year, &teams));
    count("teams / sailfish", || sailfish_teams(year, &teams));
    count("teams / maud", || maud_teams(year, &teams));
    count("teams / askama", || askama_teams(year, &teams));

    let mut new_table = table.clone();
    new_table[42][17] = 4242;
    let old = render_nodes(|| big_table_view(&table));
    let new = render_nodes(|| big_table_view(&new_table));
    count("big_table_one_cell / ssr_full_render", || {
        ssr(|| big_table_view(&new_table))
    });
    count(
        "big_table_one_cell / update (render + diff + encode)",
        || live_update(&old, || big_table_view(&new_table)),
    );
    count("big_table_one_cell / stage: render VDOM", || {
        render_nodes(|| big_table_view(&new_table))
    });
    count("big_table_one_cell / stage: diff", || diff(&old, &new));

    for op in js_operations() {
        let old = render_nodes(|| op.before.view());
        count(&format!("js_framework / update / {}", op.name), || {
            live_update(&old, || op.after.view())
        });
    }
}
