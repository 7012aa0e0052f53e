//! Offline actions over real sockets and the sync endpoint
//! (`#[event_handler(offline)]`, `djust::offline`, `POST /djust/offline/sync`):
//! a replay goes through the same dispatch as a live event, and each of
//! seed 002's checks refuses what it must: a handler that did not opt in,
//! a foreign session or tenant, too many actions, too old, a key applied
//! before, a stale change (conflict), a missing or wrong CSRF header,
//! oversize, malformed and wrongly typed bodies, unicode edge cases.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use djust::offline::unix_ms;
use djust::prelude::*;
use djust::tenant::TenantResolver;
use serde_json::{json, Value};
use support::*;

/// What the handlers change, shared by every mount (the sync endpoint
/// mounts the view afresh for each request).
#[derive(Default)]
struct Store {
    items: Mutex<Vec<String>>,
    /// The title and when it was last set (ms).
    title: Mutex<(String, u64)>,
}

struct Tasks {
    store: Private<Arc<Store>>,
    count: usize,
}

#[live_view(public, name = "tasks")]
impl Tasks {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let store = ctx.state::<Arc<Store>>()?.clone();
        let count = store.items.lock().map_or(0, |items| items.len());
        Ok(Tasks {
            store: Private::new(store),
            count,
        })
    }

    fn render(&self) -> Html {
        html! { <p id="count">{self.count}</p> }
    }

    #[event_handler(offline)]
    fn add(&mut self, text: String) -> Result<()> {
        let mut items = self
            .store
            .expose()
            .items
            .lock()
            .map_err(|_| Error::msg("poisoned"))?;
        items.push(text);
        self.count = items.len();
        Ok(())
    }

    /// Not offline-capable: live only.
    #[event_handler]
    fn clear(&mut self) -> Result<()> {
        self.store
            .expose()
            .items
            .lock()
            .map_err(|_| Error::msg("poisoned"))?
            .clear();
        self.count = 0;
        Ok(())
    }

    #[event_handler(offline)]
    #[permission_required("tasks.purge")]
    fn purge(&mut self) -> Result<()> {
        self.clear()
    }

    #[event_handler(offline)]
    #[rate_limit(rate = 0.001, burst = 1, key = "session")]
    fn bump(&mut self) -> Result<()> {
        self.add("bump".to_owned())
    }

    /// A stale offline rename (older than the last rename) is a conflict.
    #[event_handler(offline)]
    fn rename(&mut self, ctx: &EventCtx, title: String) -> Result<()> {
        let at = ctx.offline().map_or_else(unix_ms, |stamp| stamp.at_ms());
        let mut current = self
            .store
            .expose()
            .title
            .lock()
            .map_err(|_| Error::msg("poisoned"))?;
        if at < current.1 {
            return Err(Error::conflict(format!(
                "Someone renamed the list to “{}” after your change.",
                current.0
            )));
        }
        *current = (title, at);
        Ok(())
    }
}

fn app(store: Arc<Store>, config: djust::Config) -> App {
    App::new()
        .config(config)
        .state(store)
        .live("/", Tasks::view())
}

async fn start(config: djust::Config) -> (djust::Server, Arc<Store>) {
    let store = Arc::new(Store::default());
    let server = app(store.clone(), config)
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    (server, store)
}

/// What a page gives the client for offline use.
struct Page {
    cookie: String,
    owner: String,
    csrf: String,
    token: String,
}

fn attribute(page: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {page}"))
        + marker.len();
    let end = page[start..].find('"').expect("attribute end") + start;
    page[start..end].to_owned()
}

/// GETs `/` (with `headers`): a new session and its offline attributes.
async fn open_page(addr: SocketAddr, headers: &[(&str, &str)]) -> Page {
    let page = http(addr, "GET", "/", headers, "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    Page {
        cookie: set_cookie_pair(&page, "djust_session").expect("a session for an offline view"),
        owner: attribute(&page.body, "data-djust-offline-owner"),
        csrf: attribute(&page.body, "data-djust-csrf"),
        token: mount_token(&page.body),
    }
}

