//! Running out of file descriptors is load, not failure (issue 23, finding
//! 1): with the process's open-file table full, `accept` fails with
//! `EMFILE`. The server takes a queued client with the descriptor it keeps
//! spare, closes a connection that waits on its client to have the spare
//! back, and keeps serving. With nobody queued it closes nothing (the
//! kernel says `EMFILE` for an empty queue too: a connection the server
//! just took must not be closed for a newcomer that does not exist), backs
//! off (never a busy loop) and logs at most once a second with the count of
//! errors left out.
//!
//! Alone in its test binary: it lowers this process's own open-file limit
//! (`prlimit --pid`) and fills its table with `/dev/null` handles.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use djust::prelude::*;
use support::raw::*;
use support::*;

struct Hello;

#[live_view(public, name = "hello")]
impl Hello {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Hello)
    }

    fn render(&self) -> Html {
        html! { <p>"hello"</p> }
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// This process's open-file limits `(soft, hard)`.
fn nofile_limits() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

fn set_soft_nofile(soft: u64, hard: u64) -> bool {
    std::process::Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={soft}:{hard}"))
        .status()
        .is_ok_and(|status| status.success())
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64)
}

/// Opens `/dev/null` until the table is full.
fn fill_table() -> Vec<std::fs::File> {
    let mut files = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        files.push(file);
        assert!(files.len() < 100_000, "the limit did not apply");
    }
    files
}

/// `(logged lines, largest "suppressed" count)` of the accept errors.
fn accept_errors(log: &str) -> (usize, u64) {
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("accept failed"))
        .collect();
    let most_suppressed = lines
        .iter()
        .filter_map(|line| {
            let at = line.find("suppressed=")? + "suppressed=".len();
            line[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0);
    (lines.len(), most_suppressed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_server_takes_a_queued_client_and_closes_nothing_for_nobody() {
    if !set_soft_nofile(nofile_limits().0, nofile_limits().1) {
        assert!(
            std::env::var_os("CI").is_none(),
            "prlimit (util-linux) is missing but CI is set"
        );
        eprintln!("skipping: prlimit (util-linux) is not available");
        return;
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .init();
    let server = App::new()
        .config(test_config())
        .live("/", Hello::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    assert_eq!(get(addr, "/").await.status, 200);
    let (soft, hard) = nofile_limits();
    assert!(set_soft_nofile(open_fds() + 64, hard), "lower the limit");
    let mut filler = fill_table();
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");

    // 1. Table full, one client queued: the server takes it with its spare
    //    descriptor. Then nobody is queued and no descriptor is free: the
    //    server backs off instead of spinning, logs once a second, and does
    //    not close the connection it took (its client is merely slow).
    drop(filler.pop());
    let mut quiet = connect_from(loopback(1), addr).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (lines, most_suppressed) = accept_errors(&buffer.text());
    assert!(
        (2..=4).contains(&lines),
        "{lines} lines:\n{}",
        buffer.text()
    );
    assert!(
        most_suppressed <= 20,
        "{most_suppressed} errors between two lines: a busy loop\n{}",
        buffer.text()
    );
    assert!(
        !buffer.text().contains("closed a connection waiting"),
        "a connection was closed for a client that did not exist:\n{}",
        buffer.text()
    );
    assert!(send(&mut quiet, request.as_bytes()).await);
    let served = read_until_closed(&mut quiet, HANG).await;
    assert_eq!(
        served.status(),
        Some(200),
        "the client taken with the spare got {:?}\nlog:\n{}",
        String::from_utf8_lossy(&served.received),
        buffer.text()
    );

    // 2. Descriptors free again: served as usual.
    for _ in 0..3 {
        drop(filler.pop());
    }
    let mut again = connect_from(loopback(2), addr).await;
    assert!(send(&mut again, request.as_bytes()).await);
    assert_eq!(
        read_until_closed(&mut again, HANG).await.status(),
        Some(200)
    );

    // 3. Full again with an idle connection open and a newcomer queued:
    //    the newcomer takes the spare, the idle connection is closed to
    //    have it back, and the newcomer is served.
    let mut idle = connect_from(loopback(3), addr).await;
    let accepted = open_fds() + 1;
    for _ in 0..100 {
        if open_fds() >= accepted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    filler.extend(fill_table());
    drop(filler.pop());
    let mut newcomer = connect_from(loopback(4), addr).await;
    let ended = read_until_closed(&mut idle, HANG).await;
    assert!(
        ended.closed,
        "the idle connection was not closed to free a descriptor"
    );
    assert!(send(&mut newcomer, request.as_bytes()).await);
    let served = read_until_closed(&mut newcomer, HANG).await;
    assert_eq!(
        served.status(),
        Some(200),
        "newcomer got {:?}\nlog:\n{}",
        String::from_utf8_lossy(&served.received),
        buffer.text()
    );

    drop(filler);
    assert!(set_soft_nofile(soft, hard), "restore the limit");
    drop((quiet, again, idle, newcomer));
    server.shutdown().await;
}
