//! Write-through persistence of `#[live_view(persist)]` views: after every
//! input that may change a view (a mount, an event, a `handle_info`
//! message, a tick, a resume), its sealed snapshot reaches the view-state
//! store **before** the frames that acknowledge the change leave the
//! process. A process killed without warning (SIGKILL, the OOM killer, a
//! lost machine) then loses no acknowledged event: the client resumes on
//! another process from the last snapshot it was answered after.
//!
//! * Coalesced: a snapshot identical to the one last written (same resume
//!   id, same bytes) is not written again, so pings, refused events and
//!   renders that change nothing cost one serialization and one hash.
//! * Kept alive: a snapshot expires after the grace window; an attached view
//!   that does not change is written again every half window so its copy
//!   never lapses, and a detached view writes with the rest of its window.
//! * When the store fails or is slow (each write waits at most
//!   `STORE_TIMEOUT`): the reply waits, and the write is tried again,
//!   for at most `DJUST_DURABLE_WAIT_MS` in all (5 s by default:
//!   [`Config::durable_wait`](crate::config::Config::durable_wait); a warning is logged once a
//!   second). A short outage (a Redis restart, a failover, a pause) is
//!   then only a slow reply. Past that, the reply is not sent: the socket
//!   closes with 1013 (try again later) and the view waits detached in
//!   this process, as after a network drop. The client reconnects and
//!   resumes: here, with the view as it is (the unsaved change included);
//!   elsewhere, from the last snapshot saved, which holds every change a
//!   reply acknowledged. Nothing acknowledged is ever missing from the
//!   store; an event that was not acknowledged may or may not count, as
//!   for any request whose answer was lost. A circuit breaker spares the
//!   other views the timeout of a store that just failed: for [`RETRY`]
//!   their writes skip the store (and wait), then one write probes it.
//!   Writes that acknowledge nothing (a detached view's updates, the
//!   renewal of an idle view's copy) are retried without holding anything.
//! * Owned: a resume on another process takes the view's id from the store
//!   (restoring it there); from then on the store refuses this process's
//!   writes under that id ([`Stored::Taken`](crate::live::Stored)). The
//!   copy here is then stale ([`Durable::is_lost`]): an attached view's
//!   socket closes with 4409 without the reply (its change was not saved,
//!   so it is not acknowledged), a detached view is dropped, and neither
//!   writes again, so the restored view is the only one.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::AppInner;
use crate::live::{Connection, Stored};

/// Longest wait for the view-state store (a persist view's write or read).
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// How soon a write that failed is tried again; how long the breaker
/// stays open after a failure.
pub(crate) const RETRY: Duration = Duration::from_secs(1);

/// How often a waiting reply tries the store again.
const DURABLE_RETRY: Duration = Duration::from_millis(100);

/// The store key of the view persisted under resume id `id`: in the
/// tenant's namespace when the socket has one.
pub(crate) fn persist_key(id: &str) -> String {
    match crate::tenant::current() {
        Some(tenant) => tenant.scoped(id),
        None => id.to_owned(),
    }
}

/// The key persisted views of this socket's tenant are sealed with.
pub(crate) fn persist_signer(inner: &AppInner) -> crate::auth::Signer {
    inner.live.signer_for(crate::tenant::current().as_ref())
}

/// Forgets what was persisted under `id` (bounded wait; failures only
/// leave the snapshot to its TTL).
pub(crate) async fn forget_persisted(inner: &AppInner, id: &str) {
    if let Some(store) = inner.live.view_states() {
        let _ = tokio::time::timeout(STORE_TIMEOUT, store.remove(&persist_key(id))).await;
    }
}

/// The persisted copy of one view (see the [module docs](self)).
#[derive(Debug, Default)]
pub(crate) struct Durable {
    /// SHA-256 of the resume id and the snapshot last written; `None`
    /// when nothing was written yet or the last write failed.
    written: Option<[u8; 32]>,
    /// The resume id the store holds a snapshot under, if any.
    stored_id: Option<String>,
    /// When to write again without a change (to keep the copy from
    /// expiring, or to retry a failed write).
    again_at: Option<Instant>,
    /// The view's current state is not in the store: its last write
    /// failed or was skipped by the breaker.
    dirty: bool,
    /// The store refused a write: the id was taken by a resume on another
    /// process, which now owns the view. Nothing is written any more.
    lost: bool,
}

