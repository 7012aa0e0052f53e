//! One simulated user: a session cookie, a mounted `soak` view, clicks
//! that count as acknowledged once their reply (with the event's `ref`)
//! arrives, sockets dropped without a close, and reconnects that present
//! the resume token and then check the page's count against what was
//! acknowledged. Connections come from the user's own 127.x address so
//! the server's per-address limits stay at their defaults.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::http::{attribute, get_page_over, Target};
use crate::net::connect_from;

/// A client socket.
pub type Socket = WebSocketStream<tokio::net::TcpStream>;

/// Bound on every single wait for the server.
pub const WAIT: Duration = Duration::from_secs(15);

/// What a user saw go wrong.
#[derive(Debug)]
pub enum Trouble {
    /// No answer, a refused connection, a closed socket: the user sees
    /// "reconnecting" and the client retries.
    Network(String),
    /// An `error` frame (`djust:error` in the page).
    Shown(String),
}

type Outcome<T> = Result<T, Trouble>;

fn network<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Trouble {
    move |e| Trouble::Network(format!("{what}: {e}"))
}

/// How a reconnect ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejoin {
    /// The same view came back; `lost` acknowledged clicks were missing.
    Resumed { lost: u64 },
    /// The token was refused: a fresh mount, every acknowledged click lost.
    Fresh { lost: u64 },
}

/// One user.
pub struct User {
    pub source: Ipv4Addr,
    cookie: Option<String>,
    mount_token: String,
    path: String,
    view: &'static str,
    resume_token: Option<String>,
    version: u64,
    next_ref: u64,
    /// Clicks the server acknowledged, as the page should now count them.
    pub acked: u64,
    pub socket: Option<Socket>,
}

impl User {
    /// GETs the `soak` page from `source` and mounts its view on `addr`.
    pub async fn open(source: Ipv4Addr, addr: SocketAddr) -> Outcome<User> {
        Self::open_view(source, addr, "/", "soak").await
    }

    /// GETs `path` from `source` and mounts `view` on `addr`.
    pub async fn open_view(
        source: Ipv4Addr,
        addr: SocketAddr,
        path: &str,
        view: &'static str,
    ) -> Outcome<User> {
        let target = Target {
            addr,
            path: path.to_owned(),
        };
        let stream = connect_from(source, addr)
            .await
            .map_err(network("GET connect"))?;
        let page = tokio::time::timeout(WAIT, get_page_over(stream, &target, None))
            .await
            .map_err(network("GET"))?
            .map_err(Trouble::Network)?;
        let mount_token = attribute(&page.body, "data-djust-token")
            .ok_or_else(|| Trouble::Network("page has no mount token".to_owned()))?;
        let mut user = User {
            source,
            cookie: (!page.cookies.is_empty()).then(|| page.cookies.join("; ")),
            mount_token,
            path: path.to_owned(),
            view,
            resume_token: None,
            version: 0,
            next_ref: 0,
            acked: 0,
            socket: None,
        };
        let socket = user.connect(addr).await?;
        user.socket = Some(socket);
        user.mount().await?;
        Ok(user)
    }

    /// A new WebSocket to `addr` with the session cookie; the `connect`
    /// frame is read.
    async fn connect(&self, addr: SocketAddr) -> Outcome<Socket> {
        let mut request = format!("ws://{addr}/ws/live/")
            .into_client_request()
            .map_err(network("request"))?;
        let origin = HeaderValue::from_str(&format!("http://{addr}")).map_err(network("origin"))?;
        request.headers_mut().insert("origin", origin);
        if let Some(cookie) = &self.cookie {
            let cookie = HeaderValue::from_str(cookie).map_err(network("cookie"))?;
            request.headers_mut().insert("cookie", cookie);
        }
        let stream = connect_from(self.source, addr)
            .await
            .map_err(network("connect"))?;
        let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
        let (mut socket, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::client_async_with_config(request, stream, Some(config)),
        )
        .await
        .map_err(network("handshake"))?
        .map_err(network("handshake"))?;
        let hello = next_frame(&mut socket).await?;
        if hello["type"] != "connect" {
            return Err(Trouble::Network(format!("expected connect, got {hello}")));
        }
        Ok(socket)
    }

    fn socket(&mut self) -> Outcome<&mut Socket> {
        self.socket
            .as_mut()
            .ok_or_else(|| Trouble::Network("not connected".to_owned()))
    }

    pub async fn send(&mut self, frame: Value) -> Outcome<()> {
        let socket = self.socket()?;
        tokio::time::timeout(WAIT, socket.send(Message::text(frame.to_string())))
            .await
            .map_err(network("send"))?
            .map_err(network("send"))
    }

