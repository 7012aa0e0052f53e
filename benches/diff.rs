//! Live-update benchmark (issue 4): what one update costs compared with a
//! full server-side render, on the 100×100 big table with one changed cell
//! and on the js-framework-benchmark operations over a keyed table.
//!
//! Every update is measured as the runtime performs it
//! (`LiveSession::rerender`): render the view as VDOM, diff against the
//! previous tree, encode the `patch` frame as JSON. Frame sizes and patch
//! counts are printed before the timings.
//!
//! Run: `cargo bench -p djust-benches --bench diff`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use djust::runtime::protocol::ServerMessage;
use djust::runtime::template::mode::render_nodes;
use djust::runtime::vdom::diff;
use djust_benches::*;
use std::hint::black_box;

fn big_table_one_cell(c: &mut Criterion) {
    let old_table = big_table_data(100);
    let mut new_table = old_table.clone();
    new_table[42][17] = 4242;
    let old = render_nodes(|| big_table_view(&old_table));
    let new = render_nodes(|| big_table_view(&new_table));
    let html = ssr(|| big_table_view(&new_table));
    let (_, patches, frame) = live_update(&old, || big_table_view(&new_table));
    println!(
        "big_table_one_cell: full HTML {} bytes, patch frame {} bytes ({patches} patch): {frame}",
        html.len(),
        frame.len()
    );

    let mut group = c.benchmark_group("big_table_one_cell");
    group.bench_function("ssr_full_render", |b| {
        b.iter(|| ssr(|| big_table_view(black_box(&new_table))))
    });
    group.bench_function("update_render_diff_encode", |b| {
        b.iter(|| live_update(black_box(&old), || big_table_view(black_box(&new_table))))
    });
    // The three stages of an update on their own, to see where time goes.
    group.bench_function("stage_render_vdom", |b| {
        b.iter(|| render_nodes(|| big_table_view(black_box(&new_table))))
    });
    group.bench_function("stage_diff", |b| {
        b.iter(|| diff(black_box(&old), black_box(&new)))
    });
    let patches = diff(&old, &new).unwrap_or_default();
    group.bench_function("stage_encode", |b| {
        b.iter(|| {
            ServerMessage::Patch {
                patches: black_box(&patches).clone(),
                version: 2,
                reference: Some(1),
            }
            .to_json()
        })
    });
    group.finish();
}

fn js_framework(c: &mut Criterion) {
    let operations = js_operations();
    println!("js_framework: operation, patches, patch frame bytes, full HTML bytes after");
    for op in &operations {
        let old = render_nodes(|| op.before.view());
        let (_, patches, frame) = live_update(&old, || op.after.view());
        let html = ssr(|| op.after.view());
        println!(
            "js_framework: {}, {patches}, {}, {}",
            op.name,
            frame.len(),
            html.len()
        );
    }

    let mut group = c.benchmark_group("js_framework");
    group.sample_size(30);
    for op in &operations {
        let old = render_nodes(|| op.before.view());
        group.bench_function(BenchmarkId::new("update", op.name), |b| {
            b.iter(|| live_update(black_box(&old), || black_box(&op.after).view()))
        });
        group.bench_function(BenchmarkId::new("ssr_after", op.name), |b| {
            b.iter(|| ssr(|| black_box(&op.after).view()))
        });
    }
    group.finish();
}

criterion_group!(benches, big_table_one_cell, js_framework);
criterion_main!(benches);
