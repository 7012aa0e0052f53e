//! The child processes of a run: `redis-server` on a free loopback port
//! (no RDB, AOF on, so a restart keeps the data like a real deployment),
//! the `djust-soak serve` servers, signals to them (through `kill(1)`, the
//! crate forbids `unsafe`), and what `/proc` says about a process: its
//! RSS (shared with `djust-bench`) and its open file descriptors.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::app::LISTENING;
pub use crate::host::rss_kib;

/// Open file descriptors of `pid`.
pub fn open_fds(pid: u32) -> Option<u64> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(entries.count() as u64)
}

/// Sends `signal` (e.g. `STOP`, `CONT`, `KILL`) to `pid`.
pub async fn signal(pid: u32, signal: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .await
        .map_err(|e| format!("kill -{signal} {pid}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -{signal} {pid}: {status}"))
    }
}

/// A `redis-server` this run started.
pub struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts `redis-server` on a free port of 127.0.0.1.
    pub async fn start() -> Result<Redis, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("djust-soak-redis-{port}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let child = Self::spawn(port, &dir).await?;
        Ok(Redis { child, port, dir })
    }

    async fn spawn(port: u16, dir: &std::path::Path) -> Result<Child, String> {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .arg("--dir")
            .arg(dir)
            .args(["--save", "", "--appendonly", "yes", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(child);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err("redis-server did not listen within 5 s".to_owned())
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops Redis (SIGTERM: it writes its AOF) and starts it again on the
    /// same port and directory.
    pub async fn restart(&mut self) -> Result<(), String> {
        if let Some(pid) = self.child.id() {
            signal(pid, "TERM").await?;
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        self.child = Self::spawn(self.port, &self.dir).await?;
        Ok(())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `djust-soak serve` child.
pub struct ServerChild {
    pub child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl ServerChild {
    /// Starts the server with `env` added to this process's environment.
    pub async fn start(redis: Option<&str>, env: &[(&str, String)]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let mut command = Command::new(exe);
        command.arg("serve");
        if let Some(url) = redis {
            command.arg("--redis").arg(url);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot spawn the server: {e}"))?;
        let pid = child.id().ok_or("server child has no pid")?;
        let stdout = child.stdout.take().ok_or("server child has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| "server did not listen within 30 s".to_owned())?
            .map_err(|e| format!("server stdout: {e}"))?
            .ok_or("server exited before listening")?;
        let addr = line
            .strip_prefix(LISTENING)
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| format!("unexpected line from the server: {line}"))?;
        Ok(ServerChild {
            child,
            addr,
            pid,
            stdout: lines,
        })
    }

    /// The server's detached views and heap, asked on its stdin (see
    /// `app::ASK_DETACHED`); the heap peak restarts from this moment.
    pub async fn memory(&mut self) -> Option<ServerMemory> {
        use tokio::io::AsyncWriteExt as _;
        let stdin = self.child.stdin.as_mut()?;
        let ask = format!("{}\n", crate::app::ASK_DETACHED);
        stdin.write_all(ask.as_bytes()).await.ok()?;
        stdin.flush().await.ok()?;
        let line = tokio::time::timeout(Duration::from_secs(10), self.stdout.next_line())
            .await
            .ok()?
            .ok()??;
        let mut words = line.split_whitespace();
        if words.next() != Some(crate::app::ASK_DETACHED) {
            return None;
        }
        Some(ServerMemory {
            detached_views: words.next()?.parse().ok()?,
            detached_estimate: words.next()?.parse().ok()?,
            heap_held: words.next()?.parse().ok()?,
            heap_peak: words.next()?.parse().ok()?,
        })
    }

    /// Graceful stop: stdin closes, the server persists and closes with 1012.
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            eprintln!("server {} did not exit within 15 s; killing it", self.pid);
            let _ = self.child.kill().await;
        }
    }
}

/// What the server reports about its memory (`ServerChild::memory`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerMemory {
    /// Views waiting for their client.
    pub detached_views: u64,
    /// Their bytes as the detached caps estimate them.
    pub detached_estimate: u64,
    /// Heap bytes held now (`heap::held_bytes`).
    pub heap_held: i64,
    /// The most heap bytes held since the previous ask.
    pub heap_peak: i64,
}
