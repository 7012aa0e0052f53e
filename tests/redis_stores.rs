//! The Redis stores on their own, against the Redis named by
//! `DJUST_TEST_REDIS_URL` (`.ci/run` starts one): session contract, key
//! names and TTLs, the token bucket, and Redis round trips per
//! rate-limited check. Skipped with a printed reason when the variable is
//! unset outside CI; with `CI` set a missing Redis fails.
#![cfg(feature = "redis")]

use std::time::Duration;

use djust::runtime::limits::HandlerRateLimiter;
use djust::runtime::redis::client::aio::MultiplexedConnection;
use djust::runtime::redis::client::{cmd, AsyncCommands, Client};
use djust::runtime::redis::{
    Redis, RedisBroadcast, RedisKeyValueStore, RedisOptions, RedisRateLimiter, RedisSessionStore,
};
use djust::runtime::session::{KeyValueStore, SessionStore, StoreError, TenantScopedStore};
use std::sync::Arc;

fn redis_url(test: &str) -> Option<String> {
    match std::env::var("DJUST_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("DJUST_TEST_REDIS_URL is not set but CI is: .ci/run must start redis-server")
        }
        _ => {
            eprintln!("skipping {test}: DJUST_TEST_REDIS_URL is not set (see .ci/run)");
            None
        }
    }
}

