//! Compile-error and compile-pass cases for the macros (`ui-tests/`).
//!
//! Every compile error the macros promise has a `ui-tests/fail/<mistake>.rs`
//! with the expected `.stderr`. Re-bless after an intended change with
//! `TRYBUILD=overwrite cargo test --test ui` and review the `.stderr` diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui-tests/fail/*.rs");
    cases.pass("ui-tests/pass/*.rs");
}
