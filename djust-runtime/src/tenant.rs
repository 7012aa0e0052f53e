//! Tenancy: which customer a request belongs to.
//!
//! An [`App`](crate::server::App) with [`TenantResolver`] set resolves a
//! [`Tenant`] for every page, login and socket: from the host's subdomain
//! (`acme.example.com`), from a header a trusted proxy sets, or from a
//! path prefix (`/t/acme/...`, see [`TenantResolver::path_prefix`]). The tenant
//! is in every context (`ctx.tenant()`: mount, `handle_params`, events,
//! `handle_info`, ticks), and it is bound into everything the framework
//! issues and stores:
//!
//! - every token (session cookie, login CSRF, mount token, resume token,
//!   flash link and cookie) is signed with a key derived for the tenant,
//!   so one issued under one tenant is invalid under every other;
//! - `#[rate_limit]` buckets, persisted view state and upload temp files
//!   are kept under the tenant's prefix (per-address connection limits
//!   stay global: an address is one client whatever site it visits);
//! - [`Tenant::scoped`] gives the same prefix to the application's own
//!   keys and pub/sub topics.
//!
//! A request whose tenant cannot be resolved (no subdomain, a malformed
//! one, a tenant the application does not know) gets `404` and no state.

use std::fmt;
use std::sync::Arc;

/// Longest tenant id: one DNS label.
pub const MAX_TENANT_LEN: usize = 63;

/// A validated tenant id: a DNS label in lower case (`[a-z0-9]`, inner
/// `-`, at most 63 bytes), so it is safe in a host name, a key prefix and
/// a file path.
///
/// A tenant resolved from a path prefix also knows the prefix its URLs
/// carry ([`Tenant::base_path`], used by [`Tenant::path`]); two tenants
/// are equal when their ids are.
#[derive(Clone)]
pub struct Tenant(
    /// The id, or for a path-prefix tenant its base path (`/t/acme`):
    /// the id is then the text after the last `/` (an id has none).
    /// One pointer, so a context holding a tenant stays as small as it was.
    Arc<str>,
);

impl Tenant {
    /// `id` when it is a valid tenant id.
    pub fn new(id: &str) -> Result<Tenant, TenantError> {
        if is_tenant_id(id) {
            Ok(Tenant(Arc::from(id)))
        } else {
            Err(TenantError::Invalid)
        }
    }

    /// The tenant `id` whose URLs all start with `/{segment}/{id}`.
    fn under_prefix(segment: &str, id: &str) -> Result<Tenant, TenantError> {
        if is_tenant_id(id) {
            Ok(Tenant(Arc::from(format!("/{segment}/{id}"))))
        } else {
            Err(TenantError::Invalid)
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        match self.0.rfind('/') {
            Some(slash) => &self.0[slash + 1..],
            None => &self.0,
        }
    }

    /// The prefix every URL of this tenant carries (`/t/acme`), when the
    /// tenant comes from the path ([`TenantResolver::path_prefix`]);
    /// `None` for subdomain and header tenants, whose URLs are the app's
    /// own paths.
    pub fn base_path(&self) -> Option<&str> {
        self.0.starts_with('/').then_some(&*self.0)
    }

    /// The URL the browser uses for the app path `path` (a route as
    /// declared, `/notes/2?x=1`): with a path prefix `/t/acme/notes/2?x=1`,
    /// else `path` itself. Write links with it
    /// (`href={ctx.path("/notes")}`) so they work without JavaScript and
    /// keep the tenant.
    pub fn path(&self, path: &str) -> String {
        prefixed(self.base_path(), path)
    }

    /// `key` in this tenant's namespace: `tenant:{id}:{key}` (the id has
    /// no `:`, so two tenants' keys never collide).
    pub fn scoped(&self, key: &str) -> String {
        format!("tenant:{}:{key}", self.id())
    }
}

/// Whether `id` is a valid tenant id (see [`Tenant`]).
fn is_tenant_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_TENANT_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// `path` (an app path, `/...`) under `base` (`/t/acme`), if any. `/`
/// becomes `/t/acme/`; a value that is not an absolute path (`//host`,
/// `https:...`, empty) is returned unchanged.
pub(crate) fn prefixed(base: Option<&str>, path: &str) -> String {
    match base {
        Some(base) if is_app_path(path) => format!("{base}{path}"),
        _ => path.to_owned(),
    }
}

/// Whether `path` is an absolute path of this site (`/x`, not `//host`
/// or `/\host`, which browsers read as another host).
pub(crate) fn is_app_path(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\")
}

impl PartialEq for Tenant {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for Tenant {}

impl std::hash::Hash for Tenant {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl PartialOrd for Tenant {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tenant {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id().cmp(other.id())
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tenant({})", self.id())
    }
}

/// Why no tenant was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantError {
    /// The request does not name a tenant (no subdomain, no header, no
    /// path prefix).
    Missing,
    /// It names one that is not a valid tenant id.
    Invalid,
    /// A valid id the application does not know.
    Unknown,
}

impl fmt::Display for TenantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TenantError::Missing => "the request names no tenant",
            TenantError::Invalid => "the request names an invalid tenant id",
            TenantError::Unknown => "the request names an unknown tenant",
        })
    }
}

