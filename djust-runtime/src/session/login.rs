//! Logging in and out: the only places a session changes owner.

use super::{Session, SessionStore, StoreError};
use crate::auth::{csrf, User};

/// Login was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Inactive users cannot log in.
    Inactive,
    /// The session store failed.
    Store(StoreError),
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inactive => f.write_str("user is inactive"),
            Self::Store(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for LoginError {}

impl From<StoreError> for LoginError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// Logs `user` into the session `session_id` (or a new one if `None` or not
/// live) and returns the session to send back in a new cookie.
///
/// The session id always changes (the old id stops loading), so an id an
/// attacker planted before login is worthless afterwards; the CSRF token is
/// replaced too. Data is carried over, unless the session belonged to
/// another user, in which case it starts empty.
pub async fn login<S>(
    store: &S,
    session_id: Option<&str>,
    user: &User,
) -> Result<Session, LoginError>
where
    S: SessionStore + ?Sized,
{
    if !user.is_active {
        return Err(LoginError::Inactive);
    }
    let mut session = match session_id {
        Some(id) => store.rotate(id).await?,
        None => store.create().await?,
    };
    if session
        .user_id
        .as_deref()
        .is_some_and(|previous| previous != user.id)
    {
        session.data.clear();
    }
    session.user_id = Some(user.id.clone());
    session.csrf_token = csrf::generate();
    if store.save(session.clone()).await? {
        Ok(session)
    } else {
        Err(LoginError::Store(StoreError::SessionGone))
    }
}

/// Destroys the session and returns the id of the user who was logged in,
/// so the server can close that user's sockets.
pub async fn logout<S>(store: &S, session_id: &str) -> Result<Option<String>, StoreError>
where
    S: SessionStore + ?Sized,
{
    Ok(store
        .destroy(session_id)
        .await?
        .and_then(|session| session.user_id))
}
