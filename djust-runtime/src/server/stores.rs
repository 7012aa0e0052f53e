//! Which app-state types are stores shared by every tenant without
//! scoping: registered with `App::state`, they are refused by `ctx.state`
//! under a tenant and reported by the audit (`DJ011`) when the app serves
//! tenants. A view reaches the key-value store scoped, with `ctx.kv()`.

use std::any::{Any, TypeId};
use std::sync::Arc;

use crate::session::{KeyValueStore, MemoryKeyValueStore};

/// Whether `T` is one of djust's stores that every tenant shares unscoped:
/// a key-value store (`Arc<dyn KeyValueStore>`, `MemoryKeyValueStore`,
/// `RedisKeyValueStore`, bare or in an `Arc`) or a raw `Redis` handle
/// (any key, any tenant's). `TenantScopedStore` is scoped;
/// `RedisBroadcast` scopes itself to the tenant of the task that uses it.
///
/// The application's own types (a database pool, a
/// `tokio::sync::broadcast` channel) are not recognised: give them the
/// shape of the notes example, where the data is only reachable through a
/// `Tenant` (see `docs/tenancy.md`).
pub fn is_unscoped_store<T: Any>() -> bool {
    let id = TypeId::of::<T>();
    let key_value = [
        TypeId::of::<Arc<dyn KeyValueStore>>(),
        TypeId::of::<Box<dyn KeyValueStore>>(),
        TypeId::of::<MemoryKeyValueStore>(),
        TypeId::of::<Arc<MemoryKeyValueStore>>(),
    ];
    key_value.contains(&id) || is_unscoped_redis_store(id)
}

/// Whether `id` is a raw `Redis` handle or a `RedisKeyValueStore`.
#[cfg(feature = "redis")]
fn is_unscoped_redis_store(id: TypeId) -> bool {
    [
        TypeId::of::<crate::redis::Redis>(),
        TypeId::of::<Arc<crate::redis::Redis>>(),
        TypeId::of::<crate::redis::RedisKeyValueStore>(),
        TypeId::of::<Arc<crate::redis::RedisKeyValueStore>>(),
    ]
    .contains(&id)
}

#[cfg(not(feature = "redis"))]
fn is_unscoped_redis_store(_id: TypeId) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::TenantScopedStore;

    #[test]
    fn djusts_key_value_stores_are_unscoped_and_scoped_ones_and_app_types_are_not() {
        assert!(is_unscoped_store::<Arc<dyn KeyValueStore>>());
        assert!(is_unscoped_store::<MemoryKeyValueStore>());
        assert!(is_unscoped_store::<Arc<MemoryKeyValueStore>>());
        assert!(!is_unscoped_store::<TenantScopedStore>());
        assert!(!is_unscoped_store::<Arc<TenantScopedStore>>());
        assert!(!is_unscoped_store::<String>());
        #[cfg(feature = "redis")]
        {
            assert!(is_unscoped_store::<crate::redis::Redis>());
            assert!(is_unscoped_store::<crate::redis::RedisKeyValueStore>());
            assert!(!is_unscoped_store::<crate::redis::RedisBroadcast<String>>());
        }
    }
}
