//! The audit over hand-built view metadata: every finding code appears when
//! it should and not when it should not, the JSON shape, the text layout,
//! and the CLI's flags and exit codes.

use djust_runtime::audit::{
    audit, run_cli, run_cli_with, sensitive_word, AuditReport, Finding, Severity, USAGE,
};
use djust_runtime::config::Config;
use djust_runtime::view::{
    AssignedField, AuthPosture, HandlerMeta, ParamKind, ParamMeta, RateKey, RateLimitMeta, ViewMeta,
};
use serde_json::{json, Value};

/// The default configuration as deployed behind TLS: no setting looser
/// than its default, so no config finding.
fn production() -> Config {
    Config {
        secure_cookies: true,
        ..Config::default()
    }
}

fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

/// A view with no handlers, no exposure and the given posture.
fn base(name: &'static str, auth: AuthPosture) -> ViewMeta {
    ViewMeta {
        name,
        type_name: "TestView",
        module: "audit_tests",
        auth,
        permission: None,
        login_url: None,
        tick_ms: None,
        reauth_each_event: false,
        handlers: &[],
        exposed: &[],
        assigned: &[],
        safe_splices: 0,
        persist: false,
        uploads: &[],
        url_params: None,
        title: None,
    }
}

fn handler(name: &'static str) -> HandlerMeta {
    HandlerMeta {
        name,
        params: &[],
        rate_limit: None,
        permission: None,
        is_async: false,
        offline: false,
    }
}

fn limited(name: &'static str) -> HandlerMeta {
    HandlerMeta {
        rate_limit: Some(RateLimitMeta {
            rate: 5.0,
            burst: 3,
            key: RateKey::User,
        }),
        ..handler(name)
    }
}

fn guarded(name: &'static str, permission: &'static str) -> HandlerMeta {
    HandlerMeta {
        permission: Some(permission),
        ..handler(name)
    }
}

fn assigned(pairs: &[(&'static str, &'static str)]) -> &'static [AssignedField] {
    leak(
        pairs
            .iter()
            .map(|&(field, by)| AssignedField { field, by })
            .collect(),
    )
}

fn finish(meta: ViewMeta) -> &'static ViewMeta {
    Box::leak(Box::new(meta))
}

fn run(views: &[&'static ViewMeta]) -> AuditReport {
    audit(views, &production())
}

fn codes(report: &AuditReport, code: &str) -> Vec<Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.code == code)
        .cloned()
        .collect()
}

// ---------------------------------------------------------------- DJ001

#[test]
fn dj001_public_view_with_unlimited_handler() {
    let view = finish(ViewMeta {
        handlers: leak(vec![limited("search"), handler("increment")]),
        ..base("counter", AuthPosture::Public)
    });
    let found = codes(&run(&[view]), "DJ001");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].severity, Severity::Warning);
    assert_eq!(found[0].view, Some("counter"));
    assert_eq!(found[0].handler, Some("increment"));
    assert!(found[0].message.contains("#[rate_limit]"));
}

#[test]
fn dj001_absent_when_limited_logged_in_or_no_handlers() {
    let all_limited = finish(ViewMeta {
        handlers: leak(vec![limited("a"), limited("b")]),
        ..base("limited", AuthPosture::Public)
    });
    let login = finish(ViewMeta {
        handlers: leak(vec![handler("a")]),
        ..base("login", AuthPosture::LoginRequired)
    });
    // A permission implies login even if the posture field says public.
    let permissioned = finish(ViewMeta {
        permission: Some("app.view"),
        handlers: leak(vec![handler("a")]),
        ..base("permissioned", AuthPosture::Public)
    });
    let static_page = finish(base("about", AuthPosture::Public));
    let report = run(&[all_limited, login, permissioned, static_page]);
    assert!(codes(&report, "DJ001").is_empty(), "{:?}", report.findings);
    assert_eq!(report.summary.public_views_with_handlers, 1);
}

// ---------------------------------------------------------------- DJ002

