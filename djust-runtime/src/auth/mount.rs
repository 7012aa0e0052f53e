//! The signed, expiring mount token an SSR page embeds for its socket.
//!
//! The page's HTML is readable by any script on it, so the token carries
//! no identifier: instead of the session id and the user id it holds a
//! keyed hash of both (HMAC-SHA256 under a key derived from the secret key
//! for this purpose only, truncated to 128 bits). The socket recomputes the
//! hash from its own session and user and compares. Decoded, a token is
//! `{"v": view name, "b": binding, "t": issued-at}` and nothing else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use super::{constant_time_eq, Signer, TokenError};

/// Default mount token lifetime: one hour.
pub const DEFAULT_MOUNT_TOKEN_TTL_SECS: u64 = 3600;

/// How far in the future `issued_at` may be (clock differences between
/// processes) before a token is refused as [`TokenError::FromTheFuture`].
pub const CLOCK_SKEW_SECS: u64 = 60;

/// Signing purpose, so no other token signed with the same key is accepted.
const PURPOSE: &str = "mount-token";

/// Key purpose of the session and user binding.
const BINDING_PURPOSE: &str = "mount-token-binding";

/// Bytes of the binding kept in a token.
const BINDING_LEN: usize = 16;

/// Longest view name a token carries (view names are identifiers).
const MAX_VIEW_LEN: usize = 256;

/// What the page that served a view vouches for: this view, for this
/// session and user, issued at this time.
///
/// After [`MountToken::decode`], the server must still compare it with the
/// mount request with [`MountToken::matches`]. A token made with
/// [`MountToken::new`] holds the ids it was made for until it is encoded; a
/// decoded one holds only their keyed hash.
#[derive(Clone)]
pub struct MountToken {
    /// View name (`data-djust-view`).
    pub view: String,
    /// Unix seconds when the page was rendered.
    pub issued_at: u64,
    binding: Binding,
}

#[derive(Clone)]
enum Binding {
    /// Made for these ids (before encoding).
    Ids {
        session_id: String,
        user_id: Option<String>,
    },
    /// Decoded: the keyed hash of the ids, and the key to check others with.
    Hash { tag: [u8; BINDING_LEN], key: Signer },
}

/// The token's JSON payload.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    v: String,
    b: String,
    t: u64,
}

impl std::fmt::Debug for MountToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountToken")
            .field("view", &self.view)
            .field("issued_at", &self.issued_at)
            .field("binding", &"<redacted>")
            .finish()
    }
}

/// Two tokens are equal when they name the same view and time and carry
/// the same binding in the same form: the same ids (before encoding) or the
/// same keyed hash (decoded). A token made with [`MountToken::new`] is
/// never equal to a decoded one; compare those with [`MountToken::matches`].
impl PartialEq for MountToken {
    fn eq(&self, other: &Self) -> bool {
        let same_binding = match (&self.binding, &other.binding) {
            (
                Binding::Ids {
                    session_id,
                    user_id,
                },
                Binding::Ids {
                    session_id: other_session,
                    user_id: other_user,
                },
            ) => session_id == other_session && user_id == other_user,
            (Binding::Hash { tag, .. }, Binding::Hash { tag: other_tag, .. }) => {
                bool::from(tag.ct_eq(other_tag))
            }
            _ => false,
        };
        self.view == other.view && self.issued_at == other.issued_at && same_binding
    }
}

impl Eq for MountToken {}

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
            issued_at,
            binding: Binding::Ids {
                session_id: session_id.into(),
                user_id,
            },
        }
    }

    /// The signed token text (safe in an HTML attribute: base64url and `.`).
    pub fn encode(&self, signer: &Signer) -> String {
        let tag = match &self.binding {
            Binding::Ids {
                session_id,
                user_id,
            } => binding_tag(
                &signer.derive(BINDING_PURPOSE),
                session_id,
                user_id.as_deref(),
            ),
            Binding::Hash { tag, .. } => *tag,
        };
        let payload = Payload {
            v: self.view.clone(),
            b: URL_SAFE_NO_PAD.encode(tag),
            t: self.issued_at,
        };
        // Serialising strings and integers cannot fail; an empty payload
        // would only make a token that fails to decode (fail closed).
        let payload = serde_json::to_vec(&payload).unwrap_or_default();
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
        let decoded: Payload =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        let tag: [u8; BINDING_LEN] = URL_SAFE_NO_PAD
            .decode(&decoded.b)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(TokenError::Malformed)?;
        if decoded.v.len() > MAX_VIEW_LEN {
            return Err(TokenError::Malformed);
        }
        if decoded.t > now_unix.saturating_add(CLOCK_SKEW_SECS) {
            return Err(TokenError::FromTheFuture);
        }
        if now_unix > decoded.t.saturating_add(ttl_secs) {
            return Err(TokenError::Expired);
        }
        Ok(Self {
            view: decoded.v,
            issued_at: decoded.t,
            binding: Binding::Hash {
                tag,
                key: signer.derive(BINDING_PURPOSE),
            },
        })
    }

    /// Whether the token was issued for exactly this view, session and user.
    /// Ids are compared in constant time (through their keyed hash once
    /// the token was decoded).
    pub fn matches(&self, view: &str, session_id: &str, user_id: Option<&str>) -> bool {
        let same_view = self.view == view;
        let same_binding = match &self.binding {
            Binding::Ids {
                session_id: mine,
                user_id: my_user,
            } => {
                let same_session = constant_time_eq(mine, session_id);
                let same_user = match (my_user.as_deref(), user_id) {
                    (Some(mine), Some(theirs)) => constant_time_eq(mine, theirs),
                    (None, None) => true,
                    _ => false,
                };
                same_session & same_user
            }
            Binding::Hash { tag, key } => {
                let theirs = binding_tag(key, session_id, user_id);
                bool::from(tag.ct_eq(&theirs))
            }
        };
        same_view & same_binding
    }
}

