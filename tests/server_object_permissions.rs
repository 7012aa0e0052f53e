//! Object-level permissions over real HTTP and WebSocket connections
//! (issue 16, item 6): a view's `check_permissions` refusing one object (a
//! document owned by another user, chosen by the URL) at the page GET (403)
//! and at the socket mount (error, close 4403), and `reauth_each_event`
//! refusing the next event once a permission is revoked between two events,
//! whether the revocation is in app state the check reads (a share taken
//! back) or in the auth backend (a permission removed, a user
//! deactivated), with the view's state left as it was.

mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use djust::prelude::*;
use djust::runtime::auth::{AuthBackend, BoxFuture, MemoryAuthBackend, User};
use djust::runtime::security::SafeError;
use serde_json::{json, Value};
use support::*;

/// A stored document.
#[derive(Clone)]
struct Doc {
    owner: String,
    title: String,
    body: String,
}

/// The app's documents, by id.
struct Docs(RwLock<HashMap<i64, Doc>>);

/// Who may edit a document they do not own: `(user id, document id)`.
struct Shares(RwLock<HashSet<(String, i64)>>);

/// What ran, on one server.
#[derive(Default)]
struct Counters {
    mounts: AtomicUsize,
    checks: AtomicUsize,
    writes: AtomicUsize,
}

struct Running {
    server: djust::Server,
    backend: Arc<MemoryAuthBackend>,
    user_loads: Arc<AtomicUsize>,
    docs: Arc<Docs>,
    shares: Arc<Shares>,
    counters: Arc<Counters>,
}

impl Running {
    fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    fn count(&self, what: fn(&Counters) -> &AtomicUsize) -> usize {
        what(&self.counters).load(Ordering::SeqCst)
    }

    fn body_of(&self, id: i64) -> String {
        self.docs.0.read().expect("docs")[&id].body.clone()
    }
}

/// The document the page's URL names: `?id=N`.
fn requested_doc(ctx: &MountCtx) -> Result<(i64, Doc)> {
    let id: i64 = ctx
        .query("id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(Error::not_found)?;
    let docs = ctx.state::<Arc<Docs>>()?;
    let doc = docs
        .0
        .read()
        .map_err(|_| Error::msg("documents unavailable"))?
        .get(&id)
        .cloned()
        .ok_or_else(Error::not_found)?;
    ctx.state::<Arc<Counters>>()?
        .mounts
        .fetch_add(1, Ordering::SeqCst);
    Ok((id, doc))
}

/// Reads one document: its owner, or someone with `docs.read_all`.
struct Document {
    owner: String,
    title: String,
    body: String,
}

#[live_view(login_required, name = "document")]
impl Document {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let (_, doc) = requested_doc(ctx)?;
        Ok(Document {
            owner: doc.owner,
            title: doc.title,
            body: doc.body,
        })
    }

    fn render(&self) -> Html {
        html! { <h1 id="title">{self.title}</h1><p id="body">{self.body}</p> }
    }

    fn check_permissions(&self, ctx: &Ctx) -> Result<()> {
        ctx.state::<Arc<Counters>>()?
            .checks
            .fetch_add(1, Ordering::SeqCst);
        let owns = ctx.user().is_some_and(|user| user.id == self.owner);
        if owns || ctx.has_perm("docs.read_all") {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }
}

/// Edits one document: its owner or a user it is shared with, who also
/// holds `docs.edit`; checked again before every event.
struct Editor {
    id: i64,
    owner: String,
    body: String,
}

#[live_view(login_required, name = "editor", reauth_each_event)]
impl Editor {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let (id, doc) = requested_doc(ctx)?;
        Ok(Editor {
            id,
            owner: doc.owner,
            body: doc.body,
        })
    }

    fn render(&self) -> Html {
        html! { <p id="body">{self.body}</p><button dj-click="append" dj-value-text="!">"!"</button> }
    }

    fn check_permissions(&self, ctx: &Ctx) -> Result<()> {
        ctx.state::<Arc<Counters>>()?
            .checks
            .fetch_add(1, Ordering::SeqCst);
        let Some(user) = ctx.user() else {
            return Err(Error::forbidden());
        };
        let shared = ctx
            .state::<Arc<Shares>>()?
            .0
            .read()
            .map_err(|_| Error::msg("shares unavailable"))?
            .contains(&(user.id.clone(), self.id));
        if (user.id == self.owner || shared) && ctx.has_perm("docs.edit") {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }

    #[event_handler]
    fn append(&mut self, ctx: &EventCtx, text: String) -> Result<()> {
        self.body.push_str(&text);
        let mut docs = ctx
            .state::<Arc<Docs>>()?
            .0
            .write()
            .map_err(|_| Error::msg("documents unavailable"))?;
        if let Some(doc) = docs.get_mut(&self.id) {
            doc.body = self.body.clone();
        }
        ctx.state::<Arc<Counters>>()?
            .writes
            .fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A view guarded only by its `permission`, re-checked before every event.
struct Board {
    posts: Vec<String>,
}

#[live_view(permission = "board.post", name = "board", reauth_each_event)]
impl Board {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Board { posts: Vec::new() })
    }

    fn render(&self) -> Html {
        html! { <p id="posts">{self.posts.join(",")}</p> }
    }

    #[event_handler]
    fn post(&mut self, text: String) {
        self.posts.push(text);
    }
}

/// The app's auth backend, kept by the test so it can change users while
/// sockets are open (as an admin would in the user database); counts
/// `load_user` calls.
struct SharedBackend(Arc<MemoryAuthBackend>, Arc<AtomicUsize>);

impl AuthBackend for SharedBackend {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Option<User>> {
        self.0.authenticate(username, password)
    }

    fn load_user<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<User>> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.load_user(id)
    }
}

