//! Nicks in the room: who may use which name.
//!
//! A nick is an [`Identifier`] (NFKC, nothing hidden); two nicks whose
//! look-alike keys are equal (`Ann`, `ann`, `ＡＮＮ`, a Cyrillic `Аnn`)
//! are the same nick. A nick is held by its owner while one of the owner's
//! views is in the room:
//!
//! - the owner is the session (every view of a logged-in session, so a
//!   reconnect or a second tab may join with it again), or, for a visitor
//!   without a session (the chat has no logins), the one view that joined:
//!   a dropped socket that resumes is the same view and keeps its nick;
//! - another owner asking for the nick, or for a look-alike, is refused;
//! - the nick is free again when the owner's last view holding it leaves
//!   (closes, or joins with another nick).
//!
//! In one process the holds live in a map here. With Redis (`--redis`)
//! the map is a cache of what Redis decides: a nick is taken in Redis
//! first (`room/cluster.rs`, one hash per nick, each process's hold with
//! an expiry it refreshes), so two processes cannot hand one nick to two
//! owners.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use djust::text::Identifier;

use super::Room;

/// Who holds a nick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NickOwner {
    /// Every view of this session (the session cookie's id).
    Session(String),
    /// One view without a session (its number in this process's room).
    View(u64),
}

/// Why a nick was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NickRefused {
    /// The nick, or one that looks like it, is held by someone else.
    Taken {
        /// The nick as its holder shows it.
        held_as: String,
    },
    /// Names could not be checked (with Redis: Redis did not answer), so
    /// none is handed out: two people would otherwise get one nick.
    Unchecked,
}

impl std::fmt::Display for NickRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NickRefused::Taken { held_as } => write!(
                f,
                "the name is taken: someone in the room is “{held_as}”; pick another"
            ),
            NickRefused::Unchecked => f.write_str(
                "names cannot be checked right now (the chat is briefly unavailable); try again",
            ),
        }
    }
}

impl std::error::Error for NickRefused {}

/// One owner's hold on a nick in this process.
struct Holder {
    owner: NickOwner,
    shown_as: String,
    /// Claims alive for this owner (one per view that joined with it).
    claims: usize,
    /// This hold's number (its field in Redis, with `--redis`).
    hold: u64,
}

/// A hold as the Redis refresh needs it.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(super) struct HeldNick {
    pub(super) key: String,
    pub(super) owner: NickOwner,
    pub(super) shown_as: String,
    pub(super) hold: u64,
}

/// What a local claim found.
enum Local {
    /// The owner already holds the nick here: one more claim on that hold.
    Joined(u64),
    /// Another owner holds it (shown as this).
    Taken(String),
    /// Nobody here holds it, and it was not taken.
    Free,
    /// Nobody here held it: it is now held under `new_hold`.
    Inserted(u64),
}

/// The nicks held in this process, by look-alike key.
#[derive(Default)]
pub(super) struct Nicks {
    held: Mutex<HashMap<String, Holder>>,
    next_hold: AtomicU64,
}

impl Nicks {
    /// Adds a claim of `owner` on `nick`: to the owner's hold if there is
    /// one, refused if another owner's, else (with `new_hold`) a new hold
    /// showing the nick as `shown_as`.
    fn claim(&self, nick: &Identifier, owner: &NickOwner, new_hold: Option<(u64, &str)>) -> Local {
        let mut held = self.held();
        match held.get_mut(nick.key()) {
            Some(holder) if holder.owner == *owner => {
                holder.claims += 1;
                Local::Joined(holder.hold)
            }
            Some(holder) => Local::Taken(holder.shown_as.clone()),
            None => match new_hold {
                None => Local::Free,
                Some((hold, shown_as)) => {
                    held.insert(
                        nick.key().to_owned(),
                        Holder {
                            owner: owner.clone(),
                            shown_as: shown_as.to_owned(),
                            claims: 1,
                            hold,
                        },
                    );
                    Local::Inserted(hold)
                }
            },
        }
    }

    /// Removes one claim on hold `hold` of `key`; `true` when that was the
    /// last one (the nick is free in this process).
    fn release(&self, key: &str, hold: u64) -> bool {
        let mut held = self.held();
        let Some(holder) = held.get_mut(key).filter(|holder| holder.hold == hold) else {
            return false;
        };
        holder.claims = holder.claims.saturating_sub(1);
        if holder.claims > 0 {
            return false;
        }
        held.remove(key);
        true
    }

