//! Event names: the syntax an event name must have on the wire.
//!
//! The runtime checks every incoming name with [`is_safe_event_name`] before
//! it looks the name up in a view's handler allowlist; the macros check
//! every `#[event_handler]` method name and every `dj-*` attribute value with
//! [`check_event_name`]. One rule for both means a handler the compiler
//! accepts can always be called, and a name the runtime refuses can never
//! be written in a template.

use std::fmt;

/// Longest event name accepted, in bytes.
pub const MAX_EVENT_NAME_LEN: usize = 64;

/// Why a name is not a valid event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventNameProblem {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_EVENT_NAME_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name does not match `^[a-z][a-z0-9_]*$`.
    BadCharacters,
    /// The name contains `__` (reserved: such names never dispatch).
    DoubleUnderscore,
}

impl fmt::Display for EventNameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventNameProblem::Empty => f.write_str("names cannot be empty"),
            EventNameProblem::TooLong { len } => write!(
                f,
                "names are at most {MAX_EVENT_NAME_LEN} bytes long, this one is {len}"
            ),
            EventNameProblem::BadCharacters => f.write_str("names must match `^[a-z][a-z0-9_]*$`"),
            EventNameProblem::DoubleUnderscore => f.write_str("names cannot contain `__`"),
        }
    }
}

/// Checks `name`: `^[a-z][a-z0-9_]*$`, no `__`, at most
/// [`MAX_EVENT_NAME_LEN`] bytes.
///
/// This refuses `_private` and `__dunder__` names, capitals, dots, dashes,
/// spaces, non-ASCII look-alikes and empty names. It is only the first
/// layer: a name passing it must still name an `#[event_handler]`.
pub fn check_event_name(name: &str) -> Result<(), EventNameProblem> {
    let bytes = name.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return Err(EventNameProblem::Empty);
    };
    // Length first: a hostile name is refused without scanning all of it.
    if bytes.len() > MAX_EVENT_NAME_LEN {
        return Err(EventNameProblem::TooLong { len: bytes.len() });
    }
    if !first.is_ascii_lowercase()
        || !rest
            .iter()
            .all(|&byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
    {
        return Err(EventNameProblem::BadCharacters);
    }
    if name.contains("__") {
        return Err(EventNameProblem::DoubleUnderscore);
    }
    Ok(())
}

/// `true` when [`check_event_name`] accepts `name`.
#[inline]
pub fn is_safe_event_name(name: &str) -> bool {
    check_event_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limit_is_inclusive() {
        assert!(is_safe_event_name(&"a".repeat(MAX_EVENT_NAME_LEN)));
        assert_eq!(
            check_event_name(&"a".repeat(MAX_EVENT_NAME_LEN + 1)),
            Err(EventNameProblem::TooLong {
                len: MAX_EVENT_NAME_LEN + 1
            })
        );
    }

    #[test]
    fn good_and_bad_names() {
        for good in ["increment", "a", "save_contact2", "x_1_y", "a_", "mount"] {
            assert_eq!(check_event_name(good), Ok(()), "{good}");
        }
        for (bad, problem) in [
            ("", EventNameProblem::Empty),
            ("_private", EventNameProblem::BadCharacters),
            ("__init__", EventNameProblem::BadCharacters),
            ("Save", EventNameProblem::BadCharacters),
            ("a-b", EventNameProblem::BadCharacters),
            ("a.b", EventNameProblem::BadCharacters),
            ("2a", EventNameProblem::BadCharacters),
            ("a b", EventNameProblem::BadCharacters),
            ("d\u{0435}lete", EventNameProblem::BadCharacters),
            ("a\0", EventNameProblem::BadCharacters),
            ("reset__all", EventNameProblem::DoubleUnderscore),
        ] {
            assert_eq!(check_event_name(bad), Err(problem), "{bad:?}");
            assert!(!is_safe_event_name(bad));
        }
    }

    #[test]
    fn problems_read_as_sentences() {
        assert_eq!(
            EventNameProblem::TooLong { len: 70 }.to_string(),
            "names are at most 64 bytes long, this one is 70"
        );
    }
}