async fn mount(addr: SocketAddr, page: &Page, headers: &[(&str, &str)]) -> Socket {
    let mut all = vec![("Cookie", page.cookie.as_str())];
    all.extend_from_slice(headers);
    let mut socket = connect_with(addr, &all).await;
    send_mount(&mut socket, "tasks", &page.token, "/").await;
    let mounted = recv(&mut socket).await.expect("mount frame");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    socket
}

/// 22+ characters of base64url, different for each `n`.
fn key(n: u32) -> String {
    format!("key-{n:08}-abcdefghijklmnop")
}

fn action(event: &str, params: Value, key: &str, at: u64, owner: &str) -> Value {
    json!({ "event": event, "params": params, "key": key, "at": at, "owner": owner })
}

/// Sends a `replay` frame; the frames up to the pong, and the `replayed` one.
async fn replay(socket: &mut Socket, action: &Value) -> (Vec<Value>, Value) {
    let mut frame = action.clone();
    frame["type"] = json!("replay");
    frame["ref"] = json!(7);
    send_json(socket, &frame).await;
    let frames = until_pong(socket).await;
    let replayed = frames
        .iter()
        .find(|f| f["type"] == "replayed")
        .cloned()
        .unwrap_or_else(|| panic!("no replayed frame in {frames:?}"));
    assert_eq!(replayed["ref"], 7, "{replayed}");
    (frames, replayed)
}

async fn sync(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let response = http(addr, "POST", "/djust/offline/sync", headers, body).await;
    let value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    (response.status, value)
}

