//! The security audit: what every view exposes, who may call what, and the
//! findings a reviewer should look at before a release.
//!
//! [`audit`] reads the [`ViewMeta`] the `#[live_view]` macro records at
//! compile time (auth posture, handlers with typed parameters and
//! decorators, the paths the template reads, the fields each method
//! assigns, `|safe` splices) plus the server's [`Config`], and returns an [`AuditReport`]. The report renders as text
//! ([`AuditReport::to_text`], in the layout of djust's `djust_audit`) or JSON
//! ([`AuditReport::to_json`], for CI). [`run_cli`] implements
//! `audit [--json] [--verbose] [--strict]` without printing anything: the
//! application's CLI prints the returned text and exits with the code.
//!
//! Nothing here touches the network or mounts a view: the audit is a pure
//! function of metadata, so its output is deterministic (views sorted by
//! name, findings by severity, code, view and handler).
//!
//! # Findings
//!
//! | code | severity | when | fix |
//! | --- | --- | --- | --- |
//! | `DJ001` | warning | a public view has a handler without `#[rate_limit]` (one finding per handler): anonymous clients can flood state-changing handlers, only the global per-connection limit applies | add `#[rate_limit(rate = .., burst = .., key = "ip")]`, or make the view `login_required` |
//! | `DJ002` | warning | the template renders a path with a sensitive-looking word in its field or sub-path name: `password`, `passwd`, `secret`, `apikey` (anywhere in a word); `hash`, `token`, `key`, `ssn`, `card`, `cvv`, `cvc`, `iban`, `salary`, `pin` (whole words, or plural, so `api_key` matches and `monkey` does not) | stop rendering it, render a masked value, or keep the value in a `_private` field |
//! | `DJ003` | info, warning on a public view | the view's templates (any `html!` in its `impl`) write trusted markup: `{x\|safe}` splices or `srcdoc={x}` (`SafeHtml` trust hatches; a `SafeHtml` has no other way into a page). [`audit_registered`] adds one app-wide info listing every such place in the whole program, helpers and components included | check each value is built with `format_html!`, `html!` or sanitised, never from raw user input |
//! | `DJ004` | warning | some handlers have `#[permission_required]` and another handler that assigns state has none (one finding per unguarded handler) | add `#[permission_required(..)]` to it, or document why every user of the view may call it |
//! | `DJ005` | error | debug mode is on: error frames carry details | turn debug off in production |
//! | `DJ006` | warning (info for `DJUST_TRUSTED_PROXIES` > 0 and `DJUST_SECURE_COOKIES` = false) | a setting is looser than its default ([`Config::loosened`]): a higher rate, size, connection, session or time limit, a shorter cooldown, X-Forwarded-For trusted, sockets without `Origin` accepted, cookies without `Secure` | restore the default, or keep it knowingly (trusted proxies behind your own proxy, plain-HTTP cookies in development) |
//! | `DJ008` | error | the configuration (`DJUST_*` variables or `App::config`) is invalid: the server would refuse to start, and the other config findings were computed from the defaults | fix the variable the message names |
//! | `DJ009` | warning | a public view declares upload slots and none of its handlers has `#[rate_limit]`: anonymous clients can keep filling the upload quota | rate-limit the handler that consumes the uploads (`key = "ip"`) or make the view `login_required` |
//! | `DJ010` | info, warning when the tenant comes from a header and `DJUST_TRUSTED_PROXIES` is 0 | the app serves several tenants ([`App::tenancy`](crate::server::App::tenancy)): how they are resolved, whether unknown ones are refused | resolve by subdomain, or trust the proxy that sets the header |
//! | `DJ011` | warning | the app serves tenants and its state (`App::state`) holds a store every tenant shares without scoping: djust's key-value stores (`Arc<dyn KeyValueStore>`, `MemoryKeyValueStore`, `RedisKeyValueStore`) or a raw `Redis` handle. Any view could reach any tenant's keys through it, so `ctx.state` refuses it under a tenant (a view that tries fails) | register the key-value store with `App::kv_store` and use `ctx.kv()` in views (scoped to the tenant); give other shared data only through a type that needs a `Tenant` |
//! | `DJ007` | info | a `login_required` view has no view-level `permission` and none of its handlers has `#[permission_required]`: every logged-in user may do everything | add `permission = ".."`, `#[permission_required]` or `check_permissions` if that is not intended |
//!
//! `--strict` makes [`run_cli`] exit with 1 when any finding is a warning or
//! an error.
//!
//! # Exposed state
//!
//! Only what the template reads reaches the client, so the "Exposed state"
//! rows are the top-level fields of the rendered paths (the text before the
//! first `.`, `[` or `(`), each with the methods that assign it (`mount` or
//! handlers) and, with `--verbose`, the sub-paths read below it
//! (`contacts → id, name, website`). Fields that are assigned but never
//! rendered are not exposed and are not listed as rows (the JSON keeps them
//! under `assigned`).

