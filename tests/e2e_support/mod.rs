//! Shared support for the browser end-to-end tests (`tests/e2e_*.rs`).
//!
//! - [`Browser::start`] runs chromedriver on a free 127.0.0.1 port and opens a
//!   headless Chromium session through fantoccini. Nothing is downloaded: the
//!   binaries come from the system (`/usr/bin/chromium`, `/usr/bin/chromedriver`,
//!   or `DJUST_CHROMIUM` / `DJUST_CHROMEDRIVER`). When they are missing the
//!   test is skipped with a message, unless `CI` is set, where it panics.
//! - Dropping the [`Browser`] (also while a test panics) kills chromedriver and
//!   the browser it started (their own process group) and removes the temporary
//!   profile directory.
//! - [`StaticServer`] serves test pages and `/djust/djust.js` on 127.0.0.1:0.
//!
//! Every wait has a deadline; nothing can hang a test run.
//!
//! Use from a test file with `mod e2e_support;`.

#![allow(dead_code)] // each test file uses a different part of this module

pub mod page;
pub mod proxy;

use std::collections::HashMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

/// The browser client, exactly as the runtime embeds it.
pub const DJUST_JS: &str = include_str!("../../djust-runtime/static/djust.js");

/// Path under which [`StaticServer`] serves [`DJUST_JS`].
pub const DJUST_JS_PATH: &str = "/djust/djust.js";

/// Longest any single WebDriver command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// Longest chromedriver may take to start listening.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(15);

/// Arguments for a quiet, sandbox-free headless Chromium that contacts nobody.
const CHROMIUM_ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// Paths of the browser and its driver.
#[derive(Debug, Clone)]
pub struct BrowserTools {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary.
    pub chromedriver: PathBuf,
}

/// True when the `CI` variable is set to anything but `false`/`0`.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "false" | "0"))
}

fn tool(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// Finds Chromium and chromedriver. Missing: panics on CI, otherwise prints
/// why the test is skipped and returns `None`.
pub fn browser_tools() -> Option<BrowserTools> {
    let tools = BrowserTools {
        chromium: tool("DJUST_CHROMIUM", "/usr/bin/chromium"),
        chromedriver: tool("DJUST_CHROMEDRIVER", "/usr/bin/chromedriver"),
    };
    let missing: Vec<String> = [&tools.chromium, &tools.chromedriver]
        .into_iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some(tools);
    }
    let message = format!(
        "chromium/chromedriver not installed; .ci/run installs them \
         (missing: {}; set DJUST_CHROMIUM / DJUST_CHROMEDRIVER to override)",
        missing.join(", ")
    );
    if on_ci() {
        panic!("{message}");
    }
    eprintln!("SKIPPED browser test: {message}");
    None
}

