//! Persisted view state (`#[live_view(persist)]`): the [`Snapshot`] of a
//! detached or shutting-down view, sealed with ChaCha20-Poly1305 under a
//! key derived from `DJUST_SECRET_KEY`, and the [`ViewStateStore`] it
//! waits in (Redis when processes share it: `redis::RedisViewStateStore`)
//! until its client resumes on any process.
//!
//! The client only ever holds its resume token (a random id, signed): the
//! state never travels to the browser. A snapshot is sealed with its id as
//! associated data, so it cannot be replayed under another id; it carries
//! the session and the user it belongs to, checked again at resume, and the
//! store forgets it after the grace window (TTL) or when it is taken (a
//! resume is single-use).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};

use crate::auth::Signer;
use crate::limits::BoxFuture;
use crate::session::StoreError;

/// Key purpose: sealed snapshots use a key no token is signed with.
const PURPOSE: &str = "view-snapshot";

/// Bytes of a nonce, written before the ciphertext.
const NONCE_LEN: usize = 12;

/// Largest snapshot accepted (sealed), in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 4 * 1024 * 1024;

/// A persisted view: what it is, whose it is, and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The view's wire name.
    pub view: String,
    /// The session it belongs to.
    pub session_id: Option<String>,
    /// The user it belongs to.
    pub user_id: Option<String>,
    /// The URL it was mounted for.
    pub url: String,
    /// The version the client was last sent.
    pub version: u64,
    /// The view's state (JSON of the struct).
    pub state: Vec<u8>,
}

fn cipher(signer: &Signer) -> ChaCha20Poly1305 {
    let key = signer.derive_key(PURPOSE);
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// `snapshot` encrypted and authenticated for `id` (a random nonce first).
pub fn seal(signer: &Signer, id: &str, snapshot: &Snapshot) -> Option<Vec<u8>> {
    seal_encoded(signer, id, &encode(snapshot)?)
}

/// The plain bytes [`seal`] encrypts (JSON of the snapshot): the server
/// compares them to skip writing a snapshot that did not change.
pub(crate) fn encode(snapshot: &Snapshot) -> Option<Vec<u8>> {
    serde_json::to_vec(snapshot).ok()
}

/// [`seal`] for a snapshot already [`encode`]d.
pub(crate) fn seal_encoded(signer: &Signer, id: &str, plain: &[u8]) -> Option<Vec<u8>> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let sealed = cipher(signer)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: id.as_bytes(),
            },
        )
        .ok()?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    (out.len() <= MAX_SNAPSHOT_BYTES).then_some(out)
}

/// The snapshot sealed for `id`, or `None` when `bytes` were sealed with
/// another key, for another id, tampered with, or are not a snapshot.
pub fn open(signer: &Signer, id: &str, bytes: &[u8]) -> Option<Snapshot> {
    if bytes.len() > MAX_SNAPSHOT_BYTES || bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let plain = cipher(signer)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: id.as_bytes(),
            },
        )
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

/// What became of a [`ViewStateStore::put`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The store holds the snapshot.
    Written,
    /// Not written: the id was taken (a resume on another process restored
    /// the view from it), so the writer no longer owns the view. Its copy
    /// is stale and must be dropped, and a change it made must not be
    /// acknowledged.
    Taken,
}

/// Where sealed snapshots wait for their client, shared by the processes
/// that serve the app. Object-safe and asynchronous: the shared store
/// lives in Redis. An implementation that cannot reach its backend
/// returns an error (the view then simply is not resumable elsewhere).
///
/// **Ownership.** The process whose view writes under an id owns it until
/// a resume elsewhere [`take`](ViewStateStore::take)s the id. The take
/// leaves a marker, atomically, so the former owner's later writes under
/// that id are refused ([`Stored::Taken`]) instead of resurrecting its
/// stale copy next to the restored one.
pub trait ViewStateStore: Send + Sync {
    /// Keeps `sealed` under `id` for `ttl`, replacing any snapshot, unless
    /// the id was taken ([`Stored::Taken`]). Atomic with respect to
    /// [`ViewStateStore::take`].
    fn put<'a>(
        &'a self,
        id: &'a str,
        sealed: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Stored, StoreError>>;

    /// Takes the snapshot under `id` (returns it, `None` when there is
    /// none or it was taken already) and marks the id taken for
    /// `keep_taken`, so that no later [`put`](ViewStateStore::put) under it
    /// succeeds while its former owner may still be alive.
    fn take<'a>(
        &'a self,
        id: &'a str,
        keep_taken: Duration,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;

    /// Forgets the value under `id`.
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// In-process [`ViewStateStore`]: bounded (oldest dropped first) and
/// expiring. Shared by the `App`s of one process (tests, embedding); it
/// does not survive the process.
#[derive(Debug)]
pub struct MemoryViewStateStore {
    capacity: usize,
    state: Mutex<MemoryState>,
}

/// A held value: a snapshot, or the mark of a taken id (`None`).
type Held = Option<Vec<u8>>;

#[derive(Debug, Default)]
struct MemoryState {
    values: HashMap<String, (Held, Instant, u64)>,
    order: BTreeMap<u64, String>,
    next: u64,
}

impl MemoryViewStateStore {
    /// A store of at most `capacity` snapshots (at least 1).
    pub fn new(capacity: usize) -> Self {
        MemoryViewStateStore {
            capacity: capacity.max(1),
            state: Mutex::new(MemoryState::default()),
        }
    }