fn alice_user() -> User {
    User::new("1", "alice").with_permission("docs.edit")
}

fn bob_user() -> User {
    User::new("2", "bob")
        .with_permission("docs.edit")
        .with_permission("board.post")
}

async fn start() -> Running {
    let backend = Arc::new(MemoryAuthBackend::new());
    backend.insert(alice_user(), quick_hash("alice-password"));
    backend.insert(bob_user(), quick_hash("bob-password"));
    backend.insert(
        User::new("3", "carol").with_permission("docs.read_all"),
        quick_hash("carol-password"),
    );
    let doc = |owner: &str, title: &str, body: &str| Doc {
        owner: owner.to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
    };
    let docs = Arc::new(Docs(RwLock::new(HashMap::from([
        (1, doc("1", "Alice's merger plan", "alice-secret-body")),
        (2, doc("2", "Bob's notes", "bob-body")),
    ]))));
    let shares = Arc::new(Shares(RwLock::new(HashSet::new())));
    let counters = Arc::new(Counters::default());
    let user_loads = Arc::new(AtomicUsize::new(0));
    let server = App::new()
        .config(test_config())
        .auth(SharedBackend(backend.clone(), user_loads.clone()))
        .state(docs.clone())
        .state(shares.clone())
        .state(counters.clone())
        .live("/doc", Document::view())
        .live("/edit", Editor::view())
        .live("/board", Board::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    Running {
        server,
        backend,
        user_loads,
        docs,
        shares,
        counters,
    }
}

/// Whether any frame mentions alice's document.
fn leaks_alices_document(frames: &[Value]) -> bool {
    frames.iter().any(|frame| {
        let text = frame.to_string();
        text.contains("merger") || text.contains("alice-secret-body")
    })
}

// --- check_permissions at the page and at mount --------------------------------

#[tokio::test]
async fn another_users_document_is_a_403_page_without_a_token() {
    let app = start().await;
    let addr = app.addr();
    let alice = log_in(addr, "alice", "alice-password", "/").await;
    let bob = log_in(addr, "bob", "bob-password", "/").await;
    let carol = log_in(addr, "carol", "carol-password", "/").await;

    let own = get_with_cookie(addr, "/doc?id=1", &alice).await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains("Alice&#39;s merger plan"), "{}", own.body);

    let checks_before = app.count(|c| &c.checks);
    // The same object however the URL spells its id.
    for path in [
        "/doc?id=1",
        "/doc?id=01",
        "/doc?id=%31",
        "/doc?id=1&x=y",
        "/doc?id=1&id=2",
        "/doc?x=2&id=1",
    ] {
        let page = get_with_cookie(addr, path, &bob).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.body.contains("Permission denied"), "{path}");
        assert!(!page.body.contains("merger"), "{path}: the title leaked");
        assert!(
            !page.body.contains("alice-secret-body"),
            "{path}: the body leaked"
        );
        assert!(
            !page.body.contains("data-djust-token"),
            "{path}: a mount token"
        );
    }
    assert_eq!(
        app.count(|c| &c.checks),
        checks_before + 6,
        "check_permissions decided each refusal"
    );
    // Controls: bob's own document; carol may read everything.
    assert_eq!(get_with_cookie(addr, "/doc?id=2", &bob).await.status, 200);
    let read_all = get_with_cookie(addr, "/doc?id=1", &carol).await;
    assert_eq!(read_all.status, 200);
    assert!(read_all.body.contains("merger"));
    app.server.shutdown().await;
}