/// How long the mark of a taken id outlives the take: while the former
/// owner's copy may still write (its socket may take the heartbeat
/// timeout to be noticed gone, then it waits the grace window), plus a
/// minute of margin.
pub(crate) fn keep_taken(config: &crate::config::Config) -> Duration {
    Duration::from_secs(
        config
            .reconnect_grace_secs
            .saturating_mul(2)
            .saturating_add(config.heartbeat_timeout_secs)
            .saturating_add(60),
    )
}

impl Durable {
    /// When [`Durable::sync`] must run again even without a change.
    pub(crate) fn again_at(&self) -> Option<Instant> {
        self.again_at
    }

    /// Whether the view's current state failed to reach the store.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Whether another process took the view over (see the module docs):
    /// this copy is stale and must end without acknowledging anything.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost
    }

    /// Retries [`Durable::sync`] until the store holds `conn`'s state or
    /// `DJUST_DURABLE_WAIT_MS` has passed; `true` when it does. Each try is
    /// bounded by the store timeout; while the breaker is open the tries
    /// skip the store and wait for its probe to succeed.
    pub(crate) async fn wait_durable(&mut self, inner: &AppInner, conn: &mut Connection) -> bool {
        let deadline = Instant::now() + inner.config.durable_wait();
        while self.dirty && !self.lost {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(DURABLE_RETRY).await;
            // `&mut`: a connection is `Send` but not `Sync`.
            self.sync(inner, &*conn, false).await;
        }
        true
    }

    /// Writes `conn`'s snapshot unless the store already holds this very
    /// one (`force` writes anyway, renewing its TTL). The future resolves
    /// to whether the store holds the view's current state. Does nothing
    /// for a view that does not persist or an app without a view-state
    /// store. The state is taken before the first `.await` (a connection
    /// is not `Sync`).
    pub(crate) fn sync<'a>(
        &'a mut self,
        inner: &'a AppInner,
        conn: &Connection,
        force: bool,
    ) -> impl std::future::Future<Output = bool> + Send + 'a {
        let pending = self.prepare(inner, conn, force);
        async move {
            match pending {
                Prepared::Nothing => false,
                Prepared::Unchanged => true,
                Prepared::Write(write) => self.write(inner, write).await,
            }
        }
    }

    /// What [`Durable::sync`] must do for `conn` now.
    fn prepare(&mut self, inner: &AppInner, conn: &Connection, force: bool) -> Prepared {
        if inner.live.view_states().is_none() || !conn.persists() || self.lost {
            return Prepared::Nothing;
        }
        self.dirty = false;
        let Some((id, snapshot)) = conn.snapshot() else {
            return Prepared::Nothing;
        };
        let Some(plain) = crate::live::encode_snapshot(&snapshot) else {
            return Prepared::Nothing;
        };
        let digest = digest(&id, &plain);
        if !force && self.written == Some(digest) {
            return Prepared::Unchanged;
        }
        let now = Instant::now();
        let grace = Duration::from_secs(inner.config.reconnect_grace_secs);
        // A detached view's copy lives as long as the view may still be
        // resumed; an attached one's is renewed every half window.
        let (ttl, renew) = match conn.detached_until() {
            Some(until) => (until.saturating_duration_since(now).max(RETRY), None),
            None => (grace, Some(now + grace / 2)),
        };
        let Some(sealed) = crate::live::seal_encoded_snapshot(&persist_signer(inner), &id, &plain)
        else {
            if let Some(suppressed) = inner.log_throttle.allow("persist-size", now) {
                tracing::warn!(view = %snapshot.view, suppressed, "a view's state is too large to persist");
            }
            self.written = None;
            self.again_at = None;
            return Prepared::Nothing;
        };
        // After sealing: a probe the breaker lets through always ends in
        // `succeeded` or `failed`.
        if !inner.persist_breaker.allow(now) {
            self.written = None;
            self.again_at = Some(now + RETRY);
            self.dirty = true;
            return Prepared::Nothing;
        }
        Prepared::Write(Write {
            key: persist_key(&id),
            id,
            sealed,
            ttl,
            renew,
            digest,
        })
    }

    /// Puts `write` in the store (bounded wait) and records the outcome.
    async fn write(&mut self, inner: &AppInner, write: Write) -> bool {
        let Some(store) = inner.live.view_states() else {
            return false;
        };
        let put = store.put(&write.key, write.sealed, write.ttl);
        let failure = match tokio::time::timeout(STORE_TIMEOUT, put).await {
            Ok(Ok(Stored::Written)) => None,
            Ok(Ok(Stored::Taken)) => {
                // The store answered: it is up. The view is another
                // process's now; this copy must not be saved nor resumed.
                inner.persist_breaker.succeeded();
                tracing::info!(
                    "a persist view was resumed on another process; its copy here is dropped"
                );
                self.lost = true;
                self.dirty = false;
                self.written = None;
                self.again_at = None;
                // The id is no longer ours to delete: its mark stays.
                self.stored_id = None;
                return false;
            }
            Ok(Err(error)) => Some(error.to_string()),
            Err(_) => Some("timed out".to_owned()),
        };
        let now = Instant::now();
        match failure {
            None => {
                inner.persist_breaker.succeeded();
                self.written = Some(write.digest);
                self.again_at = write.renew;
                self.stored_id = Some(write.id);
                true
            }
            Some(error) => {
                inner.persist_breaker.failed(now);
                if let Some(suppressed) = inner.log_throttle.allow("persist", now) {
                    tracing::warn!(
                        error = %crate::security::sanitize_for_log(&error),
                        suppressed,
                        "view-state store write failed; the reply waits and the write is tried again"
                    );
                }
                self.written = None;
                self.again_at = Some(now + RETRY);
                self.dirty = true;
                false
            }
        }
    }

    /// The view ended for good (closed by its user, by the server, or its
    /// grace window is over): its snapshot must not be resumed any more.
    pub(crate) async fn end(&mut self, inner: &AppInner) {
        self.written = None;
        self.again_at = None;
        if let Some(id) = self.stored_id.take() {
            forget_persisted(inner, &id).await;
        }
    }
}