    /// Whether hold `hold` of `key` is still here.
    fn holds(&self, key: &str, hold: u64) -> bool {
        self.held()
            .get(key)
            .is_some_and(|holder| holder.hold == hold)
    }

    /// Drops hold `hold` of `key` whatever its claims (Redis gave the nick
    /// to someone else); `true` if it was here.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn forget(&self, key: &str, hold: u64) -> bool {
        let mut held = self.held();
        if held.get(key).is_some_and(|holder| holder.hold == hold) {
            held.remove(key);
            return true;
        }
        false
    }

    fn new_hold(&self) -> u64 {
        self.next_hold.fetch_add(1, Ordering::Relaxed)
    }

    /// Every hold in this process (for the Redis refresh).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn snapshot(&self) -> Vec<HeldNick> {
        self.held()
            .iter()
            .map(|(key, holder)| HeldNick {
                key: key.clone(),
                owner: holder.owner.clone(),
                shown_as: holder.shown_as.clone(),
                hold: holder.hold,
            })
            .collect()
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, Holder>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A view's hold on its nick; dropping it (the view closed, or joined
/// with another nick) gives the nick back when no other view of the same
/// owner holds it.
pub struct NickClaim {
    room: Arc<Room>,
    key: String,
    /// Who holds it (Redis keeps the owner with each hold).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    owner: NickOwner,
    hold: u64,
}

impl NickClaim {
    /// `false` once the nick was taken away from this claim: with Redis,
    /// when this process could not refresh its hold in time (Redis was
    /// unreachable or lost its data) and someone else took the nick
    /// meanwhile. The room then sends [`RoomEvent::NicksLost`](super::RoomEvent).
    pub fn is_held(&self) -> bool {
        self.room.nicks.holds(&self.key, self.hold)
    }
}

impl std::fmt::Debug for NickClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NickClaim").field("key", &self.key).finish()
    }
}

impl Drop for NickClaim {
    fn drop(&mut self) {
        if self.room.nicks.release(&self.key, self.hold) {
            #[cfg(feature = "redis")]
            if let Some(cluster) = &self.room.cluster {
                cluster.release_nick(self.room.process, &self.key, &self.owner, self.hold);
            }
        }
    }
}

