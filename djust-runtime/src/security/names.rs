//! The event-name guard: the syntactic check an event name must pass before
//! it is looked up in a view's handler allowlist.

/// Longest event name accepted, in bytes.
pub const MAX_EVENT_NAME_LEN: usize = 64;

/// `true` when `name` matches `^[a-z][a-z0-9_]*$` and is at most
/// [`MAX_EVENT_NAME_LEN`] bytes long.
///
/// This refuses `_private` and `__dunder__` names, capitals, dots, dashes,
/// spaces, non-ASCII look-alikes and empty names. It is only the first layer:
/// a name passing it must still name an `#[event_handler]`.
pub fn is_safe_event_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    bytes.len() <= MAX_EVENT_NAME_LEN
        && first.is_ascii_lowercase()
        && rest
            .iter()
            .all(|&byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limit_is_inclusive() {
        assert!(is_safe_event_name(&"a".repeat(MAX_EVENT_NAME_LEN)));
        assert!(!is_safe_event_name(&"a".repeat(MAX_EVENT_NAME_LEN + 1)));
    }
}
