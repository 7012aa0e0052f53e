//! Phoenix CVE-2026-58228: a URL scheme check bypassed by surrounding
//! whitespace. The check compared the start of the value with `javascript:`,
//! but browsers strip leading and trailing spaces and C0 controls and
//! delete tab, LF and CR anywhere before they parse a URL, so
//! ` javascript:alert(1)` (or with a tab, a NUL, a form feed...) got past
//! it and ran when the link was followed.
//!
//! djust-rs filters every dynamic value of every URL attribute (`href src
//! action formaction poster cite data background srcset xlink:href`) the
//! way the WHATWG URL parser reads it, and then once more after decoding
//! character references and percent-escapes and removing controls,
//! whitespace (NBSP, Unicode spaces, line separators) and invisible
//! characters; anything whose scheme is not `http`, `https`, `mailto` or
//! `tel` renders as `#blocked`. The tests render each payload into each URL
//! attribute, first paint (`html!` to markup) and live (patches and
//! `html_update` over a socket), parse the result as a browser does, and
//! expect `#blocked` in every one; clean URLs pass unchanged.

use djust::prelude::*;
use scraper::Html as Document;
use serde_json::{json, Value};

use crate::elements;
use crate::support::*;

/// Script-running URLs, in mixed case and with the scheme's colon spelled
/// as an entity.
const DANGEROUS: [&str; 7] = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "JAVASCRIPT:alert(document.cookie)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "javascript&colon;alert(1)",
    "javascript&#58;alert(1)",
];

/// What surrounds the URL: ASCII and Unicode whitespace, C0 controls, NUL,
/// form feed, NBSP, invisible characters, and the same as character
/// references and percent-escapes.
const SPACES: [&str; 38] = [
    " ",
    "   ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\x0c",
    "\x0b",
    "\0",
    "\x01",
    "\x1f",
    "\x7f",
    "\u{85}",
    "\u{a0}",
    "\u{1680}",
    "\u{2000}",
    "\u{2007}",
    "\u{200b}",
    "\u{2028}",
    "\u{2029}",
    "\u{202f}",
    "\u{3000}",
    "\u{feff}",
    "&#32;",
    "&#x20;",
    "&#9;",
    "&#x09;",
    "&Tab;",
    "&NewLine;",
    "&nbsp;",
    "&#160;",
    "&#xA0;",
    "&#0;",
    "%20",
    "%09",
    "%00",
    " \t\n\x0c",
    "\u{a0}\t ",
];

/// Breaks inside the scheme name, which browsers remove (tab, LF, CR) or
/// which decode to nothing.
const INSIDE: [&str; 11] = [
    "\t",
    "\n",
    "\r",
    "&#9;",
    "&#x0A;",
    "&Tab;",
    "&NewLine;",
    "%09",
    "\0",
    "\u{200b}",
    "\u{ad}",
];

fn payloads() -> Vec<String> {
    let mut all = Vec::new();
    for url in DANGEROUS {
        for space in SPACES {
            all.push(format!("{space}{url}"));
            all.push(format!("{url}{space}"));
            all.push(format!("{space}{url}{space}"));
        }
    }
    for space in INSIDE {
        all.push(format!("java{space}script:alert(1)"));
        all.push(format!(" J{space}AVASCRIPT:alert(1)"));
        all.push(format!("javascript{space}:alert(1)"));
        all.push(format!("vb{space}script:msgbox(1)"));
    }
    all
}

/// Clean URLs come back exactly as given.
const CLEAN: [&str; 5] = [
    "https://example.com/a?b=c",
    "/relative/path",
    "#fragment",
    "mailto:someone@example.com",
    "tel:+15551234",
];

/// Every URL attribute `html!` knows, bound to one value.
fn every_url_attribute(url: &str) -> Html {
    html! {
        <a href={url}>"a"</a>
        <img src={url} alt="">
        <form action={url}><button formaction={url}>"b"</button></form>
        <video poster={url}></video>
        <blockquote cite={url}>"q"</blockquote>
        <object data={url}></object>
        <table background={url}><tbody><tr><td>"t"</td></tr></tbody></table>
        <img srcset={url} alt="">
        <svg><a xlink:href={url}><text>"x"</text></a></svg>
    }
}

/// The attributes [`every_url_attribute`] binds, with the element holding each.
const BOUND: [(&str, &str); 10] = [
    ("a", "href"),
    ("img", "src"),
    ("form", "action"),
    ("button", "formaction"),
    ("video", "poster"),
    ("blockquote", "cite"),
    ("object", "data"),
    ("table", "background"),
    ("img", "srcset"),
    ("a", "xlink:href"),
];

/// Whether a browser given this attribute value (entities already decoded)
/// would run it: leading and trailing C0 controls and spaces stripped, tab,
/// LF and CR removed, then a `javascript:`, `vbscript:` or `data:` scheme.
/// Written from the URL standard, independently of the filter under test.
fn browser_runs(value: &str) -> bool {
    let trimmed = value.trim_matches(|c: char| c <= ' ');
    let cleaned: String = trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let Some((scheme, _)) = cleaned.split_once(':') else {
        return false;
    };
    let is_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme
        && ["javascript", "vbscript", "data"]
            .iter()
            .any(|bad| scheme.eq_ignore_ascii_case(bad))
}

