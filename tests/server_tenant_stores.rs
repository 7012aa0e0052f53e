//! Shared stores under tenancy: the app's key-value store reaches views
//! only through `ctx.kv()`, scoped to the request's tenant; a store shared
//! by every tenant put in the app state unscoped is refused by
//! `ctx.state` under a tenant and is an audit finding (`DJ011`, a warning,
//! so `audit --strict` fails), in text and JSON.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use djust::prelude::*;
use djust::runtime::session::{KeyValueStore, MemoryKeyValueStore};
use djust::tenant::TenantResolver;
use serde_json::json;
use support::*;

/// Remembers a value under a key the user chooses, in the app's store.
struct Memo {
    last: String,
}

#[live_view(public, name = "memo")]
impl Memo {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Memo {
            last: String::new(),
        })
    }

    fn render(&self) -> Html {
        html! { <p id="last">{&self.last}</p> }
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    async fn remember(&mut self, ctx: &EventCtx, key: String, value: String) -> Result<()> {
        ctx.kv()?
            .set(&key, value)
            .await
            .map_err(|error| Error::msg(error.to_string()))?;
        Ok(())
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    async fn recall(&mut self, ctx: &EventCtx, key: String) -> Result<()> {
        self.last = ctx
            .kv()?
            .get(&key)
            .await
            .map_err(|error| Error::msg(error.to_string()))?
            .unwrap_or_else(|| "(nothing)".to_owned());
        Ok(())
    }

    /// Reaches the raw store put in the app state (the mistake DJ011 names).
    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    async fn peek(&mut self, ctx: &EventCtx, key: String) -> Result<()> {
        let store = ctx.state::<Arc<dyn KeyValueStore>>()?;
        self.last = store
            .get(&key)
            .await
            .map_err(|error| Error::msg(error.to_string()))?
            .unwrap_or_default();
        Ok(())
    }
}

fn tenant(id: &str) -> (&'static str, &str) {
    ("X-Tenant", id)
}

async fn mount_as(addr: SocketAddr, id: &str) -> Socket {
    let page = http(addr, "GET", "/", &[tenant(id)], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut socket = connect_with(addr, &[tenant(id)]).await;
    send_mount(&mut socket, "memo", &mount_token(&page.body), "/").await;
    assert_eq!(recv(&mut socket).await.expect("mount")["type"], "mount");
    socket
}

fn shown(frames: &[serde_json::Value]) -> String {
    frames
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn ctx_kv_is_scoped_to_the_tenant_so_no_key_reaches_another_tenants_value() {
    let store = Arc::new(MemoryKeyValueStore::new());
    let server = App::new()
        .config(test_config())
        .tenancy(TenantResolver::header("X-Tenant"))
        .kv_store(store.clone())
        .live("/", Memo::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let mut acme = mount_as(addr, "acme").await;
    let mut globex = mount_as(addr, "globex").await;
    let frames = send_event(
        &mut acme,
        "remember",
        json!({"key": "plan", "value": "acme-secret"}),
        1,
    )
    .await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    // globex asks for the same key, and for keys naming acme's raw key.
    for (n, key) in [
        "plan",
        "tenant:acme:plan",
        "../acme/plan",
        "tenant:acme:plan\u{0}",
    ]
    .into_iter()
    .enumerate()
    {
        let frames = send_event(&mut globex, "recall", json!({ "key": key }), 2 + n as u64).await;
        assert!(!shown(&frames).contains("acme-secret"), "{key}: {frames:?}");
    }
    let frames = send_event(&mut acme, "recall", json!({"key": "plan"}), 9).await;
    assert!(shown(&frames).contains("acme-secret"), "{frames:?}");
    assert_eq!(store.keys(), ["tenant:acme:plan"]);
    // The audit has nothing to say about a store given through kv_store.
    let report = App::new()
        .config(test_config())
        .tenancy(TenantResolver::header("X-Tenant"))
        .kv_store(store)
        .live("/", Memo::view())
        .audit_report();
    assert!(
        report
            .findings
            .iter()
            .all(|finding| finding.code != "DJ011"),
        "{:?}",
        report.findings
    );
    server.shutdown().await;
}

#[tokio::test]
async fn without_tenancy_ctx_kv_is_the_store_itself() {
    let store = Arc::new(MemoryKeyValueStore::new());
    let server = App::new()
        .config(test_config())
        .kv_store(store.clone())
        .live("/", Memo::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (mut socket, _) = mount_page(server.local_addr(), "/", "memo").await;
    let frames = send_event(
        &mut socket,
        "remember",
        json!({"key": "k", "value": "v"}),
        1,
    )
    .await;
    assert!(errors(&frames).is_empty(), "{frames:?}");
    assert_eq!(store.keys(), ["k"]);
    server.shutdown().await;
}

#[tokio::test]
async fn an_unscoped_store_in_the_app_state_is_refused_under_a_tenant_and_flagged_by_the_audit() {
    let raw: Arc<dyn KeyValueStore> = Arc::new(MemoryKeyValueStore::new());
    raw.set("tenant:acme:plan", "acme-secret".to_owned())
        .await
        .expect("set");
    let app = || {
        App::new()
            .config(test_config())
            .tenancy(TenantResolver::header("X-Tenant"))
            .state(raw.clone())
            .live("/", Memo::view())
    };
    // At runtime: the view that reaches for it gets an error, no value.
    let server = app().bind("127.0.0.1:0").await.expect("bind");
    let mut globex = mount_as(server.local_addr(), "globex").await;
    let frames = send_event(&mut globex, "peek", json!({"key": "tenant:acme:plan"}), 1).await;
    assert_eq!(errors(&frames).len(), 1, "{frames:?}");
    assert!(!shown(&frames).contains("acme-secret"), "{frames:?}");
    server.shutdown().await;

    // In the audit: DJ011, a warning naming the type and the fix (by
    // subdomain, so DJ010 is no warning: --strict fails on DJ011 alone).
    let audited = |with_raw: bool| {
        let app = App::new()
            .config(test_config())
            .tenancy(TenantResolver::subdomain("example.com"))
            .live("/", Memo::view());
        if with_raw {
            app.state(raw.clone()).audit_report()
        } else {
            app.audit_report()
        }
    };
    let args = |list: &[&str]| list.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>();
    let (text, code) =
        djust::runtime::audit::run_cli_with(&args(&["audit", "--strict"]), &audited(false));
    assert_eq!(code, 0, "the baseline passes --strict: {text}");
    let report = audited(true);
    let finding = report
        .findings
        .iter()
        .find(|finding| finding.code == "DJ011")
        .expect("DJ011");
    assert_eq!(finding.severity, djust::runtime::audit::Severity::Warning);
    assert!(
        finding.message.contains("KeyValueStore"),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains("App::kv_store"),
        "{}",
        finding.message
    );
    let (text, code) = djust::runtime::audit::run_cli_with(&args(&["audit"]), &report);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("DJ011"), "{text}");
    let (json, _) = djust::runtime::audit::run_cli_with(&args(&["audit", "--json"]), &report);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|finding| finding["code"] == "DJ011" && finding["severity"] == "warning"),
        "{json}"
    );
    let (text, code) = djust::runtime::audit::run_cli_with(&args(&["audit", "--strict"]), &report);
    assert_eq!(code, 1, "--strict fails on DJ011: {text}");

    // Without tenancy the same state is no finding (one site, one key space).
    let report = App::new()
        .config(test_config())
        .state(raw.clone())
        .live("/", Memo::view())
        .audit_report();
    assert!(report
        .findings
        .iter()
        .all(|finding| finding.code != "DJ011"));
}
