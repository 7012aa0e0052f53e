//! `djust-upload-bench`: upload throughput, server memory and CPU per MB,
//! side by side with plain binary echo over the same kind of socket, in
//! one run. Not part of `cargo test`; loopback only, bounded in size.
//!
//! ```text
//! cargo run --release -p djust-benches --bin djust-upload-bench -- [--mb 100] [--runs 3]
//! ```
//!
//! Each server runs in its own child process (this binary with `--serve
//! djust|echo`) so its RSS and CPU time are its own:
//!
//! - `djust`: an `App` with one view and an upload slot; the client
//!   announces the file and sends 64 KiB binary chunks, each after the
//!   previous `upload_ack` (the protocol's flow control), through every
//!   check (size, type sniffing, markup scan, temp file);
//! - `echo`: a bare tokio-tungstenite server that sends each binary frame
//!   back; the client sends 64 KiB frames, each after the previous echo.
//!
//! Reported per run: MB/s, the server's RSS before, at its peak and after,
//! and the server's CPU time (user + system) per MB.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use djust::prelude::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

/// Binary frames of at most 64 KiB, reference included.
const FRAME: usize = 64 * 1024;

struct Sink;

#[live_view(public, name = "sink", upload(blob, accept = ".txt", max_size = "1GB"))]
impl Sink {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Sink)
    }

    fn render(&self) -> Html {
        html! { <input type="file" dj-upload="blob"/> <button dj-click="drop_all">"x"</button> }
    }

    #[event_handler]
    #[rate_limit(rate = 1000, burst = 1000, key = "ip")]
    fn drop_all(&mut self, ctx: &mut EventCtx) -> Result<()> {
        ctx.consume_uploads("blob", |_, _| Ok(()))?;
        Ok(())
    }
}

