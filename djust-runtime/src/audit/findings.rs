//! The checks behind the audit: [`Severity`], [`Finding`] and one function
//! per finding code. Each check reads only [`ViewMeta`] (what the
//! `#[live_view]` macro recorded at compile time) or the [`Config`], so
//! it is pure and testable with hand-built metadata. The codes, severities
//! and fixes are tabulated in the [module docs](super).

use std::fmt;

use crate::config::Config;
use crate::template::TrustedSite;
use crate::view::ViewMeta;

/// How serious a [`Finding`] is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look; not a problem by itself.
    Info,
    /// Probably a problem; `--strict` fails on it.
    Warning,
    /// Must be fixed before release.
    Error,
}

impl Severity {
    /// Lower-case name used in the text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem the audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code (`DJ001`...), see the table in the [module docs](super).
    pub code: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// The view's wire name, or `None` for app-wide findings.
    pub view: Option<&'static str>,
    /// The handler concerned, if the finding is about one handler.
    pub handler: Option<&'static str>,
    /// Human-readable explanation naming what to change.
    pub message: String,
}

impl Finding {
    /// Sort key: most severe first, then code, view and handler.
    pub(crate) fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            self.code,
            self.view,
            self.handler,
            self.message.as_str(),
        )
    }
}

/// Code: public view with handlers lacking `#[rate_limit]`.
pub const DJ001: &str = "DJ001";
/// Code: rendered path with a sensitive-looking name.
pub const DJ002: &str = "DJ002";
/// Code: trusted markup (`{x|safe}`, `srcdoc={x}`) in templates.
pub const DJ003: &str = "DJ003";
/// Code: inconsistent handler-level `#[permission_required]`.
pub const DJ004: &str = "DJ004";
/// Code: debug mode on.
pub const DJ005: &str = "DJ005";
/// Code: a setting looser than its secure default.
pub const DJ006: &str = "DJ006";
/// Code: login-only view where every logged-in user may do everything.
pub const DJ007: &str = "DJ007";
/// Code: the configuration is invalid (the server would refuse to start).
pub const DJ008: &str = "DJ008";
/// Code: a public view takes uploads and none of its handlers is rate-limited.
pub const DJ009: &str = "DJ009";

/// `DJ010`: the app serves several tenants; how they are resolved.
pub const DJ010: &str = "DJ010";

/// The finding that states an app's tenancy: info, or a warning when the
/// tenant comes from a header while no proxy is trusted (any client can
/// then choose its tenant).
pub fn tenancy_mode(
    resolver: &crate::tenant::TenantResolver,
    checks_known: bool,
    trusted_proxies: usize,
) -> Finding {
    let header = matches!(resolver, crate::tenant::TenantResolver::Header { .. });
    let spoofable = header && trusted_proxies == 0;
    let known = if checks_known {
        "only tenants App::tenants knows are served"
    } else {
        "every valid tenant id is served (App::tenants refuses unknown ones)"
    };
    let mut message = format!(
        "multi-tenant: the tenant is the {}; {known}; tokens, rate-limit buckets, persisted view state and upload files are scoped to it (scope your own data with ctx.tenant())",
        resolver.describe()
    );
    if spoofable {
        message.push_str(". The header comes from the client unless a proxy in front overwrites it, and DJUST_TRUSTED_PROXIES is 0: put the app behind that proxy (and set it), or resolve tenants by subdomain");
    }
    Finding {
        code: DJ010,
        severity: if spoofable {
            Severity::Warning
        } else {
            Severity::Info
        },
        view: None,
        handler: None,
        message,
    }
}

/// `DJ011`: a store shared by every tenant is in the app state, unscoped.
pub const DJ011: &str = "DJ011";

/// The finding for an app (serving tenants) whose state holds a store
/// every tenant shares without scoping, named by its type: any view could
/// read or write another tenant's keys with `ctx.state::<T>()` (the call is
/// refused under a tenant, so a view that tries fails at runtime).
pub fn unscoped_store(type_name: &str) -> Finding {
    Finding {
        code: DJ011,
        severity: Severity::Warning,
        view: None,
        handler: None,
        message: format!(
            "app state {type_name} is a store shared by every tenant without scoping: every view can name any tenant's keys through it, so ctx.state() refuses it under a tenant (a view using it fails). Register it with App::kv_store(..) and use ctx.kv() in views (keys scoped to the tenant), or give it only through a type that needs a Tenant"
        ),
    }
}

