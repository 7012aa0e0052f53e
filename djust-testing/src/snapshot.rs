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
