//! The human-readable report (the layout of djust's `djust_audit`): one block
//! per view (auth, exposed state, handlers with their decorators, config),
//! then the findings and a summary line.

use std::fmt::Write as _;

use crate::view::{HandlerMeta, ViewMeta};

use super::findings::fmt_rate;
use super::{AuditReport, Finding, ViewAudit};

/// Width of the field column in "Exposed state" rows.
const FIELD_WIDTH: usize = 24;
/// Width of the signature column in "Handlers" rows.
const SIGNATURE_WIDTH: usize = 33;

/// A handler's decorators as written in the output, e.g.
/// `@rate_limit(rate=5, burst=3, key=user)`,
/// `@permission_required("contacts.delete")`, `@offline` (the client may
/// queue and replay it: see docs/offline.md).
pub(crate) fn decorators(handler: &HandlerMeta) -> Vec<String> {
    let mut out = Vec::new();
    if handler.offline {
        out.push("@offline".to_owned());
    }
    if let Some(limit) = handler.rate_limit {
        out.push(format!(
            "@rate_limit(rate={}, burst={}, key={})",
            fmt_rate(limit.rate),
            limit.burst,
            limit.key.as_str()
        ));
    }
    if let Some(permission) = handler.permission {
        out.push(format!("@permission_required({permission:?})"));
    }
    out
}

/// `search(q: String)`, `add(by: i64 = ..)` (a `#[default]` shows as `= ..`).
pub(crate) fn signature(handler: &HandlerMeta) -> String {
    format!("{}({})", handler.name, param_list(handler.params))
}

