//! What `html!` renders from nesting it accepts comes back from a real HTML
//! parser exactly as written (html5ever parses as browsers do: the WHATWG
//! algorithm, fragment in `<body>`). Each rule of
//! djust-macros/src/html/nesting.rs is checked against the same parser by
//! that module's unit tests; the compile errors as users see them are in
//! `ui-tests/fail/nesting_the_parser_restructures.rs`.

use scraper::Html as Document;

/// The markup a browser builds from `html` (parsed as a `<body>` fragment).
fn reparsed(html: &str) -> String {
    Document::parse_fragment(html).root_element().inner_html()
}

/// The compile-pass case `ui-tests/pass/nesting.rs`, whose `page()` holds
/// every accepted kind of nesting.
#[path = "../ui-tests/pass/nesting.rs"]
#[allow(dead_code)]
mod nesting;

#[test]
fn accepted_nesting_comes_back_from_the_parser_as_written() {
    let page = nesting::page().into_string();
    assert_eq!(reparsed(&page), page);
}