async fn serve_djust() {
    let dir = std::env::temp_dir().join(format!("djust-upload-bench-{}", std::process::id()));
    let server = App::new()
        .config(djust::Config {
            secret_key: Some("upload-bench-secret-with-at-least-32-bytes".to_owned()),
            rate_per_second: 1_000_000.0,
            rate_burst: 1_000_000,
            upload_bytes_per_second: 1 << 40,
            upload_connection_quota_bytes: 2 << 30,
            upload_quota_bytes: 4 << 30,
            upload_dir: Some(dir.clone()),
            max_message_bytes: 1 << 20,
            ..djust::Config::default()
        })
        .live("/", Sink::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("{}", server.local_addr());
    server.wait().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn serve_echo() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("{}", listener.local_addr().expect("addr"));
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(message)) = socket.next().await {
                if message.is_binary() && socket.send(message).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// VmRSS and CPU time (user + system, in seconds) of `pid`.
fn usage(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based) of stat, 12 and 13
    // here, in clock ticks (USER_HZ, 100 on Linux).
    let clock_ticks = 100.0;
    (rss_kib, (ticks(11) + ticks(12)) / clock_ticks)
}

struct Spawned {
    child: Child,
    addr: String,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn(mode: &str) -> Spawned {
    let exe = std::env::current_exe().expect("exe");
    let mut child = Command::new(exe)
        .args(["--serve", mode])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let stdout = tokio::process::ChildStdout::from_std(stdout).expect("async stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("server start")
        .expect("read")
        .expect("address line");
    Spawned { child, addr }
}

struct Run {
    mb_per_s: f64,
    rss_before: u64,
    rss_peak: u64,
    rss_after: u64,
    cpu_ms_per_mb: f64,
}

/// Samples the server's RSS every 20 ms while `work` runs.
async fn measure<F: std::future::Future<Output = ()>>(pid: u32, mb: usize, work: F) -> Run {
    let (rss_before, cpu_before) = usage(pid);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(rss_before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let (rss, _) = usage(pid);
                peak.fetch_max(rss, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    work.await;
    let elapsed = started.elapsed().as_secs_f64();
    sampler.abort();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rss_after, cpu_after) = usage(pid);
    Run {
        mb_per_s: mb as f64 / elapsed,
        rss_before,
        rss_peak: peak.load(std::sync::atomic::Ordering::Relaxed),
        rss_after,
        cpu_ms_per_mb: (cpu_after - cpu_before) * 1000.0 / mb as f64,
    }
}

async fn echo_run(server: &Spawned, mb: usize) -> Run {
    let pid = server.child.id();
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/", server.addr))
        .await
        .expect("connect");
    let chunk = vec![b'a'; FRAME];
    let total = mb << 20;
    measure(pid, mb, async {
        let mut sent = 0;
        while sent < total {
            let size = FRAME.min(total - sent);
            socket
                .send(Message::Binary(chunk[..size].to_vec().into()))
                .await
                .expect("send");
            loop {
                match socket.next().await {
                    Some(Ok(message)) if message.is_binary() => break,
                    Some(Ok(_)) => continue,
                    other => panic!("echo ended: {other:?}"),
                }
            }
            sent += size;
        }
    })
    .await
}

async fn djust_run(server: &Spawned, mb: usize) -> Run {
    let pid = server.child.id();
    let addr = &server.addr;
    let page = reqwest_free_get(addr).await;
    let token = page
        .split("data-djust-token=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("mount token")
        .to_owned();
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{addr}/ws/live/"
        ))
        .expect("request");
    request
        .headers_mut()
        .insert("origin", format!("http://{addr}").parse().expect("origin"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    socket
        .send(Message::text(
            serde_json::json!({"type": "mount", "view": "sink", "url": "/", "mount_token": token})
                .to_string(),
        ))
        .await
        .expect("mount");
    let total = mb << 20;
    let reference = "b1";
    let data = vec![b'a'; FRAME - 1 - reference.len()];
    // Wait for connect + mount.
    let mut seen = 0;
    while seen < 2 {
        if let Some(Ok(Message::Text(_))) = socket.next().await {
            seen += 1;
        }
    }
    let announce = serde_json::json!({"type": "upload", "slot": "blob", "ref": reference,
        "name": "blob.txt", "size": total, "mime": "text/plain"});
    measure(pid, mb, async {
        socket
            .send(Message::text(announce.to_string()))
            .await
            .expect("announce");
        let mut sent = 0usize;
        loop {
            let reply = match socket.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            };
            let reply: serde_json::Value = serde_json::from_str(reply.as_str()).expect("json");
            match reply["type"].as_str() {
                Some("upload_ack") if sent < total => {
                    let size = data.len().min(total - sent);
                    let mut frame = Vec::with_capacity(1 + reference.len() + size);
                    frame.push(reference.len() as u8);
                    frame.extend_from_slice(reference.as_bytes());
                    frame.extend_from_slice(&data[..size]);
                    socket
                        .send(Message::Binary(frame.into()))
                        .await
                        .expect("chunk");
                    sent += size;
                }
                Some("upload_ack") => {}
                Some("upload_done") => break,
                _ => panic!("upload failed: {reply}"),
            }
        }
        // Consume (delete) it so runs do not add up on disk.
        socket
            .send(Message::text(
                serde_json::json!({"type": "event", "event": "drop_all", "params": {}, "ref": 1})
                    .to_string(),
            ))
            .await
            .expect("event");
    })
    .await
}

/// `GET /` with a minimal HTTP/1.1 client (the page with the mount token).
async fn reqwest_free_get(addr: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("request");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("response");
    body
}

fn report(name: &str, run: &Run) {
    println!(
        "{name:<6} {:>8.1} MB/s   RSS {:>6} KiB before, {:>6} KiB peak (+{:>5} KiB), {:>6} KiB after   CPU {:>6.2} ms/MB",
        run.mb_per_s,
        run.rss_before,
        run.rss_peak,
        run.rss_peak.saturating_sub(run.rss_before),
        run.rss_after,
        run.cpu_ms_per_mb
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|arg| arg == flag)
            .and_then(|index| args.get(index + 1))
            .cloned()
    };
    match value("--serve").as_deref() {
        Some("djust") => return serve_djust().await,
        Some("echo") => return serve_echo().await,
        Some(other) => panic!("unknown server {other}"),
        None => {}
    }
    let mb: usize = value("--mb")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .clamp(1, 1024);
    let runs: usize = value("--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .clamp(1, 10);
    println!("upload of {mb} MB over loopback, {runs} run(s) each, alternating");
    let echo = spawn("echo").await;
    let djust_server = spawn("djust").await;
    for run in 1..=runs {
        println!("-- run {run}");
        report("echo", &echo_run(&echo, mb).await);
        report("djust", &djust_run(&djust_server, mb).await);
    }
}