    /// Snapshots held (expired ones included until they are swept; the
    /// marks of taken ids are not snapshots).
    pub fn len(&self) -> usize {
        self.lock()
            .values
            .values()
            .filter(|(value, _, _)| value.is_some())
            .count()
    }

    /// `true` when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryState {
    fn remove(&mut self, id: &str) -> Option<(Held, Instant)> {
        let (value, until, order) = self.values.remove(id)?;
        self.order.remove(&order);
        Some((value, until))
    }

    /// Holds `value` under `id` until `until`, dropping expired values and
    /// then the oldest beyond `capacity`.
    fn insert(&mut self, id: &str, value: Held, until: Instant, capacity: usize) {
        self.remove(id);
        let now = Instant::now();
        let expired: Vec<String> = self
            .values
            .iter()
            .filter(|(_, (_, until, _))| *until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove(&id);
        }
        while self.values.len() >= capacity {
            let Some(oldest) = self.order.values().next().cloned() else {
                break;
            };
            self.remove(&oldest);
        }
        let order = self.next;
        self.next += 1;
        self.order.insert(order, id.to_owned());
        self.values.insert(id.to_owned(), (value, until, order));
    }
}

impl ViewStateStore for MemoryViewStateStore {
    fn put<'a>(
        &'a self,
        id: &'a str,
        sealed: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Stored, StoreError>> {
        let mut state = self.lock();
        let now = Instant::now();
        let taken = matches!(state.values.get(id), Some((None, until, _)) if *until > now);
        if taken {
            return Box::pin(std::future::ready(Ok(Stored::Taken)));
        }
        state.insert(id, Some(sealed), now + ttl, self.capacity);
        Box::pin(std::future::ready(Ok(Stored::Written)))
    }

    fn take<'a>(
        &'a self,
        id: &'a str,
        keep_taken: Duration,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let mut state = self.lock();
        let now = Instant::now();
        let taken = state
            .remove(id)
            .filter(|(_, until)| *until > now)
            .and_then(|(value, _)| value);
        state.insert(id, None, now + keep_taken, self.capacity);
        Box::pin(std::future::ready(Ok(taken)))
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.lock().remove(id);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SecretKey;

    fn snapshot() -> Snapshot {
        Snapshot {
            view: "notes".into(),
            session_id: Some("s".into()),
            user_id: Some("u".into()),
            url: "/".into(),
            version: 3,
            state: br#"{"count":3}"#.to_vec(),
        }
    }

    #[test]
    fn sealed_for_one_id_and_key_only() {
        let signer = Signer::from_key(&SecretKey::generate());
        let sealed = seal(&signer, "id-1", &snapshot()).expect("sealed");
        assert!(!sealed.windows(5).any(|w| w == b"count"), "encrypted");
        assert_eq!(open(&signer, "id-1", &sealed), Some(snapshot()));
        assert_eq!(open(&signer, "id-2", &sealed), None, "another id");
        let other = Signer::from_key(&SecretKey::generate());
        assert_eq!(open(&other, "id-1", &sealed), None, "another key");
        for index in [0, NONCE_LEN, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[index] ^= 1;
            assert_eq!(open(&signer, "id-1", &tampered), None, "byte {index}");
        }
        for junk in [&b""[..], b"short", &[0u8; 100]] {
            assert_eq!(open(&signer, "id-1", junk), None);
        }
        // Two seals of the same snapshot differ (fresh nonce).
        assert_ne!(seal(&signer, "id-1", &snapshot()), Some(sealed));
    }

    #[tokio::test]
    async fn the_memory_store_takes_once_expires_and_stays_bounded() {
        let store = MemoryViewStateStore::new(2);
        let ttl = Duration::from_secs(60);
        let put = |id: &'static str, value: &'static [u8], ttl| {
            let store = &store;
            async move { store.put(id, value.to_vec(), ttl).await.expect("put") }
        };
        assert_eq!(put("a", b"1", ttl).await, Stored::Written);
        assert_eq!(put("a", b"2", ttl).await, Stored::Written, "replaced");
        assert_eq!(
            store.take("a", ttl).await.expect("take"),
            Some(b"2".to_vec())
        );
        assert_eq!(
            store.take("a", ttl).await.expect("take"),
            None,
            "taken once"
        );
        assert_eq!(
            put("a", b"3", ttl).await,
            Stored::Taken,
            "its former owner cannot write it again"
        );
        store.remove("a").await.expect("remove");
        assert_eq!(put("b", b"2", ttl).await, Stored::Written);
        assert_eq!(put("c", b"3", ttl).await, Stored::Written);
        assert_eq!(put("e", b"5", ttl).await, Stored::Written);
        assert_eq!(store.len(), 2);
        assert_eq!(
            store.take("b", ttl).await.expect("take"),
            None,
            "oldest dropped"
        );
        assert_eq!(put("d", b"4", Duration::ZERO).await, Stored::Written);
        assert_eq!(store.take("d", ttl).await.expect("take"), None, "expired");
        store.remove("c").await.expect("remove");
        assert_eq!(store.take("c", ttl).await.expect("take"), None);
        // A taken mark expires: the id can be written again after it.
        assert_eq!(store.take("f", Duration::ZERO).await.expect("take"), None);
        assert_eq!(put("f", b"6", ttl).await, Stored::Written);
    }
}
