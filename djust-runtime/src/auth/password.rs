//! Password hashing with argon2id, stored as PHC strings.
//!
//! Every hash runs in the process's reused working memory
//! ([`super::hash_memory`]): at most one buffer per core exists, and a
//! hash waits for a free one, so no number of concurrent logins can make
//! hashing take more memory than that.

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use once_cell::sync::Lazy;
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

use super::hash_memory::hash_memory;

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
///
/// CPU-bound (tens of milliseconds at the default cost) and it may wait for
/// a free working-memory buffer: call it from `tokio::task::spawn_blocking`
/// in async code.
pub fn hash_password_with(password: &str, params: PasswordParams) -> Result<String, PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    let params = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, None)
        .map_err(|_| PasswordError::InvalidParams)?;
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt_string = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hash)?;
    let mut out = [0_u8; Params::DEFAULT_OUTPUT_LEN];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    hash_memory()
        .with(params.block_count(), |blocks| {
            argon.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks)
        })
        .map_err(|_| PasswordError::Hash)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| PasswordError::Hash)?,
        salt: Some(Salt::from(&salt_string)),
        hash: Some(Output::new(&out).map_err(|_| PasswordError::Hash)?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc_hash`.
///
/// `false` for a wrong password, a malformed or non-argon2 hash, a hash with
/// absurd cost parameters, or a password over [`MAX_PASSWORD_BYTES`]; never
/// panics. The hashes are compared in constant time. Blocking, like
/// [`hash_password_with`]: call it from `spawn_blocking` in async code.
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
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0_u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut computed = [0_u8; Output::MAX_LENGTH];
    let Some(computed) = computed.get_mut(..expected.len()) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let hashed = hash_memory().with(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt, computed, blocks)
    });
    hashed.is_ok() && bool::from(computed.ct_eq(expected.as_bytes()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    fn cheap() -> PasswordParams {
        PasswordParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// The pooled implementation agrees with argon2's own verification for
    /// every variant, version and output length a stored hash may have.
    #[test]
    fn pooled_verification_agrees_with_argon2() {
        let ours = hash_password_with("correct horse", cheap()).expect("hash");
        assert!(ours.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{ours}");
        let salt = SaltString::encode_b64(b"sixteen byte salt").expect("salt");
        let mut stored = vec![ours];
        for (algorithm, version, output) in [
            (Algorithm::Argon2i, Version::V0x13, 32),
            (Algorithm::Argon2d, Version::V0x13, 16),
            (Algorithm::Argon2id, Version::V0x10, 64),
            (Algorithm::Argon2id, Version::V0x13, 48),
        ] {
            let params = Params::new(32, 2, 2, Some(output)).expect("params");
            let hash = Argon2::new(algorithm, version, params)
                .hash_password(b"correct horse", &salt)
                .expect("hash");
            stored.push(hash.to_string());
        }
        for phc in &stored {
            let parsed = PasswordHash::new(phc).expect("phc");
            for password in ["correct horse", "correct hors", "", "correct horse "] {
                let theirs = Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok();
                assert_eq!(
                    verify_password(password, phc),
                    theirs,
                    "{phc} / {password:?}"
                );
            }
            assert!(verify_password("correct horse", phc), "{phc}");
        }
    }

    #[test]
    fn hostile_hashes_never_verify() {
        let good = hash_password_with("pw", cheap()).expect("hash");
        let (head, hash) = good.rsplit_once('$').expect("phc");
        for hostile in [
            String::new(),
            "$argon2id$".to_owned(),
            format!("{head}$"),
            format!("{head}${}", &hash[..hash.len() - 2]),
            good.replace("argon2id", "scrypt"),
            good.replace("m=64", "m=4294967295"),
            good.replace("v=19", "v=20"),
            format!("{good}$extra"),
            "x".repeat(2000),
        ] {
            assert!(!verify_password("pw", &hostile), "{hostile:?}");
        }
        assert!(!verify_password(&"p".repeat(MAX_PASSWORD_BYTES + 1), &good));
    }
}
