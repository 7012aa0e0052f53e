//! Side-by-side SSR benchmark: djust `html!` vs maud, askama and sailfish on
//! the rosetta-rs template-benchmarks-rs workloads, in one criterion run.
//!
//! Run: `cargo bench -p djust-benches --bench render`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use djust_benches::*;
use std::hint::black_box;

fn big_table(c: &mut Criterion) {
    let table = big_table_data(100);
    let mut group = c.benchmark_group("big_table_100x100");
    group.bench_function(BenchmarkId::from_parameter("djust"), |b| {
        b.iter(|| djust_big_table(black_box(&table)))
    });
    group.bench_function(BenchmarkId::from_parameter("sailfish"), |b| {
        b.iter(|| sailfish_big_table(black_box(&table)))
    });
    group.bench_function(BenchmarkId::from_parameter("maud"), |b| {
        b.iter(|| maud_big_table(black_box(&table)))
    });
    group.bench_function(BenchmarkId::from_parameter("askama"), |b| {
        b.iter(|| askama_big_table(black_box(&table)))
    });
    group.finish();
}

fn teams(c: &mut Criterion) {
    let (year, teams) = teams_data();
    let mut group = c.benchmark_group("teams");
    group.bench_function(BenchmarkId::from_parameter("djust"), |b| {
        b.iter(|| djust_teams(black_box(year), black_box(&teams)))
    });
    group.bench_function(BenchmarkId::from_parameter("sailfish"), |b| {
        b.iter(|| sailfish_teams(black_box(year), black_box(&teams)))
    });
    group.bench_function(BenchmarkId::from_parameter("maud"), |b| {
        b.iter(|| maud_teams(black_box(year), black_box(&teams)))
    });
    group.bench_function(BenchmarkId::from_parameter("askama"), |b| {
        b.iter(|| askama_teams(black_box(year), black_box(&teams)))
    });
    group.finish();
}

criterion_group!(benches, big_table, teams);
criterion_main!(benches);