impl Room {
    /// Claims `nick` for `owner`: refused if another owner holds it or a
    /// nick that looks like it (in any process, with Redis).
    pub async fn claim_nick(
        self: &Arc<Self>,
        nick: &Identifier,
        owner: NickOwner,
    ) -> Result<NickClaim, NickRefused> {
        let new_hold = self.nicks.new_hold();
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            let hold = self
                .claim_nick_shared(cluster, nick, &owner, new_hold)
                .await?;
            return Ok(self.nick_claim(nick, owner, hold));
        }
        match self
            .nicks
            .claim(nick, &owner, Some((new_hold, nick.as_str())))
        {
            Local::Joined(hold) | Local::Inserted(hold) => Ok(self.nick_claim(nick, owner, hold)),
            Local::Taken(held_as) => Err(NickRefused::Taken { held_as }),
            Local::Free => Err(NickRefused::Unchecked),
        }
    }

    /// The guard of a claim counted on `hold` in `nicks`.
    fn nick_claim(self: &Arc<Self>, nick: &Identifier, owner: NickOwner, hold: u64) -> NickClaim {
        NickClaim {
            room: Arc::clone(self),
            key: nick.key().to_owned(),
            owner,
            hold,
        }
    }

    /// Counts a claim of `owner` on `nick` in `nicks` once Redis agrees;
    /// the hold it counts on.
    #[cfg(feature = "redis")]
    async fn claim_nick_shared(
        &self,
        cluster: &super::cluster::Cluster,
        nick: &Identifier,
        owner: &NickOwner,
        new_hold: u64,
    ) -> Result<u64, NickRefused> {
        // Held here already: by this owner (its hold in Redis is refreshed
        // by the heartbeat), or by someone else.
        match self.nicks.claim(nick, owner, None) {
            Local::Joined(hold) => return Ok(hold),
            Local::Taken(held_as) => return Err(NickRefused::Taken { held_as }),
            Local::Free | Local::Inserted(_) => {}
        }
        let shown_as = cluster
            .claim_nick(self.process, nick, owner, new_hold)
            .await?;
        let counted = match self.nicks.claim(nick, owner, Some((new_hold, &shown_as))) {
            Local::Inserted(hold) => return Ok(hold),
            Local::Joined(hold) => Ok(hold),
            Local::Taken(held_as) => Err(NickRefused::Taken { held_as }),
            Local::Free => Err(NickRefused::Unchecked),
        };
        // Another view took it here meanwhile (the same owner, whose own
        // hold counts, or, after a lost hold, someone else): this hold in
        // Redis is one too many.
        cluster.release_nick(self.process, nick.key(), owner, new_hold);
        counted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use djust::text::identifier;

    fn nick(name: &str) -> Identifier {
        identifier(name).expect(name)
    }

    #[tokio::test]
    async fn a_nick_is_held_by_one_owner_until_its_last_claim_goes() {
        let room = Arc::new(Room::new());
        let ann = NickOwner::View(1);
        let claim = room
            .claim_nick(&nick("Ann"), ann.clone())
            .await
            .expect("free");
        for look_alike in ["Ann", "ann", "ＡＮＮ", "\u{410}nn", "Ann\u{FE0F}", " Ann "] {
            let refused = room
                .claim_nick(&nick(look_alike), NickOwner::View(2))
                .await
                .expect_err(look_alike);
            assert_eq!(
                refused,
                NickRefused::Taken {
                    held_as: "Ann".to_owned()
                },
                "{look_alike:?}"
            );
        }
        // The owner may claim it again; it stays held until both go.
        let again = room
            .claim_nick(&nick("ann"), ann)
            .await
            .expect("same owner");
        drop(claim);
        assert!(room
            .claim_nick(&nick("Ann"), NickOwner::View(2))
            .await
            .is_err());
        drop(again);
        let taken = room.claim_nick(&nick("ANN"), NickOwner::View(2)).await;
        assert!(taken.is_ok(), "free once its owner left");
        // ... and now shown as its new holder wrote it.
        let refused = room.claim_nick(&nick("ann"), NickOwner::View(3)).await;
        assert_eq!(
            refused.map(drop),
            Err(NickRefused::Taken {
                held_as: "ANN".to_owned()
            })
        );
    }

    #[tokio::test]
    async fn every_view_of_a_session_shares_its_nick_and_other_sessions_may_not() {
        let room = Arc::new(Room::new());
        let session = NickOwner::Session("s-1".to_owned());
        let first = room
            .claim_nick(&nick("Bob"), session.clone())
            .await
            .expect("free");
        let second = room
            .claim_nick(&nick("BOB"), session.clone())
            .await
            .expect("same session");
        let other = NickOwner::Session("s-2".to_owned());
        assert!(room.claim_nick(&nick("Bob"), other.clone()).await.is_err());
        assert!(room
            .claim_nick(&nick("Bob"), NickOwner::View(7))
            .await
            .is_err());
        // The first tab closes: the session still holds it in the second.
        drop(first);
        assert!(room.claim_nick(&nick("Bob"), other.clone()).await.is_err());
        // A reconnect of the session takes it again.
        let reconnected = room.claim_nick(&nick("bob"), session).await;
        assert!(reconnected.is_ok());
        drop(second);
        drop(reconnected);
        // The session left: the nick is free for anyone.
        assert!(room.claim_nick(&nick("Bob"), other).await.is_ok());
    }

    #[tokio::test]
    async fn different_nicks_do_not_collide() {
        let room = Arc::new(Room::new());
        let _ann = room
            .claim_nick(&nick("Ann"), NickOwner::View(1))
            .await
            .expect("free");
        for other in ["Anna", "An n", "Bob", "Аnnа2"] {
            assert!(
                room.claim_nick(&nick(other), NickOwner::View(2))
                    .await
                    .is_ok(),
                "{other:?}"
            );
        }
    }

    #[test]
    fn refusals_say_why() {
        let taken = NickRefused::Taken {
            held_as: "Ann".to_owned(),
        };
        assert_eq!(
            taken.to_string(),
            "the name is taken: someone in the room is “Ann”; pick another"
        );
        assert!(NickRefused::Unchecked.to_string().contains("try again"));
    }
}
