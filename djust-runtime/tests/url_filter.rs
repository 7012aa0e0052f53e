//! Tests for the URL, `srcset` and `style` filters in
//! `djust_runtime::template::filters`: hostile values are neutralised,
//! legitimate ones pass byte for byte, without allocating.

use std::borrow::Cow;

use djust_runtime::template::filters::{
    filter_srcset, filter_style, filter_url, is_safe_url, is_url_attribute, BLOCKED_URL,
};
use proptest::prelude::*;

/// Obfuscated `javascript:`, `data:`, `vbscript:` and other non-allowlisted
/// URLs. Every one must become `#blocked`.
const HOSTILE: &[&str] = &[
    // plain and mixed case
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  JaVaScRiPt:alert(1)",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "file:///etc/passwd",
    "foo:bar",
    "livescript:alert(1)",
    "jar:http://x/y!/z",
    // leading spaces and C0 controls, stripped by the browser
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "\x00javascript:alert(1)",
    "\x1f\x0c\x0b javascript:alert(1)",
    "\t\n\rjavascript:alert(1)",
    // tab, LF, CR removed anywhere by the browser
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "jav\r\na\tscript\t:alert(1)",
    "d\ta\nt\ra:text/html,x",
    // other controls and nulls inside the scheme
    "java\0script:alert(1)",
    "java\x01script:alert(1)",
    "java\x7fscript:alert(1)",
    "java\u{85}script:alert(1)",
    // zero-width and invisible characters
    "java\u{200B}script:alert(1)",
    "\u{FEFF}javascript:alert(1)",
    "java\u{00AD}script:alert(1)",
    "java\u{2060}script:alert(1)",
    "javascript\u{200C}:alert(1)",
    "\u{200E}\u{200F}javascript:alert(1)",
    "java script:alert(1)",
    "java\u{00A0}script:alert(1)",
    // decimal references, with and without `;`, with leading zeros
    "&#106;avascript:alert(1)",
    "&#106avascript:alert(1)",
    "&#0000106avascript:alert(1)",
    "&#0000106;&#0000097;&#0000118;&#0000097;script:alert(1)",
    "&#106&#97&#118&#97&#115&#99&#114&#105&#112&#116&#58alert(1)",
    // hex references
    "&#x6A;avascript:alert(1)",
    "&#X6a;avascript:alert(1)",
    // (hex digits are greedy, as in HTML: `&#x6Aa` would be U+06AA)
    "&#x6A&#x61vascript:alert(1)",
    "&#x6A&#x41&#x56&#x41script:alert(1)",
    "&#x000006A;avascript&#x3A;alert(1)",
    // named references
    "javascript&colon;alert(1)",
    "javascript&colonalert(1)",
    "java&Tab;script:alert(1)",
    "java&NewLine;script:alert(1)",
    "java&Tab;script&colon;alert(1)",
    "&amp;#106;avascript:alert(1)",
    "java&ZeroWidthSpace;script:alert(1)",
    "&nbsp;javascript:alert(1)",
    // percent-encoded, once and repeatedly
    "%6Aavascript:alert(1)",
    "%6a%61%76%61%73%63%72%69%70%74%3aalert(1)",
    "javascript%3Aalert(1)",
    "%256Aavascript:alert(1)",
    "java%09script:alert(1)",
    "java%00script:alert(1)",
    "%26%23106%3Bavascript:alert(1)",
    "&#37;6Aavascript:alert(1)",
    "data%3Atext/html,x",
    "vbscript&#58;msgbox(1)",
    "%E2%80%8Bjavascript:alert(1)",
    // fullwidth letters and colon
    "ｊａｖａｓｃｒｉｐｔ：alert(1)",
    "javascript：alert(1)",
    "ｄａｔａ:text/html,x",
];

/// Legitimate URLs: each must pass byte for byte, borrowed.
const LEGITIMATE: &[&str] = &[
    "",
    "/",
    "/users/3/edit",
    "users/3",
    "./a:b",
    "../up",
    "?a=b:c",
    "?page=2&sort=name",
    "/search?q=a:b",
    "page.html#x:y",
    "#frag",
    "#",
    "//cdn.example.com/x.js",
    "http://example.com",
    "https://example.com:8443/p?x=1#y",
    "HTTPS://EXAMPLE.COM",
    "hTtP://example.com/",
    "http://[::1]:80/",
    "https://bücher.example/ü",
    "/ü/日本語?q=ü",
    "mailto:x@y.z?subject=a:b",
    "MAILTO:x@y.z",
    "tel:+1-555",
    "tel:+1-555-0100",
    "/files/100%25.pdf",
    "/a%20b",
    "10:30",
    "/a?x=&#106;avascript:",
    "#javascript:alert(1)",
    "?next=javascript:alert(1)",
];