impl std::error::Error for TenantError {}

/// Where the tenant comes from.
#[derive(Clone)]
pub enum TenantResolver {
    /// The label before `base` in the `Host` header: with base
    /// `example.com`, `acme.example.com` is tenant `acme` (and
    /// `acme.localhost:8000` with base `localhost`). The bare base and
    /// deeper subdomains (`a.b.example.com`) name no tenant.
    Subdomain {
        /// The domain the tenants are subdomains of.
        base: String,
    },
    /// A header set by a proxy in front of the server (e.g. `X-Tenant`).
    /// Only use it when every request comes through that proxy, which must
    /// overwrite the header: a client can send it too.
    Header {
        /// The header's name.
        name: String,
    },
    /// The path segment after a fixed first segment: with segment `t`,
    /// `/t/acme/notes` is tenant `acme` asking for the app's `/notes`.
    /// The server strips the prefix before routing and puts it back on
    /// every URL it writes (see [`TenantResolver::path_prefix`]).
    PathPrefix {
        /// The fixed first segment (`t`).
        segment: String,
    },
}

/// Longest fixed segment of [`TenantResolver::path_prefix`].
pub const MAX_PREFIX_SEGMENT_LEN: usize = 32;

impl fmt::Debug for TenantResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl TenantResolver {
    /// Tenants are subdomains of `base`.
    pub fn subdomain(base: impl Into<String>) -> Self {
        TenantResolver::Subdomain {
            base: base.into().trim_matches('.').to_ascii_lowercase(),
        }
    }

    /// Tenants are named by the header `name`.
    pub fn header(name: impl Into<String>) -> Self {
        TenantResolver::Header {
            name: name.into().to_ascii_lowercase(),
        }
    }

    /// Tenants are named by the second path segment after the fixed
    /// first segment `segment`: `path_prefix("t")` serves tenant `acme` at
    /// `/t/acme/...`, so several tenants share one host name.
    ///
    /// The fixed segment keeps tenant ids apart from everything else in a
    /// URL: no route, static directory or framework path (`/djust/`,
    /// `/ws/`) can be mistaken for a tenant. Routes are declared once,
    /// without the prefix; the server strips `/t/acme` before routing and
    /// writes it back on every URL it emits (pages, socket, static files,
    /// redirects, live navigation) and scopes cookies to it.
    ///
    /// `segment` is 1 to 32 of `[a-z0-9_-]`; another value is a startup
    /// error ([`TenantResolver::check`]).
    pub fn path_prefix(segment: impl Into<String>) -> Self {
        TenantResolver::PathPrefix {
            segment: segment.into(),
        }
    }