#[test]
fn dj002_names_each_sensitive_path() {
    let view = finish(ViewMeta {
        exposed: leak(vec![
            "contacts[].api_key",
            "contacts[].name",
            "monkey",
            "user.password_hash",
            "title()",
        ]),
        ..base("leaky", AuthPosture::LoginRequired)
    });
    let found = codes(&run(&[view]), "DJ002");
    let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(found.len(), 2, "{messages:?}");
    assert!(messages[0].contains("`contacts[].api_key`"), "{messages:?}");
    assert!(messages[1].contains("`user.password_hash`"), "{messages:?}");
    assert!(found.iter().all(|f| f.severity == Severity::Warning));
}

#[test]
fn dj002_word_matching() {
    for path in [
        "password",
        "passwd",
        "api_key",
        "apikey",
        "key",
        "items[].key",
        "csrf_token",
        "client_secret",
        "ssn",
        "card_number",
        "cvv",
        "iban",
        "salary",
        "user.hash",
    ] {
        assert!(sensitive_word(path).is_some(), "`{path}` should be flagged");
    }
    for path in [
        "monkey",
        "keyboard_layout",
        "hashtag",
        "discard_count",
        "query",
        "contacts[].name",
    ] {
        assert_eq!(sensitive_word(path), None, "`{path}` should not be flagged");
    }
}

// ---------------------------------------------------------------- DJ003

#[test]
fn dj003_safe_splices_info_or_warning() {
    let login = finish(ViewMeta {
        safe_splices: 2,
        ..base("docs", AuthPosture::LoginRequired)
    });
    let public = finish(ViewMeta {
        safe_splices: 1,
        ..base("blog", AuthPosture::Public)
    });
    let none = finish(base("plain", AuthPosture::Public));
    let report = run(&[login, public, none]);
    let found = codes(&report, "DJ003");
    assert_eq!(found.len(), 2, "{found:?}");
    // Sorted by severity first: the public one (warning) comes first.
    assert_eq!(found[0].view, Some("blog"));
    assert_eq!(found[0].severity, Severity::Warning);
    assert_eq!(found[1].view, Some("docs"));
    assert_eq!(found[1].severity, Severity::Info);
    assert!(
        found[1].message.contains("2 trusted values"),
        "{}",
        found[1].message
    );
}

// ---------------------------------------------------------------- DJ004

#[test]
fn dj004_unguarded_state_changing_handler_next_to_guarded_ones() {
    let view = finish(ViewMeta {
        permission: Some("contacts.view"),
        handlers: leak(vec![
            guarded("delete", "contacts.delete"),
            handler("rename"),
            handler("refresh"),
        ]),
        assigned: assigned(&[
            ("contacts", "mount"),
            ("contacts", "delete"),
            ("label", "rename"),
        ]),
        ..base("contacts", AuthPosture::LoginRequired)
    });
    let found = codes(&run(&[view]), "DJ004");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].handler, Some("rename"));
    assert!(found[0].message.contains("`label`"));
    assert!(found[0].message.contains("`delete`"));
}

#[test]
fn dj004_absent_when_consistent() {
    let all_guarded = finish(ViewMeta {
        handlers: leak(vec![guarded("a", "x.a"), guarded("b", "x.b")]),
        assigned: assigned(&[("n", "a"), ("n", "b")]),
        ..base("all", AuthPosture::LoginRequired)
    });
    let none_guarded = finish(ViewMeta {
        permission: Some("x.view"),
        handlers: leak(vec![handler("a"), handler("b")]),
        assigned: assigned(&[("n", "a"), ("n", "b")]),
        ..base("none", AuthPosture::LoginRequired)
    });
    let read_only_unguarded = finish(ViewMeta {
        handlers: leak(vec![guarded("a", "x.a"), handler("ping")]),
        assigned: assigned(&[("n", "a"), ("n", "mount")]),
        ..base("readonly", AuthPosture::LoginRequired)
    });
    let report = run(&[all_guarded, none_guarded, read_only_unguarded]);
    assert!(codes(&report, "DJ004").is_empty(), "{:?}", report.findings);
}