mod cli;
mod findings;
mod json;
mod text;

pub use cli::{run_cli, run_cli_with, USAGE};
pub use findings::{
    invalid_config, sensitive_word, tenancy_mode, unscoped_store, Finding, Severity, DJ001, DJ002,
    DJ003, DJ004, DJ005, DJ006, DJ007, DJ008, DJ009, DJ010, DJ011,
};

use std::collections::BTreeMap;

use crate::config::Config;
use crate::template::{trusted_sites, TrustedSite};
use crate::view::{
    registered_components, registered_views, AssignedField, ComponentMeta, ViewMeta,
};

/// One row of a view's exposed state: a top-level field the template reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposedField {
    /// The field (or method) name, e.g. `contacts`.
    pub field: &'static str,
    /// Methods that assign it, sorted (`mount`, handler names).
    pub assigned_by: Vec<&'static str>,
    /// What the template reads below it, sorted, e.g. `name`, `company.name`, `len()`.
    pub sub_paths: Vec<String>,
}

/// The audit of one view.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewAudit {
    /// The metadata the macro recorded.
    pub meta: &'static ViewMeta,
    /// Exposed-state rows, sorted by field.
    pub exposed: Vec<ExposedField>,
}

impl ViewAudit {
    /// Audits one view's exposure (findings are computed by [`audit`]).
    pub fn new(meta: &'static ViewMeta) -> Self {
        ViewAudit {
            meta,
            exposed: exposed_fields(meta),
        }
    }

    /// `module::Type`, e.g. `examples::contacts::Contacts`.
    pub fn type_path(&self) -> String {
        if self.meta.module.is_empty() {
            self.meta.type_name.to_owned()
        } else {
            format!("{}::{}", self.meta.module, self.meta.type_name)
        }
    }
}

/// The audit of one `#[live_component]`: it has no auth of its own (it
/// runs with the view that embeds it), so what matters is what it exposes
/// and what it lets the browser call.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentAudit {
    /// The metadata the macro recorded.
    pub meta: &'static ComponentMeta,
    /// Exposed-state rows, sorted by field.
    pub exposed: Vec<ExposedField>,
}

impl ComponentAudit {
    /// Audits one component's exposure.
    pub fn new(meta: &'static ComponentMeta) -> Self {
        ComponentAudit {
            meta,
            exposed: exposed_rows(meta.exposed, meta.assigned),
        }
    }

    /// `module::Type`.
    pub fn type_path(&self) -> String {
        if self.meta.module.is_empty() {
            self.meta.type_name.to_owned()
        } else {
            format!("{}::{}", self.meta.module, self.meta.type_name)
        }
    }
}

/// Counts over the whole report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Views audited.
    pub views: usize,
    /// Event handlers over all views.
    pub handlers: usize,
    /// Public views that have at least one handler.
    pub public_views_with_handlers: usize,
    /// All findings.
    pub findings: usize,
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
    /// Findings of severity info.
    pub infos: usize,
}

/// The result of [`audit`]: per-view details, findings and counts.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditReport {
    /// One entry per view, sorted by name.
    pub views: Vec<ViewAudit>,
    /// One entry per component compiled into the program, sorted by name
    /// (filled by [`audit_registered`]).
    pub components: Vec<ComponentAudit>,
    /// All findings, most severe first.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
}

impl AuditReport {
    /// Adds a finding found outside [`audit`] (sorted in, counts updated).
    pub fn add_finding(&mut self, finding: Finding) {
        match finding.severity {
            Severity::Error => self.summary.errors += 1,
            Severity::Warning => self.summary.warnings += 1,
            Severity::Info => self.summary.infos += 1,
        }
        self.summary.findings += 1;
        self.findings.push(finding);
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }

