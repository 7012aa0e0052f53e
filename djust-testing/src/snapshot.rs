//! Snapshot assertions: compare text with a committed file, rewrite it with
//! `DJUST_BLESS=1`.

/// Compares `actual` with the file at `path`; with `DJUST_BLESS=1` in the
/// environment, writes `actual` there instead. Panics with both texts on a
/// mismatch. Use through [`assert_snapshot!`](crate::assert_snapshot).
pub fn check_snapshot(path: &std::path::Path, actual: &str) {
    if std::env::var_os("DJUST_BLESS").is_some() {
        if let Some(dir) = path.parent() {
            if let Err(error) = std::fs::create_dir_all(dir) {
                panic!("cannot create {}: {error}", dir.display());
            }
        }
        if let Err(error) = std::fs::write(path, actual) {
            panic!("cannot write {}: {error}", path.display());
        }
        return;
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => panic!(
            "cannot read snapshot {} ({error}); run with DJUST_BLESS=1 to create it",
            path.display()
        ),
    };
    if expected != actual {
        panic!(
            "snapshot {} is out of date (run with DJUST_BLESS=1 to accept the new text)\n--- expected ---\n{expected}\n--- actual ---\n{actual}",
            path.display()
        );
    }
}

/// `assert_snapshot!("tests/snapshots/name.txt", text)`: the path is
/// relative to the calling crate's manifest directory.
#[macro_export]
macro_rules! assert_snapshot {
    ($path:expr, $actual:expr) => {
        $crate::snapshot::check_snapshot(
            &::std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join($path),
            &$actual,
        )
    };
}

/// `text` with the paths of an example's items made independent of where
/// the example is compiled: run as its own binary its types are
/// `contacts::views::ContactEditor`, compiled into a test crate with
/// `#[path]` they are `e2e_examples::contacts::views::ContactEditor`. The
/// segments of `module_path` before the segment `example` are removed, so
/// an example's snapshot reads the same from both.
pub fn example_paths(text: &str, module_path: &str, example: &str) -> String {
    let segments: Vec<&str> = module_path.split("::").collect();
    match segments.iter().position(|segment| *segment == example) {
        Some(0) | None => text.to_owned(),
        Some(at) => text.replace(&format!("{}::", segments[..at].join("::")), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::example_paths;

    #[test]
    fn example_paths_drop_the_enclosing_crate_only() {
        let text = "chat (e2e_examples::chat::Chat) and e2e_examples::chat::room";
        assert_eq!(
            example_paths(text, "e2e_examples::chat::tests", "chat"),
            "chat (chat::Chat) and chat::room"
        );
        assert_eq!(example_paths(text, "chat::tests", "chat"), text);
        assert_eq!(example_paths(text, "other::tests", "chat"), text);
    }
}
