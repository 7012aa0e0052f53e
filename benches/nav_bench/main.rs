//! `djust-nav-bench`: live navigation against a full page load of the same
//! route, in one headless Chromium run (issue 18).
//!
//! It starts the contacts example itself on 127.0.0.1:0 (an in-memory
//! database with the sample contacts), logs in as `admin` through the login
//! form, then, for each of `--runs` rounds (after `--warmup` rounds not
//! counted), loads the list afresh and clicks a contact's name:
//!
//! - **live**: the link as rendered (`dj-navigate`): the contact's view is
//!   mounted over the open socket, no page load;
//! - **full**: the same link with `dj-navigate` removed first, so the
//!   browser loads `/contacts/{id}` like any link.
//!
//! The modes alternate (which goes first alternates too) and cycle through
//! the contacts of the first page. A probe script served with the app
//! (`probe.js`) stamps the moment the new page is painted and interactive:
//! after a live navigation, the first frame after the new view's HTML was
//! applied; after a full load, the first frame after the new page's socket
//! mounted its view (events work from then on). The click's time is taken
//! in the page just before `click()` and kept in `sessionStorage`, so both
//! are measured from the same point on the same clock.
//!
//! Bounded: every wait has a deadline, the whole run has one
//! (`--deadline` seconds), and everything is on loopback. Needs `chromium`
//! and `chromedriver` (`DJUST_CHROMIUM`, `DJUST_CHROMEDRIVER` override).
//!
//! ```text
//! cargo run --release -p djust-benches --bin djust-nav-bench -- [--runs 20] [--warmup 3] [--deadline 300]
//! ```

#![forbid(unsafe_code)]

// The contacts example's modules (not its `main.rs`).
#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../examples/contacts"]
mod contacts {
    pub mod app;
    pub mod auth;
    pub mod db;
    pub mod layout;
    pub mod views;
    pub use app::app;
}
// The browser harness of the end-to-end tests: chromedriver on a free
// port, a headless Chromium profile removed on exit, bounded waits.
#[allow(unreachable_pub, missing_docs)]
#[path = "../../tests/e2e_support/mod.rs"]
mod e2e_support;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_support::page::{click, type_into, wait_connected};
use e2e_support::Browser;
use serde_json::{json, Value};

/// The probe, served at `/navbench/probe.js` on every page.
const PROBE: &str = include_str!("probe.js");

/// Longest one navigation may take before the run fails.
const NAV_TIMEOUT: Duration = Duration::from_secs(15);

/// The command line.
struct Options {
    runs: usize,
    warmup: usize,
    deadline: Duration,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        runs: 20,
        warmup: 3,
        deadline: Duration::from_secs(300),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|value| value.parse::<u64>().ok())
                .ok_or_else(|| format!("{name} takes a whole number"))
        };
        match arg.as_str() {
            "--runs" => options.runs = number("--runs")?.clamp(1, 1_000) as usize,
            "--warmup" => options.warmup = number("--warmup")?.min(100) as usize,
            "--deadline" => {
                options.deadline = Duration::from_secs(number("--deadline")?.clamp(10, 3_600))
            }
            "--help" | "-h" => {
                return Err(
                    "usage: djust-nav-bench [--runs N (20)] [--warmup N (3)] [--deadline SECONDS (300)]"
                        .to_owned(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(options)
}

/// How the contact's page is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Live,
    Full,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Full => "full",
        }
    }

    /// The probe's mark this mode must produce.
    fn mark(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Full => "load",
        }
    }
}

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median, p90, min, max and mean of `values` (milliseconds).
struct Summary {
    median: f64,
    p90: f64,
    min: f64,
    max: f64,
    mean: f64,
}

fn summarise(values: &[f64]) -> Summary {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Summary {
        median: quantile(&sorted, 0.5),
        p90: quantile(&sorted, 0.9),
        min: sorted.first().copied().unwrap_or(f64::NAN),
        max: sorted.last().copied().unwrap_or(f64::NAN),
        mean: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
    }
}

