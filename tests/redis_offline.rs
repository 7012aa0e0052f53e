//! Offline actions across two server processes sharing Redis: the
//! idempotency keys of replayed actions are claimed in Redis
//! (`RedisIdempotencyStore`, the default with `DJUST_REDIS_URL`), so a sync
//! batch applied on one process and retried on the other (a load balancer
//! without sticky sessions) applies once, keys are kept under the tenant's
//! prefix, and a Redis that does not answer refuses the batch before
//! anything applies (fail closed). Each test starts its own `redis-server`
//! (skipped with a reason without one, unless `CI`).
#![cfg(feature = "redis")]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use djust::offline::unix_ms;
use djust::prelude::*;
use djust::runtime::redis::{Redis, RedisIdempotencyStore, RedisOptions};
use djust::tenant::TenantResolver;
use serde_json::{json, Value};
use support::redis::RedisServer;
use support::*;

/// The application's data, shared by both processes (as a database would be).
#[derive(Default)]
struct Store {
    items: Mutex<Vec<String>>,
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
}

fn app(store: &Arc<Store>, config: djust::Config) -> App {
    App::new()
        .config(config)
        .state(store.clone())
        .live("/", Tasks::view())
}

/// A process whose stores (sessions, idempotency keys…) are in `redis`.
async fn process(redis: &RedisServer, store: &Arc<Store>) -> djust::Server {
    app(
        store,
        djust::Config {
            redis_url: Some(redis.url()),
            ..test_config()
        },
    )
    .bind("127.0.0.1:0")
    .await
    .expect("bind")
}

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

fn key(n: u32) -> String {
    format!("key-{n:08}-abcdefghijklmnop")
}

fn add(text: &str, key: &str, page: &Page) -> Value {
    json!({ "event": "add", "params": { "text": text }, "key": key, "at": unix_ms() - 1_000, "owner": page.owner })
}