async fn sync_as(addr: SocketAddr, page: &Page, actions: Vec<Value>) -> Vec<Value> {
    let body = json!({ "url": "/", "actions": actions }).to_string();
    let headers = [
        ("Cookie", page.cookie.as_str()),
        ("X-CSRF-Token", page.csrf.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, value) = sync(addr, &headers, &body).await;
    assert_eq!(status, 200, "{value}");
    value["results"].as_array().expect("results").clone()
}

fn items(store: &Store) -> Vec<String> {
    store.items.lock().expect("items").clone()
}

#[tokio::test]
async fn the_page_names_the_offline_handlers_and_gives_a_session() {
    let (server, _) = start(test_config()).await;
    let addr = server.local_addr();
    let page = http(addr, "GET", "/", &[], "").await;
    assert_eq!(
        attribute(&page.body, "data-djust-offline"),
        "add purge bump rename",
        "only the opted-in handlers"
    );
    assert!(page.body.contains("data-djust-csrf=\""), "{}", page.body);
    // Two visitors: two sessions, two owners.
    let (a, b) = (open_page(addr, &[]).await, open_page(addr, &[]).await);
    assert_ne!(a.owner, b.owner);
    // A returning visitor keeps session and owner.
    let again = http(addr, "GET", "/", &[("Cookie", &a.cookie)], "").await;
    assert!(set_cookie_pair(&again, "djust_session").is_none());
    assert_eq!(attribute(&again.body, "data-djust-offline-owner"), a.owner);
    // The audit lists the offline handlers.
    let report = djust::runtime::audit::audit(&[Tasks::view().meta()], &test_config());
    let text = report.to_text(false);
    assert!(text.contains("@offline"), "{text}");
    let json = report.to_json();
    assert_eq!(json["audits"][0]["handlers"][0]["offline"], true, "{json}");
    assert_eq!(json["audits"][0]["handlers"][1]["offline"], false, "{json}");
    server.shutdown().await;
}

#[tokio::test]
async fn socket_replay_applies_once_through_the_event_dispatch() {
    let (server, store) = start(test_config()).await;
    let addr = server.local_addr();
    let page = open_page(addr, &[]).await;
    let mut socket = mount(addr, &page, &[]).await;
    let now = unix_ms();
    let add = action(
        "add",
        json!({ "text": "milk" }),
        &key(1),
        now - 60_000,
        &page.owner,
    );
    let (frames, replayed) = replay(&mut socket, &add).await;
    assert_eq!(replayed["status"], "applied", "{frames:?}");
    assert_eq!(replayed["key"], key(1));
    assert!(
        frames.iter().any(|f| f["type"] == "patch" && f["ref"] == 7),
        "the same render and patch as a live event: {frames:?}"
    );
    // Sent again (a retry after a lost answer): not applied twice.
    let (_, again) = replay(&mut socket, &add).await;
    assert_eq!(again["status"], "duplicate", "{again}");
    assert_eq!(again["code"], "applied", "{again}");
    assert_eq!(items(&store), ["milk"]);
    // Also when it comes back through the sync endpoint.
    let results = sync_as(addr, &page, vec![add.clone()]).await;
    assert_eq!(results[0]["status"], "duplicate", "{results:?}");
    assert_eq!(items(&store), ["milk"]);
    server.shutdown().await;
}

#[tokio::test]
async fn socket_replay_refusals() {
    // Replays are frames like any other: the per-connection frame budget
    // applies to them. This test sends many; the budget is raised.
    let config = djust::Config {
        rate_burst: 200,
        ..test_config()
    };
    let (server, store) = start(config).await;
    let addr = server.local_addr();
    let page = open_page(addr, &[]).await;
    let other = open_page(addr, &[]).await;
    let mut socket = mount(addr, &page, &[]).await;
    let now = unix_ms();
    let day_ms = 24 * 60 * 60 * 1000;
    let owner = page.owner.as_str();
    let cases = [
        (
            action("clear", json!({}), &key(1), now, owner),
            "refused",
            "not_offline",
        ),
        (
            action("nope", json!({}), &key(2), now, owner),
            "refused",
            "unknown_event",
        ),
        (
            action("mount", json!({}), &key(3), now, owner),
            "refused",
            "unknown_event",
        ),
        (
            action("add", json!({ "text": "x" }), &key(4), now, &other.owner),
            "refused",
            "foreign_session",
        ),
        (
            action("add", json!({ "text": "x" }), &key(5), now, ""),
            "refused",
            "foreign_session",
        ),
        (
            action(
                "add",
                json!({ "text": "x" }),
                &key(6),
                now - day_ms - 1_000,
                owner,
            ),
            "expired",
            "expired",
        ),
        (
            action(
                "add",
                json!({ "text": "x" }),
                &key(7),
                now + 3_600_000,
                owner,
            ),
            "refused",
            "from_the_future",
        ),
        (
            action("add", json!({ "text": "x" }), "short", now, owner),
            "refused",
            "bad_key",
        ),
        (
            action(
                "add",
                json!({ "text": "x" }),
                &format!("{}é", key(8)),
                now,
                owner,
            ),
            "refused",
            "bad_key",
        ),
        (
            action("add", json!({ "text": { "a": 1 } }), &key(9), now, owner),
            "refused",
            "invalid_param",
        ),
        (
            action("add", json!({}), &key(10), now, owner),
            "refused",
            "invalid_param",
        ),
        (
            action("purge", json!({}), &key(11), now, owner),
            "refused",
            "login_required",
        ),
    ];
    for (case, status, code) in &cases {
        let (frames, replayed) = replay(&mut socket, case).await;
        assert_eq!(replayed["status"], *status, "{case}: {frames:?}");
        assert_eq!(replayed["code"], *code, "{case}: {frames:?}");
    }
    assert!(items(&store).is_empty(), "{:?}", items(&store));
    // The live event of the same handler still works: the allowlist is one.
    let frames = send_event(&mut socket, "add", json!({ "text": "live" }), 1).await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    // Rate limits count replays like events; a limited action stays queued.
    let (_, first) = replay(
        &mut socket,
        &action("bump", json!({}), &key(20), now, owner),
    )
    .await;
    assert_eq!(first["status"], "applied", "{first}");
    let (_, limited) = replay(
        &mut socket,
        &action("bump", json!({}), &key(21), now, owner),
    )
    .await;
    assert_eq!(limited["status"], "retry", "{limited}");
    assert_eq!(limited["code"], "rate_limited", "{limited}");
    // A retried key is not remembered as used.
    let (_, retried) = replay(
        &mut socket,
        &action("bump", json!({}), &key(21), now, owner),
    )
    .await;
    assert_eq!(retried["status"], "retry", "{retried}");
    assert_eq!(items(&store), ["live", "bump"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_stale_change_is_a_conflict_with_a_message_for_the_user() {
    let (server, store) = start(test_config()).await;
    let addr = server.local_addr();
    let page = open_page(addr, &[]).await;
    let mut socket = mount(addr, &page, &[]).await;
    let queued_at = unix_ms() - 10_000;
    // Someone renames the list live, after the offline edit was made.
    let frames = send_event(&mut socket, "rename", json!({ "title": "Groceries" }), 1).await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    let stale = action(
        "rename",
        json!({ "title": "Shopping" }),
        &key(1),
        queued_at,
        &page.owner,
    );
    let (frames, replayed) = replay(&mut socket, &stale).await;
    assert_eq!(replayed["status"], "conflict", "{frames:?}");
    let message = "Someone renamed the list to “Groceries” after your change.";
    assert_eq!(replayed["message"], message);
    assert!(
        frames
            .iter()
            .any(|f| f["type"] == "flash" && f.to_string().contains("Groceries")),
        "the user sees it: {frames:?}"
    );
    assert_eq!(store.title.lock().expect("title").0, "Groceries");
    // Over HTTP the same.
    let stale = action(
        "rename",
        json!({ "title": "Shopping" }),
        &key(2),
        queued_at,
        &page.owner,
    );
    let results = sync_as(addr, &page, vec![stale]).await;
    assert_eq!(results[0]["status"], "conflict", "{results:?}");
    assert_eq!(results[0]["message"], message);
    // A newer offline edit applies.
    let newer = action(
        "rename",
        json!({ "title": "Shopping" }),
        &key(3),
        unix_ms(),
        &page.owner,
    );
    assert_eq!(
        sync_as(addr, &page, vec![newer]).await[0]["status"],
        "applied"
    );
    assert_eq!(store.title.lock().expect("title").0, "Shopping");
    server.shutdown().await;
}

#[tokio::test]
async fn sync_endpoint_applies_a_batch_once_in_order() {
    let (server, store) = start(test_config()).await;
    let addr = server.local_addr();
    let page = open_page(addr, &[]).await;
    let now = unix_ms();
    let batch: Vec<Value> = (0..3)
        .map(|n| {
            action(
                "add",
                json!({ "text": format!("item {n}") }),
                &key(n),
                now - 1000 + u64::from(n),
                &page.owner,
            )
        })
        .chain([action("clear", json!({}), &key(9), now, &page.owner)])
        .collect();
    let results = sync_as(addr, &page, batch.clone()).await;
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        ["applied", "applied", "applied", "refused"],
        "{results:?}"
    );
    assert_eq!(results[3]["code"], "not_offline");
    assert_eq!(items(&store), ["item 0", "item 1", "item 2"]);
    // The service worker retries the whole batch (its answer was lost).
    let results = sync_as(addr, &page, batch).await;
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        ["duplicate", "duplicate", "duplicate", "refused"],
        "{results:?}"
    );
    assert_eq!(items(&store).len(), 3);
    // Another session's queue is refused, the same keys included.
    let other = open_page(addr, &[]).await;
    let stolen = action(
        "add",
        json!({ "text": "stolen" }),
        &key(50),
        now,
        &page.owner,
    );
    let results = sync_as(addr, &other, vec![stolen]).await;
    assert_eq!(results[0]["code"], "foreign_session", "{results:?}");
    assert_eq!(items(&store).len(), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn sync_endpoint_needs_the_session_and_its_csrf_header() {
    let (server, store) = start(test_config()).await;
    let addr = server.local_addr();
    let page = open_page(addr, &[]).await;
    let other = open_page(addr, &[]).await;
    let body = json!({ "url": "/", "actions": [action("add", json!({ "text": "x" }), &key(1), unix_ms(), &page.owner)] }).to_string();
    let json_type = ("Content-Type", "application/json");
    for (headers, status, why) in [
        (
            vec![json_type, ("Cookie", &page.cookie)],
            403,
            "no CSRF header",
        ),
        (
            vec![
                json_type,
                ("Cookie", &page.cookie),
                ("X-CSRF-Token", "forged"),
            ],
            403,
            "wrong CSRF header",
        ),
        (
            vec![
                json_type,
                ("Cookie", &page.cookie),
                ("X-CSRF-Token", &other.csrf),
            ],
            403,
            "another session's token",
        ),
        (
            vec![json_type, ("X-CSRF-Token", &page.csrf)],
            401,
            "no session",
        ),
        (
            vec![
                json_type,
                ("Cookie", "djust_session=forged"),
                ("X-CSRF-Token", &page.csrf),
            ],
            401,
            "forged session",
        ),
        (
            vec![
                ("Content-Type", "text/plain"),
                ("Cookie", &page.cookie),
                ("X-CSRF-Token", &page.csrf),
            ],
            415,
            "not JSON",
        ),
        (
            vec![
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &page.cookie),
                ("X-CSRF-Token", &page.csrf),
            ],
            415,
            "a form",
        ),
    ] {
        let (got, value) = sync(addr, &headers, &body).await;
        assert_eq!(got, status, "{why}: {value}");
    }
    // GET is not a sync.
    let response = http(
        addr,
        "GET",
        "/djust/offline/sync",
        &[("Cookie", &page.cookie)],
        "",
    )
    .await;
    assert_ne!(response.status, 200, "{}", response.body);
    assert!(items(&store).is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn sync_endpoint_limits_and_malformed_bodies() {
    let config = djust::Config {
        offline_max_actions: 5,
        offline_keys_per_session: 50,
        offline_max_body_bytes: 8 * 1024,
        ..test_config()
    };
    let (server, store) = start(config).await;
    let addr = server.local_addr();
    let page = open_page(addr, &[]).await;
    let headers = [
        ("Cookie", page.cookie.as_str()),
        ("X-CSRF-Token", page.csrf.as_str()),
        ("Content-Type", "application/json"),
    ];
    let now = unix_ms();
    let add = |n: u32| action("add", json!({ "text": "x" }), &key(n), now, &page.owner);
    // Over the count limit: refused whole.
    let six = json!({ "url": "/", "actions": (0..6).map(add).collect::<Vec<_>>() }).to_string();
    let (status, value) = sync(addr, &headers, &six).await;
    assert_eq!(
        (status, value["error"].as_str()),
        (413, Some("too_many_actions")),
        "{value}"
    );
    // Over the body limit.
    let big = json!({ "url": "/", "actions": [action("add", json!({ "text": "y".repeat(9000) }), &key(1), now, &page.owner)] }).to_string();
    let (status, _) = sync(addr, &headers, &big).await;
    assert_eq!(status, 413);
    let deep = format!("{{\"url\":\"/\",\"actions\":[{{\"event\":\"add\",\"params\":{{\"text\":{}\"x\"{}}},\"key\":\"{}\",\"at\":1,\"owner\":\"o\"}}]}}", "[".repeat(200), "]".repeat(200), key(1));
    for (body, why) in [
        ("".to_owned(), "empty"),
        ("not json".to_owned(), "not JSON"),
        ("[]".to_owned(), "a list, not the batch object"),
        (json!({ "url": "/" }).to_string(), "no actions"),
        (json!({ "url": "/", "actions": {} }).to_string(), "actions not a list"),
        (json!({ "url": "/", "actions": "add" }).to_string(), "actions a string"),
        (json!({ "url": "/", "actions": [1, 2] }).to_string(), "actions not objects"),
        (json!({ "url": "/", "actions": [add(1)], "extra": true }).to_string(), "unknown top-level field"),
        (json!({ "url": "/", "actions": [{ "event": "add", "params": {}, "key": key(1), "at": now, "owner": "o", "kwargs": {} }] }).to_string(), "unknown action field"),
        (json!({ "url": "/", "actions": [{ "event": "add", "params": [], "key": key(1), "at": now, "owner": "o" }] }).to_string(), "params a list"),
        (json!({ "url": "/", "actions": [{ "event": "add", "params": {}, "key": key(1), "at": "yesterday", "owner": "o" }] }).to_string(), "at a string"),
        (json!({ "url": "/", "actions": [{ "event": "add", "params": {}, "key": key(1), "at": -1, "owner": "o" }] }).to_string(), "at negative"),
        (json!({ "url": 5, "actions": [] }).to_string(), "url a number"),
        ("{\"url\":\"/\",\"actions\":[{\"event\":\"add\",\"params\":{\"text\":\"\\ud800\"},\"key\":\"k\",\"at\":1,\"owner\":\"o\"}]}".to_owned(), "a lone surrogate"),
        (deep, "nested too deeply"),
    ] {
        let (status, value) = sync(addr, &headers, &body).await;
        assert_eq!(status, 400, "{why}: {value}");
        assert_eq!(value["error"], "malformed", "{why}: {value}");
    }
    // A page that is not a live route.
    let (status, _) = sync(
        addr,
        &headers,
        &json!({ "url": "/nowhere", "actions": [] }).to_string(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = sync(
        addr,
        &headers,
        &json!({ "url": "https://evil.example/", "actions": [] }).to_string(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(items(&store).is_empty());
    // Exactly at the limit is fine.
    let five = json!({ "url": "/", "actions": (0..5).map(add).collect::<Vec<_>>() }).to_string();
    let (status, value) = sync(addr, &headers, &five).await;
    assert_eq!(status, 200, "{value}");
    assert_eq!(items(&store).len(), 5);
    server.shutdown().await;
}

#[tokio::test]
async fn unicode_edge_cases() {
    let (server, store) = start(test_config()).await;
    let addr = server.local_addr();
    let page = open_page(addr, &[]).await;
    let now = unix_ms();
    let texts = [
        "שלום 👋🏽",
        "e\u{301}",
        "\u{202e}gnp.exe",
        "nul\u{0}byte",
        "\u{feff}bom",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ];
    let mut batch: Vec<Value> = texts
        .iter()
        .zip(1..)
        .map(|(text, n)| action("add", json!({ "text": text }), &key(n), now, &page.owner))
        .collect();
    // Look-alike event names are not the handler.
    batch.push(action(
        "ａdd",
        json!({ "text": "x" }),
        &key(40),
        now,
        &page.owner,
    ));
    batch.push(action(
        "add\u{200b}",
        json!({ "text": "x" }),
        &key(41),
        now,
        &page.owner,
    ));
    batch.push(action(
        "ADD",
        json!({ "text": "x" }),
        &key(42),
        now,
        &page.owner,
    ));
    // A key with a non-ASCII digit, an owner with a look-alike.
    batch.push(action(
        "add",
        json!({ "text": "x" }),
        &format!("{}\u{0661}", key(43)),
        now,
        &page.owner,
    ));
    batch.push(action(
        "add",
        json!({ "text": "x" }),
        &key(44),
        now,
        &format!("{}\u{200b}", page.owner),
    ));
    let results = sync_as(addr, &page, batch).await;
    for result in &results[..texts.len()] {
        assert_eq!(result["status"], "applied", "{results:?}");
    }
    let codes: Vec<&str> = results[texts.len()..]
        .iter()
        .map(|r| r["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        codes,
        [
            "unknown_event",
            "unknown_event",
            "unknown_event",
            "bad_key",
            "foreign_session"
        ]
    );
    // Stored as sent (escaping is the template's job).
    assert_eq!(items(&store), texts);
    server.shutdown().await;
}

#[tokio::test]
async fn tenants_have_their_own_sessions_owners_and_keys() {
    let store = Arc::new(Store::default());
    let server = app(store.clone(), test_config())
        .tenancy(TenantResolver::header("X-Tenant"))
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let acme = open_page(addr, &[("X-Tenant", "acme")]).await;
    let globex = open_page(addr, &[("X-Tenant", "globex")]).await;
    let now = unix_ms();
    let body = json!({ "url": "/", "actions": [action("add", json!({ "text": "acme's" }), &key(1), now, &acme.owner)] }).to_string();
    // acme's session, CSRF token and queue under globex: no session there.
    let headers = [
        ("X-Tenant", "globex"),
        ("Cookie", acme.cookie.as_str()),
        ("X-CSRF-Token", acme.csrf.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, value) = sync(addr, &headers, &body).await;
    assert_eq!(status, 401, "{value}");
    // acme's queue with globex's session: a foreign owner.
    let headers = [
        ("X-Tenant", "globex"),
        ("Cookie", globex.cookie.as_str()),
        ("X-CSRF-Token", globex.csrf.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, value) = sync(addr, &headers, &body).await;
    assert_eq!(status, 200, "{value}");
    assert_eq!(value["results"][0]["code"], "foreign_session", "{value}");
    // Under acme it applies; over acme's socket the same key is a duplicate.
    let headers = [
        ("X-Tenant", "acme"),
        ("Cookie", acme.cookie.as_str()),
        ("X-CSRF-Token", acme.csrf.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, value) = sync(addr, &headers, &body).await;
    assert_eq!(
        (status, value["results"][0]["status"].as_str()),
        (200, Some("applied")),
        "{value}"
    );
    let mut socket = mount(addr, &acme, &[("X-Tenant", "acme")]).await;
    let again = action(
        "add",
        json!({ "text": "acme's" }),
        &key(1),
        now,
        &acme.owner,
    );
    let (_, replayed) = replay(&mut socket, &again).await;
    assert_eq!(replayed["status"], "duplicate", "{replayed}");
    assert_eq!(items(&store), ["acme's"]);
    server.shutdown().await;
}

#[tokio::test]
async fn installable_app_files_work_under_the_csp() {
    let store = Arc::new(Store::default());
    let server = app(store, test_config())
        .pwa(djust::Pwa::new("Tasks"))
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let page = get(addr, "/").await;
    assert!(
        page.body
            .contains("<link rel=\"manifest\" href=\"/djust/manifest.webmanifest\">"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>"), "no inline script");
    let manifest = get(addr, "/djust/manifest.webmanifest").await;
    assert_eq!(manifest.status, 200);
    assert_eq!(
        manifest.header("content-type"),
        Some("application/manifest+json")
    );
    let value: Value = serde_json::from_str(&manifest.body).expect("manifest JSON");
    assert_eq!(value["name"], "Tasks");
    assert_eq!(value["start_url"], "/");
    assert_eq!(value["display"], "standalone");
    let sw = get(addr, "/djust/sw.js").await;
    assert_eq!(sw.status, 200);
    assert_eq!(sw.header("service-worker-allowed"), Some("/"));
    assert!(sw
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/javascript")));
    assert!(!sw.body.contains("eval("), "no eval");
    let offline = get(addr, "/djust/offline.html").await;
    assert_eq!(offline.status, 200);
    assert!(!offline.body.contains("<script"), "no script at all");
    for response in [&page, &manifest, &sw, &offline] {
        let csp = response.header("content-security-policy").expect("CSP");
        assert!(csp.contains("script-src 'self'"), "{csp}");
    }
    // Without App::pwa there is no manifest.
    let (plain, _) = start(test_config()).await;
    assert_eq!(
        get(plain.local_addr(), "/djust/manifest.webmanifest")
            .await
            .status,
        404
    );
    assert!(!get(plain.local_addr(), "/")
        .await
        .body
        .contains("rel=\"manifest\""));
    plain.shutdown().await;
    server.shutdown().await;
}
