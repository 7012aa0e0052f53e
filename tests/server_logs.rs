//! Log injection over the wire: client-derived values with CR, LF, ANSI
//! escape sequences, bidi overrides and whole fake log lines are sent as
//! view names, event names, params, handler errors and panics, origins,
//! paths, usernames and user ids; nothing of it may reach the log raw.
//!
//! Two captures are checked, both installed as the global subscriber (so
//! every thread's events are seen):
//!
//! * the text a `fmt` subscriber writes (ANSI colours off, so any ESC in it
//!   came from input): no CR, no ESC, and no line that starts with the
//!   forged prefix;
//! * the raw field values handed to `tracing`, before any formatter. Recent
//!   `tracing-subscriber` versions escape ESC themselves, so only this
//!   capture shows whether the server sanitised a value or merely got lucky
//!   with its formatter; it must hold no CR, LF, ESC, C1 or bidi control.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, User};
use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Starts every forged line: what an attacker wants a log reader to see.
const FORGED: &str = "2024-01-01T00:00:00.000000Z  INFO djust: FORGED-LOG-LINE";

/// A value carrying every trick: CR, LF, a fake line, ANSI colour and
/// cursor sequences, an OSC title, a C1 CSI, bidi overrides, NUL.
fn hostile(tag: &str) -> String {
    format!(
        "{tag}\r\n{FORGED} admin logged in\n\x1b[31mred\x1b[0m\x1b[2K\x1b]0;title\x07\u{9b}31m\u{202e}desrever\u{2028}{FORGED}\r{FORGED}\0end"
    )
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

/// Records every field value exactly as given to `tracing`.
struct RawFields(Arc<Mutex<Vec<(String, String)>>>);

struct Recorder<'a>(&'a mut Vec<(String, String)>);