/// What [`Durable::sync`] found to do.
enum Prepared {
    /// Not a persisted view, or its state cannot be written.
    Nothing,
    /// The store already holds this snapshot.
    Unchanged,
    Write(Write),
}

/// One snapshot on its way to the store.
struct Write {
    id: String,
    key: String,
    sealed: Vec<u8>,
    ttl: Duration,
    /// When to write it again if nothing changes.
    renew: Option<Instant>,
    digest: [u8; 32],
}

/// SHA-256 of `id` and `plain`, length-prefixed so no two pairs collide.
fn digest(id: &str, plain: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update((id.len() as u64).to_be_bytes());
    hasher.update(id.as_bytes());
    hasher.update(plain);
    hasher.finalize().into()
}

/// A circuit breaker over the view-state store: after a failed write the
/// others skip theirs for [`RETRY`] (and retry later) instead of each
/// waiting out the timeout; then one write at a time probes the store
/// until one succeeds.
#[derive(Debug, Default)]
pub(crate) struct Breaker {
    state: Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    /// Open (writes skipped) until then.
    open_until: Option<Instant>,
    /// A probe is in flight.
    probing: bool,
}

impl Breaker {
    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a write may go to the store at `now`.
    pub(crate) fn allow(&self, now: Instant) -> bool {
        let mut state = self.lock();
        match state.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(_) if state.probing => false,
            Some(_) => {
                state.probing = true;
                true
            }
        }
    }

    /// A write succeeded: the store is back.
    pub(crate) fn succeeded(&self) {
        let mut state = self.lock();
        state.open_until = None;
        state.probing = false;
    }

    /// A write failed at `now`: skip writes for [`RETRY`].
    pub(crate) fn failed(&self, now: Instant) {
        let mut state = self.lock();
        state.open_until = Some(now + RETRY);
        state.probing = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_on_failure_then_lets_one_probe_through() {
        let breaker = Breaker::default();
        let start = Instant::now();
        assert!(breaker.allow(start) && breaker.allow(start), "closed");
        breaker.failed(start);
        assert!(!breaker.allow(start + RETRY / 2), "open");
        let later = start + RETRY;
        assert!(breaker.allow(later), "one probe");
        assert!(!breaker.allow(later), "only one");
        breaker.failed(later);
        assert!(!breaker.allow(later + RETRY / 2), "open again");
        assert!(breaker.allow(later + RETRY), "next probe");
        breaker.succeeded();
        assert!(
            breaker.allow(later + RETRY) && breaker.allow(later + RETRY),
            "closed"
        );
    }

    #[test]
    fn digests_separate_the_id_from_the_state() {
        assert_ne!(digest("ab", b"c"), digest("a", b"bc"));
        assert_eq!(digest("a", b"bc"), digest("a", b"bc"));
    }
}
