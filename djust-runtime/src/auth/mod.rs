//! Authentication primitives: signing, tokens, users and permissions,
//! password hashing, CSRF and safe redirects.
//!
//! * [`SecretKey`] / [`Signer`]: HMAC-SHA256 signed tokens
//!   (`base64url(payload).base64url(tag)`), verified in constant time.
//! * [`MountToken`]: the signed, expiring token an SSR page embeds so a
//!   socket can only mount the view the page served, for the same session.
//! * [`User`], [`Identity`], [`is_valid_permission`], [`AuthBackend`]: who is
//!   asking and what they may do; the app supplies the backend.
//! * [`hash_password`] / [`verify_password`]: argon2id PHC strings, hashed
//!   in reused working memory (one buffer per core; [`MAX_POOLED_BLOCKS`]).
//! * [`generate_token`] / [`constant_time_eq`]: random tokens and comparing them.
//! * [`csrf`]: per-session CSRF tokens, and stateless double-submit
//!   tokens for visitors without a session.
//! * [`safe_next_path`]: open-redirect-proof `?next=` handling.

pub mod csrf;
mod hash_memory;
mod mount;
mod password;
mod redirect;
mod signer;
mod token;
mod user;

pub use crate::limits::BoxFuture;
pub use hash_memory::MAX_POOLED_BLOCKS;
pub use mount::{MountToken, CLOCK_SKEW_SECS, DEFAULT_MOUNT_TOKEN_TTL_SECS};
pub use password::{
    hash_password, hash_password_with, verify_password, verify_password_or_dummy, PasswordError,
    PasswordParams, MAX_PASSWORD_BYTES,
};
pub use redirect::{
    login_redirect_target, routable_url, safe_next_path, same_origin_url, MAX_URL_BYTES,
};
pub use signer::{KeyError, SecretKey, Signer, TokenError, MAX_TOKEN_LEN, MIN_KEY_LEN};
pub use token::{constant_time_eq, generate_token};
pub use user::{is_valid_permission, AuthBackend, Identity, MemoryAuthBackend, User};