// ---------------------------------------------------------------- DJ005 / DJ006

#[test]
fn dj005_debug_mode_is_an_error() {
    let config = Config {
        debug: true,
        ..production()
    };
    let report = audit(&[], &config);
    let found = codes(&report, "DJ005");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].view, None);
    assert!(report.has_findings_at_least(Severity::Error));
    assert!(codes(&run(&[]), "DJ005").is_empty());
}

#[test]
fn dj006_loosened_limits_and_wildcard_origins() {
    let loosened = [
        Config {
            rate_per_second: 101.0,
            ..production()
        },
        Config {
            rate_burst: 21,
            ..production()
        },
        Config {
            max_message_bytes: 65_537,
            ..production()
        },
        Config {
            max_connections_per_ip: 11,
            ..production()
        },
        Config {
            max_json_depth: 33,
            ..production()
        },
        Config {
            heartbeat_timeout_secs: 61,
            ..production()
        },
        Config {
            reconnect_cooldown_secs: 1,
            ..production()
        },
        Config {
            allow_missing_origin: true,
            ..production()
        },
    ];
    for config in &loosened {
        let found = codes(&audit(&[], config), "DJ006");
        assert_eq!(found.len(), 1, "{config:?}: {found:?}");
        assert_eq!(found[0].severity, Severity::Warning);
    }
    let tightened = Config {
        rate_per_second: 10.0,
        rate_burst: 5,
        max_message_bytes: 4096,
        max_connections_per_ip: 2,
        allowed_origins: vec!["https://app.example".into()],
        ..production()
    };
    for config in [production(), tightened] {
        let report = audit(&[], &config);
        assert!(
            report.findings.is_empty(),
            "{config:?}: {:?}",
            report.findings
        );
    }
}

/// Settings that are right only in some deployments are listed as info:
/// X-Forwarded-For trusted (behind your own proxy), cookies without
/// `Secure` (plain-HTTP development).
#[test]
fn dj006_deployment_dependent_settings_are_info() {
    let behind_proxy = Config {
        trusted_proxies: 1,
        ..production()
    };
    let found = codes(&audit(&[], &behind_proxy), "DJ006");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].severity, Severity::Info);
    assert!(
        found[0]
            .message
            .contains("DJUST_TRUSTED_PROXIES is 1 (default 0)"),
        "{}",
        found[0].message
    );
    let found = codes(&audit(&[], &Config::default()), "DJ006");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].severity, Severity::Info);
    assert!(
        found[0]
            .message
            .starts_with("DJUST_SECURE_COOKIES is false: "),
        "{}",
        found[0].message
    );
}

// ---------------------------------------------------------------- DJ007

#[test]
fn dj007_login_only_without_any_permission() {
    let open = finish(ViewMeta {
        handlers: leak(vec![handler("save")]),
        ..base("notes", AuthPosture::LoginRequired)
    });
    let view_perm = finish(ViewMeta {
        permission: Some("notes.view"),
        handlers: leak(vec![handler("save")]),
        ..base("perm", AuthPosture::LoginRequired)
    });
    let handler_perm = finish(ViewMeta {
        handlers: leak(vec![guarded("save", "notes.save")]),
        ..base("hperm", AuthPosture::LoginRequired)
    });
    let public = finish(ViewMeta {
        handlers: leak(vec![limited("save")]),
        ..base("public", AuthPosture::Public)
    });
    let report = run(&[open, view_perm, handler_perm, public]);
    let found = codes(&report, "DJ007");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].view, Some("notes"));
    assert_eq!(found[0].severity, Severity::Info);
    assert!(!report.has_findings_at_least(Severity::Warning));
}

// ---------------------------------------------------------------- report