/// The finding for a configuration the server would refuse at startup.
pub fn invalid_config(error: &crate::config::ConfigError) -> Finding {
    Finding {
        code: DJ008,
        severity: Severity::Error,
        view: None,
        handler: None,
        message: format!("the configuration is invalid, the server would refuse to start: {error}"),
    }
}

/// Every finding about one view, in a fixed order (by code, then handler or path).
pub(crate) fn view_findings(meta: &'static ViewMeta) -> Vec<Finding> {
    let mut out = Vec::new();
    dj001_unlimited_public_handlers(meta, &mut out);
    dj002_sensitive_paths(meta, &mut out);
    dj003_safe_splices(meta, &mut out);
    dj004_inconsistent_permissions(meta, &mut out);
    dj007_no_authorization(meta, &mut out);
    dj009_public_uploads_without_rate_limit(meta, &mut out);
    out
}

/// App-wide findings from the server configuration: debug mode (`DJ005`)
/// and every setting looser than its default (`DJ006`; the ones that are
/// right in some deployments, such as trusted proxies or cookies without
/// `Secure` on a plain-HTTP development server, are `info`).
pub(crate) fn config_findings(config: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    if config.debug {
        out.push(Finding {
            code: DJ005,
            severity: Severity::Error,
            view: None,
            handler: None,
            message: "debug mode is on: error frames sent to clients carry details (handler \
                      errors, parameter names and expected types); turn it off in production"
                .to_owned(),
        });
    }
    for loose in config.loosened() {
        let severity = match loose.variable {
            "DJUST_TRUSTED_PROXIES" | "DJUST_SECURE_COOKIES" => Severity::Info,
            _ => Severity::Warning,
        };
        out.push(Finding {
            code: DJ006,
            severity,
            view: None,
            handler: None,
            message: if loose.value == loose.default {
                format!("{} is {}: {}", loose.variable, loose.value, loose.risk)
            } else {
                format!(
                    "{} is {} (default {}): {}",
                    loose.variable, loose.value, loose.default, loose.risk
                )
            },
        });
    }
    out
}

/// `5.0` → `5`, `0.5` → `0.5`.
pub(crate) fn fmt_rate(rate: f64) -> String {
    format!("{rate}")
}

fn is_public(meta: &ViewMeta) -> bool {
    !meta.login_required()
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn dj001_unlimited_public_handlers(meta: &'static ViewMeta, out: &mut Vec<Finding>) {
    if !is_public(meta) {
        return;
    }
    for handler in meta.handlers.iter().filter(|h| h.rate_limit.is_none()) {
        out.push(Finding {
            code: DJ001,
            severity: Severity::Warning,
            view: Some(meta.name),
            handler: Some(handler.name),
            message: format!(
                "public view `{}`: handler `{}` has no #[rate_limit]; anonymous clients can \
                 flood it (only the global per-connection limit applies); add \
                 #[rate_limit(rate = .., burst = .., key = \"ip\")] or require login",
                meta.name, handler.name
            ),
        });
    }
}

fn dj009_public_uploads_without_rate_limit(meta: &'static ViewMeta, out: &mut Vec<Finding>) {
    if !is_public(meta) || meta.uploads.is_empty() {
        return;
    }
    if meta
        .handlers
        .iter()
        .any(|handler| handler.rate_limit.is_some())
    {
        return;
    }
    let slots: Vec<&str> = meta.uploads.iter().map(|slot| slot.name).collect();
    out.push(Finding {
        code: DJ009,
        severity: Severity::Warning,
        view: Some(meta.name),
        handler: None,
        message: format!(
            "public view `{}` takes uploads ({}) and none of its handlers has a #[rate_limit]: \
             anonymous clients can keep filling the upload quota; rate-limit the handler that \
             consumes them (key = \"ip\") or require login",
            meta.name,
            list(&slots)
        ),
    });
}

fn dj002_sensitive_paths(meta: &'static ViewMeta, out: &mut Vec<Finding>) {
    let mut paths: Vec<&'static str> = meta.exposed.to_vec();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        if let Some(word) = sensitive_word(path) {
            out.push(Finding {
                code: DJ002,
                severity: Severity::Warning,
                view: Some(meta.name),
                handler: None,
                message: format!(
                    "view `{}` renders `{path}`, whose name looks sensitive (`{word}`); make \
                     sure the page should show it, or keep it in a `_private` field",
                    meta.name
                ),
            });
        }
    }
}

