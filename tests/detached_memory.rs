//! The detached-view memory cap counts what detached views really cost
//! (issue 20): this test binary counts every allocation (its own global
//! allocator, `stats_alloc`), detaches views over real sockets, and
//! compares the memory they hold, as counted, with the estimate the caps
//! use (`Server::detached_views`). No timing: a ratio bound on bytes.
//!
//! "Held" counts the bytes allocated and not freed, plus 16 bytes per
//! live allocation (glibc malloc's chunk header and alignment on 64-bit),
//! which is what the process's RSS grows by.

mod support;

use std::alloc::System;
use std::net::SocketAddr;
use std::time::Duration;

use djust::prelude::*;
use serde::{Deserialize, Serialize};
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use support::*;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Views detached per measure: enough that per-process noise (the
/// runtime's slabs and tables) is small against them.
const VIEWS: usize = 1_000;

/// Sockets opened at a time.
const BATCH: usize = 50;

/// Bytes an allocation costs beyond what it asked for.
const CHUNK_OVERHEAD: i64 = 16;

/// A small form-like view (the `djust-soak` one): a count and a few
/// hundred bytes of text.
#[derive(Serialize, Deserialize)]
struct Form {
    count: u64,
    note: String,
}

#[live_view(public, name = "form", persist)]
impl Form {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Form {
            count: 0,
            note: "draft ".repeat(40),
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1>"Form"</h1>
            <p id="n">{self.count}</p>
            <textarea name="note">{&self.note}</textarea>
            <button dj-click="inc">"+1"</button>
        }
    }

    #[event_handler]
    fn inc(&mut self) {
        self.count += 1;
    }
}

/// A view holding much more state than it renders: its memory is in the
/// state, not the tree.
#[derive(Serialize, Deserialize)]
struct Ledger {
    rows: Vec<String>,
}

#[live_view(public, name = "ledger", persist)]
impl Ledger {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Ledger {
            rows: (0..64)
                .map(|i| format!("row {i:03} {}", "x".repeat(40)))
                .collect(),
        })
    }

    fn render(&self) -> Html {
        html! { <p>{self.rows.len()}" rows"</p> }
    }
}

/// Bytes held now, as counted (see the module docs).
fn held() -> i64 {
    let stats = GLOBAL.stats();
    // `stats_alloc` adds a realloc's growth to `bytes_allocated` (its
    // shrinking to `bytes_deallocated`) and again to `bytes_reallocated`.
    let bytes = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64;
    let live = stats.allocations as i64 - stats.deallocations as i64;
    bytes + CHUNK_OVERHEAD * live
}

/// Mounts `count` views of `view` at `path` and drops every socket
/// without a close (the views detach), `BATCH` at a time; with `close`
/// the sockets close normally instead (nothing is kept).
async fn mount_and_leave(addr: SocketAddr, path: &str, view: &str, count: usize, close: bool) {
    let page = get(addr, path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = mount_token(&page.body);
    let mut left = count;
    while left > 0 {
        let batch = left.min(BATCH);
        left -= batch;
        let sockets = futures_util::future::join_all((0..batch).map(|_| async {
            let mut socket = connect(addr).await;
            send_mount(&mut socket, view, &token, path).await;
            let mounted = recv(&mut socket).await.expect("mount frame");
            assert_eq!(mounted["type"], "mount", "{mounted}");
            socket
        }))
        .await;
        for mut socket in sockets {
            if close {
                socket.close(None).await.expect("close");
                let _ = until_close(&mut socket).await;
            }
        }
    }
}

/// Waits until the server holds `count` detached views.
async fn until_detached(server: &djust::Server, count: usize) {
    for _ in 0..2_000 {
        if server.detached_views().0 == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{count} views never detached: {:?}",
        server.detached_views()
    );
}

/// Held bytes per detached view of `view`, and the estimate per view.
async fn measure(server: &djust::Server, path: &str, view: &str) -> (f64, f64) {
    let addr = server.local_addr();
    // Warm up: the runtime's tables and slabs grow to the batch size.
    mount_and_leave(addr, path, view, 2 * BATCH, true).await;
    let (before_views, before_estimate) = server.detached_views();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = held();
    mount_and_leave(addr, path, view, VIEWS, false).await;
    until_detached(server, before_views + VIEWS).await;
    // Let the dropped sockets' tasks finish freeing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown = held() - before;
    let (_, estimate) = server.detached_views();
    (
        grown as f64 / VIEWS as f64,
        (estimate - before_estimate) as f64 / VIEWS as f64,
    )
}

async fn run() {
    let server = App::new()
        .config(djust::Config {
            reconnect_grace_secs: 600,
            max_connections_per_ip: 100_000,
            http_max_connections_per_ip: 100_000,
            max_detached_per_ip: 100_000,
            max_detached_views: 100_000,
            max_detached_bytes: usize::MAX,
            ..test_config()
        })
        .live("/", Form::view())
        .live("/ledger", Ledger::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    for (path, view) in [("/", "form"), ("/ledger", "ledger")] {
        let (held, estimate) = measure(&server, path, view).await;
        let ratio = estimate / held;
        println!("{view}: held {held:.0} B per detached view, estimated {estimate:.0} B (ratio {ratio:.2})");
        assert!(
            (0.9..=1.5).contains(&ratio),
            "{view}: the estimate ({estimate:.0} B) must count what a detached view holds ({held:.0} B)"
        );
    }
    server.shutdown().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
    println!("test detached_views_cost_what_the_cap_counts ... ok");
}
