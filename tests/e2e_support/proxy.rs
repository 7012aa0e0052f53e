//! A TCP proxy on 127.0.0.1:0 that plays the network between a browser and
//! a server: it can go away (every connection dropped without a WebSocket
//! close, new ones refused) and come back, and it can lose or reorder
//! frames the server sends on upgraded WebSockets.
//!
//! Bytes from the client pass unchanged. From the server, bytes pass
//! unchanged until a `101 Switching Protocols` response; after it, the
//! stream is cut into WebSocket frames (server frames are unmasked and,
//! with tungstenite's defaults, never fragmented), so whole frames can be
//! dropped or swapped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What to do to the next server frame whose text contains `needle`.
#[derive(Debug, Clone)]
enum Rule {
    Drop(String),
    /// Hold it and send it after the next frame that matches too.
    SwapWithNext(String),
}

#[derive(Default)]
struct Shared {
    down: AtomicBool,
    connections: Mutex<Vec<JoinHandle<()>>>,
    rules: Mutex<Vec<Rule>>,
}

/// A running proxy; dropping it stops it and every connection.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Proxies `127.0.0.1:<free port>` to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accepting.down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let task = tokio::spawn(pipe(client, server, accepting.clone()));
                let mut connections = accepting
                    .connections
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                connections.retain(|task| !task.is_finished());
                connections.push(task);
            }
        });
        Proxy {
            addr,
            shared,
            accept,
        }
    }

    /// Where to point the browser.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The network goes away: every connection is dropped at once (no
    /// WebSocket close frame ever reaches either side) and new ones are
    /// refused until [`Proxy::restore`].
    pub fn cut(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        for task in self
            .shared
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }

    /// The network is back.
    pub fn restore(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }

    /// Loses the next server frame whose text contains `needle`.
    pub fn drop_next_frame(&self, needle: &str) {
        self.rule(Rule::Drop(needle.to_owned()));
    }

    /// Delivers the next two server frames whose text contains `needle`
    /// in the opposite order.
    pub fn swap_next_two_frames(&self, needle: &str) {
        self.rule(Rule::SwapWithNext(needle.to_owned()));
    }

    fn rule(&self, rule: Rule) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(rule);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn pipe(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    };
    let downstream = async {
        let _ = downstream(&mut server_read, &mut client_write, &shared).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}

/// Server to client: raw until a `101`, then frame by frame through the rules.
async fn downstream(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut upgraded = false;
    let mut held: Option<Vec<u8>> = None;
    loop {
        let read = from.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if !upgraded {
            if !buffer.starts_with(b"HTTP/1.1 101") {
                if buffer.len() >= 12 {
                    to.write_all(&buffer).await?;
                    buffer.clear();
                }
                continue;
            }
            let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            to.write_all(&buffer[..end + 4]).await?;
            buffer.drain(..end + 4);
            upgraded = true;
        }
        while let Some(len) = frame_len(&buffer) {
            let frame: Vec<u8> = buffer.drain(..len).collect();
            let text = String::from_utf8_lossy(&frame).into_owned();
            let rule = {
                let mut rules = shared.rules.lock().unwrap_or_else(|e| e.into_inner());
                let index = rules.iter().position(|rule| match rule {
                    Rule::Drop(needle) | Rule::SwapWithNext(needle) => {
                        text.contains(needle.as_str())
                    }
                });
                index.map(|index| rules.remove(index))
            };
            match (rule, held.take()) {
                (Some(Rule::Drop(_)), earlier) => held = earlier,
                (Some(Rule::SwapWithNext(needle)), None) => {
                    held = Some(frame);
                    // The frame that comes next and matches goes first.
                    shared
                        .rules
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(0, Rule::SwapWithNext(needle));
                }
                (Some(Rule::SwapWithNext(_)), Some(earlier)) => {
                    to.write_all(&frame).await?;
                    to.write_all(&earlier).await?;
                }
                (None, earlier) => {
                    held = earlier;
                    to.write_all(&frame).await?;
                }
            }
        }
    }
}

/// The length of the first complete (unmasked) frame in `buffer`.
fn frame_len(buffer: &[u8]) -> Option<usize> {
    let second = *buffer.get(1)?;
    let (header, payload) = match second & 0x7f {
        126 => (
            4,
            u16::from_be_bytes([*buffer.get(2)?, *buffer.get(3)?]) as usize,
        ),
        127 => {
            let bytes: [u8; 8] = buffer.get(2..10)?.try_into().ok()?;
            (10, u64::from_be_bytes(bytes) as usize)
        }
        short => (2, short as usize),
    };
    let masked = if second & 0x80 != 0 { 4 } else { 0 };
    let total = header + masked + payload;
    (buffer.len() >= total).then_some(total)
}
