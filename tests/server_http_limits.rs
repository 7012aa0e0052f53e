//! The plain HTTP path is bounded in time, size and number (issue 23,
//! finding 1), over real TCP on 127.0.0.1:0: slow request heads, silent and
//! idle kept-alive connections and stalled bodies are closed; oversized
//! heads get 431 and oversized bodies 413; the global and per-address
//! connection caps hold while clients from other addresses are served;
//! upgraded WebSockets are not cut by the HTTP timeouts; shutdown lets the
//! request in progress finish and closes sockets with 1001.
//!
//! On a server without these bounds (warp's own `serve`, before issue 23)
//! every connection below stays open until the test's hang bound.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use djust::prelude::*;
use support::raw::*;
use support::*;
use warp::Filter;

struct Counter {
    count: i64,
}

#[live_view(public, name = "counter")]
impl Counter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Counter { count: 0 })
    }

    fn render(&self) -> Html {
        html! { <p id="count">{self.count}</p> }
    }

    #[event_handler]
    fn increment(&mut self) {
        self.count += 1;
    }
}

/// Releases the requests waiting in `GET /slow`.
struct Gate(tokio::sync::watch::Sender<bool>);

impl Gate {
    fn release(&self) {
        self.0.send_replace(true);
    }
}

fn config(tune: impl FnOnce(&mut djust::Config)) -> djust::Config {
    let mut config = test_config();
    tune(&mut config);
    config
}

async fn start(config: djust::Config) -> (djust::Server, Gate) {
    let (release, waiting) = tokio::sync::watch::channel(false);
    let slow = warp::path!("slow").and(warp::get()).then(move || {
        let mut waiting = waiting.clone();
        async move {
            let _ = waiting.wait_for(|released| *released).await;
            "finished"
        }
    });
    let big = warp::path!("big")
        .and(warp::get())
        .map(|| vec![b'x'; BIG_RESPONSE]);
    let echo = warp::path!("echo")
        .and(warp::post())
        .and(warp::body::bytes())
        .map(|body: warp::hyper::body::Bytes| body.len().to_string());
    let limited = warp::path!("limited")
        .and(warp::post())
        .and(warp::body::content_length_limit(1024))
        .and(warp::body::bytes())
        .map(|body: warp::hyper::body::Bytes| body.len().to_string());
    let backend = djust::runtime::auth::MemoryAuthBackend::new();
    backend.insert(
        djust::runtime::auth::User::new("1", "alice"),
        quick_hash("alice-password"),
    );
    let server = App::new()
        .config(config)
        .auth(backend)
        .live("/", Counter::view())
        .route(slow)
        .route(echo)
        .route(big)
        .route(limited)
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    (server, Gate(release))
}

/// Bytes of `GET /big`: more than the client's and the server's socket
/// buffers hold together, so a client that does not read blocks the server.
const BIG_RESPONSE: usize = 32 * 1024 * 1024;

/// `GET /` asking to keep the connection open.
fn keep_alive_get(addr: SocketAddr) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes()
}

/// A request served from `source` (a fresh connection): its status.
async fn served_from(source: u8, addr: SocketAddr) -> Option<u16> {
    let mut stream = connect_from(loopback(source), addr).await;
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if !send(&mut stream, request.as_bytes()).await {
        return None;
    }
    read_until_closed(&mut stream, HANG).await.status()
}

