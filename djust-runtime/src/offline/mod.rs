//! Offline actions: handler events the client queued while offline
//! (`#[event_handler(offline)]`) and replays later, over the socket or,
//! from a service worker's Background Sync, over `POST /djust/offline/sync`.
//!
//! A replayed action is not a second kind of input: it is the same event,
//! dispatched by the same generated code (allowlist, typed parameters,
//! `#[permission_required]`, `#[rate_limit]`, `reauth_each_event`). What
//! this module adds are the checks an action needs *before* that dispatch,
//! because it was recorded earlier and may come from elsewhere:
//!
//! 1. the event names a handler of the view that opted in (`offline`);
//! 2. its idempotency key is well formed ([`is_valid_key`]);
//! 3. its owner tag is the current session's and user's ([`owner_tag`]),
//!    so an action queued by one session (or user, or tenant) is refused
//!    under another: a shared device after a logout, a stolen queue;
//! 4. its timestamp is within the age limit and not from the future;
//! 5. its key has not been applied for this session and tenant
//!    ([`IdempotencyStore`]: in memory, or in Redis when processes share
//!    it), so a retried batch applies once.
//!
//! Then the handler may still refuse a stale change with
//! [`Error::conflict`](crate::view::Error::conflict); the user sees its
//! message. See `docs/offline.md`.

mod keys;

pub use crate::protocol::{ActionResult, ActionStatus};
pub use crate::view::OfflineStamp;
pub use keys::{Claim, IdempotencyKeys, IdempotencyStore};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::Signer;
use crate::security::SafeError;

/// Shortest idempotency key (22 base64url characters: 128 random bits).
pub const MIN_KEY_LEN: usize = 22;
/// Longest idempotency key.
pub const MAX_KEY_LEN: usize = 64;
/// How far in the future (client clock ahead of the server's) an
/// action's timestamp may be, in milliseconds.
pub const CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
/// Signing purpose of owner tags.
const OWNER_PURPOSE: &str = "offline-owner";

/// One queued action as the client sends it (in a `replay` frame or in a
/// sync batch). Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineAction {
    /// The handler's name.
    pub event: String,
    /// The handler's parameters, decoded by its generated code.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Idempotency key ([`is_valid_key`]).
    pub key: String,
    /// When the user did it (ms since the Unix epoch, client clock).
    pub at: u64,
    /// The owner tag the page carried when the action was queued.
    pub owner: String,
}

/// The body of `POST /djust/offline/sync`: the page the actions were
/// queued on and the actions, oldest first. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncBatch {
    /// The page's path and query (a live route of the app).
    pub url: String,
    /// The actions, applied in order.
    pub actions: Vec<OfflineAction>,
}

/// A refusal before dispatch with a code and a fixed message (the key is
/// echoed only when well formed).
pub fn refused(key: &str, status: ActionStatus, code: &str, message: &str) -> ActionResult {
    ActionResult {
        key: if is_valid_key(key) {
            key.to_owned()
        } else {
            String::new()
        },
        status,
        code: Some(code.to_owned()),
        message: Some(message.to_owned()),
    }
}

/// The result of an action the dispatch refused with `error`
/// (rate-limited: `retry`).
pub fn from_error(key: &str, error: &SafeError) -> ActionResult {
    let status = match error {
        SafeError::RateLimited => ActionStatus::Retry,
        SafeError::Conflict => ActionStatus::Conflict,
        _ => ActionStatus::Refused,
    };
    ActionResult {
        key: key.to_owned(),
        status,
        code: Some(error.code().to_owned()),
        message: Some(error.public_message(false, None)),
    }
}

/// The result of an action whose key was claimed before: not applied
/// again; `code` says what became of it the first time (`pending` while
/// its first use is still being applied, or when that is unknown).
pub fn duplicate(key: &str, first: Option<ActionStatus>) -> ActionResult {
    let mut result = ActionResult::applied(key);
    result.status = ActionStatus::Duplicate;
    result.code = Some(first.map_or("pending", ActionStatus::as_str).to_owned());
    result
}

/// The result of an action not applied because the idempotency store did
/// not answer (fail closed): keep it queued and retry.
pub fn store_unavailable(key: &str) -> ActionResult {
    refused(
        key,
        ActionStatus::Retry,
        STORE_UNAVAILABLE,
        "Offline changes cannot be applied right now: they stay queued and are retried",
    )
}

/// The error code of [`store_unavailable`].
pub const STORE_UNAVAILABLE: &str = "store_unavailable";

/// Records what became of a claimed key: a final status is settled, a
/// retry released (the action was not applied and may come again). A
/// store failure is logged, not returned: the action's outcome stands
/// (an unsettled key stays `pending` until it expires, so its action
/// cannot apply twice; an unreleased one is answered `duplicate`).
pub async fn record(store: &dyn IdempotencyStore, scope: &str, key: &str, status: ActionStatus) {
    let outcome = if status.is_final() {
        store.settle(scope, key, status).await
    } else {
        store.release(scope, key).await
    };
    if let Err(error) = outcome {
        tracing::warn!(%error, status = status.as_str(), "offline action's idempotency key not recorded");
    }
}

/// Releases a claimed key whose action was not attempted (logged on
/// failure, as in [`record`]).
pub async fn forget(store: &dyn IdempotencyStore, scope: &str, key: &str) {
    record(store, scope, key, ActionStatus::Retry).await;
}