impl Visit for Recorder<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%value` fields arrive here as Display-through-Debug: raw text.
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl<S: tracing::Subscriber> Layer<S> for RawFields {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Vec::new();
        event.record(&mut Recorder(&mut fields));
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(fields);
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: Context<'_, S>,
    ) {
        let mut fields = Vec::new();
        attrs.record(&mut Recorder(&mut fields));
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(fields);
    }
}

struct Capture {
    text: Buffer,
    fields: Arc<Mutex<Vec<(String, String)>>>,
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let text = Buffer::default();
        let fields = Arc::new(Mutex::new(Vec::new()));
        let writer = text.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            )
            .with(RawFields(fields.clone()))
            .with(tracing_subscriber::filter::LevelFilter::TRACE);
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        Capture { text, fields }
    })
}

struct Lab {
    label: String,
    items: Vec<String>,
}

#[live_view(public, name = "lab")]
impl Lab {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Lab {
            label: String::new(),
            items: Vec::new(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <p>{self.label}</p>
            <ul> for item in &self.items key = item { <li>{item}</li> } </ul>
        }
    }

    /// Fails with the client's text in the error (an app bug the log must survive).
    #[event_handler]
    fn rename(&mut self, label: String) -> Result<()> {
        Err(Error::bad_request(format!("cannot use label {label}")))
    }

    /// Panics with the client's text.
    #[event_handler]
    fn explode(&mut self, label: String) {
        self.label = label.clone();
        panic!("exploded on {label}");
    }

    /// Lets the client make a duplicate key (the diff error names the key).
    #[event_handler]
    fn add_item(&mut self, name: String) {
        self.items.push(name);
    }

    #[event_handler]
    fn count(&mut self, by: i64) {
        self.label = by.to_string();
    }
}

async fn start() -> djust::Server {
    let backend = MemoryAuthBackend::new();
    backend.insert(
        User::new(hostile("user-id"), hostile("mallory")),
        quick_hash("pw"),
    );
    App::new()
        .config(djust::Config {
            rate_per_second: 1_000_000.0,
            rate_burst: 1_000_000,
            ..test_config()
        })
        .auth(backend)
        .live("/", Lab::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Sends raw bytes as an HTTP request and returns the status line.
async fn raw_http(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    // Read the head only: a refused upgrade may keep the connection open.
    let mut response = Vec::new();
    let mut chunk = [0_u8; 1024];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut chunk)).await
        {
            Ok(Ok(n)) if n > 0 => response.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn drive_the_socket(addr: SocketAddr) {
    // Unknown view names.
    let token = mount_token(&get(addr, "/").await.body);
    let mut socket = connect(addr).await;
    send_mount(&mut socket, &hostile("view"), &token, &hostile("/url")).await;
    assert_eq!(until_close(&mut socket).await.0, Some(4404));

    // Hostile event names, params, handler errors and a panic.
    let (mut socket, _) = mount_page(addr, "/", "lab").await;
    let events = [
        (hostile("event"), json!({})),
        (format!("rename{}", hostile("")), json!({})),
        ("rename".to_owned(), json!({ "label": hostile("label") })),
        ("count".to_owned(), json!({ "by": hostile("by") })),
        ("count".to_owned(), json!({ hostile("param"): 1 })),
        ("add_item".to_owned(), json!({ "name": hostile("key") })),
        ("add_item".to_owned(), json!({ "name": hostile("key") })),
    ];
    for (name, params) in events {
        send_json(
            &mut socket,
            &json!({ "type": "event", "event": name, "params": params, "ref": 1 }),
        )
        .await;
        until_pong(&mut socket).await;
    }
    // Malformed frames with the payload in them.
    send_text(&mut socket, &format!("{{{}", hostile("json"))).await;
    until_pong(&mut socket).await;
    send_json(
        &mut socket,
        &json!({ "type": "event", "event": "explode", "params": { "label": hostile("panic") }, "ref": 2 }),
    )
    .await;
    assert_eq!(until_close(&mut socket).await.0, Some(1011));
}

async fn drive_http(addr: SocketAddr) {
    // Origins: header values cannot carry CR/LF, but they can carry ESC and
    // high bytes on the raw wire, and a fake line after a space.
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    for origin in [
        b"http://evil.com\x1b[31m".to_vec(),
        format!("http://evil.com {FORGED}").into_bytes(),
        "http://\u{202e}moc.live".as_bytes().to_vec(),
    ] {
        let mut request = format!(
            "GET /ws/live/ HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nOrigin: "
        )
        .into_bytes();
        request.extend_from_slice(&origin);
        request.extend_from_slice(b"\r\n\r\n");
        let status = raw_http(addr, &request).await;
        assert!(
            status.contains(" 403 ") || status.contains(" 400 "),
            "{status}"
        );
    }
    // Paths and queries.
    let path = "/%0d%0a2024-01-01T00:00:00.000000Z%20%20INFO%20djust:%20FORGED-LOG-LINE%1b[31m";
    assert_eq!(get(addr, path).await.status, 404);
    let query = format!("/login?next={path}");
    assert_eq!(get(addr, &query).await.status, 200);

    // Usernames (the user's name and id are hostile too): a failed login,
    // a successful one, and a logout.
    let page = get(addr, "/login").await;
    let cookie = set_cookie_pair(&page, CSRF_COOKIE).expect("cookie");
    let csrf = csrf_from_page(&page.body).expect("csrf");
    let mallory = hostile("mallory");
    let response = post_form(
        addr,
        "/login",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("username", &mallory),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(response.status, 401);
    let response = post_form(
        addr,
        "/login",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("username", &mallory),
            ("password", "pw"),
            ("next", &hostile("/next")),
        ],
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);
    let cookie = set_cookie_pair(&response, "djust_session").expect("new cookie");
    let csrf = csrf_from_page(&get_with_cookie(addr, "/login", &cookie).await.body).expect("csrf");
    let response = post_form(addr, "/logout", Some(&cookie), &[("csrf_token", &csrf)]).await;
    assert_eq!(response.status, 303);
    // A CSRF failure with hostile form fields.
    let response = post_form(
        addr,
        "/login",
        Some(&cookie),
        &[("csrf_token", &hostile("csrf")), ("username", &mallory)],
    )
    .await;
    assert_eq!(response.status, 403);
}

fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[tokio::test]
async fn client_values_never_reach_the_log_raw() {
    let capture = capture();
    let server = start().await;
    let addr = server.local_addr();
    drive_the_socket(addr).await;
    drive_http(addr).await;
    server.shutdown().await;

    let text = capture.text.text();
    if std::env::var_os("DJUST_SHOW_LOG").is_some() {
        eprintln!("{text}");
    }
    // The paths were exercised and logged (sanitised), not skipped.
    for expected in [
        "mount refused: unknown view",
        "refused event: not an #[event_handler]",
        "event refused or failed",
        "event handler panicked",
        "diff failed",
        "WebSocket refused: origin",
        "login refused: bad credentials",
        "login refused: CSRF token missing or wrong",
        "login",
        "logout",
        "FORGED-LOG-LINE",
    ] {
        assert!(text.contains(expected), "nothing logged for {expected:?}");
    }
    assert!(!text.contains('\r'), "raw CR in the log");
    assert!(!text.contains('\x1b'), "raw ESC in the log");
    for line in text.lines() {
        assert!(
            !line.starts_with(FORGED) && !line.trim_start().starts_with("FORGED"),
            "forged log line: {line:?}"
        );
        assert!(
            !line.chars().any(|c| c != '\t' && is_forbidden(c)),
            "control or bidi character in {line:?}"
        );
    }

    let fields = capture.fields.lock().unwrap_or_else(|e| e.into_inner());
    let mut hostile_fields = 0;
    for (name, value) in fields.iter() {
        if value.contains("FORGED-LOG-LINE") {
            hostile_fields += 1;
        }
        assert!(
            !value.chars().any(is_forbidden),
            "field {name} reached tracing unsanitised: {value:?}"
        );
    }
    assert!(
        hostile_fields >= 8,
        "{hostile_fields} hostile values logged"
    );
}