/// A fresh load of the list, connected; returns the ids of its rows.
async fn fresh_list(browser: &Browser, base: &str) -> Vec<String> {
    browser.goto(&format!("{base}/")).await;
    wait_connected(browser).await;
    let ids = browser
        .execute(
            "return [...document.querySelectorAll('#rows tr')].map((tr) => tr.dataset.id);",
            vec![],
        )
        .await;
    ids.as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Clicks contact `id`'s name on the list in `mode`; returns the
/// milliseconds from the click to the contact's page painted and
/// interactive.
async fn navigate(browser: &Browser, mode: Mode, id: &str) -> Result<f64, String> {
    let clicked = browser
        .execute(
            "const [id, full] = arguments;
             const link = document.querySelector(`#rows tr[data-id=\"${id}\"] td.name a`);
             if (!link) return false;
             if (full) link.removeAttribute('dj-navigate');
             window.__navbench = null;
             sessionStorage.setItem('navbench_t0', String(performance.timeOrigin + performance.now()));
             link.click();
             return true;",
            vec![json!(id), json!(mode == Mode::Full)],
        )
        .await;
    if clicked != json!(true) {
        return Err(format!("no link to contact {id} on the list"));
    }
    let path = format!("/contacts/{id}");
    let deadline = Instant::now() + NAV_TIMEOUT;
    loop {
        // Chromium may be between documents during a full load: a failed
        // script is retried until the deadline.
        let polled = tokio::time::timeout(
            Duration::from_secs(5),
            browser.client().execute(
                "const mark = window.__navbench;
                 const t0 = Number(sessionStorage.getItem('navbench_t0'));
                 if (!mark || location.pathname !== arguments[0]) return null;
                 return { kind: mark.kind, ms: mark.at - t0 };",
                vec![json!(path)],
            ),
        )
        .await;
        if let Ok(Ok(Value::Object(mark))) = polled {
            let kind = mark.get("kind").and_then(Value::as_str).unwrap_or_default();
            if kind != mode.mark() {
                return Err(format!(
                    "{} navigation to {path} ended as {kind:?}, not {:?}",
                    mode.name(),
                    mode.mark()
                ));
            }
            return mark
                .get("ms")
                .and_then(Value::as_f64)
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .ok_or_else(|| format!("bad measurement {mark:?}"));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} navigation to {path} not done within {NAV_TIMEOUT:?}",
                mode.name()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(options: Options) -> Result<(), String> {
    let scratch = std::env::temp_dir().join(format!(
        "djust-nav-bench-{}",
        djust::runtime::auth::generate_token()
    ));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("scratch directory: {e}"))?;
    let result = bench(&options, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn bench(options: &Options, scratch: &std::path::Path) -> Result<(), String> {
    std::fs::write(scratch.join("probe.js"), PROBE).map_err(|e| format!("probe: {e}"))?;
    let db = contacts::db::Db::in_memory().map_err(|e| format!("database: {e}"))?;
    db.seed_contacts().map_err(|e| format!("seed: {e}"))?;
    db.seed_users().map_err(|e| format!("seed users: {e}"))?;
    let server = contacts::app(Arc::new(db))
        .static_dir("navbench", scratch)
        .script("/navbench/probe.js")
        .config(djust::Config {
            secret_key: Some(djust::runtime::auth::generate_token()),
            ..djust::Config::default()
        })
        .bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let base = format!("http://{}", server.local_addr());
    let Some(browser) = Browser::start().await else {
        server.shutdown().await;
        return Err("chromium/chromedriver not found".to_owned());
    };
    let outcome = measure(options, &browser, &base).await;
    browser.close().await;
    server.shutdown().await;
    let (live, full) = outcome?;
    report(options, &live, &full);
    Ok(())
}

async fn measure(
    options: &Options,
    browser: &Browser,
    base: &str,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let started = Instant::now();
    browser.goto(&format!("{base}/login?next=/")).await;
    type_into(browser, "input[name=username]", "admin").await;
    type_into(browser, "input[name=password]", "admin-demo-2026").await;
    click(browser, "form[action='/login'] button[type=submit]").await;
    let ids = fresh_list(browser, base).await;
    if ids.is_empty() {
        return Err("the list shows no contacts (did the login fail?)".to_owned());
    }
    let (mut live, mut full) = (Vec::new(), Vec::new());
    for round in 0..options.warmup + options.runs {
        let order = if round % 2 == 0 {
            [Mode::Live, Mode::Full]
        } else {
            [Mode::Full, Mode::Live]
        };
        let id = &ids[round % ids.len()];
        for mode in order {
            if started.elapsed() > options.deadline {
                return Err(format!("deadline of {:?} passed", options.deadline));
            }
            fresh_list(browser, base).await;
            // Let the fresh page settle (its socket mounted, idle).
            tokio::time::sleep(Duration::from_millis(100)).await;
            let ms = navigate(browser, mode, id).await?;
            if round >= options.warmup {
                match mode {
                    Mode::Live => live.push(ms),
                    Mode::Full => full.push(ms),
                }
            }
        }
    }
    Ok((live, full))
}

fn report(options: &Options, live: &[f64], full: &[f64]) {
    let (l, f) = (summarise(live), summarise(full));
    println!(
        "djust-nav-bench: click to painted and interactive, contacts list -> /contacts/{{id}}, {} navigations each (after {} warm-up rounds)",
        options.runs, options.warmup
    );
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "mode", "median", "p90", "mean", "min", "max"
    );
    for (name, s) in [("live navigation (socket)", &l), ("full page load", &f)] {
        println!(
            "{name:<26} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.1}ms",
            s.median, s.p90, s.mean, s.min, s.max
        );
    }
    let ratio = l.median / f.median;
    println!(
        "ratio live/full: median {ratio:.3}, p90 {:.3}; goal (live <= 1/3 of a full load): {}",
        l.p90 / f.p90,
        if ratio <= 1.0 / 3.0 { "met" } else { "NOT met" }
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("djust-nav-bench: {message}");
            ExitCode::FAILURE
        }
    }
}
