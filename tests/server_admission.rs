//! WebSocket admission over real sockets: the per-IP limit is checked
//! before the process-wide cap is charged, refusals happen before the
//! `101` (HTTP 429/503 with `Retry-After`) and hold nothing, an address
//! that keeps churning refused handshakes cools down, and repeated
//! refusals are logged once a second with the count of suppressed lines.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use djust::prelude::*;
use support::*;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

struct Page;

#[live_view(public, name = "page")]
impl Page {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Page)
    }

    fn render(&self) -> Html {
        html! { <p>"hi"</p> }
    }
}

async fn start(config: djust::Config) -> djust::Server {
    App::new()
        .config(config)
        .live("/", Page::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Behind one trusted proxy, so `X-Forwarded-For` names distinct clients.
fn proxied(max_live: usize, refusals_before_cooldown: u32) -> djust::Config {
    djust::Config {
        trusted_proxies: 1,
        max_connections_per_ip: 1,
        max_live_connections: max_live,
        refusals_before_cooldown,
        reconnect_cooldown_secs: 1,
        ..test_config()
    }
}

fn from(ip: &str) -> [(&str, &str); 1] {
    [("X-Forwarded-For", ip)]
}

/// Refused handshakes logged (`WebSocket refused: …`) and the sum of their
/// `suppressed` counts, over the whole test binary (a global subscriber).
#[derive(Default)]
struct Refusals {
    lines: AtomicUsize,
    suppressed: AtomicUsize,
}

struct CountRefusals(&'static Refusals);

struct Fields {
    message: String,
    suppressed: u64,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "suppressed" {
            self.suppressed = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for CountRefusals {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields {
            message: String::new(),
            suppressed: 0,
        };
        event.record(&mut fields);
        if fields.message.starts_with("WebSocket refused") {
            self.0.lines.fetch_add(1, Ordering::SeqCst);
            self.0
                .suppressed
                .fetch_add(fields.suppressed as usize, Ordering::SeqCst);
        }
    }
}

fn refusal_log() -> &'static Refusals {
    static LOG: OnceLock<&'static Refusals> = OnceLock::new();
    LOG.get_or_init(|| {
        let refusals: &'static Refusals = Box::leak(Box::default());
        let subscriber = tracing_subscriber::registry().with(CountRefusals(refusals));
        let _ = tracing::subscriber::set_global_default(subscriber);
        refusals
    })
}

/// One test at a time touches the global log counters.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

#[tokio::test]
async fn per_ip_refusals_do_not_consume_the_global_cap() {
    let _serial = serial().await;
    let server = start(proxied(3, 0)).await;
    let addr = server.local_addr();
    let _a = connect_with(addr, &from("10.0.0.1")).await;
    // One address churning handshakes while at its limit, 20 at once and
    // kept open without reading: each is refused before the 101 and holds
    // no share of the process cap (before, each was upgraded, charged,
    // then closed with a grace of up to 2 s).
    let churn: Vec<_> = (0..20)
        .map(|_| tokio::spawn(async move { try_connect(addr, &from("10.0.0.1")).await }))
        .collect();
    let mut pending = Vec::new();
    for attempt in churn {
        pending.push(attempt.await.expect("task"));
    }
    for attempt in pending.iter_mut() {
        match attempt {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 429);
            }
            other => panic!("expected a refusal before the upgrade, got {other:?}"),
        }
    }
    for _ in 0..100 {
        assert_eq!(connect_refused(addr, &from("10.0.0.1")).await, 429);
    }
    // Two other clients still fit under the cap of 3...
    let _b = connect_with(addr, &from("10.0.0.2")).await;
    let _c = connect_with(addr, &from("10.0.0.3")).await;
    // ...and the cap itself still holds.
    assert_eq!(connect_refused(addr, &from("10.0.0.4")).await, 503);
    drop(pending);
    server.shutdown().await;
}

#[tokio::test]
async fn an_address_that_keeps_churning_refused_handshakes_cools_down() {
    let _serial = serial().await;
    let server = start(proxied(100, 3)).await;
    let addr = server.local_addr();
    let mut held = connect_with(addr, &from("10.0.1.1")).await;
    for _ in 0..3 {
        assert_eq!(connect_refused(addr, &from("10.0.1.1")).await, 429);
    }
    held.close(None).await.expect("close");
    wait_hangup(&mut held).await;
    // Its slot is free, but it is cooling down now.
    assert_eq!(connect_refused(addr, &from("10.0.1.1")).await, 429);
    // Others are not affected.
    let _other = connect_with(addr, &from("10.0.1.2")).await;
    // And the cooldown ends.
    let _back = connect_when_admitted(addr, &from("10.0.1.1")).await;
    server.shutdown().await;
}

#[tokio::test]
async fn repeated_refusals_are_logged_once_a_second_with_a_count() {
    let _serial = serial().await;
    let log = refusal_log();
    let server = start(proxied(100, 0)).await;
    let addr = server.local_addr();
    let _held = connect_with(addr, &from("10.0.2.1")).await;
    let lines_before = log.lines.load(Ordering::SeqCst);
    let suppressed_before = log.suppressed.load(Ordering::SeqCst);
    let started = Instant::now();
    let refused = 300;
    for _ in 0..refused {
        assert_eq!(connect_refused(addr, &from("10.0.2.1")).await, 429);
    }
    // Past the throttle's window, one more line carries the count of
    // everything suppressed meanwhile.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(connect_refused(addr, &from("10.0.2.1")).await, 429);
    let elapsed = started.elapsed().as_secs() as usize;
    let lines = log.lines.load(Ordering::SeqCst) - lines_before;
    let suppressed = log.suppressed.load(Ordering::SeqCst) - suppressed_before;
    assert!(
        lines <= elapsed + 2,
        "{lines} refusal lines in {elapsed} s: one per second is the throttle"
    );
    assert!(lines >= 2, "refusals are still logged: {lines}");
    assert!(
        suppressed >= refused + 1 - lines,
        "the suppressed lines are counted: {suppressed} of {refused}"
    );
    server.shutdown().await;
}
