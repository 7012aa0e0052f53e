//! One bench session's client side: where the page lives ([`Target`]),
//! `GET` of the page over plain HTTP/1.1 (cookies, chunked bodies), the
//! WebSocket opened with the server's own `Origin`, the mount handshake in
//! either wire dialect, reading JSON frames, and the closing handshake.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::args::Protocol;
use crate::stats::Stats;
use crate::BenchResult;

/// A client WebSocket to the server under test.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Bound on every single network wait.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the page lives.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
}

/// Parses `--url`: `http://IP:PORT[/path]`, loopback only.
pub fn parse_url(url: &str) -> BenchResult<Target> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url `{url}`: only http:// URLs are supported"))?;
    let (host, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = host
        .parse()
        .map_err(|_| format!("--url `{url}`: host must be IP:PORT (e.g. 127.0.0.1:8000)"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "--url `{url}`: only loopback addresses are allowed"
        ));
    }
    Ok(Target {
        addr,
        path: path.to_owned(),
    })
}

/// A page as `GET` returned it: the (dechunked) body and the cookies set.
pub struct Page {
    pub body: String,
    pub cookies: Vec<String>,
}

/// `GET path` over HTTP/1.1 with `Connection: close`.
pub async fn get_page(target: &Target, cookie: Option<&str>) -> BenchResult<Page> {
    let mut stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(target.addr))
        .await
        .map_err(|_| "GET: connect timed out".to_owned())?
        .map_err(|e| format!("GET: connect {}: {e}", target.addr))?;
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: text/html\r\n",
        target.path, target.addr
    );
    if let Some(cookie) = cookie {
        request.push_str("Cookie: ");
        request.push_str(cookie);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("GET: write: {e}"))?;
    let mut raw = Vec::with_capacity(8192);
    tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut raw))
        .await
        .map_err(|_| "GET: read timed out".to_owned())?
        .map_err(|e| format!("GET: read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("GET: malformed HTTP response")?;
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("?");
    if status != "200" {
        return Err(format!("GET {}: HTTP status {status}", target.path));
    }
    let cookies = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, value)| value.split(';').next().map(|c| c.trim().to_owned()))
        .collect();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok(Page {
        body: if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
        cookies,
    })
}

/// Joins the chunks of a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = size.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            break;
        };
        if size == 0 || rest.len() < size || !rest.is_char_boundary(size) {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The value of the first `name="..."` attribute in `html`.
fn attribute(html: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&amp;", "&")
            .replace("&quot;", "\""),
    )
}

