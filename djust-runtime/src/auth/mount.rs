//! The signed, expiring mount token an SSR page embeds for its socket.

use serde::{Deserialize, Serialize};

use super::{constant_time_eq, Signer, TokenError};

/// Default mount token lifetime: one hour.
pub const DEFAULT_MOUNT_TOKEN_TTL_SECS: u64 = 3600;

/// How far in the future `issued_at` may be (clock differences between
/// processes) before a token is refused as [`TokenError::FromTheFuture`].
pub const CLOCK_SKEW_SECS: u64 = 60;

/// Signing purpose, so no other token signed with the same key is accepted.
const PURPOSE: &str = "mount-token";

/// What the page that served a view vouches for: this view, for this
/// session and user, issued at this time.
///
/// After [`MountToken::decode`], the server must still compare the fields
/// with the mount request, e.g. with [`MountToken::matches`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountToken {
    /// View name (`data-djust-view`).
    #[serde(rename = "v")]
    pub view: String,
    /// Session the page was rendered for.
    #[serde(rename = "s")]
    pub session_id: String,
    /// User the page was rendered for; `None` for anonymous.
    #[serde(rename = "u")]
    pub user_id: Option<String>,
    /// Unix seconds when the page was rendered.
    #[serde(rename = "t")]
    pub issued_at: u64,
}

impl MountToken {
    /// A token for `view`, `session_id` and `user_id`, issued at `issued_at`.
    pub fn new(
        view: impl Into<String>,
        session_id: impl Into<String>,
        user_id: Option<String>,
        issued_at: u64,
    ) -> Self {
        Self {
            view: view.into(),
            session_id: session_id.into(),
            user_id,
            issued_at,
        }
    }

    /// The signed token text (safe in an HTML attribute: base64url and `.`).
    pub fn encode(&self, signer: &Signer) -> String {
        // Serialising strings and integers cannot fail; an empty payload
        // would only make a token that fails to decode (fail closed).
        let payload = serde_json::to_vec(self).unwrap_or_default();
        signer.derive(PURPOSE).sign(&payload)
    }

    /// Verifies and decodes `token` at `now_unix`, refusing it if older than
    /// `ttl_secs` or issued more than [`CLOCK_SKEW_SECS`] in the future.
    pub fn decode(
        signer: &Signer,
        token: &str,
        now_unix: u64,
        ttl_secs: u64,
    ) -> Result<Self, TokenError> {
        let payload = signer.derive(PURPOSE).open(token)?;
        let decoded: Self = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if decoded.issued_at > now_unix.saturating_add(CLOCK_SKEW_SECS) {
            return Err(TokenError::FromTheFuture);
        }
        if now_unix > decoded.issued_at.saturating_add(ttl_secs) {
            return Err(TokenError::Expired);
        }
        Ok(decoded)
    }

    /// Whether the token was issued for exactly this view, session and user.
    /// Session and user ids are compared in constant time.
    pub fn matches(&self, view: &str, session_id: &str, user_id: Option<&str>) -> bool {
        let same_view = self.view == view;
        let same_session = constant_time_eq(&self.session_id, session_id);
        let same_user = match (self.user_id.as_deref(), user_id) {
            (Some(mine), Some(theirs)) => constant_time_eq(mine, theirs),
            (None, None) => true,
            _ => false,
        };
        same_view & same_session & same_user
    }
}
