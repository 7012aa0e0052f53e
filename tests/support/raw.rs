//! Raw TCP for the HTTP-limit tests: connections from chosen loopback
//! addresses (127.0.0.x), partial requests, and watching for the server to
//! hang up. Every wait is bounded; a bound is a hang detector, not a
//! timing threshold.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Longest wait for anything the server should do by itself (close an idle
/// connection, time a request out). Far above the timeouts the tests set.
pub const HANG: Duration = Duration::from_secs(15);

/// A TCP connection to `addr` from the loopback address `source`
/// (`127.0.0.x`: every address of 127/8 reaches the loopback interface).
pub async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddrV4::new(source, 0).into())
        .expect("bind a loopback source");
    tokio::time::timeout(Duration::from_secs(5), socket.connect(addr))
        .await
        .expect("connect timeout")
        .expect("connect")
}

/// How a connection ended while reading it.
#[derive(Debug)]
pub struct Ended {
    /// Everything the server sent.
    pub received: Vec<u8>,
    /// The server closed (EOF or reset) within `bound`.
    pub closed: bool,
}

impl Ended {
    /// The status of the first response received, if any.
    pub fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.received);
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }
}

/// Reads until the server closes the connection or `bound` passes.
pub async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> Ended {
    let deadline = tokio::time::Instant::now() + bound;
    let mut received = Vec::new();
    let mut buf = [0_u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Ended {
                    received,
                    closed: true,
                }
            }
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => {
                return Ended {
                    received,
                    closed: false,
                }
            }
        }
    }
}

/// Writes `bytes`; `false` if the server already hung up.
pub async fn send(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    stream.write_all(bytes).await.is_ok() && stream.flush().await.is_ok()
}

/// Reads one response with a `Content-Length` body (keep-alive requests):
/// `(status, head, body)`.
pub async fn read_response(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut buf = [0_u8; 8192];
    let head_end = loop {
        if let Some(at) = raw.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("response timeout")
            .expect("read");
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status");
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("content-length");
    let mut body = raw[head_end..].to_vec();
    while body.len() < length {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("body timeout")
            .expect("read");
        assert!(n > 0, "closed inside the body");
        body.extend_from_slice(&buf[..n]);
    }
    (status, head, body)
}

/// `127.0.0.x`.
pub fn loopback(x: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, x)
}