/// The value of every bound URL attribute in `markup`, as a browser parses it.
fn bound_values(markup: &str) -> Vec<(String, String)> {
    let document = Document::parse_fragment(markup);
    let mut found = Vec::new();
    for element in elements(&document) {
        for (name, value) in element.value().attrs() {
            let element_name = element.value().name();
            if BOUND
                .iter()
                .any(|(tag, attribute)| *tag == element_name && *attribute == name)
            {
                found.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    found
}

/// The image candidate URLs of a `srcset` value as a browser reads them
/// (the HTML standard's srcset parser): split on ASCII whitespace only, a
/// trailing comma ends a URL, descriptors run to the next comma outside
/// parentheses.
fn srcset_urls(value: &str) -> Vec<String> {
    let is_space = |c: char| matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ');
    let mut urls = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| is_space(c) || c == ',');
        if rest.is_empty() {
            return urls;
        }
        let end = rest.find(is_space).unwrap_or(rest.len());
        let (url, after) = rest.split_at(end);
        rest = after;
        if url.ends_with(',') {
            urls.push(url.trim_end_matches(',').to_owned());
            continue;
        }
        urls.push(url.to_owned());
        let mut depth = 0_u32;
        let mut cut = rest.len();
        for (index, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    cut = index;
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[cut..];
    }
}

/// Asserts every URL attribute of `markup` is `#blocked` (`srcset`: no
/// candidate URL a browser would run) and all ten are present.
fn assert_all_blocked(markup: &str, payload: &str) {
    let values = bound_values(markup);
    assert_eq!(values.len(), BOUND.len(), "{payload:?} → {markup}");
    for (name, value) in values {
        if name == "srcset" {
            for url in srcset_urls(&value) {
                assert!(!browser_runs(&url), "{payload:?}: srcset={value:?}");
            }
        } else {
            assert_eq!(value, "#blocked", "{payload:?}: {name}");
        }
    }
}

#[test]
fn the_independent_check_recognises_the_payloads_a_browser_would_run() {
    // The oracle used below is sound: it flags the raw forms a browser runs.
    for raw in [
        " javascript:alert(1)",
        "\tjavascript:alert(1)\n",
        "\0\x0cJaVa\tScRiPt:alert(1)",
        "java\r\nscript:x",
        "data:text/html,x",
    ] {
        assert!(browser_runs(raw), "{raw:?}");
    }
    assert_eq!(
        srcset_urls(" a.png 1x, javascript:x 2x,b.png, c.png 1x (a,b), d.png,e.png"),
        ["a.png", "javascript:x", "b.png", "c.png", "d.png,e.png"]
    );
    assert_eq!(srcset_urls("\u{a0}\t javascript:x"), ["\u{a0}"]);
    for clean in CLEAN {
        assert!(!browser_runs(clean), "{clean}");
    }
}

#[test]
fn surrounding_whitespace_never_gets_a_script_url_into_any_url_attribute() {
    let payloads = payloads();
    assert!(payloads.len() > 800, "{}", payloads.len());
    for payload in &payloads {
        let markup = every_url_attribute(payload).into_string();
        assert_all_blocked(&markup, payload);
    }
    for clean in CLEAN {
        let markup = every_url_attribute(clean).into_string();
        for (name, value) in bound_values(&markup) {
            assert_eq!(value, clean, "{name}");
        }
    }
}

/// The same template in a live view, so the live path (VDOM, patches,
/// `html_update`) is checked too.
struct Links {
    url: String,
}

#[live_view(public, name = "adv58228_links")]
impl Links {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Links {
            url: "/start".to_owned(),
        })
    }

    fn render(&self) -> Html {
        every_url_attribute(&self.url)
    }

    #[event_handler]
    fn set(&mut self, url: String) {
        self.url = url;
    }
}

/// The `set_attr` patches of `frames` for URL attributes: `(key, value)`.
fn url_patches(frames: &[Value]) -> Vec<(String, String)> {
    frames
        .iter()
        .filter(|frame| frame["type"] == "patch")
        .flat_map(|frame| frame["patches"].as_array().cloned().unwrap_or_default())
        .filter(|patch| patch["type"] == "set_attr")
        .filter(|patch| {
            let key = patch["key"].as_str().unwrap_or_default();
            BOUND.iter().any(|(_, attribute)| *attribute == key)
        })
        .map(|patch| {
            (
                patch["key"].as_str().unwrap_or_default().to_owned(),
                patch["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_live_path_blocks_them_too() {
    let server = App::new()
        .config(djust::Config {
            rate_per_second: 1_000_000.0,
            rate_burst: 1_000_000,
            ..test_config()
        })
        .live("/", Links::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (mut socket, mounted) = mount_page(server.local_addr(), "/", "adv58228_links").await;
    assert_eq!(
        bound_values(mounted["html"].as_str().unwrap_or_default()).len(),
        BOUND.len()
    );
    for (index, payload) in payloads().iter().enumerate() {
        // A clean value first, so the payload's values arrive as patches.
        let clean = format!("/page/{index}");
        let frames = send_event(&mut socket, "set", json!({ "url": clean }), 1).await;
        assert_eq!(url_patches(&frames).len(), BOUND.len(), "{frames:?}");
        let frames = send_event(&mut socket, "set", json!({ "url": payload }), 2).await;
        let patches = url_patches(&frames);
        assert_eq!(patches.len(), BOUND.len(), "{payload:?}: {frames:?}");
        for (key, value) in patches {
            if key == "srcset" {
                for url in srcset_urls(&value) {
                    assert!(!browser_runs(&url), "{payload:?}: srcset={value:?}");
                }
            } else {
                assert_eq!(value, "#blocked", "{payload:?}: {key}");
            }
        }
        send_json(&mut socket, &json!({ "type": "request_html" })).await;
        let update = recv(&mut socket).await.expect("html_update");
        assert_eq!(update["type"], "html_update", "{update}");
        assert_all_blocked(update["html"].as_str().unwrap_or_default(), payload);
    }
    server.shutdown().await;
}