#[tokio::test]
async fn slow_request_heads_are_closed_at_the_header_timeout() {
    let (server, _) = start(config(|c| {
        c.http_header_timeout_secs = 2;
        c.http_idle_timeout_secs = 1;
    }))
    .await;
    let addr = server.local_addr();
    let mut stream = connect_from(loopback(1), addr).await;
    assert!(
        send(
            &mut stream,
            format!("GET / HTTP/1.1\r\nHost: {addr}\r\n").as_bytes()
        )
        .await
    );
    // One header line every 200 ms: bytes keep coming (so the idle timeout
    // does not apply) but the head never ends.
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for line in 0..75 {
            use tokio::io::AsyncWriteExt as _;
            if writer
                .write_all(format!("X-Slow-{line}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        75
    });
    let mut buf = [0_u8; 1024];
    let closed = tokio::time::timeout(HANG, async {
        use tokio::io::AsyncReadExt as _;
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the slow head was still open after {HANG:?}"
    );
    trickle.abort();
    // The server is fine: another client is served.
    assert_eq!(served_from(2, addr).await, Some(200));
    server.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let (server, _) = start(config(|c| {
        c.http_header_timeout_secs = 2;
        c.http_idle_timeout_secs = 1;
    }))
    .await;
    let addr = server.local_addr();
    let mut silent = connect_from(loopback(1), addr).await;
    let ended = read_until_closed(&mut silent, HANG).await;
    assert!(
        ended.closed,
        "a silent connection was still open after {HANG:?}"
    );
    assert!(ended.received.is_empty(), "no response to no request");
    server.shutdown().await;
}

#[tokio::test]
async fn cleartext_http2_with_prior_knowledge_is_refused() {
    let (server, _) = start(config(|_| {})).await;
    let addr = server.local_addr();
    let mut stream = connect_from(loopback(1), addr).await;
    // The HTTP/2 connection preface, then an empty SETTINGS frame.
    let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    send(&mut stream, &preface).await;
    let ended = read_until_closed(&mut stream, HANG).await;
    assert!(ended.closed, "the HTTP/2 connection was kept open");
    // Nothing HTTP/2 comes back (a server speaking it answers with its own
    // SETTINGS frame): at most an HTTP/1 refusal.
    assert!(
        ended.received.is_empty() || ended.received.starts_with(b"HTTP/1.1 "),
        "{:?}",
        String::from_utf8_lossy(&ended.received)
    );
    // Control: HTTP/1.1 is served.
    let mut stream = connect_from(loopback(1), addr).await;
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    send(&mut stream, request.as_bytes()).await;
    assert_eq!(
        read_until_closed(&mut stream, HANG).await.status(),
        Some(200)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_oversized_request_head_gets_431() {
    let (server, _) = start(config(|c| c.http_max_header_bytes = 4096)).await;
    let addr = server.local_addr();
    for (what, extra) in [
        (
            "one long header",
            format!("X-Big: {}\r\n", "a".repeat(8 * 1024)),
        ),
        (
            "many small headers",
            (0..99)
                .map(|n| format!("X-H{n}: {}\r\n", "b".repeat(60)))
                .collect(),
        ),
        (
            "a long cookie",
            format!("Cookie: djust_session={}\r\n", "c".repeat(5000)),
        ),
        ("a long target", String::new()),
    ] {
        let target = if what == "a long target" {
            format!("/?q={}", "d".repeat(6000))
        } else {
            "/".to_owned()
        };
        let mut stream = connect_from(loopback(1), addr).await;
        let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n");
        send(&mut stream, request.as_bytes()).await;
        let ended = read_until_closed(&mut stream, HANG).await;
        assert_eq!(ended.status(), Some(431), "{what}");
        assert!(ended.closed, "{what}: the connection is closed after 431");
    }
    // Control: a head under the limit is served.
    let mut stream = connect_from(loopback(1), addr).await;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nX-Ok: {}\r\nConnection: close\r\n\r\n",
        "e".repeat(2000)
    );
    send(&mut stream, request.as_bytes()).await;
    assert_eq!(
        read_until_closed(&mut stream, HANG).await.status(),
        Some(200)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let (server, _) = start(config(|c| {
        c.http_header_timeout_secs = 3;
        c.http_idle_timeout_secs = 1;
    }))
    .await;
    let addr = server.local_addr();
    let mut stream = connect_from(loopback(1), addr).await;
    // Keep-alive works: two requests on one connection...
    for _ in 0..2 {
        assert!(send(&mut stream, &keep_alive_get(addr)).await);
        let (status, head, _) = read_response(&mut stream).await;
        assert_eq!(status, 200);
        assert!(
            !head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
    }
    // ...then, with nothing sent, the server closes it.
    let ended = read_until_closed(&mut stream, HANG).await;
    assert!(
        ended.closed,
        "an idle connection was still open after {HANG:?}"
    );
    assert!(
        ended.received.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&ended.received)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_stalled_login_body_is_answered_408_and_closed() {
    let (server, _) = start(config(|c| c.http_body_timeout_secs = 1)).await;
    let addr = server.local_addr();
    let page = get(addr, "/login").await;
    let cookie = set_cookie_pair(&page, CSRF_COOKIE).expect("CSRF cookie");
    let mut stream = connect_from(loopback(1), addr).await;
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nusern"
    );
    assert!(send(&mut stream, head.as_bytes()).await);
    let ended = read_until_closed(&mut stream, HANG).await;
    assert!(ended.closed, "a stalled body was still open after {HANG:?}");
    assert_eq!(ended.status(), Some(408));
    // A body larger than declared limits is refused before it is read.
    let mut stream = connect_from(loopback(1), addr).await;
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        100 * 1024 * 1024
    );
    send(&mut stream, head.as_bytes()).await;
    assert_eq!(
        read_until_closed(&mut stream, HANG).await.status(),
        Some(413)
    );
    server.shutdown().await;
}

/// A route that reads its body with no limit of its own still gets at most
/// `DJUST_HTTP_MAX_BODY_BYTES`: a declared length above it is 413 before a
/// byte is read, and a chunked body is cut while streaming and answered 413.
#[tokio::test]
async fn bodies_above_the_global_limit_are_413_even_when_chunked() {
    let (server, _) = start(config(|c| {
        c.http_max_body_bytes = 4096;
        c.http_max_form_bytes = 4096;
    }))
    .await;
    let addr = server.local_addr();
    let session = log_in(addr, "alice", "alice-password", "/").await;
    let csrf = csrf_from_page(&get_with_cookie(addr, "/login", &session).await.body).expect("csrf");
    let post = |extra: &str| {
        format!(
            "POST /echo HTTP/1.1\r\nHost: {addr}\r\nCookie: {session}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/octet-stream\r\n{extra}\r\n"
        )
    };
    // Control: under the limit, chunked, the route reads it all.
    let mut stream = connect_from(loopback(1), addr).await;
    let mut request = post("Transfer-Encoding: chunked\r\n").into_bytes();
    request.extend_from_slice(format!("400\r\n{}\r\n0\r\n\r\n", "y".repeat(1024)).as_bytes());
    send(&mut stream, &request).await;
    let (status, _, body) = read_response(&mut stream).await;
    assert_eq!((status, body.as_slice()), (200, b"1024".as_slice()));
    // Chunked past the limit: cut while streaming.
    let mut stream = connect_from(loopback(1), addr).await;
    let mut request = post("Transfer-Encoding: chunked\r\n").into_bytes();
    for _ in 0..8 {
        request.extend_from_slice(format!("400\r\n{}\r\n", "z".repeat(1024)).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    send(&mut stream, &request).await;
    let ended = read_until_closed(&mut stream, HANG).await;
    assert_eq!(ended.status(), Some(413));
    assert!(
        ended.closed,
        "the connection is not reused after a cut body"
    );
    // A declared length past the limit: 413 before reading.
    let mut stream = connect_from(loopback(1), addr).await;
    send(&mut stream, post("Content-Length: 5000\r\n").as_bytes()).await;
    assert_eq!(
        read_until_closed(&mut stream, HANG).await.status(),
        Some(413)
    );
    // A route with its own `content_length_limit` needs a length: chunked
    // is 411 there, and a larger declared length 413.
    let mut stream = connect_from(loopback(1), addr).await;
    let mut request = post("Transfer-Encoding: chunked\r\nConnection: close\r\n")
        .replace("/echo", "/limited")
        .into_bytes();
    request.extend_from_slice(b"3\r\nabc\r\n0\r\n\r\n");
    send(&mut stream, &request).await;
    assert_eq!(
        read_until_closed(&mut stream, HANG).await.status(),
        Some(411)
    );
    let mut stream = connect_from(loopback(1), addr).await;
    let request =
        post("Content-Length: 2000\r\nConnection: close\r\n").replace("/echo", "/limited");
    send(&mut stream, request.as_bytes()).await;
    assert_eq!(
        read_until_closed(&mut stream, HANG).await.status(),
        Some(413)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_a_response_is_dropped() {
    let (server, _) = start(config(|c| c.send_timeout_secs = 1)).await;
    let addr = server.local_addr();
    let mut stream = connect_from(loopback(1), addr).await;
    let request = format!("GET /big HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    assert!(send(&mut stream, request.as_bytes()).await);
    // Read nothing while the server fills both socket buffers and blocks.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ended = read_until_closed(&mut stream, HANG).await;
    assert!(
        ended.closed,
        "a client that does not read was kept for {HANG:?}"
    );
    assert_eq!(ended.status(), Some(200));
    assert!(
        ended.received.len() < BIG_RESPONSE,
        "the whole response was buffered for a client that did not read"
    );
    // Control: a reading client gets it all.
    let mut reader = connect_from(loopback(2), addr).await;
    send(&mut reader, request.as_bytes()).await;
    assert_eq!(read_response(&mut reader).await.2.len(), BIG_RESPONSE);
    server.shutdown().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_per_address_cap_counts_requests_per_forwarded_address() {
    let (server, gate) = start(config(|c| {
        c.trusted_proxies = 1;
        c.http_max_connections_per_ip = 2;
    }))
    .await;
    let addr = server.local_addr();
    let slow_from = |client: &str| {
        format!("GET /slow HTTP/1.1\r\nHost: {addr}\r\nX-Forwarded-For: {client}\r\n\r\n")
    };
    // The proxy (127.0.0.1) holds more connections than the per-address
    // cap: they are the proxy's, not a client's.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect_from(loopback(1), addr).await;
        send(&mut stream, slow_from("203.0.113.9").as_bytes()).await;
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A third request in progress for the same client is refused...
    let mut third = connect_from(loopback(1), addr).await;
    send(&mut third, slow_from("203.0.113.9").as_bytes()).await;
    let (status, head, _) = read_response(&mut third).await;
    assert_eq!(status, 429);
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );
    // ...another client's is not, over the same proxy.
    let mut other = connect_from(loopback(1), addr).await;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nX-Forwarded-For: 198.51.100.7\r\nConnection: close\r\n\r\n"
    );
    send(&mut other, request.as_bytes()).await;
    assert_eq!(
        read_until_closed(&mut other, HANG).await.status(),
        Some(200)
    );
    gate.release();
    for stream in &mut held {
        assert_eq!(read_response(stream).await.0, 200);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_per_address_cap_holds_and_other_addresses_are_served() {
    let (server, _) = start(config(|c| {
        c.http_max_connections_per_ip = 3;
        c.http_header_timeout_secs = 60;
        c.http_idle_timeout_secs = 60;
    }))
    .await;
    let addr = server.local_addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(loopback(7), addr).await);
    }
    // The first three are served (one request each, kept alive).
    for stream in &mut held {
        assert!(send(stream, &keep_alive_get(addr)).await);
        assert_eq!(read_response(stream).await.0, 200);
    }
    // A fourth from the same address is closed without an answer.
    let mut refused = connect_from(loopback(7), addr).await;
    send(&mut refused, &keep_alive_get(addr)).await;
    let ended = read_until_closed(&mut refused, HANG).await;
    assert!(ended.closed);
    assert_eq!(
        ended.status(),
        None,
        "{:?}",
        String::from_utf8_lossy(&ended.received)
    );
    // Another address is served meanwhile.
    assert_eq!(served_from(8, addr).await, Some(200));
    // Closing one frees a slot for the first address.
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        if let Some(status) = served_from(7, addr).await {
            again = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(again, Some(200));
    server.shutdown().await;
}

#[tokio::test]
async fn the_global_cap_closes_the_longest_idle_connection_for_a_newcomer() {
    let (server, gate) = start(config(|c| {
        c.http_max_connections = 4;
        c.http_header_timeout_secs = 60;
        c.http_idle_timeout_secs = 60;
    }))
    .await;
    let addr = server.local_addr();
    // Four connections from four addresses sit idle (an attacker holding
    // the server's connection slots).
    let mut idle = Vec::new();
    for source in 10..14 {
        idle.push(connect_from(loopback(source), addr).await);
        // Admitted in order: the first is the longest idle.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A legitimate client from yet another address is served...
    assert_eq!(served_from(20, addr).await, Some(200));
    // ...because the longest-idle connection was closed for it.
    let ended = read_until_closed(&mut idle[0], HANG).await;
    assert!(ended.closed, "the oldest idle connection was not closed");
    // Connections serving a request are never closed for a newcomer: with
    // every slot busy, the newcomer is refused.
    let mut busy = Vec::new();
    for source in 30..34 {
        let mut stream = connect_from(loopback(source), addr).await;
        send(
            &mut stream,
            format!("GET /slow HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
        )
        .await;
        busy.push(stream);
    }
    // Let all four slow requests start (each evicted an idle connection or
    // took a free slot), then probe.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = false;
    for _ in 0..100 {
        if served_from(40, addr).await.is_none() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "a newcomer was served while every slot was busy");
    // Releasing the requests lets them finish.
    gate.release();
    for stream in &mut busy {
        let (status, _, body) = read_response(stream).await;
        assert_eq!((status, body.as_slice()), (200, b"finished".as_slice()));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn upgraded_websockets_are_not_cut_by_the_http_timeouts() {
    let (server, _) = start(config(|c| {
        c.http_header_timeout_secs = 1;
        c.http_idle_timeout_secs = 1;
        c.http_body_timeout_secs = 1;
        c.http_max_connections = 2;
    }))
    .await;
    let addr = server.local_addr();
    let (mut socket, mounted) = mount_page(addr, "/", "counter").await;
    assert!(mounted["html"]
        .as_str()
        .unwrap_or_default()
        .contains("count"));
    // Silent for three times every HTTP timeout...
    tokio::time::sleep(Duration::from_secs(3)).await;
    // ...and not counted against the HTTP cap: two more HTTP clients fit.
    assert_eq!(served_from(50, addr).await, Some(200));
    assert_eq!(served_from(51, addr).await, Some(200));
    let frames = send_event(&mut socket, "increment", serde_json::json!({}), 1).await;
    assert_eq!(frames[0]["type"], "patch", "{frames:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_the_request_in_progress_finish_and_closes_sockets_1012() {
    let (server, gate) = start(test_config()).await;
    let addr = server.local_addr();
    let (mut socket, _) = mount_page(addr, "/", "counter").await;
    let mut slow = connect_from(loopback(1), addr).await;
    send(
        &mut slow,
        format!("GET /slow HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
    )
    .await;
    let mut idle = connect_from(loopback(2), addr).await;
    // Let both connections be admitted before shutting down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let shutdown = tokio::spawn(server.shutdown());
    // The live socket is told the server restarts (1012), so its client
    // reconnects and resumes.
    let (code, _) = until_close(&mut socket).await;
    assert_eq!(code, Some(1012));
    // The idle connection is closed at once, without an answer.
    let ended = read_until_closed(&mut idle, HANG).await;
    assert!(ended.closed && ended.received.is_empty());
    // New connections are no longer accepted.
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err() || served_from(3, addr).await.is_none()
    );
    // The request in progress still gets its answer, then shutdown ends.
    gate.release();
    let (status, head, body) = read_response(&mut slow).await;
    assert_eq!((status, body.as_slice()), (200, b"finished".as_slice()));
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    tokio::time::timeout(HANG, shutdown)
        .await
        .expect("shutdown finished")
        .expect("shutdown task");
}
