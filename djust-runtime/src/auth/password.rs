//! Password hashing with argon2id, stored as PHC strings.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use once_cell::sync::Lazy;
use rand::RngCore as _;

/// Longest password accepted, in bytes. Longer ones are refused by
/// [`hash_password`] and never verify, bounding the work one login costs.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// Largest cost [`verify_password`] will run for a stored hash: memory in
/// KiB, iterations, lanes. A hash asking for more is treated as malformed
/// rather than letting one row allocate gigabytes.
const MAX_VERIFY_M_COST_KIB: u32 = 256 * 1024;
const MAX_VERIFY_T_COST: u32 = 16;
const MAX_VERIFY_P_COST: u32 = 16;

/// Argon2id cost parameters.
///
/// The default is the OWASP recommendation (m = 19456 KiB, t = 2, p = 1) and
/// is what [`hash_password`] uses. Lower values exist only so test suites can
/// hash quickly; they are weak for real passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism (lanes).
    pub p_cost: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self {
            m_cost_kib: Params::DEFAULT_M_COST,
            t_cost: Params::DEFAULT_T_COST,
            p_cost: Params::DEFAULT_P_COST,
        }
    }
}

/// A password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// Longer than [`MAX_PASSWORD_BYTES`].
    TooLong,
    /// The cost parameters are out of argon2's range.
    InvalidParams,
    /// argon2 failed (should not happen with valid parameters).
    Hash,
}

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLong => write!(f, "password longer than {MAX_PASSWORD_BYTES} bytes"),
            Self::InvalidParams => f.write_str("invalid argon2 parameters"),
            Self::Hash => f.write_str("password hashing failed"),
        }
    }
}

impl std::error::Error for PasswordError {}

/// Hashes `password` with argon2id, the OWASP parameters and a random
/// 16-byte salt; returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    hash_password_with(password, PasswordParams::default())
}

/// Hashes `password` with argon2id and explicit cost `params`.
pub fn hash_password_with(password: &str, params: PasswordParams) -> Result<String, PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    let params = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, None)
        .map_err(|_| PasswordError::InvalidParams)?;
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hash)?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// Whether `password` matches the PHC string `phc_hash`.
///
/// `false` for a wrong password, a malformed or non-argon2 hash, a hash with
/// absurd cost parameters, or a password over [`MAX_PASSWORD_BYTES`]; never
/// panics. The comparison inside argon2 is constant time.
pub fn verify_password(password: &str, phc_hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES || phc_hash.len() > 1024 {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc_hash) else {
        return false;
    };
    if !matches!(
        parsed.algorithm.as_str(),
        "argon2id" | "argon2i" | "argon2d"
    ) {
        return false;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_M_COST_KIB
        || params.t_cost() > MAX_VERIFY_T_COST
        || params.p_cost() > MAX_VERIFY_P_COST
    {
        tracing::warn!("refusing to verify a password hash with excessive argon2 cost");
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a fixed string with the default parameters, computed once.
static DUMMY_HASH: Lazy<Option<String>> =
    Lazy::new(|| hash_password("djust-rs dummy password for timing").ok());

/// [`verify_password`] for a login where the user may not exist.
///
/// With `None` (unknown user) it still runs one default-cost verification
/// against a dummy hash and returns `false`, so response time does not tell
/// an attacker which usernames exist.
pub fn verify_password_or_dummy(password: &str, phc_hash: Option<&str>) -> bool {
    match phc_hash {
        Some(hash) => verify_password(password, hash),
        None => {
            if let Some(dummy) = DUMMY_HASH.as_deref() {
                let _ = verify_password(password, dummy);
            }
            false
        }
    }
}