/// `name: Type, page: u32 = ..`
fn param_list(params: &[crate::view::ParamMeta]) -> String {
    params
        .iter()
        .map(|param| {
            let default = if param.has_default { " = .." } else { "" };
            match param.form {
                // `form: Form<ContactForm> {name, email} (unknown keys dropped, counted)`
                Some(fields) => format!(
                    "{}: {} {{{}}} (unknown keys dropped, counted)",
                    param.name,
                    param.ty,
                    fields.names().join(", ")
                ),
                None => format!("{}: {}{default}", param.name, param.ty),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn auth_line(meta: &ViewMeta) -> String {
    if !meta.login_required() {
        return "public".to_owned();
    }
    let mut line = "login_required".to_owned();
    if let Some(permission) = meta.permission {
        let _ = write!(line, ", permission: {permission}");
    }
    if let Some(url) = meta.login_url {
        let _ = write!(line, ", login_url: {url}");
    }
    line
}

fn config_line(meta: &ViewMeta) -> String {
    let mut line = match meta.tick_ms {
        Some(ms) => format!("tick: {ms}ms"),
        None => "tick: none".to_owned(),
    };
    if meta.reauth_each_event {
        line.push_str(", reauth_each_event");
    }
    if meta.persist {
        line.push_str(
            ", persist (its whole state is saved, sealed, when the socket drops and at shutdown)",
        );
    }
    if meta.safe_splices > 0 {
        let _ = write!(line, ", safe splices: {}", meta.safe_splices);
    }
    line
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn view_block(out: &mut String, view: &ViewAudit, verbose: bool) {
    let meta = view.meta;
    let _ = writeln!(out, "  LiveView: {} ({})", meta.name, view.type_path());
    let _ = writeln!(out, "    {:<12}{}", "Auth:", auth_line(meta));
    exposed_block(out, &view.exposed, verbose);
    if meta.handlers.is_empty() {
        let _ = writeln!(out, "    Handlers:   (none)");
    } else {
        let _ = writeln!(out, "    Handlers:");
        for handler in meta.handlers {
            let line = format!(
                "      * {:<SIGNATURE_WIDTH$} {}",
                signature(handler),
                decorators(handler).join(" ")
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    if let Some(params) = meta.url_params {
        let _ = writeln!(out, "    URL params: handle_params({})", param_list(params));
    }
    if !meta.uploads.is_empty() {
        let _ = writeln!(out, "    Uploads:");
        for slot in meta.uploads {
            let mut line = format!(
                "      * {} accept: {}; max {} each, {} at once",
                slot.name,
                slot.accept.join(" "),
                crate::upload::human_size(slot.max_size),
                slot.max_entries
            );
            if let Some(permission) = slot.permission {
                let _ = write!(line, "; permission: {permission}");
            }
            if slot.active_content {
                line.push_str("; ACTIVE CONTENT allowed");
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(out, "    {:<12}{}", "Config:", config_line(meta));
}

fn exposed_block(out: &mut String, exposed: &[super::ExposedField], verbose: bool) {
    if exposed.is_empty() {
        let _ = writeln!(out, "    Exposed state: (none)");
        return;
    }
    let _ = writeln!(out, "    Exposed state:");
    for row in exposed {
        let by = if row.assigned_by.is_empty() {
            "-".to_owned()
        } else {
            row.assigned_by.join(", ")
        };
        let mut line = format!("      {:<FIELD_WIDTH$} ({by})", row.field);
        if verbose && !row.sub_paths.is_empty() {
            let _ = write!(line, "  → {}", row.sub_paths.join(", "));
        }
        let _ = writeln!(out, "{line}");
    }
}

fn component_block(out: &mut String, component: &super::ComponentAudit, verbose: bool) {
    let meta = component.meta;
    let _ = writeln!(
        out,
        "  LiveComponent: {} ({})",
        meta.name,
        component.type_path()
    );
    let _ = writeln!(
        out,
        "    {:<12}inherited from the view that embeds it",
        "Auth:"
    );
    exposed_block(out, &component.exposed, verbose);
    if meta.handlers.is_empty() {
        let _ = writeln!(out, "    Handlers:   (none)");
    } else {
        let _ = writeln!(out, "    Handlers:");
        for handler in meta.handlers {
            let line = format!(
                "      * {:<SIGNATURE_WIDTH$} {}",
                signature(handler),
                decorators(handler).join(" ")
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    if meta.safe_splices > 0 {
        let _ = writeln!(out, "    Trusted markup: {}", meta.safe_splices);
    }
}

fn finding_line(out: &mut String, finding: &Finding) {
    let location = match (finding.view, finding.handler) {
        (Some(view), Some(handler)) => format!("{view}.{handler}"),
        (Some(view), None) => view.to_owned(),
        (None, Some(handler)) => handler.to_owned(),
        (None, None) => "(app)".to_owned(),
    };
    let _ = writeln!(
        out,
        "  {:<7}  {}  {location}: {}",
        finding.severity.as_str(),
        finding.code,
        finding.message
    );
}

pub(crate) fn render(report: &AuditReport, verbose: bool) -> String {
    let mut out = String::new();
    if report.views.is_empty() {
        out.push_str("  (no live views)\n");
    }
    for (index, view) in report.views.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        view_block(&mut out, view, verbose);
    }
    for component in &report.components {
        out.push('\n');
        component_block(&mut out, component, verbose);
    }
    out.push('\n');
    if report.findings.is_empty() {
        out.push_str("Findings: none\n");
    } else {
        out.push_str("Findings:\n");
        for finding in &report.findings {
            finding_line(&mut out, finding);
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\nSummary: {}, {}, {}; {} ({}, {}, {})",
        plural(s.views, "view", "views"),
        plural(s.handlers, "handler", "handlers"),
        plural(
            s.public_views_with_handlers,
            "public view with handlers",
            "public views with handlers"
        ),
        plural(s.findings, "finding", "findings"),
        plural(s.errors, "error", "errors"),
        plural(s.warnings, "warning", "warnings"),
        plural(s.infos, "info", "infos"),
    );
    out
}

impl AuditReport {
    /// The report as text, in the layout of djust's `djust_audit`. `verbose` adds the
    /// sub-paths the template reads below each exposed field
    /// (`contacts (mount)  → id, name`).
    pub fn to_text(&self, verbose: bool) -> String {
        render(self, verbose)
    }
}