/// The keyed hash binding a token to a session and a user. Each field is
/// length-prefixed and "no user" differs from every user id, so no two
/// different pairs share an input.
fn binding_tag(key: &Signer, session_id: &str, user_id: Option<&str>) -> [u8; BINDING_LEN] {
    let mut input = Vec::with_capacity(session_id.len() + user_id.map_or(0, str::len) + 24);
    input.extend_from_slice(&(session_id.len() as u64).to_be_bytes());
    input.extend_from_slice(session_id.as_bytes());
    match user_id {
        Some(user) => {
            input.push(1);
            input.extend_from_slice(&(user.len() as u64).to_be_bytes());
            input.extend_from_slice(user.as_bytes());
        }
        None => input.push(0),
    }
    let full = key.keyed_hash(&input);
    let mut tag = [0_u8; BINDING_LEN];
    tag.copy_from_slice(&full[..BINDING_LEN]);
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(b"a test key that is at least thirty-two bytes").expect("key")
    }

    /// GHSA-p8fj-694c-pvhc (a Phoenix token leaked internal addresses): the
    /// decoded payload holds the view, a binding and a time, nothing else.
    #[test]
    fn a_decoded_token_holds_no_identifier() {
        let session = "Zm9vYmFyLXNlc3Npb24taWQtdGhhdC1pcy1zZWNyZXQ";
        let token = MountToken::new("contacts", session, Some("user-4242".into()), 1_700_000_000)
            .encode(&signer());
        let (payload, _) = token.split_once('.').expect("payload.tag");
        let payload = URL_SAFE_NO_PAD.decode(payload).expect("base64");
        let json: serde_json::Value = serde_json::from_slice(&payload).expect("json");
        let keys: Vec<&String> = json.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["b", "t", "v"], "{json}");
        let text = String::from_utf8_lossy(&payload);
        for secret in [session, "user-4242", "4242"] {
            assert!(!text.contains(secret), "{text}");
        }
        let decoded = MountToken::decode(&signer(), &token, 1_700_000_000, 3600).expect("valid");
        assert!(decoded.matches("contacts", session, Some("user-4242")));
        assert!(!decoded.matches("contacts", session, Some("user-4243")));
        assert!(!decoded.matches("contacts", session, None));
        assert!(!format!("{decoded:?}").contains("user-4242"));
    }

    #[test]
    fn bindings_of_different_pairs_differ() {
        let key = signer().derive(BINDING_PURPOSE);
        let pairs: [(&str, Option<&str>); 5] = [
            ("ab", Some("c")),
            ("a", Some("bc")),
            ("abc", None),
            ("", None),
            ("", Some("")),
        ];
        for (index, (session, user)) in pairs.iter().enumerate() {
            for (other_session, other_user) in &pairs[index + 1..] {
                assert_ne!(
                    binding_tag(&key, session, *user),
                    binding_tag(&key, other_session, *other_user),
                    "{session:?}/{user:?} vs {other_session:?}/{other_user:?}"
                );
            }
        }
    }

    #[test]
    fn a_bad_binding_or_oversize_view_is_malformed() {
        let signer = signer();
        for payload in [
            r#"{"v":"x","b":"","t":1}"#,
            r#"{"v":"x","b":"AAAA","t":1}"#,
            r#"{"v":"x","b":"!!!!!!!!!!!!!!!!!!!!!!","t":1}"#,
            r#"{"v":"x","s":"session","u":"1","t":1}"#,
        ] {
            let token = signer.derive(PURPOSE).sign(payload.as_bytes());
            assert_eq!(
                MountToken::decode(&signer, &token, 1, 3600).err(),
                Some(TokenError::Malformed),
                "{payload}"
            );
        }
        let long = MountToken::new("v".repeat(300), "", None, 1).encode(&signer);
        assert_eq!(
            MountToken::decode(&signer, &long, 1, 3600).err(),
            Some(TokenError::Malformed)
        );
    }
}
