//! Loopback plumbing for the attacks: connections from chosen 127.x.y.z
//! source addresses (every address of 127/8 reaches the loopback
//! interface, so one machine can be many clients), and reading a response
//! status or waiting for the server to hang up.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpSocket, TcpStream};

/// Longest wait for a connection to be accepted by the kernel.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to `addr` from `source`.
pub async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddrV4::new(source, 0).into())?;
    match tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(addr)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        )),
    }
}

/// The `index`-th attacker address: 127.1.0.1, 127.1.0.2, … (never the
/// legitimate client's 127.0.0.254).
pub fn attacker(index: usize) -> Ipv4Addr {
    let index = index % (250 * 250);
    Ipv4Addr::new(127, 1 + (index / 250) as u8, 0, 1 + (index % 250) as u8)
}

/// How a connection ended from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server answered with this status (and then closed or not).
    Status(u16),
    /// The server closed without an answer.
    Closed,
    /// Still open when the attack ended.
    Open,
}

/// Reads until a status line arrives, the server closes, or `until` fires.
pub async fn wait_answer(
    stream: &mut TcpStream,
    until: impl std::future::Future<Output = ()>,
) -> End {
    let mut received = Vec::new();
    let mut buf = [0_u8; 4096];
    tokio::pin!(until);
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return status_of(&received).map_or(End::Closed, End::Status),
                Ok(n) => {
                    received.extend_from_slice(&buf[..n]);
                    if let Some(status) = status_of(&received) {
                        return End::Status(status);
                    }
                }
            },
            () = &mut until => return End::Open,
        }
    }
}

/// Waits until the server closes the connection (its answer, if any, is
/// read and dropped) or `until` fires: `true` if the server closed.
pub async fn wait_closed(
    stream: &mut TcpStream,
    until: impl std::future::Future<Output = ()>,
) -> bool {
    let mut buf = [0_u8; 4096];
    tokio::pin!(until);
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            },
            () = &mut until => return false,
        }
    }
}

fn status_of(received: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(received.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}