fn dj003_safe_splices(meta: &'static ViewMeta, out: &mut Vec<Finding>) {
    if meta.safe_splices == 0 {
        return;
    }
    let public = is_public(meta);
    let values = if meta.safe_splices == 1 {
        "1 trusted value".to_owned()
    } else {
        format!("{} trusted values", meta.safe_splices)
    };
    out.push(Finding {
        code: DJ003,
        severity: if public {
            Severity::Warning
        } else {
            Severity::Info
        },
        view: Some(meta.name),
        handler: None,
        message: format!(
            "{}view `{}` renders {values} (`{{x|safe}}` or `srcdoc={{x}}`: SafeHtml trust \
             hatches); review where each value comes from and that it is built with \
             format_html! or sanitised",
            if public { "public " } else { "" },
            meta.name
        ),
    });
}

/// The app-wide `DJ003`: every place in the program (views, helpers,
/// components) where a `SafeHtml` enters a page, from the registry every
/// `html!` fills at compile time.
pub(crate) fn dj003_trusted_sites(sites: &[&TrustedSite]) -> Vec<Finding> {
    if sites.is_empty() {
        return Vec::new();
    }
    const SHOWN: usize = 20;
    let mut listed: Vec<String> = sites.iter().take(SHOWN).map(ToString::to_string).collect();
    if sites.len() > SHOWN {
        listed.push(format!("and {} more", sites.len() - SHOWN));
    }
    vec![Finding {
        code: DJ003,
        severity: Severity::Info,
        view: None,
        handler: None,
        message: format!(
            "the program writes trusted markup (SafeHtml) into pages at {} place{}: {}; each \
             value must be built with format_html!, html! or SafeHtml::sanitize, never from \
             raw input",
            sites.len(),
            if sites.len() == 1 { "" } else { "s" },
            listed.join(", ")
        ),
    }]
}

fn dj004_inconsistent_permissions(meta: &'static ViewMeta, out: &mut Vec<Finding>) {
    let guarded: Vec<&str> = meta
        .handlers
        .iter()
        .filter(|h| h.permission.is_some())
        .map(|h| h.name)
        .collect();
    if guarded.is_empty() {
        return;
    }
    for handler in meta.handlers.iter().filter(|h| h.permission.is_none()) {
        let mut fields: Vec<&str> = meta
            .assigned
            .iter()
            .filter(|assigned| assigned.by == handler.name)
            .map(|assigned| assigned.field)
            .collect();
        if fields.is_empty() {
            continue;
        }
        fields.sort_unstable();
        fields.dedup();
        out.push(Finding {
            code: DJ004,
            severity: Severity::Warning,
            view: Some(meta.name),
            handler: Some(handler.name),
            message: format!(
                "view `{}`: handler `{}` changes state ({}) without #[permission_required] \
                 while {} {} one; add #[permission_required(..)] or document why any {} user \
                 may call it",
                meta.name,
                handler.name,
                list(&fields),
                list(&guarded),
                if guarded.len() == 1 { "has" } else { "have" },
                if meta.permission.is_some() {
                    "permitted"
                } else if meta.login_required() {
                    "logged-in"
                } else {
                    "anonymous"
                },
            ),
        });
    }
}

fn dj007_no_authorization(meta: &'static ViewMeta, out: &mut Vec<Finding>) {
    if !meta.login_required()
        || meta.permission.is_some()
        || meta.handlers.iter().any(|h| h.permission.is_some())
    {
        return;
    }
    let what = if meta.handlers.is_empty() {
        String::new()
    } else {
        format!(" and call {}", list(&handler_names(meta)))
    };
    out.push(Finding {
        code: DJ007,
        severity: Severity::Info,
        view: Some(meta.name),
        handler: None,
        message: format!(
            "view `{}` requires login but no permission: any logged-in user may mount it{what}; \
             add `permission = \"..\"`, #[permission_required] or check_permissions if that is \
             not intended",
            meta.name
        ),
    });
}

fn handler_names(meta: &ViewMeta) -> Vec<&'static str> {
    meta.handlers.iter().map(|h| h.name).collect()
}

