//! Redis over TLS (feature `redis-tls`): a private `redis-server` accepting
//! only TLS, with a certificate from a throwaway CA made by the `openssl`
//! command for this test. With the CA (`DJUST_REDIS_CA_FILE`) the stores and
//! a whole server work; without it, or with a plain `redis://` URL, nothing
//! is sent and the error says why.
//!
//! Skipped with a printed reason outside CI when `redis-server` or
//! `openssl` is missing; with `CI` set, missing tools fail.
#![cfg(feature = "redis-tls")]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use djust::prelude::*;
use djust::runtime::redis::client::cmd;
use djust::runtime::redis::{Redis, RedisOptions, RedisSessionStore};
use djust::runtime::session::SessionStore;
use support::redis::RedisServer;
use support::*;

/// A CA and a server certificate for 127.0.0.1 signed by it.
struct Certificates {
    dir: PathBuf,
}

impl Certificates {
    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    fn key(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// `None` (after printing why) when `openssl` is missing outside CI.
    fn make(test: &str) -> Option<Certificates> {
        if Command::new("openssl").arg("version").output().is_err() {
            if std::env::var_os("CI").is_some() {
                panic!("openssl is not installed but CI is set: .ci/run must install it");
            }
            eprintln!("skipping {test}: the openssl command is not installed");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("djust-tls-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cert dir");
        let certificates = Certificates { dir };
        let ext = certificates.dir.join("server.ext");
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .expect("ext file");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let path = |file: &Path| file.to_str().expect("utf-8 path").to_owned();
        let ca_key = certificates.dir.join("ca.key");
        let csr = certificates.dir.join("server.csr");
        run_openssl(
            &["req", "-x509", "-days", "2", "-subj", "/CN=djust test CA"],
            &ec,
            &[
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &path(&ca_key),
                "-out",
                &path(&certificates.ca()),
            ],
        );
        run_openssl(
            &["req", "-subj", "/CN=127.0.0.1"],
            &ec,
            &["-keyout", &path(&certificates.key()), "-out", &path(&csr)],
        );
        run_openssl(
            &["x509", "-req", "-days", "2", "-CAcreateserial"],
            &[],
            &[
                "-in",
                &path(&csr),
                "-CA",
                &path(&certificates.ca()),
                "-CAkey",
                &path(&ca_key),
                "-extfile",
                &path(&ext),
                "-out",
                &path(&certificates.cert()),
            ],
        );
        Some(certificates)
    }
}

fn run_openssl(head: &[&str], middle: &[&str], tail: &[&str]) {
    let output = Command::new("openssl")
        .args(head)
        .args(middle)
        .args(tail)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {head:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Drop for Certificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CA, and a TLS-only `redis-server` with a certificate it signed.
fn tls_redis(test: &str) -> Option<(Certificates, RedisServer)> {
    let certificates = Certificates::make(test)?;
    let server = RedisServer::start_tls(test, &certificates.cert(), &certificates.key())?;
    Some((certificates, server))
}

fn quick_options() -> RedisOptions {
    RedisOptions {
        connect_timeout: Duration::from_millis(500),
        response_timeout: Duration::from_millis(500),
        ..RedisOptions::default()
    }
}

struct Hello;

#[live_view(public)]
impl Hello {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Hello)
    }

    fn render(&self) -> Html {
        html! { <p>"hello over TLS"</p> }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_ca_file_stores_and_the_server_use_redis_over_tls() {
    let Some((certificates, redis_server)) = tls_redis("tls") else {
        return;
    };
    let url = redis_server.url();
    assert!(url.starts_with("rediss://"), "{url}");
    let config = djust::Config {
        redis_url: Some(url.clone()),
        redis_ca_file: Some(certificates.ca()),
        ..test_config()
    };

    // The handle the server builds from the settings talks TLS.
    let redis = Redis::from_config(&config)
        .expect("valid settings")
        .expect("a handle");
    redis.ping().await.expect("PING over TLS");
    let store = RedisSessionStore::new(redis.clone(), Duration::from_secs(60));
    let mut session = store.create().await.expect("create");
    session.user_id = Some("7".to_owned());
    assert!(store.save(session.clone()).await.expect("save"));
    let loaded = store.load(&session.id).await.expect("load").expect("live");
    assert_eq!(loaded.user_id.as_deref(), Some("7"));

    // A whole server on those settings: a login checks its budgets and
    // makes a session, both in the TLS Redis.
    let backend = djust::runtime::auth::MemoryAuthBackend::new();
    backend.insert(
        djust::runtime::auth::User::new("1", "alice"),
        quick_hash("alice-password"),
    );
    let server = App::new()
        .config(config)
        .auth(backend)
        .live("/", Hello::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind with a TLS Redis");
    let cookie = log_in(server.local_addr(), "alice", "alice-password", "/").await;
    let sessions: Vec<String> = redis
        .query(cmd("KEYS").arg("djust:session:*"))
        .await
        .expect("KEYS");
    assert!(
        sessions.len() >= 2,
        "the login's session ({cookie}) is stored: {sessions:?}"
    );
    let budgets: Vec<String> = redis
        .query(cmd("KEYS").arg("djust:login:*"))
        .await
        .expect("KEYS");
    assert_eq!(budgets.len(), 2, "per address and per user: {budgets:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_or_without_tls_nothing_is_sent_and_the_error_says_why() {
    let Some((certificates, redis_server)) = tls_redis("tls_refused") else {
        return;
    };
    let url = redis_server.url();

    // The system trust store does not know the test CA: the handshake
    // fails, and the store fails closed (an error, not a hang or a panic).
    let untrusted = Redis::open_with(&url, quick_options()).expect("url");
    assert!(untrusted.ping().await.is_err(), "unknown CA refused");
    let store = RedisSessionStore::new(untrusted, Duration::from_secs(60));
    assert!(store.create().await.is_err());

    // Plain text to the TLS port gets no answer it accepts.
    let plain = url.replacen("rediss://", "redis://", 1);
    let cleartext = Redis::open_with(&plain, quick_options()).expect("url");
    assert!(
        cleartext.ping().await.is_err(),
        "no cleartext to a TLS port"
    );

    // Settings mistakes are named at startup.
    let missing = djust::Config {
        redis_url: Some(url.clone()),
        redis_ca_file: Some(certificates.dir.join("no-such-ca.pem")),
        ..test_config()
    };
    let error = Redis::from_config(&missing).expect_err("unreadable CA file");
    assert_eq!(error.variable, "DJUST_REDIS_CA_FILE");
    assert!(error.problem.contains("no-such-ca.pem"), "{error}");
    let garbage_ca = certificates.dir.join("garbage.pem");
    std::fs::write(
        &garbage_ca,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let garbage = djust::Config {
        redis_ca_file: Some(garbage_ca),
        ..missing
    };
    let refused = match Redis::from_config(&garbage) {
        Err(error) => {
            assert_eq!(error.variable, "DJUST_REDIS_CA_FILE");
            true
        }
        // Some versions parse lazily: then the first command must fail.
        Ok(Some(redis)) => redis.ping().await.is_err(),
        Ok(None) => false,
    };
    assert!(refused, "a CA file that is not a certificate is refused");
}
