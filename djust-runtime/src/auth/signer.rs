//! HMAC-SHA256 signing of small payloads with a secret key that never prints.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

type HmacSha256 = Hmac<Sha256>;

/// Minimum secret key length in bytes.
pub const MIN_KEY_LEN: usize = 32;

/// Longest token [`Signer::verify`] looks at (64 KiB, the message size
/// limit); anything longer is refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

const TAG_LEN: usize = 32;

/// Secret key material for [`Signer`]. Its `Debug` shows only the length.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Wraps `bytes`, refusing keys shorter than [`MIN_KEY_LEN`] bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort {
                len: bytes.len(),
                min: MIN_KEY_LEN,
            });
        }
        Ok(Self(bytes))
    }

    /// A fresh random 32-byte key from the OS-seeded CSPRNG. For debug mode:
    /// tokens signed with it die with the process.
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; MIN_KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Key length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a key has at least [`MIN_KEY_LEN`] bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(<redacted, {} bytes>)", self.0.len())
    }
}

/// A secret key was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The key is shorter than the minimum.
    TooShort {
        /// Bytes given.
        len: usize,
        /// Bytes required.
        min: usize,
    },
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooShort { len, min } => write!(
                f,
                "secret key is {len} bytes but at least {min} are required; \
                 use {min}+ random bytes (e.g. `openssl rand -base64 48`)"
            ),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a signed token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not of the form `base64url.base64url`, too long, or an unreadable payload.
    Malformed,
    /// The tag does not match: tampered, truncated or signed with another key.
    BadSignature,
    /// Older than its time-to-live.
    Expired,
    /// Issued further in the future than the clock skew allows.
    FromTheFuture,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed token",
            Self::BadSignature => "bad token signature",
            Self::Expired => "token expired",
            Self::FromTheFuture => "token issued in the future",
        })
    }
}

impl std::error::Error for TokenError {}

/// Signs and verifies payloads with HMAC-SHA256.
///
/// Token format: `base64url(payload) "." base64url(tag)` (no padding), where
/// the tag is the HMAC of the encoded payload text. Verification compares
/// tags in constant time and never panics, whatever the input.
#[derive(Clone)]
pub struct Signer {
    mac: HmacSha256,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { key: <redacted> }")
    }
}

impl Signer {
    /// A signer for raw key bytes; refuses keys shorter than [`MIN_KEY_LEN`].
    pub fn new(key: &[u8]) -> Result<Self, KeyError> {
        SecretKey::new(key).map(|key| Self::from_key(&key))
    }

    /// A signer for an already-validated key.
    pub fn from_key(key: &SecretKey) -> Self {
        Self::from_raw(&key.0)
    }

    fn from_raw(key: &[u8]) -> Self {
        // HMAC accepts keys of any length, so `new_from_slice` never fails;
        // the infallible block-sized-key constructor keeps this panic-free.
        let mac = match <HmacSha256 as KeyInit>::new_from_slice(key) {
            Ok(mac) => mac,
            Err(_) => <HmacSha256 as KeyInit>::new(&Default::default()),
        };
        Self { mac }
    }

    /// A signer with an independent key derived for `purpose`, so a token
    /// made for one purpose (say a session cookie) is refused as another
    /// (say a mount token).
    pub fn derive(&self, purpose: &str) -> Self {
        let mut mac = self.mac.clone();
        mac.update(b"djust-rs/derive/");
        mac.update(purpose.as_bytes());
        Self::from_raw(&mac.finalize().into_bytes())
    }

    /// A 32-byte key derived for `purpose` (e.g. to encrypt with), never
    /// equal to a signing key of any purpose.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(b"djust-rs/key/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Signs `payload`.
    pub fn sign(&self, payload: &[u8]) -> String {
        let encoded = URL_SAFE_NO_PAD.encode(payload);
        let tag = self.tag(encoded.as_bytes());
        let mut token = encoded;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut token);
        token
    }

    /// The payload of a token this signer made, or `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<Vec<u8>> {
        self.open(token).ok()
    }

    /// Like [`Signer::verify`] but says why a token was refused
    /// ([`TokenError::Malformed`] or [`TokenError::BadSignature`]).
    pub fn open(&self, token: &str) -> Result<Vec<u8>, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (encoded, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
        if tag.contains('.') {
            return Err(TokenError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| TokenError::Malformed)?;
        let expected = self.tag(encoded.as_bytes());
        // `ct_eq` on slices of different lengths is false without looking at
        // the content; the length of a tag is public.
        if bool::from(expected.as_slice().ct_eq(tag.as_slice())) {
            Ok(payload)
        } else {
            Err(TokenError::BadSignature)
        }
    }

    /// The HMAC-SHA256 of `data` under this signer's key: a keyed hash
    /// that binds a value without revealing it (use a [`Signer::derive`]d
    /// signer per purpose).
    pub fn keyed_hash(&self, data: &[u8]) -> [u8; 32] {
        self.tag(data)
    }

    fn tag(&self, data: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}