/// POSTs a batch as `page`'s session: the status and the body.
async fn sync(
    addr: SocketAddr,
    page: &Page,
    extra: &[(&str, &str)],
    actions: &[Value],
) -> (u16, Value, HttpResponse) {
    let body = json!({ "url": "/", "actions": actions }).to_string();
    let mut headers = vec![
        ("Cookie", page.cookie.as_str()),
        ("X-CSRF-Token", page.csrf.as_str()),
        ("Content-Type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    let response = http(addr, "POST", "/djust/offline/sync", &headers, &body).await;
    let value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    (response.status, value, response)
}

fn statuses(value: &Value) -> Vec<String> {
    value["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results in {value}"))
        .iter()
        .map(|result| result["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Mounts the page's view over a socket (with the page's session).
async fn mount(addr: SocketAddr, page: &Page, extra: &[(&str, &str)]) -> Socket {
    let mut headers = vec![("Cookie", page.cookie.as_str())];
    headers.extend_from_slice(extra);
    let mut socket = connect_with(addr, &headers).await;
    send_mount(&mut socket, "tasks", &page.token, "/").await;
    let mounted = recv(&mut socket).await.expect("mount frame");
    assert_eq!(mounted["type"], "mount", "{mounted}");
    socket
}

/// Sends a `replay` frame: the `replayed` answer.
async fn replay(socket: &mut Socket, action: &Value) -> Value {
    let mut frame = action.clone();
    frame["type"] = json!("replay");
    frame["ref"] = json!(7);
    send_json(socket, &frame).await;
    let frames = until_pong(socket).await;
    frames
        .into_iter()
        .find(|f| f["type"] == "replayed")
        .expect("a replayed frame")
}

/// The keys Redis holds matching `pattern`.
async fn redis_keys(redis: &RedisServer, pattern: &str) -> Vec<String> {
    let client = djust::runtime::redis::client::Client::open(redis.url()).expect("client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let mut keys: Vec<String> = djust::runtime::redis::client::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut connection)
        .await
        .expect("keys");
    keys.sort();
    keys
}

fn items(store: &Store) -> Vec<String> {
    store.items.lock().expect("items").clone()
}

#[tokio::test]
async fn a_batch_applied_on_one_process_and_retried_on_the_other_applies_once() {
    let Some(redis) = RedisServer::start("redis_offline_retry") else {
        return;
    };
    let store = Arc::new(Store::default());
    let a = process(&redis, &store).await;
    let b = process(&redis, &store).await;
    let page = open_page(a.local_addr(), &[]).await;
    let batch = [add("milk", &key(1), &page), add("eggs", &key(2), &page)];
    let (status, value, _) = sync(a.local_addr(), &page, &[], &batch).await;
    assert_eq!(status, 200, "{value}");
    assert_eq!(statuses(&value), ["applied", "applied"]);
    // The answer was lost: the service worker retries, and the load
    // balancer sends the retry to B.
    let (status, value, _) = sync(b.local_addr(), &page, &[], &batch).await;
    assert_eq!(status, 200, "{value}");
    assert_eq!(statuses(&value), ["duplicate", "duplicate"], "{value}");
    assert_eq!(value["results"][0]["code"], "applied", "{value}");
    assert_eq!(items(&store), ["milk", "eggs"]);
    // The page's socket on B replays one of them too (it raced the sync):
    // a duplicate as well; a new action on B applies.
    let mut socket = mount(b.local_addr(), &page, &[]).await;
    let replayed = replay(&mut socket, &batch[0]).await;
    assert_eq!(replayed["status"], "duplicate", "{replayed}");
    let replayed = replay(&mut socket, &add("jam", &key(3), &page)).await;
    assert_eq!(replayed["status"], "applied", "{replayed}");
    // ...and that one is a duplicate on A.
    let (_, value, _) = sync(a.local_addr(), &page, &[], &[add("jam", &key(3), &page)]).await;
    assert_eq!(statuses(&value), ["duplicate"], "{value}");
    assert_eq!(items(&store), ["milk", "eggs", "jam"]);
    // Each key is in Redis with a TTL no longer than the age limit plus
    // the clock skew, under the `djust:offline:` prefix.
    let keys = redis_keys(&redis, "djust:offline:*:key:*").await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    let client = djust::runtime::redis::client::Client::open(redis.url()).expect("client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    for key in &keys {
        let ttl: i64 = djust::runtime::redis::client::cmd("TTL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .expect("ttl");
        let limit = i64::try_from(test_config().offline_max_age_secs).expect("age") + 5 * 60;
        assert!(ttl > 0 && ttl <= limit, "{key}: {ttl}");
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_tenants_keys_are_under_its_prefix_and_apart_from_other_tenants() {
    let Some(redis) = RedisServer::start("redis_offline_tenants") else {
        return;
    };
    let store = Arc::new(Store::default());
    let tenanted = |redis: &RedisServer| {
        app(
            &store,
            djust::Config {
                redis_url: Some(redis.url()),
                ..test_config()
            },
        )
        .tenancy(TenantResolver::header("X-Tenant"))
    };
    let a = tenanted(&redis).bind("127.0.0.1:0").await.expect("bind");
    let b = tenanted(&redis).bind("127.0.0.1:0").await.expect("bind");
    let acme = [("X-Tenant", "acme")];
    let globex = [("X-Tenant", "globex")];
    let acme_page = open_page(a.local_addr(), &acme).await;
    let globex_page = open_page(a.local_addr(), &globex).await;
    let (_, value, _) = sync(
        a.local_addr(),
        &acme_page,
        &acme,
        &[add("acme's", &key(1), &acme_page)],
    )
    .await;
    assert_eq!(statuses(&value), ["applied"], "{value}");
    // The same idempotency key under another tenant is another key.
    let (_, value, _) = sync(
        b.local_addr(),
        &globex_page,
        &globex,
        &[add("globex's", &key(1), &globex_page)],
    )
    .await;
    assert_eq!(statuses(&value), ["applied"], "{value}");
    let (_, value, _) = sync(
        b.local_addr(),
        &acme_page,
        &acme,
        &[add("acme's", &key(1), &acme_page)],
    )
    .await;
    assert_eq!(statuses(&value), ["duplicate"], "{value}");
    assert_eq!(items(&store), ["acme's", "globex's"]);
    let acme_keys = redis_keys(&redis, "djust:offline:tenant:acme:*:key:*").await;
    let globex_keys = redis_keys(&redis, "djust:offline:tenant:globex:*:key:*").await;
    assert_eq!((acme_keys.len(), globex_keys.len()), (1, 1));
    let all = redis_keys(&redis, "djust:offline:*").await;
    assert!(
        all.iter()
            .all(|key| key.starts_with("djust:offline:tenant:")),
        "nothing outside a tenant's prefix: {all:?}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn without_redis_nothing_is_applied_and_the_client_is_told_to_retry() {
    let Some(mut redis) = RedisServer::start("redis_offline_down") else {
        return;
    };
    // Sessions in memory, idempotency keys in Redis: the outage reaches
    // only the keys.
    let options = RedisOptions {
        connect_timeout: Duration::from_millis(200),
        response_timeout: Duration::from_millis(200),
        ..RedisOptions::default()
    };
    let keys = RedisIdempotencyStore::new(
        Redis::open_with(&redis.url(), options).expect("url"),
        Duration::from_secs(3600),
        100,
    );
    let store = Arc::new(Store::default());
    let server = app(&store, test_config())
        .idempotency_store(Arc::new(keys))
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let page = open_page(addr, &[]).await;
    let mut socket = mount(addr, &page, &[]).await;
    let first = add("before", &key(1), &page);
    let replayed = replay(&mut socket, &first).await;
    assert_eq!(replayed["status"], "applied", "{replayed}");

    redis.kill();
    // A batch: refused whole, retryable, nothing applied (not even the
    // actions before the one whose claim failed: all are claimed first).
    let batch = [
        add("during-1", &key(2), &page),
        add("during-2", &key(3), &page),
    ];
    let (status, value, response) = sync(addr, &page, &[], &batch).await;
    assert_eq!(status, 503, "{value}");
    assert_eq!(value["error"], "store_unavailable", "{value}");
    assert!(
        response
            .headers
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("retry-after") && value == "5"),
        "{:?}",
        response.headers
    );
    // Over the socket: `retry`, and the socket stays usable.
    let replayed = replay(&mut socket, &add("during-3", &key(4), &page)).await;
    assert_eq!(replayed["status"], "retry", "{replayed}");
    assert_eq!(replayed["code"], "store_unavailable", "{replayed}");
    assert_eq!(items(&store), ["before"]);

    redis.spawn();
    // Back: the queued actions apply once, and the one applied before the
    // outage is still known (Redis kept it: append-only file).
    let mut applied = None;
    for _ in 0..100 {
        let (status, value, _) = sync(addr, &page, &[], &batch).await;
        if status == 200 {
            applied = Some(value);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let value = applied.expect("the sync works again once Redis is back");
    assert_eq!(statuses(&value), ["applied", "applied"], "{value}");
    let replayed = replay(&mut socket, &add("during-3", &key(4), &page)).await;
    assert_eq!(replayed["status"], "applied", "{replayed}");
    let replayed = replay(&mut socket, &first).await;
    assert_eq!(replayed["status"], "duplicate", "{replayed}");
    assert_eq!(
        items(&store),
        ["before", "during-1", "during-2", "during-3"]
    );
    server.shutdown().await;
}
