//! Tenancy: which customer a request belongs to.
//!
//! An [`App`](crate::server::App) with [`TenantResolver`] set resolves a
//! [`Tenant`] for every page, login and socket: from the host's subdomain
//! (`acme.example.com`) or from a header a trusted proxy sets. The tenant
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
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tenant(Arc<str>);

impl Tenant {
    /// `id` when it is a valid tenant id.
    pub fn new(id: &str) -> Result<Tenant, TenantError> {
        let bytes = id.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= MAX_TENANT_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-');
        if valid {
            Ok(Tenant(Arc::from(id)))
        } else {
            Err(TenantError::Invalid)
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.0
    }

    /// `key` in this tenant's namespace: `tenant:{id}:{key}` (the id has
    /// no `:`, so two tenants' keys never collide).
    pub fn scoped(&self, key: &str) -> String {
        format!("tenant:{}:{key}", self.0)
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tenant({})", self.0)
    }
}

/// Why no tenant was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantError {
    /// The request does not name a tenant (no subdomain, no header).
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
}

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

    /// One line saying how tenants are resolved (for the audit and logs).
    pub fn describe(&self) -> String {
        match self {
            TenantResolver::Subdomain { base } => format!("subdomain of {base}"),
            TenantResolver::Header { name } => format!("header {name}"),
        }
    }

    /// The tenant of a request with `host` (the `Host` header) and
    /// `header` (looks a header up by lower-case name).
    pub fn resolve(
        &self,
        host: Option<&str>,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Tenant, TenantError> {
        match self {
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
        }
    }
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
        let tenant = self.resolver.resolve(host, header)?;
        match &self.known {
            Some(known) if !known(&tenant) => Err(TenantError::Unknown),
            _ => Ok(tenant),
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