#[test]
fn hostile_urls_are_blocked() {
    assert!(HOSTILE.len() >= 40, "{} hostile cases", HOSTILE.len());
    for url in HOSTILE {
        assert_eq!(filter_url(url), BLOCKED_URL, "not blocked: {url:?}");
        assert!(!is_safe_url(url), "considered safe: {url:?}");
    }
}

#[test]
fn legitimate_urls_pass_unchanged_and_borrowed() {
    assert!(LEGITIMATE.len() >= 15);
    for url in LEGITIMATE {
        match filter_url(url) {
            Cow::Borrowed(output) => {
                assert_eq!(output, *url, "changed: {url:?}");
                // The very same bytes, not a copy or the blocked constant.
                assert_eq!(output.as_ptr(), url.as_ptr(), "not the input: {url:?}");
            }
            Cow::Owned(output) => panic!("allocated for {url:?}: {output:?}"),
        }
    }
}

#[test]
fn blocked_url_is_itself_safe() {
    assert!(is_safe_url(BLOCKED_URL));
}

#[test]
fn url_attributes_are_recognised_case_insensitively() {
    for name in [
        "href",
        "src",
        "action",
        "formaction",
        "poster",
        "cite",
        "data",
        "background",
        "srcset",
        "xlink:href",
        "HREF",
        "XLink:Href",
    ] {
        assert!(is_url_attribute(name), "{name}");
    }
    for name in [
        "title", "class", "style", "hreflang", "data-url", "xlink", "onclick", "",
    ] {
        assert!(!is_url_attribute(name), "{name}");
    }
}

// ---------------------------------------------------------------- srcset

#[test]
fn srcset_with_safe_candidates_is_borrowed() {
    for value in [
        "",
        "a.png",
        "a.png 1x, b.png 2x",
        "/img/a.png 480w,https://cdn.example.com/b.png 800w",
        "a.png,b.png 2x",
        "  a.png   1x ,  b.png 2x  ",
    ] {
        assert!(
            matches!(filter_srcset(value), Cow::Borrowed(v) if v == value),
            "{value:?}"
        );
    }
}

#[test]
fn srcset_blocks_each_bad_candidate_and_keeps_descriptors() {
    let cases = [
        ("javascript:alert(1)", "#blocked"),
        ("javascript:alert(1) 2x", "#blocked 2x"),
        ("a.png 1x, javascript:alert(1) 2x", "a.png 1x, #blocked 2x"),
        (
            "data:image/svg+xml,x 1x, b.png 2x, \x01JaVaScRiPt:x 3x",
            "#blocked 1x, b.png 2x, #blocked 3x",
        ),
        (
            "&#106;avascript:x 100w,b.png 200w",
            "#blocked 100w,b.png 200w",
        ),
        ("a.png 1x,\njavascript:x", "a.png 1x,\n#blocked"),
        // A tab separates URL from descriptors in srcset: the URL is `java`.
        ("java\tscript:x", "java\tscript:x"),
        ("vbscript:x,,, b.png", "#blocked,,, b.png"),
        ("a.png (x, y) 1x, data:x 2x", "a.png (x, y) 1x, #blocked 2x"),
    ];
    for (input, expected) in cases {
        assert_eq!(filter_srcset(input), expected, "{input:?}");
    }
}

#[test]
fn srcset_comma_inside_url_is_one_url() {
    // Without whitespace, the browser reads one URL: a relative path.
    assert!(matches!(
        filter_srcset("a.png,javascript:x"),
        Cow::Borrowed("a.png,javascript:x")
    ));
    // A data URL's own comma does not hide it.
    assert_eq!(filter_srcset("data:image/png,abc 1x"), "#blocked 1x");
}

// ---------------------------------------------------------------- style

#[test]
fn benign_styles_are_borrowed() {
    for value in [
        "color: red",
        "color: #ff0000; background-color: rgb(0, 0, 0)",
        "width: calc(100% - (2px + 1em)); height: 10px;",
        "font-family: Arial, sans-serif",
        "margin: 0 auto; padding: 1em 2em",
        "border: 1px solid #ccc",
        "display: flex; flex-direction: column; gap: 4px",
        "grid-template-columns: repeat(3, minmax(0, 1fr))",
        "COLOR: Red",
        "opacity: 0.5",
    ] {
        assert!(
            matches!(filter_style(value), Some(Cow::Borrowed(v)) if v == value),
            "{value:?} -> {:?}",
            filter_style(value)
        );
    }
}