#[tokio::test]
async fn mounting_another_users_document_on_the_socket_is_refused_4403() {
    let app = start().await;
    let addr = app.addr();
    let bob = log_in(addr, "bob", "bob-password", "/").await;
    // Bob's page for his own document gives him a valid token for the view
    // `document`; the token names no object, so he points the mount at
    // alice's document instead. check_permissions is what stops him.
    let page = get_with_cookie(addr, "/doc?id=2", &bob).await;
    assert_eq!(page.status, 200);
    let token = mount_token(&page.body);
    for url in ["/doc?id=1", "/doc?id=01", "/doc?id=%31", "/doc?id=1#x"] {
        let checks_before = app.count(|c| &c.checks);
        let mut socket = connect_with(addr, &[("Cookie", &bob)]).await;
        send_mount(&mut socket, "document", &token, url).await;
        let (code, frames) = until_close(&mut socket).await;
        assert_eq!(
            frames,
            [json!({ "type": "error", "error": generic(SafeError::PermissionDenied) })],
            "{url}"
        );
        assert_eq!(code, Some(4403), "{url}");
        assert!(!leaks_alices_document(&frames), "{url}");
        assert_eq!(app.count(|c| &c.checks), checks_before + 1, "{url}");
    }
    // Control: the same token mounts his own document.
    let mut socket = connect_with(addr, &[("Cookie", &bob)]).await;
    send_mount(&mut socket, "document", &token, "/doc?id=2").await;
    let mounted = recv(&mut socket).await.expect("mount");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    assert!(mounted["html"]
        .as_str()
        .unwrap_or_default()
        .contains("bob-body"));
    app.server.shutdown().await;
}

// --- reauth_each_event -----------------------------------------------------------

/// Mounts the editor of document `id` for `cookie`; returns the socket.
async fn open_editor(app: &Running, cookie: &str, id: i64) -> Socket {
    let path = format!("/edit?id={id}");
    mount_page_as(app.addr(), &path, "editor", cookie).await.0
}

/// The view's HTML and version, from `request_html`.
async fn current(socket: &mut Socket) -> (String, u64) {
    send_json(socket, &json!({ "type": "request_html" })).await;
    let update = recv(socket).await.expect("html_update");
    assert_eq!(update["type"], "html_update", "{update}");
    (
        update["html"].as_str().unwrap_or_default().to_owned(),
        update["version"].as_u64().unwrap_or_default(),
    )
}

/// Appends `text`, expecting success: a patch answering `reference`.
async fn append_ok(socket: &mut Socket, text: &str, reference: u64) {
    let frames = send_event(socket, "append", json!({ "text": text }), reference).await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "patch", "{frames:?}");
    assert_eq!(frames[0]["ref"], reference, "{frames:?}");
}

/// Appends `text`, expecting the refusal `why`: one error frame, the socket
/// open, the view's HTML and version as they were, nothing written.
async fn append_refused(app: &Running, socket: &mut Socket, text: &str, id: i64, why: SafeError) {
    let before = current(socket).await;
    let writes = app.count(|c| &c.writes);
    let stored = app.body_of(id);
    let frames = send_event(socket, "append", json!({ "text": text }), 99).await;
    assert_eq!(
        frames,
        [json!({ "type": "error", "error": generic(why), "ref": 99 })]
    );
    assert_eq!(current(socket).await, before, "the view's state changed");
    assert_eq!(app.count(|c| &c.writes), writes, "the handler ran");
    assert_eq!(app.body_of(id), stored);
}

