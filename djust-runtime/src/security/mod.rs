//! Security utilities every layer that touches client input must use: the
//! event-name guard, log sanitisation and client-safe error messages.
//!
//! - [`is_safe_event_name`]: the first check on an event name, before any
//!   lookup (`^[a-z][a-z0-9_]*$`, no `__`, at most [`MAX_EVENT_NAME_LEN`]
//!   bytes; the rule is shared with the macros through `djust-rules`);
//! - [`sanitize_for_log`]: every client-derived value goes through it before
//!   it reaches a log line;
//! - [`SafeError`]: what the client is told when something fails;
//! - [`LogThrottle`]: one line per kind of repeated event per interval;
//! - [`display`]: user text made safe to show to other users (no bidi,
//!   format or control characters; identifiers normalised, with a
//!   look-alike key). Also at `djust::text`.

pub mod display;
mod errors;
mod log;
mod log_throttle;
mod names;
mod unicode;

pub use errors::SafeError;
pub use log::{sanitize_for_log, MAX_LOG_CHARS, REDACTED, TRUNCATION_MARKER};
pub use log_throttle::LogThrottle;
pub use names::{check_event_name, is_safe_event_name, EventNameProblem, MAX_EVENT_NAME_LEN};
pub use unicode::is_format_char;
