//! Shared helpers for tests that talk to a real server on 127.0.0.1:0:
//! a minimal HTTP/1.1 client over `TcpStream` and WebSocket helpers on
//! tokio-tungstenite. Every wait is bounded by a timeout.
#![allow(dead_code)]

pub mod raw;
#[cfg(feature = "redis")]
pub mod redis;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The double-submit CSRF cookie the login page sets for visitors without
/// a session (plain HTTP).
pub const CSRF_COOKIE: &str = "djust_csrf";

/// A secret for tests (≥ 32 bytes).
pub const TEST_SECRET: &str = "test-secret-key-with-at-least-32-bytes!!";

/// Default test config: real limits, known secret.
pub fn test_config() -> djust::Config {
    djust::Config {
        secret_key: Some(TEST_SECRET.to_owned()),
        ..djust::Config::default()
    }
}

/// An argon2 hash with cheap parameters: these tests are about the HTTP
/// and socket paths, not the KDF.
pub fn quick_hash(password: &str) -> String {
    let params = djust::runtime::auth::PasswordParams {
        m_cost_kib: 8,
        t_cost: 1,
        p_cost: 1,
    };
    djust::runtime::auth::hash_password_with(password, params).expect("hash")
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }
}

/// Sends one HTTP/1.1 request and reads the whole response.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let mut stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .expect("connect timeout")
        .expect("connect");
    // The socket address is the Host unless the caller names another.
    let host = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        .then(String::new)
        .unwrap_or_else(|| format!("Host: {addr}\r\n"));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\n{host}Connection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("read timeout")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    http(addr, "GET", path, &[], "").await
}