    /// Mounts afresh on the current socket.
    async fn mount(&mut self) -> Outcome<()> {
        let frame = json!({"type": "mount", "view": self.view, "params": {}, "url": self.path, "mount_token": self.mount_token});
        self.send(frame).await?;
        loop {
            let frame = next_frame(self.socket()?).await?;
            match frame["type"].as_str() {
                Some("mount") => {
                    self.resume_token = frame["resume_token"].as_str().map(str::to_owned);
                    self.version = frame["version"].as_u64().unwrap_or(0);
                    self.acked = page_count(&frame).unwrap_or(0);
                    return Ok(());
                }
                Some("error") => return Err(Trouble::Shown(frame["error"].to_string())),
                Some("navigate") => return Err(Trouble::Shown(format!("navigate: {frame}"))),
                _ => continue,
            }
        }
    }

    /// One click, closed loop: `Ok(())` once the server acknowledged it.
    pub async fn click(&mut self) -> Outcome<()> {
        self.next_ref += 1;
        let reference = self.next_ref;
        self.send(json!({"type": "event", "event": "inc", "params": {}, "ref": reference}))
            .await?;
        loop {
            let frame = next_frame(self.socket()?).await?;
            if frame["type"] == "patch" {
                if let Some(version) = frame["version"].as_u64() {
                    self.version = version;
                }
            }
            if frame["ref"].as_u64() != Some(reference) {
                continue;
            }
            return match frame["type"].as_str() {
                Some("patch") | Some("noop") => {
                    self.acked += 1;
                    Ok(())
                }
                Some("error") => Err(Trouble::Shown(frame["error"].to_string())),
                _ => Err(Trouble::Network(format!("unexpected reply {frame}"))),
            };
        }
    }

    /// Drops the socket without a close frame (the tab lost its network).
    pub fn drop_socket(&mut self) {
        self.socket = None;
    }

    /// Reconnects to `addr` with the resume token (or mounts afresh when
    /// refused) and checks the page's count against the acknowledged clicks.
    pub async fn rejoin(&mut self, addr: SocketAddr) -> Outcome<Rejoin> {
        self.socket = None;
        let socket = self.connect(addr).await?;
        self.socket = Some(socket);
        let Some(token) = self.resume_token.clone() else {
            let lost = self.acked;
            self.mount().await?;
            return Ok(Rejoin::Fresh { lost });
        };
        self.send(
            json!({"type": "resume", "view": self.view, "token": token, "version": self.version}),
        )
        .await?;
        loop {
            let frame = next_frame(self.socket()?).await?;
            match frame["type"].as_str() {
                Some("resumed") => {
                    self.resume_token = frame["resume_token"].as_str().map(str::to_owned);
                    break;
                }
                Some("resume_refused") => {
                    let lost = self.acked;
                    self.mount().await?;
                    return Ok(Rejoin::Fresh { lost });
                }
                Some("error") => return Err(Trouble::Shown(frame["error"].to_string())),
                _ => continue,
            }
        }
        // What was missed follows `resumed`; then the whole page, to check.
        self.send(json!({"type": "request_html"})).await?;
        loop {
            let frame = next_frame(self.socket()?).await?;
            if frame["type"] == "html_update" {
                let count = page_count(&frame)
                    .ok_or_else(|| Trouble::Network("html_update without a count".to_owned()))?;
                self.version = frame["version"].as_u64().unwrap_or(self.version);
                let lost = self.acked.saturating_sub(count);
                // Clicks sent but never acknowledged may have counted.
                self.acked = count;
                return Ok(Rejoin::Resumed { lost });
            }
        }
    }
}

/// The count in the page of a `mount` or `html_update` frame.
fn page_count(frame: &Value) -> Option<u64> {
    let html = frame["html"].as_str()?;
    let start = html.find("id=\"n\"")?;
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let digits: String = rest[open..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The next JSON text frame (pings are answered by tungstenite).
pub async fn next_frame(socket: &mut Socket) -> Outcome<Value> {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .map_err(network("read"))?;
        match frame {
            None => return Err(Trouble::Network("socket closed".to_owned())),
            Some(Err(e)) => return Err(Trouble::Network(format!("socket: {e}"))),
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).map_err(network("JSON"))
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(Trouble::Network(format!("closed by server: {frame:?}")))
            }
            Some(Ok(_)) => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_read_from_the_page() {
        let frame = json!({"html": "<h1>x</h1><p id=\"n\">42</p><p>7</p>"});
        assert_eq!(page_count(&frame), Some(42));
        assert_eq!(page_count(&json!({"html": "<p id=\"m\">1</p>"})), None);
        assert_eq!(page_count(&json!({"html": "<p id=\"n\">"})), None);
        assert_eq!(page_count(&json!({"html": 5})), None);
        assert_eq!(page_count(&json!({})), None);
        assert_eq!(
            page_count(&json!({"html": "<p id=\"n\">99999999999999999999999</p>"})),
            None
        );
    }
}
