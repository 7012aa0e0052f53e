//! Users, permissions, the anonymous identity, and the backend trait an app
//! implements to authenticate and load users.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use super::{verify_password_or_dummy, BoxFuture};

/// Whether `perm` is a well-formed permission name `app.codename`
/// (`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`).
pub fn is_valid_permission(perm: &str) -> bool {
    fn is_name(part: &str) -> bool {
        let mut bytes = part.bytes();
        bytes.next().is_some_and(|first| first.is_ascii_lowercase())
            && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }
    match perm.split_once('.') {
        Some((app, codename)) => is_name(app) && is_name(codename),
        None => false,
    }
}

/// An authenticated (or at least known) user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable id (stored in the session and in mount tokens).
    pub id: String,
    /// Display / login name.
    pub username: String,
    /// Granted permissions, `app.codename`.
    pub permissions: BTreeSet<String>,
    /// Inactive users are not authenticated and have no permissions.
    pub is_active: bool,
}

impl User {
    /// An active user with no permissions.
    pub fn new(id: impl Into<String>, username: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            username: username.into(),
            permissions: BTreeSet::new(),
            is_active: true,
        }
    }

    /// Adds a permission (builder style). Malformed names are stored but can
    /// never be granted by [`User::has_perm`].
    pub fn with_permission(mut self, perm: impl Into<String>) -> Self {
        self.permissions.insert(perm.into());
        self
    }

    /// Whether the user is active and holds `perm` (which must be well-formed).
    pub fn has_perm(&self, perm: &str) -> bool {
        self.is_active && is_valid_permission(perm) && self.permissions.contains(perm)
    }

    /// Whether the user holds every permission in `perms`.
    pub fn has_perms(&self, perms: &[&str]) -> bool {
        perms.iter().all(|perm| self.has_perm(perm))
    }

    /// Whether this user counts as logged in: only active users do.
    pub fn is_authenticated(&self) -> bool {
        self.is_active
    }
}

/// Who is making a request: anonymous or a user. `Option<User>` converts
/// into it (`None` is anonymous).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Identity {
    /// Nobody logged in.
    #[default]
    Anonymous,
    /// A user (possibly inactive, which counts as not authenticated).
    User(User),
}

impl Identity {
    /// Whether an active user is logged in.
    pub fn is_authenticated(&self) -> bool {
        self.user().is_some_and(User::is_authenticated)
    }

    /// Whether an active user holding `perm` is logged in.
    pub fn has_perm(&self, perm: &str) -> bool {
        self.user().is_some_and(|user| user.has_perm(perm))
    }

    /// The user, if any (active or not).
    pub fn user(&self) -> Option<&User> {
        match self {
            Self::Anonymous => None,
            Self::User(user) => Some(user),
        }
    }

    /// The user id, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.user().map(|user| user.id.as_str())
    }
}

impl From<Option<User>> for Identity {
    fn from(user: Option<User>) -> Self {
        user.map_or(Self::Anonymous, Self::User)
    }
}

impl From<User> for Identity {
    fn from(user: User) -> Self {
        Self::User(user)
    }
}

/// How the app finds users. Object-safe (`Arc<dyn AuthBackend>`) and async,
/// since it usually talks to a database.
///
/// `authenticate` should take about the same time whether or not the
/// username exists (see [`verify_password_or_dummy`]) and return `None` for
/// inactive users.
pub trait AuthBackend: Send + Sync {
    /// The user with these credentials, or `None`.
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Option<User>>;

    /// The user with this id (from the session), or `None`.
    fn load_user<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<User>>;
}

/// An [`AuthBackend`] holding users and argon2 hashes in memory: for
/// examples, tests and small apps.
///
/// `authenticate` runs argon2 (tens of milliseconds at the default cost) on
/// `tokio::task::spawn_blocking` when called inside a tokio runtime (on the
/// calling thread otherwise), so hashing never stalls the tasks serving
/// other requests; a database-backed backend should do the same. Unknown
/// usernames cost the same as known ones ([`verify_password_or_dummy`]).
#[derive(Debug, Default)]
pub struct MemoryAuthBackend {
    users: RwLock<HashMap<String, (User, String)>>,
}

impl MemoryAuthBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces `user` with the PHC string `password_hash`
    /// (from [`hash_password`](super::hash_password)).
    pub fn insert(&self, user: User, password_hash: String) {
        let mut users = self
            .users
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users.insert(user.username.clone(), (user, password_hash));
    }

    /// The user and stored hash for `username`, copied out of the lock so
    /// no lock is held while hashing.
    fn entry(&self, username: &str) -> Option<(User, String)> {
        let users = self
            .users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users.get(username).cloned()
    }

    fn load_now(&self, id: &str) -> Option<User> {
        let users = self
            .users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users
            .values()
            .find(|(user, _)| user.id == id && user.is_active)
            .map(|(user, _)| user.clone())
    }
}

impl AuthBackend for MemoryAuthBackend {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Option<User>> {
        let entry = self.entry(username);
        let hash = entry.as_ref().map(|(_, hash)| hash.clone());
        let password = password.to_owned();
        let check = move || verify_password_or_dummy(&password, hash.as_deref());
        Box::pin(async move {
            let ok = match tokio::runtime::Handle::try_current() {
                Ok(runtime) => runtime.spawn_blocking(check).await.unwrap_or(false),
                Err(_) => check(),
            };
            entry
                .filter(|(user, _)| ok && user.is_active)
                .map(|(user, _)| user)
        })
    }

    fn load_user<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<User>> {
        Box::pin(std::future::ready(self.load_now(id)))
    }
}
