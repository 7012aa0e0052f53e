//! The compile-time check that an event sent to a component with
//! `dj-target` names one of its `#[event_handler]`s.
//!
//! The parent's macro cannot see the component's `impl` block, so it emits
//! `const _: () = check_component_event(..)` with the component's
//! `HANDLER_NAMES`; the compiler evaluates it, and an unknown name panics
//! during const evaluation: a compile error on the event's literal whose
//! message says which handlers exist, with a "did you mean" (the same
//! edit distance as the macros' own suggestions).

/// Longest message the check writes (longer ones are cut).
const MESSAGE_BYTES: usize = 1024;

/// `a == b`, in a const context.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Levenshtein distance over bytes (event names are ASCII, at most 64
/// bytes; longer names are compared on their first 64).
const fn distance(a: &str, b: &str) -> usize {
    const MAX: usize = 64;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let a_len = if a.len() < MAX { a.len() } else { MAX };
    let b_len = if b.len() < MAX { b.len() } else { MAX };
    let mut row = [0usize; MAX + 1];
    let mut j = 0;
    while j <= b_len {
        row[j] = j;
        j += 1;
    }
    let mut i = 0;
    while i < a_len {
        let mut previous = row[0];
        row[0] = i + 1;
        let mut j = 0;
        while j < b_len {
            let current = row[j + 1];
            row[j + 1] = if a[i] == b[j] {
                previous
            } else {
                let mut best = previous;
                if row[j] < best {
                    best = row[j];
                }
                if current < best {
                    best = current;
                }
                best + 1
            };
            previous = current;
            j += 1;
        }
        i += 1;
    }
    row[b_len]
}

/// A message being built in a const context.
struct Message {
    bytes: [u8; MESSAGE_BYTES],
    len: usize,
}

impl Message {
    const fn push(mut self, text: &str) -> Self {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() && self.len < MESSAGE_BYTES {
            self.bytes[self.len] = text[i];
            self.len += 1;
            i += 1;
        }
        self
    }
}

/// Fails const evaluation, with a message saying what to do, unless
/// `event` is one of `handlers` (the `HANDLER_NAMES` of `component`).
/// `what` is how the template wrote it (`` `dj-click="add"` ``).
#[doc(hidden)]
pub const fn check_component_event(what: &str, component: &str, handlers: &[&str], event: &str) {
    let mut best: Option<usize> = None;
    let mut best_distance = usize::MAX;
    let mut i = 0;
    while i < handlers.len() {
        if same(handlers[i], event) {
            return;
        }
        let d = distance(event, handlers[i]);
        if d <= 2 && d < best_distance {
            best = Some(i);
            best_distance = d;
        }
        i += 1;
    }
    let mut message = Message {
        bytes: [0; MESSAGE_BYTES],
        len: 0,
    }
    .push(what)
    .push(" names no `#[event_handler]` of component `")
    .push(component)
    .push("`\n\nhelp: ");
    message = match best {
        Some(index) => message
            .push("did you mean `")
            .push(handlers[index])
            .push("`?"),
        None if handlers.is_empty() => message
            .push("`")
            .push(component)
            .push("` has no `#[event_handler]` methods yet"),
        None => {
            message = message
                .push("the handlers of `")
                .push(component)
                .push("` are: ");
            let mut i = 0;
            while i < handlers.len() {
                if i > 0 {
                    message = message.push(", ");
                }
                message = message.push(handlers[i]);
                i += 1;
            }
            message
        }
    };
    // Cut at a character boundary if the message was too long.
    let mut len = message.len;
    while len > 0 && len < MESSAGE_BYTES && (message.bytes[len] & 0xC0) == 0x80 {
        len -= 1;
    }
    let (text, _) = message.bytes.split_at(len);
    match core::str::from_utf8(text) {
        Ok(text) => panic!("{}", text),
        Err(_) => {
            panic!("an event sent with `dj-target` names no `#[event_handler]` of the component")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_pass_and_distances_match_the_macros() {
        check_component_event("x", "Cart", &["add", "remove"], "remove");
        assert_eq!(distance("ad", "add"), 1);
        assert_eq!(distance("remvoe", "remove"), 2);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    #[should_panic(expected = "did you mean `add`?")]
    fn an_unknown_name_names_the_closest_handler() {
        check_component_event("`dj-click=\"ad\"`", "Cart", &["add", "remove"], "ad");
    }

    #[test]
    #[should_panic(expected = "the handlers of `Cart` are: add, remove")]
    fn a_far_name_lists_the_handlers() {
        check_component_event(
            "`dj-click=\"checkout\"`",
            "Cart",
            &["add", "remove"],
            "checkout",
        );
    }
}