#[test]
fn hostile_styles_are_dropped() {
    for value in [
        "background:url(javascript:alert(1))",
        "background-color: url(x)",
        "background-color: u r l (x)",
        "width: expression(alert(1))",
        "width: EXPRESSION (alert(1))",
        "color: red/**/; width: expression(alert(1))",
        "background-color: \\75 rl(x)",
        "color: \\72 ed",
        "behavior: url(x.htc)",
        "-moz-binding: url(x.xml#xss)",
        "color: -moz-binding",
        "color: javascript",
        "background-image: image-set(x 1x)",
        "color: image-set(x 1x)",
        "cursor: url(x), auto",
        "color: attr(x)",
        "position: fixed",
        "color: \"red\"",
        "color: 'red'",
        "color: red !important",
        "color: </style><script>alert(1)</script>",
        "color: @import",
        "color: {}",
        "color",
        ": red",
        "color: ",
        "",
        "  ;  ;",
        "co/**/lor: red",
        "color\t: red\nblue",
    ] {
        assert_eq!(filter_style(value), None, "{value:?}");
    }
}

#[test]
fn mixed_styles_keep_only_safe_declarations() {
    let cases = [
        ("color: red; x: y</style><script>", "color: red"),
        (
            "color: red; background:url(javascript:alert(1)); width: 10px",
            "color: red; width: 10px",
        ),
        ("COLOR:BLUE;position:absolute", "color: BLUE"),
        ("  height : 1px ;width:expression(1)", "height: 1px"),
        (
            "color: red; color: \\75 rl(x); margin: 0",
            "color: red; margin: 0",
        ),
    ];
    for (input, expected) in cases {
        match filter_style(input) {
            Some(Cow::Owned(output)) => assert_eq!(output, expected, "{input:?}"),
            other => panic!("{input:?} -> {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- property

/// The scheme the WHATWG URL parser sees, lowercased, written independently
/// of the implementation: strip leading C0/space, drop tab/LF/CR, then
/// `[A-Za-z][A-Za-z0-9+.-]*:`.
fn whatwg_scheme(url: &str) -> Option<String> {
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let colon = cleaned.find(':')?;
    let scheme = &cleaned[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| scheme.to_ascii_lowercase())
}

#[test]
fn reference_scheme_parser_agrees_with_examples() {
    assert_eq!(
        whatwg_scheme(" \x01Java\tScript:x").as_deref(),
        Some("javascript")
    );
    assert_eq!(whatwg_scheme("/a:b"), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn filter_url_is_input_or_blocked_and_never_a_bad_scheme(
        url in prop_oneof![
            any::<String>(),
            "[ \\t\\n\\x00-\\x1f]{0,3}[a-zA-Z&#%;:0-9\\t\\u{200B}]{0,14}[:/?#]?.{0,8}",
            "(javascript|data|vbscript|https?|mailto|tel|file|x)[:\\t]?.{0,10}",
        ]
    ) {
        let output = filter_url(&url);
        prop_assert!(output == url.as_str() || output == BLOCKED_URL);
        if let Some(scheme) = whatwg_scheme(&output) {
            prop_assert!(
                ["http", "https", "mailto", "tel"].contains(&scheme.as_str()),
                "{url:?} passed with scheme {scheme}"
            );
        }
    }

    #[test]
    fn filter_srcset_output_has_only_safe_candidates(
        value in prop_oneof![
            ".{0,40}",
            "([ ,]{0,2}(a.png|javascript:x|data:y,z|&#106;s:1|#f)( [0-9]x)?[ ,]{0,2}){0,4}",
        ]
    ) {
        let output = filter_srcset(&value);
        // Filtering the output again finds nothing to block: every candidate
        // URL in it is safe, and blocking did not change how it splits.
        prop_assert!(
            matches!(filter_srcset(&output), Cow::Borrowed(_)),
            "{value:?} -> {output:?}"
        );
        if matches!(output, Cow::Borrowed(_)) {
            prop_assert_eq!(output.as_ref(), value.as_str());
        }
    }

    #[test]
    fn filter_style_output_uses_only_allowed_characters(value in ".{0,60}") {
        if let Some(output) = filter_style(&value) {
            prop_assert!(!output.is_empty());
            let kept_verbatim = matches!(output, Cow::Borrowed(_));
            for declaration in output.split(';').filter(|d| !d.trim().is_empty()) {
                let (_, css_value) = declaration.split_once(':').unwrap_or(("", ""));
                prop_assert!(
                    css_value.trim().bytes().all(|b| b.is_ascii_alphanumeric()
                        || b" #.,%()+-/".contains(&b)),
                    "{value:?} -> {output:?} (verbatim: {kept_verbatim})"
                );
            }
            // Filtering is idempotent: the output is kept as it is.
            prop_assert!(
                matches!(filter_style(&output), Some(Cow::Borrowed(again)) if again == output.as_ref()),
                "{value:?} -> {output:?} not stable"
            );
        }
    }
}