/// Whether `key` is a well-formed idempotency key: 22 to 64 characters of
/// the base64url alphabet.
pub fn is_valid_key(key: &str) -> bool {
    (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The owner tag of a session and user under `signer` (the tenant's): a
/// keyed hash the page carries (`data-djust-offline-owner`) and every
/// queued action repeats. It reveals neither id, and differs for another
/// session, user or tenant.
pub fn owner_tag(signer: &Signer, session_id: &str, user_id: Option<&str>) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut data = Vec::with_capacity(session_id.len() + 64);
    data.extend_from_slice(session_id.as_bytes());
    data.push(0);
    match user_id {
        Some(user) => {
            data.push(1);
            data.extend_from_slice(user.as_bytes());
        }
        None => data.push(0),
    }
    let hash = signer.derive(OWNER_PURPOSE).keyed_hash(&data);
    URL_SAFE_NO_PAD.encode(&hash[..18])
}

/// Whether `claimed` is the owner tag of this session and user.
pub fn owner_matches(
    signer: &Signer,
    session_id: &str,
    user_id: Option<&str>,
    claimed: &str,
) -> bool {
    crate::auth::constant_time_eq(&owner_tag(signer, session_id, user_id), claimed)
}

/// The limits an action is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ActionLimits {
    /// The age limit in milliseconds.
    pub max_age_ms: u64,
    /// The server's clock, ms since the Unix epoch.
    pub now_ms: u64,
}

/// The checks before dispatch (steps 1 to 4 of the module docs) for an
/// action on a view described by `meta`, for the session `session_id`
/// (`None`: no session, refused) and user. `Ok` with the stamp to dispatch
/// with, or the result to send back.
pub fn check_action(
    meta: &crate::view::ViewMeta,
    action: &OfflineAction,
    signer: &Signer,
    session_id: Option<&str>,
    user_id: Option<&str>,
    limits: ActionLimits,
) -> Result<OfflineStamp, ActionResult> {
    let key = action.key.as_str();
    let Some(handler) = crate::security::is_safe_event_name(&action.event)
        .then(|| meta.handler(&action.event))
        .flatten()
    else {
        return Err(from_error(key, &SafeError::UnknownEvent));
    };
    if !handler.offline {
        return Err(refused(
            key,
            ActionStatus::Refused,
            "not_offline",
            "This action cannot be queued offline",
        ));
    }
    if !is_valid_key(key) {
        return Err(refused(
            key,
            ActionStatus::Refused,
            "bad_key",
            "Malformed idempotency key",
        ));
    }
    let Some(session_id) = session_id.filter(|id| !id.is_empty()) else {
        return Err(refused(
            key,
            ActionStatus::Refused,
            "no_session",
            "Offline actions need a session: reload the page",
        ));
    };
    if !owner_matches(signer, session_id, user_id, &action.owner) {
        return Err(refused(
            key,
            ActionStatus::Refused,
            "foreign_session",
            "This action was queued by another session or user",
        ));
    }
    if action.at > limits.now_ms.saturating_add(CLOCK_SKEW_MS) {
        return Err(refused(
            key,
            ActionStatus::Refused,
            "from_the_future",
            "The action's time is in the future",
        ));
    }
    if limits.now_ms.saturating_sub(action.at) > limits.max_age_ms {
        return Err(refused(
            key,
            ActionStatus::Expired,
            "expired",
            "This offline change is too old to apply",
        ));
    }
    Ok(OfflineStamp::new(key, action.at))
}

/// How long an idempotency key must be remembered: the age limit plus the
/// clock skew allowed, after which its action is refused as `expired`
/// anyway (so forgetting the key cannot let it apply twice).
pub fn key_lifetime(max_age_secs: u64) -> std::time::Duration {
    std::time::Duration::from_secs(max_age_secs) + std::time::Duration::from_millis(CLOCK_SKEW_MS)
}

/// The idempotency scope of a session under a tenant.
pub fn scope(tenant: Option<&crate::tenant::Tenant>, session_id: &str) -> String {
    match tenant {
        Some(tenant) => tenant.scoped(session_id),
        None => session_id.to_owned(),
    }
}

/// Milliseconds since the Unix epoch by the server's clock.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_base64url_of_bounded_length() {
        assert!(is_valid_key("abcdefghijklmnopqrstuv"));
        assert!(is_valid_key(&"A-_9".repeat(16)));
        assert!(!is_valid_key("short"));
        assert!(!is_valid_key(&"a".repeat(65)));
        assert!(!is_valid_key("abcdefghijklmnopqrstu\u{e9}"));
        assert!(!is_valid_key("abcdefghijklmnopqrst/+="));
    }

    #[test]
    fn owner_tags_differ_by_session_user_and_key() {
        let signer = Signer::new(&[7; 32]).expect("key");
        let other = Signer::new(&[8; 32]).expect("key");
        let tag = owner_tag(&signer, "s1", Some("u1"));
        assert!(owner_matches(&signer, "s1", Some("u1"), &tag));
        assert!(!owner_matches(&signer, "s2", Some("u1"), &tag));
        assert!(!owner_matches(&signer, "s1", Some("u2"), &tag));
        assert!(!owner_matches(&signer, "s1", None, &tag));
        assert!(!owner_matches(&other, "s1", Some("u1"), &tag));
        // No ambiguity between a session id with a NUL and a user id.
        assert_ne!(
            owner_tag(&signer, "s1\u{0}\u{1}u", None),
            owner_tag(&signer, "s1", Some("u"))
        );
    }
}
