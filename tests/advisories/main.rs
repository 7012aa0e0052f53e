//! The advisory regression suite (issue 16): one module per published
//! advisory of a comparable framework (Phoenix, phoenix_html, djust,
//! Livewire, htmx, daphne), named after it. Each module opens with what the
//! advisory was and how djust-rs answers it, and its tests fail if that
//! answer were taken away. Wherever the advisory is about the wire, the
//! tests talk to a real server on 127.0.0.1:0.
//!
//! Run with `cargo test --test advisories`.

#[path = "../support/mod.rs"]
mod support;

mod cve_2022_42975;
mod cve_2025_54068;
mod cve_2026_58228;
mod cve_2026_64941;
mod djust_653_cswsh;
mod djust_654_timings;
mod ghsa_5g2h_9x5v_5h3x;
mod ghsa_7prp_2623_8g45;
mod ghsa_p8fj_694c_pvhc;
mod ghsa_rrc9_mx66_ffcm;
mod htmx_1495;

use djust::runtime::auth::Signer;
use scraper::{ElementRef, Html as Document};

/// The mount-token signer of a server started with `support::test_config()`
/// (the server derives it from `Config::secret_key` the same way).
fn signer() -> Signer {
    Signer::new(support::TEST_SECRET.as_bytes()).expect("the test secret is long enough")
}

/// Seconds since the Unix epoch, for signing mount tokens.
fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Every element of an HTML fragment as a browser parses it (html5ever),
/// without the parser's `<html>` wrapper.
fn elements(document: &Document) -> Vec<ElementRef<'_>> {
    document
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|element| element.value().name() != "html")
        .collect()
}
