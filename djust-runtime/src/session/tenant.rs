//! Tenant isolation for key-value storage: every key is prefixed with a
//! validated tenant id, so one tenant can never name another's keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{BoxFuture, StoreError};

/// Longest tenant id accepted.
pub const MAX_TENANT_ID_LEN: usize = 128;

/// A tenant id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantError {
    /// Empty, longer than [`MAX_TENANT_ID_LEN`], or containing a character
    /// other than `A-Z a-z 0-9 . _ -` (in particular `:`).
    InvalidTenantId,
}

impl std::fmt::Display for TenantError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid tenant id")
    }
}

impl std::error::Error for TenantError {}

/// `tenant:{tenant_id}:{key}`.
///
/// Tenant ids may not contain `:` (nor anything outside `A-Z a-z 0-9 . _ -`),
/// so the tenant part ends at the second `:` and two different
/// `(tenant, key)` pairs can never give the same string, whatever the key holds.
pub fn tenant_key(tenant_id: &str, key: &str) -> Result<String, TenantError> {
    let valid = !tenant_id.is_empty()
        && tenant_id.len() <= MAX_TENANT_ID_LEN
        && tenant_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(format!("tenant:{tenant_id}:{key}"))
    } else {
        Err(TenantError::InvalidTenantId)
    }
}

/// A string key-value store (cache, state backend). Object-safe and async
/// because it usually lives in Redis.
pub trait KeyValueStore: Send + Sync {
    /// The value under `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
    /// Stores `value` under `key`.
    fn set<'a>(&'a self, key: &'a str, value: String) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Removes `key`; `true` if it existed.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
}

/// An unbounded in-process [`KeyValueStore`], for tests and development.
#[derive(Debug, Default)]
pub struct MemoryKeyValueStore {
    map: Mutex<HashMap<String, String>>,
}

impl MemoryKeyValueStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every raw key held, sorted (for inspection in tests).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyValueStore for MemoryKeyValueStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let value = self.lock().get(key).cloned();
        Box::pin(std::future::ready(Ok(value)))
    }

    fn set<'a>(&'a self, key: &'a str, value: String) -> BoxFuture<'a, Result<(), StoreError>> {
        self.lock().insert(key.to_owned(), value);
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let existed = self.lock().remove(key).is_some();
        Box::pin(std::future::ready(Ok(existed)))
    }
}

/// A view of a [`KeyValueStore`] limited to one tenant: every key is passed
/// through [`tenant_key`], so no key given to it can reach another tenant's data.
#[derive(Clone)]
pub struct TenantScopedStore {
    inner: Arc<dyn KeyValueStore>,
    tenant_id: String,
}

impl std::fmt::Debug for TenantScopedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantScopedStore")
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

impl TenantScopedStore {
    /// Scopes `inner` to `tenant_id` (validated as in [`tenant_key`]).
    pub fn new(inner: Arc<dyn KeyValueStore>, tenant_id: &str) -> Result<Self, TenantError> {
        tenant_key(tenant_id, "")?;
        Ok(Self {
            inner,
            tenant_id: tenant_id.to_owned(),
        })
    }

    /// The tenant this view is limited to.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    fn scoped(&self, key: &str) -> String {
        // The id was validated in `new`, so this is exactly `tenant_key`.
        format!("tenant:{}:{key}", self.tenant_id)
    }
}

impl KeyValueStore for TenantScopedStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let key = self.scoped(key);
        Box::pin(async move { self.inner.get(&key).await })
    }

    fn set<'a>(&'a self, key: &'a str, value: String) -> BoxFuture<'a, Result<(), StoreError>> {
        let key = self.scoped(key);
        Box::pin(async move { self.inner.set(&key, value).await })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let key = self.scoped(key);
        Box::pin(async move { self.inner.delete(&key).await })
    }
}
