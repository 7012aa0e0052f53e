//! djust GHSA-7prp-2623-8g45: a client-named view loaded before the auth
//! check. The socket's `mount` frame names a view by its dotted path and
//! djust imported that module (running its top-level code) before checking
//! that the view was one the app serves and that the user may see it, so a
//! client could make the server load any importable view.
//!
//! In djust-rs the name in a `mount` frame is only a key into the app's own
//! table of served views (built from `App::live`): a view compiled into the
//! binary but not served is unknown (close 4404), and nothing of it runs.
//! For a served view the order is: the signed mount token (4403), then
//! login and the view's `permission` (navigate to login, or an error;
//! 4403), and only then the view's `mount`. The tests count `mount` calls
//! and expect none for every refusal, and one for the control.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, MountToken, User};
use djust::runtime::security::SafeError;
use djust::runtime::session::SessionCookie;
use djust::runtime::view::registered_views;
use serde_json::json;

use crate::support::*;
use crate::{now_unix, signer};

/// Counts `Vault::mount` runs on one server.
struct VaultMounts(Arc<AtomicUsize>);

/// `Console::mount` runs, in any server: it is never served, so any run is a bug.
static CONSOLE_MOUNTS: AtomicUsize = AtomicUsize::new(0);

/// Compiled into this binary, public, and served by no app.
struct Console;

#[live_view(public, name = "adv7prp_console")]
impl Console {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        CONSOLE_MOUNTS.fetch_add(1, Ordering::SeqCst);
        Ok(Console)
    }

    fn render(&self) -> Html {
        html! { <p>"console"</p> }
    }
}

/// A served view behind a login and a permission.
struct Vault;

#[live_view(login_required, permission = "vault.open", name = "adv7prp_vault")]
impl Vault {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        ctx.state::<VaultMounts>()?.0.fetch_add(1, Ordering::SeqCst);
        Ok(Vault)
    }

    fn render(&self) -> Html {
        html! { <p>"vault contents"</p> }
    }
}

/// A served public view: its page token is a valid token for another view.
struct Lobby;

#[live_view(public, name = "adv7prp_lobby")]
impl Lobby {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Lobby)
    }

    fn render(&self) -> Html {
        html! { <p>"lobby"</p> }
    }
}

struct Running {
    server: djust::Server,
    vault_mounts: Arc<AtomicUsize>,
}

impl Running {
    fn vault_mounts(&self) -> usize {
        self.vault_mounts.load(Ordering::SeqCst)
    }
}

