//! CVE-2022-42975 (Phoenix before 1.6.14): wildcard `check_origin` matched
//! too much. `//*.example.com` was compared as a suffix, so
//! `evilexample.com` passed, and prefix-style comparisons elsewhere let
//! `example.com.evil.com` through: a page on the attacker's host could open
//! the victim's socket with the victim's cookies.
//!
//! djust-rs has no wildcards and no prefix or suffix matching: the whole
//! origin (scheme, host, port) must equal one configured origin, or by
//! default the server's own (`http://` + `Host`). `null` and a missing
//! `Origin` are refused, and a configured wildcard is a startup error. The
//! comparison ignores ASCII case only, because scheme and host are
//! case-insensitive (browsers send them lower-case; `HTTPS://EXAMPLE.COM` is
//! the same origin). The tests run each lookalike through a real WebSocket
//! handshake and expect `403` before any socket exists; the allowed origin
//! is the control.

use djust::prelude::*;

use crate::support::*;

struct Ping;

#[live_view(public, name = "adv42975_ping")]
impl Ping {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Ping)
    }

    fn render(&self) -> Html {
        html! { <p>"ping"</p> }
    }
}

async fn start(config: djust::Config) -> djust::Server {
    App::new()
        .config(djust::Config {
            // Dozens of refused handshakes in a row are the point here.
            max_connections_per_ip: 1_000,
            ..config
        })
        .live("/", Ping::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Lookalikes of `https://example.com` that are other origins.
const LOOKALIKES: [&str; 27] = [
    "https://example.com.evil.com",
    "https://evilexample.com",
    "https://evil-example.com",
    "https://example.com@evil.com",
    "https://evil.com@example.com",
    "https://evil.com#@example.com",
    "https://evil.com?.example.com",
    "https://evil.com/.example.com",
    "https://evil.com\\.example.com",
    "https://example.com.",
    "https://example.com:443",
    "https://example.com:8443",
    "https://example.com:",
    "https://example.com/",
    "http://example.com",
    "ws://example.com",
    "wss://example.com",
    "https://sub.example.com",
    "https://example.co",
    "https://example.com.evil.com:443",
    "https://EXAMPLE.COM.evil.com",
    "https://xn--exmple-cua.com",
    "https://example%2ecom",
    "https://example.com%2eevil.com",
    "example.com",
    "//example.com",
    "*",
];

#[tokio::test]
async fn a_configured_origin_matches_only_itself() {
    let server = start(djust::Config {
        allowed_origins: vec!["https://example.com".to_owned()],
        ..test_config()
    })
    .await;
    let addr = server.local_addr();
    for origin in LOOKALIKES.iter().chain(&["null", "NULL", "file://", ""]) {
        // An empty value sends no Origin header at all.
        let status = refused_status(try_connect(addr, &[("Origin", origin)]).await);
        assert_eq!(status, 403, "{origin:?}");
    }
    // Controls: the origin itself, in any ASCII case (the same origin).
    for origin in [
        "https://example.com",
        "HTTPS://EXAMPLE.COM",
        "https://Example.Com",
    ] {
        let mut socket = connect_with(addr, &[("Origin", origin)]).await;
        assert!(until_pong(&mut socket).await.is_empty(), "{origin}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_configured_origin_with_a_port_needs_that_port_and_scheme() {
    let server = start(djust::Config {
        allowed_origins: vec!["https://app.example.com:8443".to_owned()],
        ..test_config()
    })
    .await;
    let addr = server.local_addr();
    for origin in [
        "https://app.example.com",
        "https://app.example.com:443",
        "https://app.example.com:8444",
        "https://app.example.com:84430",
        "https://app.example.com:844",
        "http://app.example.com:8443",
        "https://app.example.com:8443.evil.com",
        "https://app.example.com.evil.com:8443",
        "https://evilapp.example.com:8443",
        "https://example.com:8443",
    ] {
        let status = refused_status(try_connect(addr, &[("Origin", origin)]).await);
        assert_eq!(status, 403, "{origin}");
    }
    let mut socket = connect_with(addr, &[("Origin", "https://app.example.com:8443")]).await;
    assert!(until_pong(&mut socket).await.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn the_default_same_host_check_refuses_lookalikes_of_the_server() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let own = format!("http://{addr}");
    let port = addr.port();
    let lookalikes = [
        format!("{own}.evil.com"),
        format!("{own}@evil.com"),
        format!("http://evil.com@{addr}"),
        format!("http://evil{addr}"),
        format!("http://127.0.0.1:{port}."),
        format!("http://127.0.0.1.:{port}"),
        format!("https://{addr}"),
        format!("ws://{addr}"),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("http://127.0.0.1:{port}0"),
        "http://127.0.0.1".to_owned(),
        format!("http://localhost:{port}"),
        format!("http://127.0.0.2:{port}"),
        format!("{own}/"),
        format!("{own}#"),
        format!("//{addr}"),
        addr.to_string(),
        "null".to_owned(),
    ];
    for origin in &lookalikes {
        let status = refused_status(try_connect(addr, &[("Origin", origin)]).await);
        assert_eq!(status, 403, "{origin}");
    }
    // A missing Origin is refused too.
    let status = refused_status(try_connect(addr, &[("Origin", "")]).await);
    assert_eq!(status, 403, "missing Origin");
    // Control: the server's own origin, upper-case included.
    for origin in [own.clone(), own.to_ascii_uppercase()] {
        let mut socket = connect_with(addr, &[("Origin", &origin)]).await;
        assert!(until_pong(&mut socket).await.is_empty(), "{origin}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn wildcard_origins_are_a_startup_error() {
    for wildcard in [
        "*",
        "https://*.example.com",
        "*.example.com",
        "https://*",
        "//*.example.com",
        "https://example.com/*",
    ] {
        let result = App::new()
            .config(djust::Config {
                allowed_origins: vec![wildcard.to_owned()],
                ..test_config()
            })
            .live("/", Ping::view())
            .bind("127.0.0.1:0")
            .await;
        let error = match result {
            Ok(server) => {
                server.shutdown().await;
                panic!("{wildcard:?} was accepted as an allowed origin");
            }
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("DJUST_ALLOWED_ORIGINS"),
            "{wildcard}: {error}"
        );
    }
}
