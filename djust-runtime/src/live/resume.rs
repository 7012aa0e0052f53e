//! [`ResumeToken`]: what a client presents to take its detached view back
//! after its socket dropped.
//!
//! The token is signed (with a key derived for this purpose only, so no
//! other token of the app is accepted as one) and holds a random id, the
//! view's name and when it was issued: nothing about the session or the
//! user. The binding to the session, the user and the view lives on the
//! server, with the detached view: a token presented by another session or
//! user, for another view, after the grace window, or a second time (each
//! resume rotates the id) is refused.

use serde::{Deserialize, Serialize};

use crate::auth::{generate_token, Signer, TokenError, CLOCK_SKEW_SECS};

/// Signing purpose: a resume token is never accepted as anything else.
const PURPOSE: &str = "resume-token";

/// A decoded, signature-checked resume token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeToken {
    /// Random id of the detached view (rotated at every resume).
    #[serde(rename = "i")]
    pub id: String,
    /// The view's wire name.
    #[serde(rename = "v")]
    pub view: String,
    /// Unix seconds when it was issued.
    #[serde(rename = "t")]
    pub issued_at: u64,
}

impl ResumeToken {
    /// A token with a fresh random id for `view`, issued at `now_unix`.
    pub fn fresh(view: &str, now_unix: u64) -> Self {
        ResumeToken {
            id: generate_token(),
            view: view.to_owned(),
            issued_at: now_unix,
        }
    }

    /// The signed token text.
    pub fn encode(&self, signer: &Signer) -> String {
        // Serialising strings and integers cannot fail; an empty payload
        // would only make a token that fails to decode (fail closed).
        let payload = serde_json::to_vec(self).unwrap_or_default();
        signer.derive(PURPOSE).sign(&payload)
    }

    /// Checks the signature and the age: at most `max_age_secs` old (the
    /// token is re-issued at every mount and resume, so it is never older
    /// than the connection's last activity plus the grace window).
    pub fn decode(
        signer: &Signer,
        token: &str,
        now_unix: u64,
        max_age_secs: u64,
    ) -> Result<Self, TokenError> {
        let payload = signer.derive(PURPOSE).open(token)?;
        let token: ResumeToken =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if token.issued_at > now_unix.saturating_add(CLOCK_SKEW_SECS) {
            return Err(TokenError::FromTheFuture);
        }
        if now_unix.saturating_sub(token.issued_at) > max_age_secs {
            return Err(TokenError::Expired);
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SecretKey;

    #[test]
    fn round_trip_and_refusals() {
        let signer = Signer::from_key(&SecretKey::generate());
        let token = ResumeToken::fresh("chat", 1_000);
        let text = token.encode(&signer);
        assert_eq!(
            ResumeToken::decode(&signer, &text, 1_010, 30),
            Ok(token.clone())
        );
        assert_eq!(
            ResumeToken::decode(&signer, &text, 2_000, 30),
            Err(TokenError::Expired)
        );
        assert_eq!(
            ResumeToken::decode(&signer, &text, 900, 30),
            Err(TokenError::FromTheFuture)
        );
        let other = Signer::from_key(&SecretKey::generate());
        assert!(ResumeToken::decode(&other, &text, 1_010, 30).is_err());
        // A mount token (another purpose, same key) is not a resume token.
        let mount = crate::auth::MountToken::new("chat", "s", None, 1_000).encode(&signer);
        assert!(ResumeToken::decode(&signer, &mount, 1_010, 30).is_err());
        for junk in ["", ".", "a.b", &"x".repeat(100_000), "\u{0}.\u{0}"] {
            assert!(ResumeToken::decode(&signer, junk, 1_010, 30).is_err());
        }
        // Nothing but the id, the view and the time.
        let payload = signer.derive(PURPOSE).open(&text).expect("open");
        let fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&payload).expect("json");
        assert_eq!(fields.len(), 3);
    }
}
