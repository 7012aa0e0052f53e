//! djust #653: cross-site WebSocket hijacking. djust's consumer accepted the
//! handshake whatever its `Origin`, and no helper wrapped it in an origin
//! validator, so any page on the internet could open a socket from a
//! visitor's browser: with the visitor's cookies (mount their views, send
//! their events, read their data back), from the visitor's IP (evading
//! per-IP limits), and burning connection slots on every page view.
//!
//! djust-rs checks the `Origin` of every upgrade before anything else,
//! before the `101`: no socket, no task, no connection slot, no session
//! lookup for a foreign, `null` or missing origin. The tests present a
//! logged-in user's cookie from foreign origins and expect `403` with no
//! view mounted; they show a flood of such handshakes holds no slot and
//! does not cool the visitor's address down; and with TLS configured they
//! show the `http://` twin of the site is foreign too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, User};

use crate::support::*;

/// Counts `Inbox::mount` runs.
struct Mounts(Arc<AtomicUsize>);

/// A logged-in user's private page.
struct Inbox {
    owner: String,
}

#[live_view(login_required, name = "adv653_inbox")]
impl Inbox {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        ctx.state::<Mounts>()?.0.fetch_add(1, Ordering::SeqCst);
        Ok(Inbox {
            owner: ctx
                .user()
                .map(|user| user.username.clone())
                .unwrap_or_default(),
        })
    }

    fn render(&self) -> Html {
        html! { <p id="owner">{self.owner}</p> }
    }
}

async fn start(config: djust::Config) -> (djust::Server, Arc<AtomicUsize>) {
    let backend = MemoryAuthBackend::new();
    backend.insert(User::new("1", "alice"), quick_hash("alice-password"));
    let mounts = Arc::new(AtomicUsize::new(0));
    let server = App::new()
        .config(config)
        .auth(backend)
        .state(Mounts(mounts.clone()))
        .live("/inbox", Inbox::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    (server, mounts)
}

#[tokio::test]
async fn a_foreign_page_cannot_open_a_socket_with_the_visitors_cookie() {
    let (server, mounts) = start(test_config()).await;
    let addr = server.local_addr();
    let alice = log_in(addr, "alice", "alice-password", "/inbox").await;
    let page = get_with_cookie(addr, "/inbox", &alice).await;
    assert_eq!(page.status, 200);
    let mounts_after_page = mounts.load(Ordering::SeqCst);
    let port = addr.port();
    let foreign = [
        "http://evil.com".to_owned(),
        "https://evil.com".to_owned(),
        "null".to_owned(),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("https://{addr}"),
        format!("http://{addr}.evil.com"),
        format!("http://localhost:{port}"),
        String::new(), // no Origin header at all
    ];
    for origin in &foreign {
        let status = refused_status(
            try_connect(
                addr,
                &[("Origin", origin.as_str()), ("Cookie", alice.as_str())],
            )
            .await,
        );
        assert_eq!(status, 403, "{origin:?}");
    }
    assert_eq!(
        mounts.load(Ordering::SeqCst),
        mounts_after_page,
        "a foreign origin mounted the view"
    );
    // Control: the site's own page mounts the user's view with the same cookie.
    let (_socket, mounted) = mount_page_as(addr, "/inbox", "adv653_inbox", &alice).await;
    assert!(mounted["html"]
        .as_str()
        .unwrap_or_default()
        .contains("<p id=\"owner\">alice</p>"));
    server.shutdown().await;
}

#[tokio::test]
async fn refused_foreign_handshakes_hold_no_slot_and_do_not_lock_the_visitor_out() {
    // Default per-IP limit (10) and cooldown after 5 refusals at the limit.
    let (server, _) = start(test_config()).await;
    let addr = server.local_addr();
    for attempt in 0..50 {
        let status = refused_status(try_connect(addr, &[("Origin", "http://evil.com")]).await);
        assert_eq!(status, 403, "attempt {attempt}");
    }
    // The visitor's own tabs still get all ten of the address's slots.
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(connect(addr).await);
    }
    for socket in &mut sockets {
        assert!(until_pong(socket).await.is_empty());
    }
    assert_eq!(
        connect_refused(addr, &[]).await,
        429,
        "the limit still holds"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn behind_tls_the_http_twin_of_the_site_is_a_foreign_origin() {
    let (server, _) = start(djust::Config {
        secure_cookies: true,
        ..test_config()
    })
    .await;
    let addr = server.local_addr();
    let status = refused_status(try_connect(addr, &[("Origin", &format!("http://{addr}"))]).await);
    assert_eq!(status, 403);
    let mut socket = connect_with(addr, &[("Origin", &format!("https://{addr}"))]).await;
    assert!(until_pong(&mut socket).await.is_empty());
    server.shutdown().await;
}