    /// Whether the resolver is usable; the server refuses to start with
    /// one that is not.
    pub fn check(&self) -> Result<(), String> {
        match self {
            TenantResolver::PathPrefix { segment } => {
                let valid = !segment.is_empty()
                    && segment.len() <= MAX_PREFIX_SEGMENT_LEN
                    && segment.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    });
                if valid {
                    Ok(())
                } else {
                    Err(format!(
                        "TenantResolver::path_prefix({segment:?}): the segment must be 1 to {MAX_PREFIX_SEGMENT_LEN} of a-z, 0-9, `-` and `_` (e.g. \"t\" for /t/acme/)"
                    ))
                }
            }
            TenantResolver::Subdomain { .. } | TenantResolver::Header { .. } => Ok(()),
        }
    }

    /// One line saying how tenants are resolved (for the audit and logs).
    pub fn describe(&self) -> String {
        match self {
            TenantResolver::Subdomain { base } => format!("subdomain of {base}"),
            TenantResolver::Header { name } => format!("header {name}"),
            TenantResolver::PathPrefix { segment } => {
                format!("path prefix /{segment}/{{tenant}}/")
            }
        }
    }

    /// The tenant of a request with `host` (the `Host` header) and
    /// `header` (looks a header up by lower-case name). A path-prefix
    /// resolver needs the path: use [`TenantResolver::resolve_request`].
    pub fn resolve(
        &self,
        host: Option<&str>,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Tenant, TenantError> {
        self.resolve_request(host, "", header)
            .map(|resolved| resolved.tenant)
    }

    /// The tenant of a request with `host`, raw `path` (as sent, still
    /// percent-encoded, without the query) and `header`, and the app path
    /// it asks for: `path` itself, or with a path prefix what follows it
    /// (`/t/acme/notes` asks for `/notes`; `/t/acme` for nothing, see
    /// [`Resolved::app_path`]).
    ///
    /// The tenant segment is read as sent: it must be a tenant id as it
    /// stands, so percent-encoding (`%61cme`, `%2e%2e`), upper case,
    /// non-ASCII look-alikes and dot segments are [`TenantError::Invalid`].
    pub fn resolve_request<'p>(
        &self,
        host: Option<&str>,
        path: &'p str,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved<'p>, TenantError> {
        let tenant = match self {
            TenantResolver::Subdomain { base } => {
                let host = host
                    .ok_or(TenantError::Missing)?
                    .trim()
                    .to_ascii_lowercase();
                let host = strip_port(&host);
                let label = host
                    .strip_suffix(base.as_str())
                    .and_then(|rest| rest.strip_suffix('.'))
                    .ok_or(TenantError::Missing)?;
                if label.is_empty() {
                    return Err(TenantError::Missing);
                }
                Tenant::new(label)
            }
            TenantResolver::Header { name } => {
                let value = header(name).ok_or(TenantError::Missing)?;
                Tenant::new(value.trim())
            }
            TenantResolver::PathPrefix { segment } => {
                let rest = path
                    .strip_prefix('/')
                    .and_then(|rest| rest.strip_prefix(segment.as_str()))
                    .and_then(|rest| rest.strip_prefix('/'))
                    .ok_or(TenantError::Missing)?;
                let (id, app_path) = match rest.find('/') {
                    Some(slash) => (&rest[..slash], Some(&rest[slash..])),
                    None => (rest, None),
                };
                if id.is_empty() {
                    return Err(TenantError::Missing);
                }
                let tenant = Tenant::under_prefix(segment, id)?;
                return Ok(Resolved { tenant, app_path });
            }
        }?;
        Ok(Resolved {
            tenant,
            app_path: Some(path),
        })
    }
}

/// A request's tenant and the path it asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'p> {
    /// The tenant.
    pub tenant: Tenant,
    /// The app path (`/notes`), or `None` for a path-prefix URL that stops
    /// at the tenant (`/t/acme`), which the server redirects to `/t/acme/`.
    pub app_path: Option<&'p str>,
}

/// `host` without a `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

/// Whether a resolved tenant exists (the application's list, database...).
pub type TenantCheck = Arc<dyn Fn(&Tenant) -> bool + Send + Sync>;

/// An app's tenancy: how tenants are resolved and which exist.
#[derive(Clone)]
pub struct Tenancy {
    /// Where the tenant comes from.
    pub resolver: TenantResolver,
    /// Which tenants exist (`None`: every valid id).
    pub known: Option<TenantCheck>,
}