#[tokio::test]
async fn a_share_revoked_in_app_state_refuses_the_next_event() {
    let app = start().await;
    let bob = log_in(app.addr(), "bob", "bob-password", "/").await;
    // Without the share bob cannot even open alice's document.
    let page = get_with_cookie(app.addr(), "/edit?id=1", &bob).await;
    assert_eq!(page.status, 403);
    app.shares
        .0
        .write()
        .expect("shares")
        .insert(("2".to_owned(), 1));
    let mut socket = open_editor(&app, &bob, 1).await;
    append_ok(&mut socket, "-one", 1).await;
    assert_eq!(app.body_of(1), "alice-secret-body-one");

    app.shares
        .0
        .write()
        .expect("shares")
        .remove(&("2".to_owned(), 1));
    append_refused(&app, &mut socket, "-two", 1, SafeError::PermissionDenied).await;
    append_refused(&app, &mut socket, "-three", 1, SafeError::PermissionDenied).await;
    assert_eq!(app.body_of(1), "alice-secret-body-one");

    // Checked on every event, not latched: shared again, it works again.
    app.shares
        .0
        .write()
        .expect("shares")
        .insert(("2".to_owned(), 1));
    append_ok(&mut socket, "-four", 5).await;
    assert_eq!(app.body_of(1), "alice-secret-body-one-four");
    app.server.shutdown().await;
}

#[tokio::test]
async fn a_permission_revoked_in_the_auth_backend_refuses_the_next_event() {
    let app = start().await;
    let bob = log_in(app.addr(), "bob", "bob-password", "/").await;
    let mut socket = open_editor(&app, &bob, 2).await;
    append_ok(&mut socket, "-one", 1).await;

    // An admin removes `docs.edit` from bob while his socket is open.
    app.backend
        .insert(User::new("2", "bob"), quick_hash("bob-password"));
    append_refused(&app, &mut socket, "-two", 2, SafeError::PermissionDenied).await;
    assert_eq!(app.body_of(2), "bob-body-one");

    // Granted again, the next event runs.
    app.backend.insert(bob_user(), quick_hash("bob-password"));
    append_ok(&mut socket, "-three", 3).await;

    // Deactivated: no longer a logged-in user at all.
    let mut inactive = bob_user();
    inactive.is_active = false;
    app.backend.insert(inactive, quick_hash("bob-password"));
    append_refused(&app, &mut socket, "-four", 2, SafeError::LoginRequired).await;
    assert_eq!(app.body_of(2), "bob-body-one-three");
    app.server.shutdown().await;
}

#[tokio::test]
async fn another_users_revocation_leaves_this_socket_alone() {
    let app = start().await;
    let alice = log_in(app.addr(), "alice", "alice-password", "/").await;
    let bob = log_in(app.addr(), "bob", "bob-password", "/").await;
    let mut alice_socket = open_editor(&app, &alice, 1).await;
    let mut bob_socket = open_editor(&app, &bob, 2).await;
    app.backend
        .insert(User::new("2", "bob"), quick_hash("bob-password"));
    append_refused(&app, &mut bob_socket, "-x", 2, SafeError::PermissionDenied).await;
    append_ok(&mut alice_socket, "-y", 1).await;
    assert_eq!(app.body_of(1), "alice-secret-body-y");
    app.server.shutdown().await;
}

#[tokio::test]
async fn the_views_own_permission_is_checked_again_before_every_event() {
    let app = start().await;
    let bob = log_in(app.addr(), "bob", "bob-password", "/").await;
    let (mut socket, _) = mount_page_as(app.addr(), "/board", "board", &bob).await;
    let loads = app.user_loads.load(Ordering::SeqCst);
    let frames = send_event(&mut socket, "post", json!({ "text": "first" }), 1).await;
    assert_eq!(frames[0]["type"], "patch", "{frames:?}");
    assert_eq!(
        app.user_loads.load(Ordering::SeqCst),
        loads + 1,
        "the user is reloaded for the event"
    );
    // `board.post` removed; `docs.edit` kept.
    app.backend.insert(
        User::new("2", "bob").with_permission("docs.edit"),
        quick_hash("bob-password"),
    );
    let before = current(&mut socket).await;
    let frames = send_event(&mut socket, "post", json!({ "text": "second" }), 2).await;
    assert_eq!(
        frames,
        [json!({ "type": "error", "error": generic(SafeError::PermissionDenied), "ref": 2 })]
    );
    assert_eq!(current(&mut socket).await, before);
    assert!(
        before.0.contains("<p id=\"posts\">first</p>"),
        "{}",
        before.0
    );
    // Names the allowlist refuses never reach the backend.
    let loads = app.user_loads.load(Ordering::SeqCst);
    for name in ["mount", "render", "nope", "Post", "check_permissions"] {
        let frames = send_event(&mut socket, name, json!({}), 3).await;
        assert_eq!(
            frames,
            [json!({ "type": "error", "error": generic(SafeError::UnknownEvent), "ref": 3 })],
            "{name}"
        );
    }
    assert_eq!(app.user_loads.load(Ordering::SeqCst), loads);
    app.server.shutdown().await;
}
