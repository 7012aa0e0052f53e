//! A private `redis-server` per test, on a free loopback port (feature
//! `redis`): tests can kill and restart it, and per-IP counts of parallel
//! tests do not mix.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The `redis-server` binary: the first on `PATH`, else `/usr/bin/redis-server`.
pub fn redis_server_binary() -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
    });
    from_path.or_else(|| {
        let fallback = PathBuf::from("/usr/bin/redis-server");
        fallback.is_file().then_some(fallback)
    })
}

/// A private `redis-server` on a free loopback port, with an append-only
/// file so a restart keeps the data (like a production Redis with AOF).
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// TLS only (`--port 0 --tls-port …`), with these extra arguments.
    tls: Option<Vec<String>>,
}

impl RedisServer {
    /// `None` (after printing why) when the binary is missing outside CI.
    pub fn start(test: &str) -> Option<RedisServer> {
        Self::start_with(test, None)
    }

    /// Like [`RedisServer::start`], accepting only TLS connections, with the
    /// server certificate and key files given (`tls-auth-clients no`).
    pub fn start_tls(test: &str, cert: &Path, key: &Path) -> Option<RedisServer> {
        let path = |file: &Path| file.to_str().expect("utf-8 path").to_owned();
        let tls = vec![
            "--tls-cert-file".to_owned(),
            path(cert),
            "--tls-key-file".to_owned(),
            path(key),
            "--tls-auth-clients".to_owned(),
            "no".to_owned(),
        ];
        Self::start_with(test, Some(tls))
    }

    fn start_with(test: &str, tls: Option<Vec<String>>) -> Option<RedisServer> {
        let Some(binary) = redis_server_binary() else {
            if std::env::var_os("CI").is_some() {
                panic!("redis-server is not installed but CI is set: .ci/run must install it");
            }
            eprintln!(
                "skipping {test}: redis-server is not installed (apt-get install redis-server)"
            );
            return None;
        };
        // A port is picked free and then released, so a parallel test may
        // take it before redis-server binds it: then redis-server exits and
        // another port is tried.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("free port")
                .port();
            let dir = std::env::temp_dir().join(format!("djust-redis-{test}-{port}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("redis dir");
            let mut server = RedisServer {
                binary: binary.clone(),
                port,
                dir,
                child: None,
                tls: tls.clone(),
            };
            if server.try_spawn() {
                return Some(server);
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/0", self.port)
    }

    /// Starts redis-server on this port again (after [`RedisServer::kill`]).
    pub fn spawn(&mut self) {
        assert!(
            self.try_spawn(),
            "redis-server did not start on port {}",
            self.port
        );
    }

    /// Starts redis-server and waits until it accepts connections; `false`
    /// if it exited first (the port was taken) or never listened.
    fn try_spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let ports = match &self.tls {
            None => vec!["--port", port.as_str()],
            Some(tls) => {
                let mut args = vec!["--port", "0", "--tls-port", port.as_str()];
                args.extend(tls.iter().map(String::as_str));
                args
            }
        };
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1"])
            .args(&ports)
            .args([
                "--dir",
                self.dir.to_str().expect("utf-8 temp dir"),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        for _ in 0..200 {
            let exited = self
                .child
                .as_mut()
                .is_some_and(|child| matches!(child.try_wait(), Ok(Some(_))));
            if exited {
                self.child = None;
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.kill();
        false
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