impl fmt::Debug for Tenancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenancy")
            .field("resolver", &self.resolver)
            .field("known", &self.known.is_some())
            .finish()
    }
}

impl Tenancy {
    /// The tenant of a request, checked against the known tenants.
    pub fn resolve(
        &self,
        host: Option<&str>,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Tenant, TenantError> {
        self.resolve_request(host, "", header)
            .map(|resolved| resolved.tenant)
    }

    /// [`TenantResolver::resolve_request`], checked against the known tenants.
    pub fn resolve_request<'p>(
        &self,
        host: Option<&str>,
        path: &'p str,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved<'p>, TenantError> {
        let resolved = self.resolver.resolve_request(host, path, header)?;
        match &self.known {
            Some(known) if !known(&resolved.tenant) => Err(TenantError::Unknown),
            _ => Ok(resolved),
        }
    }
}

/// The signing purpose of a tenant's keys (see [`crate::auth::Signer::derive`]).
pub fn signing_purpose(tenant: &Tenant) -> String {
    format!("tenant:{}", tenant.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_header(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn tenant_ids_are_dns_labels() {
        for good in ["acme", "a", "acme-2", "x1", &"a".repeat(63)] {
            assert!(Tenant::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-acme",
            "acme-",
            "Acme",
            "ac_me",
            "ac.me",
            "ac:me",
            "a b",
            "é",
            "../x",
            &"a".repeat(64),
        ] {
            assert_eq!(Tenant::new(bad), Err(TenantError::Invalid), "{bad:?}");
        }
        assert_eq!(
            Tenant::new("acme").expect("id").scoped("room"),
            "tenant:acme:room"
        );
    }

    #[test]
    fn subdomains_name_tenants() {
        let resolver = TenantResolver::subdomain("example.com");
        let tenant = |host: &str| resolver.resolve(Some(host), &no_header);
        assert_eq!(
            tenant("acme.example.com").map(|t| t.id().to_owned()),
            Ok("acme".into())
        );
        assert_eq!(
            tenant("ACME.Example.com:8443").map(|t| t.id().to_owned()),
            Ok("acme".into())
        );
        assert_eq!(tenant("example.com"), Err(TenantError::Missing));
        assert_eq!(tenant("evilexample.com"), Err(TenantError::Missing));
        assert_eq!(
            tenant("acme.example.com.evil.net"),
            Err(TenantError::Missing)
        );
        assert_eq!(tenant("a.b.example.com"), Err(TenantError::Invalid));
        assert_eq!(tenant("a_b.example.com"), Err(TenantError::Invalid));
        assert_eq!(
            resolver.resolve(None, &no_header),
            Err(TenantError::Missing)
        );
        let local = TenantResolver::subdomain("localhost");
        assert_eq!(
            local
                .resolve(Some("globex.localhost:8000"), &no_header)
                .map(|t| t.id().to_owned()),
            Ok("globex".into())
        );
    }

    #[test]
    fn a_path_prefix_names_the_tenant_and_the_app_path() {
        let resolver = TenantResolver::path_prefix("t");
        assert_eq!(resolver.check(), Ok(()));
        let resolve = |path: &'static str| resolver.resolve_request(None, path, &no_header);
        let acme = resolve("/t/acme/notes/2").expect("acme");
        assert_eq!(acme.tenant.id(), "acme");
        assert_eq!(acme.tenant.base_path(), Some("/t/acme"));
        assert_eq!(acme.app_path, Some("/notes/2"));
        assert_eq!(acme.tenant.path("/"), "/t/acme/");
        assert_eq!(acme.tenant.path("/x?y=1"), "/t/acme/x?y=1");
        assert_eq!(acme.tenant.path("//evil.net"), "//evil.net");
        assert_eq!(acme.tenant.path("https://a.b/"), "https://a.b/");
        assert_eq!(acme.tenant, Tenant::new("acme").expect("id"), "equal by id");
        assert_eq!(acme.tenant.scoped("k"), "tenant:acme:k");
        assert_eq!(acme.tenant.to_string(), "acme");
        assert_eq!(resolve("/t/acme/").expect("root").app_path, Some("/"));
        assert_eq!(resolve("/t/acme").expect("bare").app_path, None);
        for missing in [
            "",
            "/",
            "/t",
            "/t/",
            "/t//x",
            "/x/acme/",
            "/tt/acme/",
            "t/acme/",
        ] {
            assert_eq!(resolve(missing), Err(TenantError::Missing), "{missing:?}");
        }
        let long = format!("/t/{}/", "a".repeat(64));
        for invalid in [
            "/t/ACME/",
            "/t/%61cme/",
            "/t/%2e%2e/",
            "/t/../",
            "/t/./",
            "/t/ac%2Fme/",
            "/t/acme%00/",
            "/t/-acme/",
            "/t/ac_me/",
            "/t/ac.me/",
            "/t/\u{430}cme/",
            "/t/acm\u{0435}/",
            "/t/acme\u{200b}/",
            "/t/a\\b/",
            "/t/acme;x=1/",
            long.as_str(),
        ] {
            assert_eq!(
                resolver
                    .resolve_request(None, invalid, &no_header)
                    .map(|r| r.tenant),
                Err(TenantError::Invalid),
                "{invalid:?}"
            );
        }
        assert!(Tenant::new("acme").expect("id").base_path().is_none());
        assert_eq!(Tenant::new("acme").expect("id").path("/x"), "/x");
        assert_eq!(resolver.describe(), "path prefix /t/{tenant}/");
    }

    #[test]
    fn a_path_prefix_segment_must_be_a_plain_word() {
        for good in ["t", "org", "tenant_1", "a-b"] {
            assert_eq!(TenantResolver::path_prefix(good).check(), Ok(()), "{good}");
        }
        for bad in [
            "",
            "T",
            "a/b",
            "..",
            ".",
            "é",
            "a b",
            "%74",
            &"t".repeat(33),
        ] {
            assert!(TenantResolver::path_prefix(bad).check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn headers_name_tenants_and_unknown_ones_are_refused() {
        let tenancy = Tenancy {
            resolver: TenantResolver::header("X-Tenant"),
            known: Some(Arc::new(|tenant: &Tenant| tenant.id() != "ghost")),
        };
        let with =
            |value: &'static str| move |name: &str| (name == "x-tenant").then(|| value.to_owned());
        assert_eq!(
            tenancy
                .resolve(None, &with("acme"))
                .map(|t| t.id().to_owned()),
            Ok("acme".into())
        );
        assert_eq!(
            tenancy.resolve(None, &with("ghost")),
            Err(TenantError::Unknown)
        );
        assert_eq!(
            tenancy.resolve(None, &with("Bad Id")),
            Err(TenantError::Invalid)
        );
        assert_eq!(tenancy.resolve(None, &no_header), Err(TenantError::Missing));
    }
}

tokio::task_local! {
    /// The tenant of the request being handled (set around each request's
    /// routing by the server).
    static CURRENT: Option<Tenant>;
}

/// Runs `future` as the handling of a request of `tenant`: framework code
/// inside it signs and keys for that tenant ([`current`]).
///
/// Not an `async fn`: that would keep `future` twice in its state (as the
/// argument and inside the scope), doubling the memory of every task
/// spawned with it.
pub fn scope<F: std::future::Future>(
    tenant: Option<Tenant>,
    future: F,
) -> impl std::future::Future<Output = F::Output> {
    CURRENT.scope(tenant, future)
}

/// The tenant of the request being handled (`None` outside a request, or
/// without tenancy).
pub fn current() -> Option<Tenant> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

/// Spawns `future` on the runtime carrying the current tenant: background
/// work started from a handler, `mount` or `handle_info` (a feed that
/// publishes on a `RedisBroadcast`, a task
/// that reports back through a subscription) keys, signs and publishes for
/// the tenant that started it, as the view's own callbacks do.
/// `tokio::spawn` alone would run it with no tenant ([`current`] is
/// `None`).
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(scope(current(), future))
}
