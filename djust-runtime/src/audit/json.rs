//! The machine-readable report (`audit --json`); the shape is documented on
//! [`AuditReport::to_json`].

use serde_json::{json, Value};

use crate::view::{HandlerMeta, ParamKind, ParamMeta};

use super::text::decorators;
use super::{AuditReport, Finding, ViewAudit};

fn kind(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::String => "string",
        ParamKind::Integer => "integer",
        ParamKind::Float => "float",
        ParamKind::Bool => "bool",
        ParamKind::List => "list",
        ParamKind::Other => "other",
    }
}

fn param(param: &ParamMeta) -> Value {
    json!({
        "name": param.name,
        "type": param.ty,
        "kind": kind(param.kind),
        "optional": param.optional,
        "default": param.has_default,
        "form": param.form.map(|fields| json!({
            "fields": fields.names(),
            "unknown_keys": "dropped_and_counted",
        })),
    })
}

fn handler(handler: &HandlerMeta) -> Value {
    json!({
        "name": handler.name,
        "async": handler.is_async,
        "params": handler.params.iter().map(param).collect::<Vec<_>>(),
        "decorators": decorators(handler),
        "rate_limit": handler.rate_limit.map(|limit| json!({
            "rate": limit.rate,
            "burst": limit.burst,
            "key": limit.key.as_str(),
        })),
        "permission": handler.permission,
        "offline": handler.offline,
    })
}

fn view(view: &ViewAudit) -> Value {
    let meta = view.meta;
    let mut paths: Vec<&str> = meta.exposed.to_vec();
    paths.sort_unstable();
    paths.dedup();
    let mut assigned: Vec<(&str, &str)> = meta.assigned.iter().map(|a| (a.field, a.by)).collect();
    assigned.sort_unstable();
    assigned.dedup();
    json!({
        "view": meta.name,
        "type": view.type_path(),
        "module": meta.module,
        "auth": {
            "login_required": meta.login_required(),
            "permission": meta.permission,
            "login_url": meta.login_url,
        },
        "exposed_state": paths,
        "assigned": assigned
            .iter()
            .map(|(field, by)| json!({ "field": field, "by": by }))
            .collect::<Vec<_>>(),
        "handlers": meta.handlers.iter().map(handler).collect::<Vec<_>>(),
        "config": {
            "tick": meta.tick_ms,
            "reauth_each_event": meta.reauth_each_event,
            "safe_splices": meta.safe_splices,
            "persist": meta.persist,
        },
        "uploads": meta.uploads.iter().map(|slot| json!({
            "slot": slot.name,
            "accept": slot.accept,
            "max_size": slot.max_size,
            "max_entries": slot.max_entries,
            "permission": slot.permission,
            "active_content": slot.active_content,
        })).collect::<Vec<_>>(),
        "url_params": meta.url_params.map(|params| params.iter().map(param).collect::<Vec<_>>()),
    })
}

fn component(component: &super::ComponentAudit) -> Value {
    let meta = component.meta;
    let mut paths: Vec<&str> = meta.exposed.to_vec();
    paths.sort_unstable();
    paths.dedup();
    let mut assigned: Vec<(&str, &str)> = meta.assigned.iter().map(|a| (a.field, a.by)).collect();
    assigned.sort_unstable();
    assigned.dedup();
    json!({
        "component": meta.name,
        "type": component.type_path(),
        "module": meta.module,
        "auth": "inherited",
        "exposed_state": paths,
        "assigned": assigned
            .iter()
            .map(|(field, by)| json!({ "field": field, "by": by }))
            .collect::<Vec<_>>(),
        "handlers": meta.handlers.iter().map(handler).collect::<Vec<_>>(),
        "safe_splices": meta.safe_splices,
    })
}

fn finding(finding: &Finding) -> Value {
    json!({
        "code": finding.code,
        "severity": finding.severity.as_str(),
        "view": finding.view,
        "handler": finding.handler,
        "message": finding.message,
    })
}

impl AuditReport {
    /// The report as JSON, shaped for CI tools:
    ///
    /// ```text
    /// {"audits": [{"view", "type", "module",
    ///              "auth": {"login_required", "permission", "login_url"},
    ///              "exposed_state": [paths...],
    ///              "assigned": [{"field", "by"}],
    ///              "handlers": [{"name", "async", "offline", "params": [{"name", "type", "kind", "optional", "default"}],
    ///                            "decorators": ["@rate_limit(..)", ..],
    ///                            "rate_limit": {"rate", "burst", "key"} | null,
    ///                            "permission": ".." | null}],
    ///              "config": {"tick", "reauth_each_event", "safe_splices", "persist"},
    ///              "uploads": [{"slot", "accept", "max_size", "max_entries", "permission", "active_content"}],
    ///              "url_params": [{"name", "type", "kind", "optional", "default"}] | null}],
    ///  "components": [{"component", "type", "module", "auth": "inherited",
    ///                  "exposed_state", "assigned", "handlers", "safe_splices"}]
    ///                 (only when the program has components),
    ///  "findings": [{"code", "severity", "view", "handler", "message"}],
    ///  "summary": {"views", "handlers", "public_views_with_handlers", "findings",
    ///              "by_severity": {"error", "warning", "info"}}}
    /// ```
    ///
    /// `tick` is milliseconds or `null`; a param's `default` is `true` when it has
    /// `#[default(..)]` (the metadata records that there is one, not its value).
    pub fn to_json(&self) -> Value {
        let s = &self.summary;
        let mut report = json!({
            "audits": self.views.iter().map(view).collect::<Vec<_>>(),
            "findings": self.findings.iter().map(finding).collect::<Vec<_>>(),
            "summary": {
                "views": s.views,
                "handlers": s.handlers,
                "public_views_with_handlers": s.public_views_with_handlers,
                "findings": s.findings,
                "by_severity": {
                    "error": s.errors,
                    "warning": s.warnings,
                    "info": s.infos,
                },
            },
        });
        // Only programs with components carry the key, so reports of
        // programs without stay as they were.
        if !self.components.is_empty() {
            report["components"] = self.components.iter().map(component).collect();
        }
        report
    }
}