/// The `data-djust-token` of a page.
pub fn mount_token(page: &str) -> String {
    let start =
        page.find("data-djust-token=\"").expect("token attribute") + "data-djust-token=\"".len();
    let end = page[start..].find('"').expect("token end") + start;
    page[start..end].to_owned()
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/ws/live/` with the given extra headers (Origin defaults to the server's own).
pub async fn try_connect(
    addr: SocketAddr,
    headers: &[(&str, &str)],
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    try_connect_at(addr, "/ws/live/", headers).await
}

/// Opens the socket at `path` (`/t/acme/ws/live/` under a path-prefix
/// tenant) with the given extra headers.
pub async fn try_connect_at(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("request");
    let own_origin = format!("http://{addr}");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("origin"))
    {
        request
            .headers_mut()
            .insert("origin", own_origin.parse().expect("origin"));
    }
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("origin") && value.is_empty() {
            continue;
        }
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
            .expect("header name");
        request
            .headers_mut()
            .insert(name, value.parse().expect("header"));
    }
    let (socket, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .expect("ws connect timeout")?;
    Ok(socket)
}

pub async fn connect(addr: SocketAddr) -> Socket {
    let mut socket = try_connect(addr, &[]).await.expect("ws connect");
    let hello = recv(&mut socket).await.expect("connect frame");
    assert_eq!(hello["type"], "connect", "{hello}");
    socket
}

/// What arrived next: a JSON frame, a close (with code), or nothing in time.
#[derive(Debug)]
pub enum Incoming {
    Frame(Value),
    Closed(Option<u16>),
    Timeout,
}

pub async fn next(socket: &mut Socket) -> Incoming {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Err(_) => return Incoming::Timeout,
            Ok(None) => return Incoming::Closed(None),
            Ok(Some(Err(_))) => return Incoming::Closed(None),
            Ok(Some(Ok(Message::Text(text)))) => {
                return Incoming::Frame(serde_json::from_str(&text).expect("server sent JSON"))
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Incoming::Closed(frame.map(|f| u16::from(f.code)))
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

pub async fn recv(socket: &mut Socket) -> Option<Value> {
    match next(socket).await {
        Incoming::Frame(value) => Some(value),
        _ => None,
    }
}

/// Reads frames until a close; returns its code and the frames seen before it.
pub async fn until_close(socket: &mut Socket) -> (Option<u16>, Vec<Value>) {
    let mut frames = Vec::new();
    for _ in 0..2000 {
        match next(socket).await {
            Incoming::Frame(value) => frames.push(value),
            Incoming::Closed(code) => return (code, frames),
            Incoming::Timeout => return (None, frames),
        }
    }
    (None, frames)
}

pub async fn send_json(socket: &mut Socket, value: &Value) {
    socket
        .send(Message::text(value.to_string()))
        .await
        .expect("send");
}

pub async fn send_text(socket: &mut Socket, text: &str) {
    socket
        .send(Message::text(text.to_owned()))
        .await
        .expect("send");
}

/// Like [`mount_page`] with the session `cookie` on the GET and the socket.
pub async fn mount_page_as(
    addr: SocketAddr,
    path: &str,
    view: &str,
    cookie: &str,
) -> (Socket, Value) {
    let page = get_with_cookie(addr, path, cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut socket = connect_with(addr, &[("Cookie", cookie)]).await;
    send_mount(&mut socket, view, &mount_token(&page.body), path).await;
    let mounted = recv(&mut socket).await.expect("mount frame");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    (socket, mounted)
}

/// The `error` texts of the error frames among `frames`.
pub fn errors(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|frame| frame["type"] == "error")
        .map(|frame| frame["error"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// What production clients see for `error` (no debug details).
pub fn generic(error: djust::runtime::security::SafeError) -> String {
    error.public_message(false, None)
}

/// Reads frames until one's JSON text contains `needle`: `true` then,
/// `false` if the socket closes or stays silent for 5 s first.
pub async fn wait_for_text(socket: &mut Socket, needle: &str) -> bool {
    for _ in 0..1000 {
        match next(socket).await {
            Incoming::Frame(frame) if frame.to_string().contains(needle) => return true,
            Incoming::Frame(_) => continue,
            _ => return false,
        }
    }
    false
}

/// Sends event `name` and returns the frames up to the answer to a ping.
pub async fn send_event(
    socket: &mut Socket,
    name: &str,
    params: Value,
    reference: u64,
) -> Vec<Value> {
    send_json(
        socket,
        &serde_json::json!({ "type": "event", "event": name, "params": params, "ref": reference }),
    )
    .await;
    until_pong(socket).await
}

/// Logs in through the login form (GET for the CSRF token, POST), asserts
/// the redirect to `next`, and returns the new session's `name=value` cookie.
pub async fn log_in(addr: SocketAddr, username: &str, password: &str, next: &str) -> String {
    let page = get(addr, "/login").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let before = set_cookie_pair(&page, CSRF_COOKIE).expect("CSRF cookie");
    let csrf = csrf_from_page(&page.body).expect("csrf");
    let response = post_form(
        addr,
        "/login",
        Some(&before),
        &[
            ("username", username),
            ("password", password),
            ("next", next),
            ("csrf_token", &csrf),
        ],
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);
    set_cookie_pair(&response, "djust_session").expect("new session cookie")
}

/// GETs `path`, connects and mounts the page's view; returns the socket and the mount frame.
pub async fn mount_page(addr: SocketAddr, path: &str, view: &str) -> (Socket, Value) {
    let page = get(addr, path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = mount_token(&page.body);
    let mut socket = connect(addr).await;
    send_json(&mut socket, &serde_json::json!({ "type": "mount", "view": view, "params": {}, "url": path, "mount_token": token })).await;
    let mounted = recv(&mut socket).await.expect("mount frame");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    (socket, mounted)
}

pub fn close_code(code: u16) -> CloseCode {
    CloseCode::from(code)
}

// ---------------------------------------------------------------------------
// Helpers added for the security, auth and log suites.
// ---------------------------------------------------------------------------

/// The upgrade was answered with an HTTP status instead of a socket.
pub fn refused_status(result: Result<Socket, tokio_tungstenite::tungstenite::Error>) -> u16 {
    match result {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

/// Connects with `headers` and expects the `connect` frame.
pub async fn connect_with(addr: SocketAddr, headers: &[(&str, &str)]) -> Socket {
    let mut socket = try_connect(addr, headers).await.expect("ws connect");
    match next(&mut socket).await {
        Incoming::Frame(hello) if hello["type"] == "connect" => socket,
        other => panic!("expected a connect frame, got {other:?}"),
    }
}

/// Connects with `headers`; admission refuses the handshake before the
/// `101` (per-IP limit or cooldown: 429, server full: 503), with a
/// `Retry-After`. Returns the HTTP status.
pub async fn connect_refused(addr: SocketAddr, headers: &[(&str, &str)]) -> u16 {
    match try_connect(addr, headers).await {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert!(
                response.headers().contains_key("retry-after"),
                "a refused handshake says when to retry: {response:?}"
            );
            response.status().as_u16()
        }
        Err(other) => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

/// Connects, retrying (bounded) while admission refuses with 429: for a
/// slot that is about to be freed or a cooldown about to end.
pub async fn connect_when_admitted(addr: SocketAddr, headers: &[(&str, &str)]) -> Socket {
    for _ in 0..150 {
        match try_connect(addr, headers).await {
            Ok(mut socket) => match next(&mut socket).await {
                Incoming::Frame(hello) if hello["type"] == "connect" => return socket,
                other => panic!("expected a connect frame, got {other:?}"),
            },
            Err(tokio_tungstenite::tungstenite::Error::Http(response))
                if response.status().as_u16() == 429 =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    panic!("never admitted");
}

/// Queues a frame without waiting for it to be written (errors ignored:
/// the server may already have closed).
pub async fn feed(socket: &mut Socket, message: Message) {
    let _ = socket.feed(message).await;
}

/// Flushes queued frames (errors ignored).
pub async fn flush(socket: &mut Socket) {
    let _ = socket.flush().await;
}

/// Sends a `ping` and returns every frame that arrived before the `pong`.
/// A barrier: everything sent earlier has been fully handled.
pub async fn until_pong(socket: &mut Socket) -> Vec<Value> {
    send_json(socket, &serde_json::json!({ "type": "ping" })).await;
    let mut frames = Vec::new();
    for _ in 0..2000 {
        match next(socket).await {
            Incoming::Frame(value) if value["type"] == "pong" => return frames,
            Incoming::Frame(value) => frames.push(value),
            other => panic!("expected a pong, got {other:?} after {frames:?}"),
        }
    }
    panic!("no pong after 2000 frames");
}

/// After a close frame: waits until the server drops the TCP connection
/// (EOF or reset), i.e. its connection task has ended. Bounded by 5 s.
pub async fn wait_hangup(socket: &mut Socket) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    // Finish the WebSocket close handshake first.
    while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, socket.next()).await {}
    if let MaybeTlsStream::Plain(tcp) = socket.get_mut() {
        let mut buf = [0_u8; 4096];
        loop {
            match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(_)) => continue,
                Err(_) => panic!("the server did not drop the connection"),
            }
        }
    }
}

/// Sends `mount` for `view` with `token`.
pub async fn send_mount(socket: &mut Socket, view: &str, token: &str, url: &str) {
    send_json(
        socket,
        &serde_json::json!({ "type": "mount", "view": view, "params": {}, "url": url, "mount_token": token }),
    )
    .await;
}

/// `name=value` of the first `Set-Cookie` named `name`.
pub fn set_cookie_pair(response: &HttpResponse, name: &str) -> Option<String> {
    response
        .headers_named("set-cookie")
        .into_iter()
        .filter_map(|header| header.split(';').next())
        .map(str::trim)
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value of `<input ... name="csrf_token" value="...">` in a page.
pub fn csrf_from_page(page: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// `application/x-www-form-urlencoded` body of `fields`.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (index, (name, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(name));
        out.push('=');
        out.push_str(&percent_encode(value));
    }
    out
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// POSTs a form, with an optional `Cookie` header.
pub async fn post_form(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> HttpResponse {
    let body = form_body(fields);
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    http(addr, "POST", path, &headers, &body).await
}

/// GET with a `Cookie` header.
pub async fn get_with_cookie(addr: SocketAddr, path: &str, cookie: &str) -> HttpResponse {
    http(addr, "GET", path, &[("Cookie", cookie)], "").await
}

/// Writes a masked text frame straight to the TCP stream, bypassing the
/// client's WebSocket state (which refuses to send after it has seen a
/// close). Errors are ignored: the server may have hung up.
pub async fn write_raw_text(socket: &mut Socket, text: &str) {
    let payload = text.as_bytes();
    assert!(payload.len() < 126, "short frames only");
    let mask = [0x5a_u8, 0x13, 0xc7, 0x88];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(index, byte)| byte ^ mask[index % 4]),
    );
    if let MaybeTlsStream::Plain(tcp) = socket.get_mut() {
        let _ = tcp.write_all(&frame).await;
        let _ = tcp.flush().await;
    }
}
