//! The server under test (`djust-soak serve`, a child process of the
//! driver): every setting from `DJUST_*` (the driver sets only what a run
//! needs, printed with the results), one public `persist` view at `/`
//! whose count the clients check after each resume, a 64 KiB page at
//! `/bulk` for the slow readers, and with `--redis`
//! the sessions and persisted views in that Redis.

use djust::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt as _;

/// The secret of the server under test (loopback benchmark only).
const SECRET: &str = "djust-soak secret key, at least thirty-two bytes!";

/// Printed once the server listens, followed by its address.
pub const LISTENING: &str = "listening ";

/// A counter whose value the client knows: every acknowledged `inc` must
/// still be counted after any drop, resume, restart or fault.
#[derive(Serialize, Deserialize)]
pub struct Tally {
    count: u64,
    /// A few hundred bytes of state, like a small form.
    note: String,
}

#[live_view(public, name = "soak", persist)]
impl Tally {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Tally {
            count: 0,
            note: "draft ".repeat(40),
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1>"djust-soak"</h1>
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

/// Asked on stdin: the server answers `detached COUNT BYTES HELD PEAK` on
/// stdout: `Server::detached_views` (the views waiting for their client and
/// the estimate the detached caps count), then the heap bytes it holds now
/// and the most it held since last asked (`heap.rs`).
pub const ASK_DETACHED: &str = "detached";

/// `djust-soak serve [--redis URL]`: serves on 127.0.0.1:0, prints
/// `listening ADDR`, answers [`ASK_DETACHED`] lines, and shuts down
/// gracefully when stdin closes.
pub async fn serve(raw: &[String]) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = djust::Config::from_env().map_err(|error| error.to_string())?;
    config.secret_key = Some(SECRET.to_owned());
    match raw {
        [] => {}
        [flag, url] if flag == "--redis" => config.redis_url = Some(url.clone()),
        other => return Err(format!("serve: unexpected arguments {other:?}")),
    }
    let server = App::new()
        .title("djust-soak")
        .config(config)
        .live("/", Tally::view())
        .live("/bulk", Bulk::view())
        .bind("127.0.0.1:0")
        .await
        .map_err(|error| error.to_string())?;
    crate::heap::track_peak();
    println!("{LISTENING}{}", server.local_addr());
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim() == ASK_DETACHED {
            let (count, bytes) = server.detached_views();
            let peak = crate::heap::take_peak();
            let held = crate::heap::held_bytes();
            println!("{ASK_DETACHED} {count} {bytes} {held} {peak}");
        }
    }
    server.shutdown().await;
    Ok(())
}

/// A large page (about 64 KiB) for the slow readers: each `request_html`
/// makes the server send all of it.
pub struct Bulk {
    rows: Vec<String>,
}

#[live_view(public, name = "bulk")]
impl Bulk {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Bulk {
            rows: (0..1024)
                .map(|i| format!("row {i:05} {}", "x".repeat(48)))
                .collect(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <ul>for (index, row) in self.rows.iter().enumerate() key = index { <li>{row}</li> }</ul>
        }
    }
}