async fn raw(url: &str) -> MultiplexedConnection {
    Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

#[tokio::test]
async fn sessions_follow_the_store_contract_with_namespaced_expiring_keys() {
    let Some(url) = redis_url("sessions") else {
        return;
    };
    let store = RedisSessionStore::new(Redis::open(&url).expect("url"), Duration::from_secs(600));
    let mut con = raw(&url).await;

    let mut session = store.create().await.expect("create");
    let key = format!("djust:session:{}", session.id);
    let ttl: i64 = con.ttl(&key).await.expect("ttl");
    assert!((590..=600).contains(&ttl), "TTL is the idle timeout: {ttl}");

    session.user_id = Some("42".to_owned());
    session.data.insert("k".to_owned(), "v".to_owned());
    assert!(store.save(session.clone()).await.expect("save"));
    let loaded = store.load(&session.id).await.expect("load").expect("live");
    assert_eq!(loaded.user_id.as_deref(), Some("42"));
    assert_eq!(loaded.data.get("k").map(String::as_str), Some("v"));
    assert_eq!(loaded.csrf_token, session.csrf_token);

    // Rotation moves everything to a new id and removes the old one.
    let rotated = store.rotate(&session.id).await.expect("rotate");
    assert_ne!(rotated.id, session.id);
    assert_eq!(rotated.user_id.as_deref(), Some("42"));
    assert_eq!(store.load(&session.id).await.expect("load"), None);

    // Destroyed sessions cannot be resurrected by a late save.
    assert!(store.destroy(&rotated.id).await.expect("destroy").is_some());
    assert!(!store.save(rotated.clone()).await.expect("save"));
    assert_eq!(store.load(&rotated.id).await.expect("load"), None);
    let exists: bool = con
        .exists(format!("djust:session:{}", rotated.id))
        .await
        .expect("exists");
    assert!(!exists);

    // Unknown and hostile ids are simply absent.
    for id in ["", "nope", "../x", "a:b*"] {
        assert_eq!(store.load(id).await.expect("load"), None);
    }
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_for_sessions_and_a_refusal_for_rate_limits() {
    // Port 1 on loopback: nothing listens there.
    let redis = Redis::open("redis://127.0.0.1:1/0").expect("url");
    let store = RedisSessionStore::new(redis.clone(), Duration::from_secs(60));
    assert!(store.load("whatever").await.is_err());
    assert!(store.create().await.is_err());
    let limiter = RedisRateLimiter::new(redis);
    assert!(
        !limiter.check("v:h:user:1", 100.0, 100).await,
        "fail closed"
    );
}

#[tokio::test]
async fn tenant_scoped_values_live_under_their_tenant_prefix_and_expire() {
    let Some(url) = redis_url("kv") else {
        return;
    };
    let mut con = raw(&url).await;
    let redis = Redis::open(&url).expect("url");
    let store: Arc<dyn KeyValueStore> = Arc::new(RedisKeyValueStore::new(
        redis.clone(),
        Duration::from_secs(300),
    ));
    let run = std::process::id();
    let acme = TenantScopedStore::new(store.clone(), &format!("acme{run}")).expect("tenant");
    let globex = TenantScopedStore::new(store.clone(), &format!("globex{run}")).expect("tenant");

    acme.set("plan", "gold".to_owned()).await.expect("set");
    globex.set("plan", "free".to_owned()).await.expect("set");
    assert_eq!(
        acme.get("plan").await.expect("get").as_deref(),
        Some("gold")
    );
    assert_eq!(
        globex.get("plan").await.expect("get").as_deref(),
        Some("free")
    );

    // The raw key is namespaced and tenant-prefixed, and it expires.
    let raw_key = format!("djust:kv:tenant:acme{run}:plan");
    let stored: Option<String> = con.get(&raw_key).await.expect("get");
    assert_eq!(stored.as_deref(), Some("gold"));
    let ttl: i64 = con.ttl(&raw_key).await.expect("ttl");
    assert!(
        (290..=300).contains(&ttl),
        "every value carries the TTL: {ttl}"
    );

    // A key crafted to look like another tenant's stays inside its own tenant.
    let crafted = format!("x:tenant:globex{run}:plan");
    assert_eq!(acme.get(&crafted).await.expect("get"), None);
    assert!(acme.delete("plan").await.expect("delete"));
    assert!(!acme.delete("plan").await.expect("delete twice"));
    assert_eq!(
        globex.get("plan").await.expect("get").as_deref(),
        Some("free")
    );

    // Hostile keys: unicode and injection text are plain bytes in one key;
    // empty and oversize keys are refused before reaching Redis.
    for key in ["ключ 🔑", "a\r\nFLUSHALL\r\n", "*", "\u{0}"] {
        store.set(key, "v".to_owned()).await.expect("set");
        assert_eq!(store.get(key).await.expect("get").as_deref(), Some("v"));
        assert!(store.delete(key).await.expect("delete"));
    }
    assert!(matches!(
        store.set("", "v".to_owned()).await,
        Err(StoreError::InvalidKey(_))
    ));
    assert!(matches!(
        store.get(&"k".repeat(1025)).await,
        Err(StoreError::InvalidKey(_))
    ));
    assert_eq!(
        globex.get("plan").await.expect("get").as_deref(),
        Some("free"),
        "the FLUSHALL text was data, not a command"
    );

    // Down: every operation is an error, never a hang or a panic.
    let down = RedisKeyValueStore::new(
        Redis::open("redis://127.0.0.1:1/0").expect("url"),
        Duration::from_secs(60),
    );
    assert!(down.get("k").await.is_err());
    assert!(down.set("k", "v".to_owned()).await.is_err());
}

#[tokio::test]
async fn an_idle_subscription_passes_its_health_checks_and_keeps_every_message() {
    let Some(url) = redis_url("subscription_health") else {
        return;
    };
    // Health checks every 50 ms: a check that wrongly failed would drop and
    // re-open the subscription many times over the second below, losing
    // whatever was published meanwhile (it once did, every 5 s).
    let options = RedisOptions {
        health_check_interval: Duration::from_millis(50),
        ..RedisOptions::default()
    };
    let redis = Redis::open_with(&url, options).expect("url");
    let topic = format!("health{}", std::process::id());
    let bus = RedisBroadcast::<u32>::new(&redis, &topic, 1024).expect("bus");
    assert!(bus.wait_subscribed(Duration::from_secs(5)).await);
    let mut subscription = bus.subscription();
    subscription.borrow_and_update();
    let mut messages = bus.subscribe();
    for n in 0..100u32 {
        bus.publish(&n).await.expect("published");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !subscription.has_changed().expect("bus alive"),
        "the subscription never dropped"
    );
    for n in 0..100u32 {
        let received = tokio::time::timeout(Duration::from_secs(2), messages.recv())
            .await
            .expect("in time")
            .expect("not lagged");
        assert_eq!(received, n, "every message, in order");
    }
}

/// Calls of `command` so far (`INFO commandstats`).
async fn calls(con: &mut MultiplexedConnection, command: &str) -> u64 {
    let info: String = cmd("INFO")
        .arg("commandstats")
        .query_async(con)
        .await
        .expect("info");
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split(',').next())
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_token_bucket_is_shared_expiring_and_one_round_trip_per_check() {
    let Some(url) = redis_url("rate") else {
        return;
    };
    let mut con = raw(&url).await;
    let key = format!("test:bucket:user:{}", std::process::id());
    let first = RedisRateLimiter::new(Redis::open(&url).expect("url"));
    let second = RedisRateLimiter::new(Redis::open(&url).expect("url"));

    // Burst 3, almost no refill: three calls across two "processes", then no.
    assert!(first.check(&key, 0.001, 3).await);
    assert!(second.check(&key, 0.001, 3).await);
    assert!(first.check(&key, 0.001, 3).await);
    assert!(!second.check(&key, 0.001, 3).await);
    assert!(!first.check(&key, 0.001, 3).await);
    let ttl: i64 = con.pttl(format!("djust:rate:{key}")).await.expect("pttl");
    assert!(ttl > 0, "the bucket key expires: {ttl}");

    // Refill: 20 tokens/s, burst 1.
    let fast = format!("{key}:fast");
    assert!(first.check(&fast, 20.0, 1).await);
    assert!(!first.check(&fast, 20.0, 1).await);
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(second.check(&fast, 20.0, 1).await);
    let ttl: i64 = con.pttl(format!("djust:rate:{fast}")).await.expect("pttl");
    assert!(
        (1..=2_100).contains(&ttl),
        "expires once it would be full again: {ttl}"
    );

    // Round trips: the script is cached now, so each check is exactly one
    // EVALSHA (no EVAL, no SCRIPT LOAD, no other command on that path). No
    // other test of this file runs scripts.
    let checks = 50u64;
    let evalsha = calls(&mut con, "evalsha").await;
    let eval = calls(&mut con, "eval").await;
    for _ in 0..checks {
        first.check(&format!("{key}:rt"), 1_000.0, 1_000).await;
    }
    assert_eq!(calls(&mut con, "evalsha").await - evalsha, checks);
    assert_eq!(calls(&mut con, "eval").await, eval);
    println!("Redis round trips per rate-limited check: 1 (EVALSHA)");
}

/// Receives the next message within 2 s.
async fn next(receiver: &mut tokio::sync::broadcast::Receiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(2), receiver.recv())
        .await
        .expect("in time")
        .expect("not lagged")
}

#[tokio::test]
async fn a_bus_is_scoped_to_the_tenant_that_uses_it() {
    use djust::tenant::{self, Tenant};
    use tokio::sync::broadcast::error::TryRecvError;

    let Some(url) = redis_url("bus_tenancy") else {
        return;
    };
    let redis = Redis::open(&url).expect("url");
    let topic = format!("board{}", std::process::id());
    let bus = RedisBroadcast::<String>::new(&redis, &topic, 16).expect("bus");
    assert!(bus.wait_subscribed(Duration::from_secs(5)).await);
    let acme = Tenant::new("acme").expect("tenant");
    let globex = Tenant::new("globex").expect("tenant");
    let mut at_acme = tenant::scope(Some(acme.clone()), async { bus.subscribe() }).await;
    let mut at_globex = tenant::scope(Some(globex.clone()), async { bus.subscribe() }).await;
    let mut untenanted = bus.subscribe();

    // Published in acme's scope: on acme's channel, to acme's views only.
    tenant::scope(Some(acme.clone()), bus.publish(&"for acme".to_owned()))
        .await
        .expect("published");
    assert_eq!(next(&mut at_acme).await, "for acme");
    assert_eq!(
        bus.channel_of(Some(&acme)),
        format!("djust:pubsub:tenant:acme:{topic}")
    );
    // Outside any tenant: the untenanted channel, which no tenant hears.
    bus.publish(&"for nobody in particular".to_owned())
        .await
        .expect("published");
    assert_eq!(next(&mut untenanted).await, "for nobody in particular");
    // Channels that only look like a tenant's reach nobody: an invalid id,
    // or another topic's channel whose tail matches this one's.
    let mut con = raw(&url).await;
    for forged in [
        format!("djust:pubsub:tenant:ACME:{topic}"),
        format!("djust:pubsub:tenant:acme:x:{topic}"),
        format!("djust:pubsub:tenant::{topic}"),
    ] {
        let _: u64 = cmd("PUBLISH")
            .arg(&forged)
            .arg("\"forged\"")
            .query_async(&mut con)
            .await
            .expect("publish");
    }
    // Globex's own message comes first to globex: nothing of acme's, the
    // untenanted or the forged ones came before it.
    tenant::scope(Some(globex.clone()), bus.publish(&"for globex".to_owned()))
        .await
        .expect("published");
    assert_eq!(next(&mut at_globex).await, "for globex");
    // Redis delivers in order on one connection: by now every message
    // above has reached this process.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(at_acme.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(at_globex.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(untenanted.try_recv(), Err(TryRecvError::Empty));

    // A topic may not pose as a tenant's channel.
    assert!(RedisBroadcast::<String>::new(&redis, "tenant:acme:board", 16).is_err());
}

#[tokio::test]
async fn a_view_state_id_once_taken_refuses_its_former_owners_writes() {
    use djust::runtime::live::{Stored, ViewStateStore};
    use djust::runtime::redis::RedisViewStateStore;
    let Some(url) = redis_url("view state ownership") else {
        return;
    };
    let store = RedisViewStateStore::new(Redis::open(&url).expect("url"));
    let mut con = raw(&url).await;
    let id = format!("owner-{}", std::process::id());
    let key = format!("djust:view:{id}");
    let sealed = vec![7u8; 40];
    let minute = Duration::from_secs(60);
    assert_eq!(
        store.put(&id, sealed.clone(), minute).await.expect("put"),
        Stored::Written
    );
    assert_eq!(
        store.put(&id, vec![8u8; 40], minute).await.expect("put"),
        Stored::Written,
        "its owner replaces it"
    );
    // A resume elsewhere takes it: the snapshot, once, and a mark for 120 s.
    let taken = store
        .take(&id, Duration::from_secs(120))
        .await
        .expect("take");
    assert_eq!(taken, Some(vec![8u8; 40]));
    assert_eq!(store.take(&id, minute).await.expect("take"), None, "once");
    let ttl: i64 = con.ttl(&key).await.expect("ttl");
    assert!((1..=120).contains(&ttl), "the mark expires: {ttl}");
    // The former owner's write is refused and leaves the mark as it is.
    assert_eq!(
        store.put(&id, sealed.clone(), minute).await.expect("put"),
        Stored::Taken
    );
    let held: Vec<u8> = con.get(&key).await.expect("get");
    assert_eq!(held, b"taken");
    // An id never written is absent (and marked taken from then on).
    assert_eq!(
        store.take("never-written", minute).await.expect("take"),
        None
    );
    // Hostile ids never reach Redis.
    for hostile in ["", "a b", "x\r\nFLUSHALL", &"i".repeat(129)] {
        assert!(store.put(hostile, sealed.clone(), minute).await.is_err());
        assert!(store.take(hostile, minute).await.is_err());
    }
    store.remove(&id).await.expect("remove");
    store.remove("never-written").await.expect("remove");
}
