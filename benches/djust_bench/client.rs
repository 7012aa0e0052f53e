//! One bench session's client side (the page over plain HTTP is in
//! `http`, re-exported here): the WebSocket opened with the server's own `Origin`, the mount handshake in
//! either wire dialect, reading JSON frames, and the closing handshake.

use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::args::Protocol;
pub use crate::http::{attribute, get_page, parse_url, Target, IO_TIMEOUT};
use crate::stats::Stats;
use crate::BenchResult;

/// A client WebSocket to the server under test.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
