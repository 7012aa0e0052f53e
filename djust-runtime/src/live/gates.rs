//! Checks a text frame passes before it is parsed: cheap scans that bound
//! the work a hostile frame can cause (the size check is a length compare
//! in [`Connection`](super::Connection); the depth check is here).

/// `true` when `text` nests arrays/objects deeper than `max` (strings skipped).
pub fn json_depth_exceeds(text: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::json_depth_exceeds;

    #[test]
    fn depth_counts_structure_not_strings() {
        assert!(!json_depth_exceeds(r#"{"a":[[1]]}"#, 3));
        assert!(json_depth_exceeds(r#"{"a":[[[1]]]}"#, 3));
        assert!(!json_depth_exceeds(r#"{"a":"[[[[[[[[[\"[[["}"#, 2));
        assert!(json_depth_exceeds(&"[".repeat(10_000), 32));
    }
}