/// Reads the next text frame as JSON; pings are answered by tungstenite.
/// With `observe`, chat deliveries in the frame are recorded for that
/// receiving session.
pub async fn next_json(
    stream: &mut SplitStream<Socket>,
    observe: Option<(&Stats, usize)>,
) -> BenchResult<(Value, usize)> {
    loop {
        let frame = tokio::time::timeout(IO_TIMEOUT, stream.next())
            .await
            .map_err(|_| "no frame within 30 s".to_owned())?;
        match frame {
            None => return Err("socket closed".to_owned()),
            Some(Err(e)) => return Err(format!("socket error: {e}")),
            Some(Ok(Message::Text(text))) => {
                if let Some((stats, receiver)) = observe {
                    stats.observe(text.as_str(), receiver, Instant::now());
                }
                let value = serde_json::from_str(text.as_str())
                    .map_err(|e| format!("server sent non-JSON text: {e}"))?;
                return Ok((value, text.len()));
            }
            Some(Ok(Message::Binary(bytes))) => {
                return Err(format!(
                    "server sent a binary frame ({} bytes)",
                    bytes.len()
                ))
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("socket closed by server: {frame:?}"))
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// A session whose view is mounted: its socket, split, and the size of the
/// mount frame.
pub struct Mounted {
    pub sink: SplitSink<Socket, Message>,
    pub stream: SplitStream<Socket>,
    pub mount_bytes: usize,
}

/// GET the page, open the socket, mount with `params`. Returns the split socket.
pub async fn open_session(
    target: &Target,
    protocol: Protocol,
    params: Value,
    digest: bool,
) -> BenchResult<Mounted> {
    let page = get_page(target, None).await?;
    let page_digest = attribute(&page.body, "data-djust-digest").filter(|_| digest);
    let (view_attr, token) = match protocol {
        Protocol::DjustRs => (
            "data-djust-view",
            Some(attribute(&page.body, "data-djust-token").ok_or("page has no data-djust-token")?),
        ),
        Protocol::DjustPy => ("dj-view", None),
    };
    let view = attribute(&page.body, view_attr)
        .ok_or_else(|| format!("page has no {view_attr} attribute"))?;
    let mut request = format!("ws://{}/ws/live/", target.addr)
        .into_client_request()
        .map_err(|e| format!("bad WebSocket URL: {e}"))?;
    let origin = HeaderValue::from_str(&format!("http://{}", target.addr))
        .map_err(|e| format!("bad Origin header: {e}"))?;
    request.headers_mut().insert("origin", origin);
    if !page.cookies.is_empty() {
        let cookie = HeaderValue::from_str(&page.cookies.join("; "))
            .map_err(|e| format!("bad Cookie header: {e}"))?;
        request.headers_mut().insert("cookie", cookie);
    }
    let (socket, _) = tokio::time::timeout(
        IO_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(
            request,
            // The client's frames are small; 128 KiB default read buffers
            // would dominate the bench process's own memory at 10,000 sockets.
            Some(WebSocketConfig::default().read_buffer_size(16 * 1024)),
            true,
        ),
    )
    .await
    .map_err(|_| "WebSocket connect timed out".to_owned())?
    .map_err(|e| format!("WebSocket connect: {e}"))?;
    let (mut sink, mut stream) = socket.split();
    let (hello, _) = next_json(&mut stream, None).await?;
    if hello["type"] != "connect" {
        return Err(format!("expected a connect frame, got {hello}"));
    }
    let mount = match token {
        Some(token) => {
            json!({"type": "mount", "view": view, "params": params, "url": target.path, "mount_token": token, "digest": page_digest})
        }
        None => {
            json!({"type": "mount", "view": view, "params": params, "url": target.path, "has_prerendered": false})
        }
    };
    sink.send(Message::text(mount.to_string()))
        .await
        .map_err(|e| format!("send mount: {e}"))?;
    for _ in 0..32 {
        let (frame, bytes) = next_json(&mut stream, None).await?;
        match frame["type"].as_str() {
            Some("mount") => {
                return Ok(Mounted {
                    sink,
                    stream,
                    mount_bytes: bytes,
                })
            }
            Some("error") | Some("navigate") => return Err(format!("mount refused: {frame}")),
            _ => continue,
        }
    }
    Err("no mount frame within 32 frames".to_owned())
}

/// Sends a close frame (bounded wait) and drops the socket.
pub async fn close_session(mut session: Mounted) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = session.sink.send(Message::Close(None)).await;
        let _ = session.sink.close().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_parse_with_their_path() {
        let target =
            parse_url("http://127.0.0.1:8000/table?x=<b>&y=é").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            target.addr,
            "127.0.0.1:8000".parse().unwrap_or_else(|e| panic!("{e}"))
        );
        assert_eq!(target.path, "/table?x=<b>&y=é");
        let target = parse_url("http://127.0.0.1:8000").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(target.path, "/");
        let target = parse_url("http://[::1]:8000/").unwrap_or_else(|e| panic!("{e}"));
        assert!(target.addr.ip().is_loopback());
    }

    #[test]
    fn other_urls_are_refused() {
        for url in [
            "https://127.0.0.1:8000/",
            "ws://127.0.0.1:8000/",
            "http://10.0.0.1:8000/",
            "http://0.0.0.0:8000/",
            "http://localhost:8000/",
            "http://127.0.0.1/",
            "http://127.0.0.1:99999/",
            "http://user@127.0.0.1:8000/",
            "http://１２７.0.0.1:8000/",
            "HTTP://127.0.0.1:8000/",
            "",
        ] {
            assert!(parse_url(url).is_err(), "{url} was accepted");
        }
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"),
            "hello world"
        );
        assert_eq!(dechunk("5\r\nnaïv\r\n2\r\ne!\r\n0\r\n\r\n"), "naïve!");
        assert_eq!(dechunk(""), "");
    }

    #[test]
    fn malformed_chunks_stop_without_panicking() {
        // Not hex, a size beyond the body, a size that overflows usize, a
        // size that ends inside a character, no size line at all.
        assert_eq!(dechunk("zz\r\nhello\r\n0\r\n\r\n"), "");
        assert_eq!(dechunk("5\r\nhello\r\nff\r\nshort\r\n"), "hello");
        assert_eq!(dechunk("ffffffffffffffffffff\r\nx\r\n"), "");
        assert_eq!(dechunk("2\r\néa\r\n0\r\n\r\n"), "é");
        assert_eq!(dechunk("1\r\né\r\n0\r\n\r\n"), "");
        assert_eq!(dechunk("hello"), "");
    }

    #[test]
    fn attributes_are_found_by_whole_name_and_unescaped() {
        let html = r#"<div xdata-djust-view="wrong" data-djust-view="a&amp;b &quot;c&quot;" data-djust-token="t">"#;
        assert_eq!(
            attribute(html, "data-djust-view").as_deref(),
            Some(r#"a&b "c""#)
        );
        assert_eq!(attribute(html, "data-djust-token").as_deref(), Some("t"));
        assert_eq!(attribute(html, "dj-view"), None);
        assert_eq!(attribute(r#"<div dj-view="unterminated"#, "dj-view"), None);
        assert_eq!(
            attribute(r#"<div dj-view="">"#, "dj-view").as_deref(),
            Some("")
        );
    }
}