async fn start() -> Running {
    let backend = MemoryAuthBackend::new();
    backend.insert(
        User::new("1", "alice").with_permission("vault.open"),
        quick_hash("alice-password"),
    );
    backend.insert(User::new("2", "bob"), quick_hash("bob-password"));
    let vault_mounts = Arc::new(AtomicUsize::new(0));
    let server = App::new()
        .config(djust::Config {
            max_connections_per_ip: 1_000,
            ..test_config()
        })
        .auth(backend)
        .state(VaultMounts(vault_mounts.clone()))
        .live("/vault", Vault::view())
        .live("/lobby", Lobby::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    Running {
        server,
        vault_mounts,
    }
}

/// The session id behind a `djust_session=...` cookie pair.
fn session_id(cookie: &str) -> String {
    let value = cookie.split_once('=').expect("name=value").1;
    SessionCookie::decode(&signer(), value).expect("our cookie")
}

/// Mounts `view` with `token` on a socket carrying `cookie`; returns the
/// close code and the frames before it.
async fn try_mount(
    addr: std::net::SocketAddr,
    cookie: Option<&str>,
    view: &str,
    token: &str,
) -> (Option<u16>, Vec<serde_json::Value>) {
    let mut socket = match cookie {
        Some(cookie) => connect_with(addr, &[("Cookie", cookie)]).await,
        None => connect(addr).await,
    };
    send_mount(&mut socket, view, token, "/vault").await;
    until_close(&mut socket).await
}

#[tokio::test]
async fn a_view_compiled_in_but_not_served_cannot_be_mounted() {
    let app = start().await;
    let addr = app.server.local_addr();
    let served = ["adv7prp_vault", "adv7prp_lobby"];
    let compiled_in: Vec<&'static str> = registered_views()
        .iter()
        .map(|view| view.meta().name)
        .filter(|name| !served.contains(name))
        .collect();
    assert!(
        compiled_in.contains(&"adv7prp_console"),
        "the unserved view is in the binary: {compiled_in:?}"
    );
    // Every view of this test binary that this app does not serve, each
    // with a token correctly signed for its name: the refusal is not about
    // the token.
    for name in &compiled_in {
        let token = MountToken::new(*name, "", None, now_unix()).encode(&signer());
        let (code, frames) = try_mount(addr, None, name, &token).await;
        assert_eq!(code, Some(4404), "{name}");
        assert_eq!(errors(&frames), [generic(SafeError::UnknownView)], "{name}");
    }
    // Spellings of the served names that are not the served names.
    let token = MountToken::new("adv7prp_vault", "", None, now_unix()).encode(&signer());
    for name in [
        "Adv7prp_Vault",
        "adv7prp_vault ",
        "adv7prp_vault\0",
        "crate::adv7prp_vault",
        "ghsa_7prp_2623_8g45.Vault",
        "Vault",
    ] {
        let (code, _) = try_mount(addr, None, name, &token).await;
        assert_eq!(code, Some(4404), "{name:?}");
    }
    assert_eq!(CONSOLE_MOUNTS.load(Ordering::SeqCst), 0);
    assert_eq!(app.vault_mounts(), 0);
    app.server.shutdown().await;
}

#[tokio::test]
async fn nothing_of_a_served_view_runs_before_the_token_and_auth_checks_pass() {
    let app = start().await;
    let addr = app.server.local_addr();
    let alice = log_in(addr, "alice", "alice-password", "/").await;
    let bob = log_in(addr, "bob", "bob-password", "/").await;
    let now = now_unix();

    // The page: anonymous is sent to log in, bob lacks the permission.
    let page = get(addr, "/vault").await;
    assert_eq!(page.status, 303);
    let page = get_with_cookie(addr, "/vault", &bob).await;
    assert_eq!(page.status, 403);
    assert!(!page.body.contains("vault contents"));
    assert_eq!(app.vault_mounts(), 0, "a refused page ran mount");

    // The socket, one refusal per check.
    let lobby_token = mount_token(&get(addr, "/lobby").await.body);
    let alice_token = MountToken::new("adv7prp_vault", session_id(&alice), Some("1".into()), now);
    let cases: Vec<(Option<&str>, String, u16, &str)> = vec![
        (Some(&alice), "forged".to_owned(), 4403, "a forged token"),
        (Some(&alice), lobby_token, 4403, "another view's token"),
        (
            Some(&alice),
            MountToken::new(
                "adv7prp_vault",
                session_id(&alice),
                Some("1".into()),
                now - 7_200,
            )
            .encode(&signer()),
            4403,
            "an expired token",
        ),
        (
            Some(&bob),
            alice_token.encode(&signer()),
            4403,
            "alice's token on bob's socket",
        ),
        (
            None,
            MountToken::new("adv7prp_vault", "", None, now).encode(&signer()),
            4403,
            "a valid anonymous token: login required",
        ),
        (
            Some(&bob),
            MountToken::new("adv7prp_vault", session_id(&bob), Some("2".into()), now)
                .encode(&signer()),
            4403,
            "bob's own valid token: permission denied",
        ),
    ];
    for (cookie, token, code, what) in &cases {
        let (closed, frames) = try_mount(addr, *cookie, "adv7prp_vault", token).await;
        assert_eq!(closed, Some(*code), "{what}: {frames:?}");
        assert_eq!(frames.len(), 1, "{what}: {frames:?}");
        assert!(
            frames.iter().all(|frame| frame["type"] != "mount"),
            "{what}"
        );
        assert_eq!(
            app.vault_mounts(),
            0,
            "{what}: mount ran before the refusal"
        );
    }
    assert_eq!(
        try_mount(addr, None, "adv7prp_vault", &cases[4].1).await.1,
        [json!({ "type": "navigate", "to": "/login?next=%2Fvault" })]
    );

    // Control: alice's page and socket each run mount once.
    let (_socket, mounted) = mount_page_as(addr, "/vault", "adv7prp_vault", &alice).await;
    assert!(mounted["html"]
        .as_str()
        .unwrap_or_default()
        .contains("vault contents"));
    assert_eq!(app.vault_mounts(), 2);
    app.server.shutdown().await;
}
