//! Shared helpers for tests that talk to a real server on 127.0.0.1:0:
//! a minimal HTTP/1.1 client over `TcpStream` and WebSocket helpers on
//! tokio-tungstenite. Every wait is bounded by a timeout.
#![allow(dead_code)]

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

/// A secret for tests (≥ 32 bytes).
pub const TEST_SECRET: &str = "test-secret-key-with-at-least-32-bytes!!";

/// Default test config: real limits, known secret.
pub fn test_config() -> djust::Config {
    djust::Config {
        secret_key: Some(TEST_SECRET.to_owned()),
        ..djust::Config::default()
    }
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
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
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
    let mut request = format!("ws://{addr}/ws/live/")
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