fn contacts() -> &'static ViewMeta {
    finish(ViewMeta {
        name: "contacts",
        type_name: "Contacts",
        module: "examples::contacts",
        permission: Some("contacts.view"),
        login_url: Some("/login"),
        handlers: leak(vec![
            HandlerMeta {
                params: leak(vec![ParamMeta {
                    name: "q",
                    ty: "String",
                    kind: ParamKind::String,
                    optional: false,
                    has_default: false,
                    form: None,
                }]),
                is_async: true,
                ..limited("search")
            },
            HandlerMeta {
                params: leak(vec![ParamMeta {
                    name: "id",
                    ty: "i64",
                    kind: ParamKind::Integer,
                    optional: false,
                    has_default: false,
                    form: None,
                }]),
                ..guarded("delete", "contacts.delete")
            },
        ]),
        exposed: leak(vec![
            "contacts",
            "contacts[].id",
            "contacts[].name",
            "contacts[].website",
            "query",
        ]),
        assigned: assigned(&[
            ("contacts", "mount"),
            ("query", "mount"),
            ("contacts", "search"),
            ("query", "search"),
            ("contacts", "delete"),
        ]),
        ..base("contacts", AuthPosture::LoginRequired)
    })
}

const CONTACTS_TEXT: &str = "  LiveView: contacts (examples::contacts::Contacts)
    Auth:       login_required, permission: contacts.view, login_url: /login
    Exposed state:
      contacts                 (mount, delete, search)
      query                    (mount, search)
    Handlers:
      * search(q: String)                 @rate_limit(rate=5, burst=3, key=user)
      * delete(id: i64)                   @permission_required(\"contacts.delete\")
    Config:     tick: none

Findings:
  warning  DJ004  contacts.search: view `contacts`: handler `search` changes state (`contacts`, `query`) without #[permission_required] while `delete` has one; add #[permission_required(..)] or document why any permitted user may call it

Summary: 1 view, 2 handlers, 0 public views with handlers; 1 finding (0 errors, 1 warning, 0 infos)
";

#[test]
fn text_layout_matches_seed_000() {
    let report = run(&[contacts()]);
    assert_eq!(report.to_text(false), CONTACTS_TEXT);
    let verbose = report.to_text(true);
    assert!(
        verbose.contains(
            "      contacts                 (mount, delete, search)  → id, name, website\n"
        ),
        "{verbose}"
    );
    assert!(verbose.contains("      query                    (mount, search)\n"));
}

#[test]
fn text_lists_findings_and_config() {
    let view = finish(ViewMeta {
        tick_ms: Some(1000),
        reauth_each_event: true,
        safe_splices: 1,
        handlers: leak(vec![HandlerMeta {
            params: leak(vec![ParamMeta {
                name: "by",
                ty: "i64",
                kind: ParamKind::Integer,
                optional: false,
                has_default: true,
                form: None,
            }]),
            ..handler("add")
        }]),
        exposed: leak(vec!["count", "secret_token"]),
        ..base("clock", AuthPosture::Public)
    });
    let config = Config {
        debug: true,
        ..production()
    };
    let text = audit(&[view], &config).to_text(false);
    assert!(text.contains("    Auth:       public\n"), "{text}");
    assert!(text.contains("      * add(by: i64 = ..)\n"), "{text}");
    assert!(
        text.contains("    Config:     tick: 1000ms, reauth_each_event, safe splices: 1\n"),
        "{text}"
    );
    assert!(
        text.contains("      count                    (-)\n"),
        "{text}"
    );
    let findings: Vec<&str> = text
        .lines()
        .skip_while(|line| *line != "Findings:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect();
    assert_eq!(findings.len(), 4, "{text}");
    assert!(findings[0].starts_with("  error    DJ005  (app): debug mode is on"));
    assert!(findings[1].starts_with("  warning  DJ001  clock.add: public view `clock`"));
    assert!(findings[2].starts_with("  warning  DJ002  clock: view `clock` renders `secret_token`"));
    assert!(findings[3].starts_with("  warning  DJ003  clock: public view"));
    assert!(text.ends_with(
        "Summary: 1 view, 1 handler, 1 public view with handlers; 4 findings (1 error, 3 warnings, 0 infos)\n"
    ));
}

#[test]
fn json_shape() {
    let counter = finish(ViewMeta {
        handlers: leak(vec![handler("increment")]),
        exposed: leak(vec!["count"]),
        assigned: assigned(&[("count", "increment")]),
        ..base("counter", AuthPosture::Public)
    });
    // Given out of order: the report sorts views by name.
    let value = run(&[counter, contacts()]).to_json();
    let top: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(top, ["audits", "findings", "summary"]);
    let audits = value["audits"].as_array().unwrap();
    assert_eq!(audits.len(), 2);
    assert_eq!(
        audits[0],
        json!({
            "view": "contacts",
            "type": "examples::contacts::Contacts",
            "module": "examples::contacts",
            "auth": {"login_required": true, "permission": "contacts.view", "login_url": "/login"},
            "exposed_state": ["contacts", "contacts[].id", "contacts[].name", "contacts[].website", "query"],
            "assigned": [
                {"field": "contacts", "by": "delete"},
                {"field": "contacts", "by": "mount"},
                {"field": "contacts", "by": "search"},
                {"field": "query", "by": "mount"},
                {"field": "query", "by": "search"},
            ],
            "handlers": [
                {
                    "name": "search",
                    "async": true,
                    "params": [{"name": "q", "type": "String", "kind": "string", "optional": false, "default": false, "form": null}],
                    "decorators": ["@rate_limit(rate=5, burst=3, key=user)"],
                    "rate_limit": {"rate": 5.0, "burst": 3, "key": "user"},
                    "permission": null,
                    "offline": false,
                },
                {
                    "name": "delete",
                    "async": false,
                    "params": [{"name": "id", "type": "i64", "kind": "integer", "optional": false, "default": false, "form": null}],
                    "decorators": ["@permission_required(\"contacts.delete\")"],
                    "rate_limit": null,
                    "permission": "contacts.delete",
                    "offline": false,
                },
            ],
            "config": {"tick": null, "reauth_each_event": false, "safe_splices": 0, "persist": false},
            "uploads": [],
            "url_params": null,
        })
    );
    assert_eq!(audits[1]["view"], "counter");
    assert_eq!(audits[1]["auth"]["login_required"], false);
    assert_eq!(audits[1]["auth"]["permission"], Value::Null);
    // DESIGN section 1's Contacts: `search` changes state next to the
    // guarded `delete`, so DJ004 applies to it.
    assert_eq!(
        value["findings"],
        json!([
            {
                "code": "DJ001",
                "severity": "warning",
                "view": "counter",
                "handler": "increment",
                "message": value["findings"][0]["message"].clone(),
            },
            {
                "code": "DJ004",
                "severity": "warning",
                "view": "contacts",
                "handler": "search",
                "message": value["findings"][1]["message"].clone(),
            },
        ])
    );
    assert_eq!(
        value["summary"],
        json!({
            "views": 2,
            "handlers": 3,
            "public_views_with_handlers": 1,
            "findings": 2,
            "by_severity": {"error": 0, "warning": 2, "info": 0},
        })
    );
}

#[test]
fn deterministic_and_deduplicated() {
    let a = finish(ViewMeta {
        handlers: leak(vec![handler("x")]),
        ..base("a", AuthPosture::Public)
    });
    let b = finish(ViewMeta {
        handlers: leak(vec![handler("y")]),
        ..base("b", AuthPosture::LoginRequired)
    });
    let one = run(&[b, a, b]);
    let two = run(&[a, b]);
    assert_eq!(one, two);
    assert_eq!(one.summary.views, 2);
    assert_eq!(one.to_text(true), two.to_text(true));
    assert_eq!(one.views[0].meta.name, "a");
}

// ---------------------------------------------------------------- CLI

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn strict_exit_codes() {
    let clean = run(&[finish(ViewMeta {
        permission: Some("x.view"),
        handlers: leak(vec![handler("x")]),
        ..base("clean", AuthPosture::LoginRequired)
    })]);
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);
    let (_, code) = run_cli_with(&args(&["--strict"]), &clean);
    assert_eq!(code, 0);

    let info_only = run(&[finish(base("notes", AuthPosture::LoginRequired))]);
    assert_eq!(info_only.summary.infos, 1);
    assert_eq!(run_cli_with(&args(&["--strict"]), &info_only).1, 0);

    let warned = run(&[finish(ViewMeta {
        handlers: leak(vec![handler("x")]),
        ..base("open", AuthPosture::Public)
    })]);
    let (text, code) = run_cli_with(&args(&["audit", "--strict"]), &warned);
    assert_eq!(code, 1);
    assert!(text.contains("DJ001"), "{text}");
    assert!(text.ends_with("failing because of findings of severity warning or error\n"));
    // Without --strict the same report exits 0.
    assert_eq!(run_cli_with(&args(&[]), &warned).1, 0);
    // --json --strict: still valid JSON, still exit 1.
    let (json_text, code) = run_cli_with(&args(&["--json", "--strict"]), &warned);
    assert_eq!(code, 1);
    let parsed: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(parsed["summary"]["findings"], 1);
}

#[test]
fn flags_and_usage() {
    let report = run(&[contacts()]);
    let (text, code) = run_cli_with(&args(&["--verbose"]), &report);
    assert_eq!(code, 0);
    assert!(text.contains("→ id, name, website"), "{text}");
    let (text, code) = run_cli_with(&args(&[]), &report);
    assert_eq!(code, 0);
    assert!(!text.contains('→'));

    for bad in [&["--jsn"][..], &["audit", "--json", "extra"], &["-x"]] {
        let (text, code) = run_cli_with(&args(bad), &report);
        assert_eq!(code, 2, "{bad:?}");
        assert!(text.contains("unknown argument"), "{text}");
        assert!(text.ends_with(USAGE));
    }
    let (text, code) = run_cli_with(&args(&["--help"]), &report);
    assert_eq!((text.as_str(), code), (USAGE, 0));
}

#[test]
fn run_cli_reads_the_registry() {
    // This test binary defines no `#[live_view]`, so the registry is empty.
    let (text, code) = run_cli(&args(&["--strict"]), &production());
    assert_eq!(code, 0);
    assert!(text.starts_with("  (no live views)\n"), "{text}");
    let (_, code) = run_cli(&args(&["--bogus"]), &production());
    assert_eq!(code, 2);
    let debug = Config {
        debug: true,
        ..production()
    };
    assert_eq!(run_cli(&args(&["--strict"]), &debug).1, 1);
}

#[test]
fn dj011_an_unscoped_shared_store_is_a_warning_with_the_fix_and_fails_strict() {
    let mut report = run(&[finish(ViewMeta {
        permission: Some("x.view"),
        handlers: leak(vec![handler("x")]),
        ..base("clean", AuthPosture::LoginRequired)
    })]);
    assert_eq!(run_cli_with(&args(&["--strict"]), &report).1, 0);
    report.add_finding(djust_runtime::audit::unscoped_store(
        "alloc::sync::Arc<dyn djust_runtime::session::tenant::KeyValueStore>",
    ));
    let finding = &codes(&report, "DJ011")[0];
    assert_eq!(finding.severity, Severity::Warning);
    assert_eq!(finding.view, None);
    assert!(
        finding.message.contains("KeyValueStore"),
        "{}",
        finding.message
    );
    assert!(finding.message.contains("ctx.kv()"), "{}", finding.message);
    let (text, code) = run_cli_with(&args(&["--strict"]), &report);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("DJ011"), "{text}");
    let (json_text, _) = run_cli_with(&args(&["--json"]), &report);
    let parsed: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(parsed["summary"]["by_severity"]["warning"], 1, "{parsed}");
    assert!(json_text.contains("\"DJ011\""), "{json_text}");
}
