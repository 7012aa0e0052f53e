//! Security utilities every layer that touches client input must use: the
//! event-name guard, log sanitisation and client-safe error messages.
//!
//! - [`is_safe_event_name`]: the first check on an event name, before any
//!   lookup (`^[a-z][a-z0-9_]*$`, at most [`MAX_EVENT_NAME_LEN`] bytes);
//! - [`sanitize_for_log`]: every client-derived value goes through it before
//!   it reaches a log line;
//! - [`SafeError`]: what the client is told when something fails;
//! - [`display`]: user text made safe to show to other users (no bidi,
//!   format or control characters; identifiers normalised, with a
//!   look-alike key). Also at `djust::text`.

pub mod display;
mod errors;
mod log;
mod names;

pub use errors::SafeError;
pub use log::{sanitize_for_log, MAX_LOG_CHARS, REDACTED, TRUNCATION_MARKER};
pub use names::{is_safe_event_name, MAX_EVENT_NAME_LEN};