/// Terms matched anywhere inside a word (long enough not to occur by accident).
const SENSITIVE_SUBSTRINGS: &[&str] = &["password", "passwd", "secret", "apikey"];

/// Terms matched only as a whole word (`key` but not `monkey` or `keyboard`),
/// also in the plural.
const SENSITIVE_WORDS: &[&str] = &[
    "hash", "token", "key", "ssn", "card", "cvv", "cvc", "iban", "salary", "salaries", "pin",
];

/// The sensitive term `path` contains, if any.
///
/// The path is split into words at every character that is not a letter or a
/// digit (`.`, `[]`, `()`, `_`) and at lower-to-upper case changes, so
/// `contacts[].api_key` yields `contacts`, `api`, `key`. A word matches a
/// whole-word term (`hash`, `token`, `key`, `ssn`, `card`, ...) when it equals it
/// (or its plural), and a substring term (`password`, `passwd`, `secret`,
/// `apikey`) when it contains it; `api_key` also
/// matches as the adjacent words `api` + `key`.
pub fn sensitive_word(path: &str) -> Option<&'static str> {
    let words = split_words(path);
    for word in &words {
        if let Some(term) = SENSITIVE_SUBSTRINGS.iter().find(|t| word.contains(**t)) {
            return Some(term);
        }
        if let Some(term) = SENSITIVE_WORDS.iter().find(|t| {
            word == **t
                || word
                    .strip_prefix(**t)
                    .is_some_and(|rest| rest == "s" || rest == "es")
        }) {
            return Some(term);
        }
    }
    None
}

fn split_words(path: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for ch in path.chars() {
        if !ch.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if ch.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = ch.is_lowercase() || ch.is_ascii_digit();
        current.extend(ch.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::TrustedKind;

    #[test]
    fn dj003_lists_every_trusted_site_of_the_program() {
        assert!(dj003_trusted_sites(&[]).is_empty());
        let sites: Vec<&'static TrustedSite> = (1..=22)
            .map(|line| {
                &*Box::leak(Box::new(TrustedSite {
                    file: "src/views.rs",
                    line,
                    column: 9,
                    kind: if line == 2 {
                        TrustedKind::Srcdoc
                    } else {
                        TrustedKind::SafeSplice
                    },
                    module: "app::views",
                }))
            })
            .collect();
        let one = dj003_trusted_sites(&sites[..1]);
        assert_eq!(one.len(), 1);
        assert_eq!(
            (one[0].code, one[0].view, one[0].severity),
            (DJ003, None, Severity::Info)
        );
        assert!(
            one[0]
                .message
                .contains("at 1 place: src/views.rs:1:9 {..|safe};"),
            "{}",
            one[0].message
        );
        let all = dj003_trusted_sites(&sites);
        assert!(
            all[0].message.contains("at 22 places: "),
            "{}",
            all[0].message
        );
        assert!(
            all[0].message.contains("src/views.rs:2:9 srcdoc={..}"),
            "{}",
            all[0].message
        );
        assert!(
            all[0]
                .message
                .contains("src/views.rs:20:9 {..|safe}, and 2 more;"),
            "{}",
            all[0].message
        );
        assert!(
            !all[0].message.contains("src/views.rs:21:9"),
            "{}",
            all[0].message
        );
    }

    #[test]
    fn words_split_on_punctuation_and_case() {
        assert_eq!(
            split_words("contacts[].apiKey.x_y()"),
            ["contacts", "api", "key", "x", "y"]
        );
    }

    #[test]
    fn sensitive_names() {
        for path in [
            "password",
            "user.password_hash",
            "passwd",
            "contacts[].api_key",
            "apikey",
            "ApiKey",
            "session_token",
            "tokens",
            "client_secret",
            "key",
            "keys[]",
            "ssn",
            "credit_card",
            "cvv",
            "iban",
            "salary",
            "hash",
        ] {
            assert!(sensitive_word(path).is_some(), "{path} should be sensitive");
        }
        for path in [
            "monkey",
            "keyboard",
            "donkey.name",
            "hashtag",
            "tokenizer_name",
            "cardinality",
            "discard",
            "name",
            "spinner",
            "title()",
        ] {
            assert_eq!(sensitive_word(path), None, "{path} should not be sensitive");
        }
    }
}