/// Runs `future` with a deadline; panics with `what` when it is exceeded.
pub async fn within<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// A unique, empty temporary directory, removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> std::io::Result<Self> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running chromedriver (in its own process group) and the profile directory.
///
/// Dropping it kills the whole group, so the browser started by the driver
/// goes too, then removes the directory.
#[derive(Debug)]
struct DriverProcess {
    child: Child,
    port: u16,
    // Declared after `child`: removed after the processes are gone.
    dir: TempDir,
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // The group id is chromedriver's pid (process_group(0) at spawn).
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg("--")
                .arg(format!("-{}", self.child.id()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The browser may still be writing its profile for a moment.
        for _ in 0..20 {
            if std::fs::remove_dir_all(self.dir.path()).is_ok() || !self.dir.path().exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A free port on 127.0.0.1 (bound, then released).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn spawn_driver(tools: &BrowserTools) -> DriverProcess {
    let mut last_error = String::new();
    for _attempt in 0..5 {
        let port = match free_port() {
            Ok(port) => port,
            Err(error) => {
                last_error = format!("no free port: {error}");
                continue;
            }
        };
        let dir = TempDir::new("djust-e2e").expect("create a temporary directory");
        let mut command = Command::new(&tools.chromedriver);
        command
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                dir.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) => panic!("cannot start {}: {error}", tools.chromedriver.display()),
        };
        let mut driver = DriverProcess { child, port, dir };
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            if TcpStream::connect_timeout(
                &SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return driver;
            }
            if let Ok(Some(status)) = driver.child.try_wait() {
                // Most likely someone took the port in between: try another.
                last_error = format!("chromedriver exited with {status} on port {port}");
                break;
            }
            if Instant::now() > deadline {
                last_error = format!(
                    "chromedriver did not listen on port {port} within {DRIVER_START_TIMEOUT:?}"
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(driver);
    }
    panic!("could not start chromedriver: {last_error}");
}

/// A headless Chromium session. Dropping it ends chromedriver and the browser.
pub struct Browser {
    client: Client,
    // Dropped after `client`.
    driver: DriverProcess,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("driver_port", &self.driver.port)
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` when the tools are
    /// missing and the test should be skipped (see [`browser_tools`]).
    pub async fn start() -> Option<Browser> {
        Self::start_with(true).await
    }

    /// Like [`Browser::start`], with JavaScript turned off when `javascript` is false.
    pub async fn start_with(javascript: bool) -> Option<Browser> {
        let tools = browser_tools()?;
        let driver = spawn_driver(&tools);
        let profile = driver.dir.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|arg| (*arg).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            if javascript {
                json!({ "binary": tools.chromium.display().to_string(), "args": args })
            } else {
                json!({
                    "binary": tools.chromium.display().to_string(),
                    "args": args,
                    "prefs": { "profile.managed_default_content_settings.javascript": 2 }
                })
            },
        );
        let url = format!("http://127.0.0.1:{}", driver.port);
        let client = within(
            "open a Chromium session",
            COMMAND_TIMEOUT,
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities)
                .connect(&url),
        )
        .await
        .unwrap_or_else(|error| panic!("cannot open a Chromium session via chromedriver: {error}"));
        let browser = Browser { client, driver };
        let timeouts = TimeoutConfiguration::new(
            Some(Duration::from_secs(15)),
            Some(Duration::from_secs(15)),
            Some(Duration::ZERO),
        );
        within(
            "set WebDriver timeouts",
            COMMAND_TIMEOUT,
            browser.client.update_timeouts(timeouts),
        )
        .await
        .expect("set WebDriver timeouts");
        Some(browser)
    }

    /// The fantoccini client, for anything the helpers do not cover (wrap
    /// calls in [`within`]).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `url` and waits for it.
    pub async fn goto(&self, url: &str) {
        within(
            &format!("load {url}"),
            COMMAND_TIMEOUT,
            self.client.goto(url),
        )
        .await
        .unwrap_or_else(|error| panic!("cannot load {url}: {error}"));
    }

    /// Runs `script` as a function body with `args` as `arguments`; returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        within(
            "execute a script",
            COMMAND_TIMEOUT,
            self.client.execute(script, args),
        )
        .await
        .unwrap_or_else(|error| panic!("script failed: {error}\n--- script ---\n{script}"))
    }

    /// Like [`Browser::execute`], but the script calls the last argument
    /// (`arguments[arguments.length - 1]`) with its result.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        within(
            "execute an async script",
            COMMAND_TIMEOUT,
            self.client.execute_async(script, args),
        )
        .await
        .unwrap_or_else(|error| panic!("async script failed: {error}\n--- script ---\n{script}"))
    }

    /// Evaluates `script` (a function body returning a value) every 50 ms
    /// until the value is truthy; returns it, or panics after `limit`.
    pub async fn wait_for(
        &self,
        what: &str,
        script: &str,
        args: Vec<Value>,
        limit: Duration,
    ) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.execute(script, args.clone()).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(flag) => *flag,
                Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
                Value::String(text) => !text.is_empty(),
                Value::Array(_) | Value::Object(_) => true,
            };
            if truthy {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?} waiting for {what} (last value: {value})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver
    /// (`POST /session/{id}/goog/cdp/execute`); returns its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let command = CdpCommand {
            cmd: cmd.to_owned(),
            params,
        };
        within(
            &format!("CDP {cmd}"),
            COMMAND_TIMEOUT,
            self.client.issue_cmd(command),
        )
        .await
        .unwrap_or_else(|error| panic!("CDP {cmd} failed: {error}"))
    }

    /// Emulates the network going away (`offline`) or coming back: the
    /// page's requests and sockets fail and `navigator.onLine` turns false,
    /// with an `offline` event (Chromium's `Network.emulateNetworkConditions`).
    pub async fn set_offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await;
    }

    /// Ends the session politely (the browser quits), then stops chromedriver.
    pub async fn close(self) {
        let Browser { client, driver } = self;
        let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
        drop(driver);
    }
}

/// Chromedriver's vendor command running one CDP method.
#[derive(Debug)]
struct CdpCommand {
    cmd: String,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (warp::http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params }).to_string();
        (warp::http::Method::POST, Some(body))
    }
}

/// A static HTTP server on 127.0.0.1:0 serving test pages and [`DJUST_JS`]
/// at [`DJUST_JS_PATH`]. Stops when dropped.
#[derive(Debug)]
pub struct StaticServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl StaticServer {
    /// Serves each `(path, html)` page (paths start with `/`) and the client script.
    pub async fn start(pages: &[(&str, &str)]) -> StaticServer {
        use warp::Filter;

        let pages: Arc<HashMap<String, String>> = Arc::new(
            pages
                .iter()
                .map(|(path, html)| ((*path).to_owned(), (*html).to_owned()))
                .collect(),
        );
        let routes = warp::get()
            .and(warp::path::full())
            .map(move |path: warp::path::FullPath| {
                let (status, content_type, body) = if path.as_str() == DJUST_JS_PATH {
                    (200, "text/javascript; charset=utf-8", DJUST_JS.to_owned())
                } else if let Some(html) = pages.get(path.as_str()) {
                    (200, "text/html; charset=utf-8", html.clone())
                } else {
                    (404, "text/plain; charset=utf-8", "not found".to_owned())
                };
                warp::http::Response::builder()
                    .status(status)
                    .header("content-type", content_type)
                    .header("cache-control", "no-store")
                    .body(body)
                    .unwrap_or_default()
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the static server on 127.0.0.1:0");
        let addr = listener.local_addr().expect("static server address");
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = warp::serve(routes)
            .incoming(listener)
            .graceful(async move {
                let _ = stop.await;
            })
            .run();
        tokio::spawn(server);
        StaticServer {
            addr,
            shutdown: Some(shutdown),
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A minimal page that loads the client script; `body` is inserted before it.
pub fn page_with_client(body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>djust e2e</title></head>\
         <body>{body}<script src=\"{DJUST_JS_PATH}\"></script></body></html>"
    )
}

/// The secret key of [`serve_live`]'s servers.
pub const SERVER_SECRET: &str = "e2e-secret-key-with-at-least-32-bytes!!";

/// A server on 127.0.0.1:0 with `view` at `/` and default settings (but
/// for a secret key), for browser tests of one view.
pub async fn serve_live(view: djust::ViewFactory) -> djust::Server {
    djust::App::new()
        .config(djust::Config {
            secret_key: Some(SERVER_SECRET.to_owned()),
            ..djust::Config::default()
        })
        .live("/", view)
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}