    /// `true` when some finding is at least `severity` (`--strict` uses
    /// [`Severity::Warning`]).
    pub fn has_findings_at_least(&self, severity: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= severity)
    }

    /// The findings about view `name` (by wire name).
    pub fn findings_for(&self, name: &str) -> impl Iterator<Item = &Finding> + '_ {
        let name = name.to_owned();
        self.findings
            .iter()
            .filter(move |f| f.view == Some(name.as_str()))
    }
}

/// Audits `views` (sorted by name; a view given twice is audited once)
/// against `config`.
pub fn audit(views: &[&'static ViewMeta], config: &Config) -> AuditReport {
    audit_with_sites(views, config, &[])
}

fn audit_with_sites(
    views: &[&'static ViewMeta],
    config: &Config,
    trusted: &[&'static TrustedSite],
) -> AuditReport {
    let mut metas: Vec<&'static ViewMeta> = views.to_vec();
    metas.sort_by(|a, b| (a.name, a.module, a.type_name).cmp(&(b.name, b.module, b.type_name)));
    metas.dedup_by(|a, b| std::ptr::eq(*a, *b) || **a == **b);

    let mut findings = findings::config_findings(config);
    findings.extend(findings::dj003_trusted_sites(trusted));
    for meta in &metas {
        findings.extend(findings::view_findings(meta));
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    let count = |severity: Severity| findings.iter().filter(|f| f.severity == severity).count();
    let summary = Summary {
        views: metas.len(),
        handlers: metas.iter().map(|m| m.handlers.len()).sum(),
        public_views_with_handlers: metas
            .iter()
            .filter(|m| !m.login_required() && !m.handlers.is_empty())
            .count(),
        findings: findings.len(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
    };
    AuditReport {
        views: metas.into_iter().map(ViewAudit::new).collect(),
        components: Vec::new(),
        findings,
        summary,
    }
}

/// Audits every view compiled into the program (the `inventory` registry),
/// and lists every place any `html!` of the program writes trusted markup.
pub fn audit_registered(config: &Config) -> AuditReport {
    let metas: Vec<&'static ViewMeta> = registered_views().iter().map(|v| v.meta()).collect();
    let mut report = audit_with_sites(&metas, config, &trusted_sites());
    report.components = registered_component_audits();
    report
}

/// The audit of every `#[live_component]` compiled into the program.
pub fn registered_component_audits() -> Vec<ComponentAudit> {
    registered_components()
        .into_iter()
        .map(ComponentAudit::new)
        .collect()
}

/// Splits a rendered path into its top-level field and the rest:
/// `contacts[].name` → (`contacts`, `name`), `title()` → (`title`, ``),
/// `user.address.city` → (`user`, `address.city`).
pub(crate) fn split_path(path: &'static str) -> (&'static str, &'static str) {
    let end = path.find(['.', '[', '(']).unwrap_or(path.len());
    let (field, rest) = path.split_at(end);
    let rest = rest.trim_start_matches(['.', '[', ']', '(', ')']);
    (field, rest)
}

fn exposed_fields(meta: &ViewMeta) -> Vec<ExposedField> {
    exposed_rows(meta.exposed, meta.assigned)
}

fn exposed_rows(
    exposed: &'static [&'static str],
    assigned: &'static [AssignedField],
) -> Vec<ExposedField> {
    let mut rows: BTreeMap<&'static str, ExposedField> = BTreeMap::new();
    for path in exposed {
        let (field, rest) = split_path(path);
        if field.is_empty() {
            continue;
        }
        let row = rows.entry(field).or_insert_with(|| ExposedField {
            field,
            assigned_by: Vec::new(),
            sub_paths: Vec::new(),
        });
        if !rest.is_empty() {
            row.sub_paths.push(rest.to_owned());
        }
    }
    for assigned in assigned {
        if let Some(row) = rows.get_mut(assigned.field) {
            row.assigned_by.push(assigned.by);
        }
    }
    let mut rows: Vec<ExposedField> = rows.into_values().collect();
    for row in &mut rows {
        row.sub_paths.sort();
        row.sub_paths.dedup();
        // `mount` first, then handlers by name.
        row.assigned_by.sort_by_key(|by| (*by != "mount", *by));
        row.assigned_by.dedup();
    }
    rows
}
