//! Random tokens and constant-time string comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// A fresh unguessable token: 32 bytes from the OS-seeded CSPRNG,
/// base64url without padding (43 characters).
pub fn generate_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time independent of their content.
///
/// Both sides are hashed with SHA-256 and the digests compared with
/// `subtle`, together with the lengths, so neither a shared prefix nor a
/// length mismatch returns early; only the lengths (through hashing time)
/// can be observed.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let digest_a = Sha256::digest(a.as_bytes());
    let digest_b = Sha256::digest(b.as_bytes());
    let same_len = (a.len() as u64).ct_eq(&(b.len() as u64));
    bool::from(digest_a.as_slice().ct_eq(digest_b.as_slice()) & same_len)
}
