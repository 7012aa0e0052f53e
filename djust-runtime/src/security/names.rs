//! The event-name guard: the syntactic check an event name must pass before
//! it is looked up in a view's handler allowlist.
//!
//! The rule lives in `djust-rules`, shared with the `#[live_view]` macro, so
//! every handler name the compiler accepts passes this check and a name this
//! check refuses can never be declared: `^[a-z][a-z0-9_]*$`, no `__`, at
//! most [`MAX_EVENT_NAME_LEN`] bytes.

pub use djust_rules::events::{
    check_event_name, is_safe_event_name, EventNameProblem, MAX_EVENT_NAME_LEN,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limit_is_inclusive() {
        assert!(is_safe_event_name(&"a".repeat(MAX_EVENT_NAME_LEN)));
        assert!(!is_safe_event_name(&"a".repeat(MAX_EVENT_NAME_LEN + 1)));
    }
}
