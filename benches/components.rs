//! Components benchmark (issue 19): a page of 100 stateful components
//! where one changes, against the same page written as one view.
//!
//! Both pages render the same 100 rows (a label, a number, a button).
//! `components` embeds each row as a `#[live_component]` and the event
//! goes to one of them by id (`target: "cell:42"`); `one_view` keeps the
//! 100 numbers in the view and the event names the row (`i: 42`). Each
//! iteration is one event through the whole protocol core (the JSON frame
//! in, the gates, dispatch, render, diff, the patch frame out), driven by
//! `TestClient` as the server drives a socket. The patch frame of one
//! update of each is printed first (bytes, patches).
//!
//! Run: `cargo bench -p djust-benches --bench components`

use criterion::{criterion_group, criterion_main, Criterion};
use djust::prelude::*;
use djust::runtime::protocol::ServerMessage;
use djust_testing::{EventResult, TestClient, TestClientBuilder};
use serde_json::json;

const ROWS: usize = 100;
const CHANGED: usize = 42;

struct Cell {
    label: String,
    hits: u64,
}

#[live_component]
impl Cell {
    fn mount(label: String) -> Self {
        Cell { label, hits: 0 }
    }

    fn render(&self) -> Html {
        html! {
            <span class="label">{self.label}</span>
            <b>{self.hits}</b>
            <button dj-click="hit">"hit"</button>
        }
    }

    #[event_handler]
    fn hit(&mut self) {
        self.hits += 1;
    }
}

struct WithComponents {
    labels: Vec<String>,
}

#[live_view(public, name = "with_components")]
impl WithComponents {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(WithComponents {
            labels: (0..ROWS).map(|i| format!("row {i}")).collect(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <main>
                for (i, label) in self.labels.iter().enumerate() key = i {
                    {live_component::<Cell>(("cell", i), label.clone())}
                }
            </main>
        }
    }
}

struct OneView {
    labels: Vec<String>,
    hits: Vec<u64>,
}

#[live_view(public, name = "one_view")]
impl OneView {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(OneView {
            labels: (0..ROWS).map(|i| format!("row {i}")).collect(),
            hits: vec![0; ROWS],
        })
    }

    fn render(&self) -> Html {
        html! {
            <main>
                for (i, (label, hits)) in self.labels.iter().zip(&self.hits).enumerate() key = i {
                    <div>
                        <span class="label">{label}</span>
                        <b>{hits}</b>
                        <button dj-click="hit" dj-value-i={i}>"hit"</button>
                    </div>
                }
            </main>
        }
    }

    #[event_handler]
    fn hit(&mut self, i: usize) {
        if let Some(hits) = self.hits.get_mut(i) {
            *hits += 1;
        }
    }
}

/// No connection-level limit in the way of a tight loop.
fn unlimited(builder: TestClientBuilder) -> TestClientBuilder {
    builder.config(djust::Config {
        rate_per_second: 1e9,
        rate_burst: u32::MAX,
        ..djust::Config::default()
    })
}

fn patch_frame(result: &EventResult) -> (usize, usize) {
    result
        .frames
        .iter()
        .find_map(|frame| match frame {
            ServerMessage::Patch { patches, .. } => Some((frame.to_json().len(), patches.len())),
            _ => None,
        })
        .unwrap_or((0, 0))
}

fn one_of_a_hundred(c: &mut Criterion) {
    let mut components = unlimited(TestClient::build::<WithComponents>())
        .mount()
        .expect("mount");
    let mut single = unlimited(TestClient::build::<OneView>())
        .mount()
        .expect("mount");
    let target = format!("cell:{CHANGED}");
    let (bytes, patches) = patch_frame(&components.event_to(&target, "hit", json!({})));
    println!(
        "components: page {} bytes; one update: patch frame {bytes} bytes ({patches} patch)",
        components.html().len()
    );
    let (bytes, patches) = patch_frame(&single.event("hit", json!({ "i": CHANGED })));
    println!(
        "one_view:   page {} bytes; one update: patch frame {bytes} bytes ({patches} patch)",
        single.html().len()
    );

    let mut group = c.benchmark_group("one_of_100_changes");
    group.bench_function("components", |b| {
        b.iter(|| components.event_to(&target, "hit", json!({})))
    });
    group.bench_function("one_view", |b| {
        b.iter(|| single.event("hit", json!({ "i": CHANGED })))
    });
    group.finish();
}

criterion_group!(benches, one_of_a_hundred);
criterion_main!(benches);
