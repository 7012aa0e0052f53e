//! The XSS check's view of a page: the HTML parsed with html5ever (through
//! `scraper`, exactly as a browser builds the DOM) and reduced to a set of
//! security-relevant features. A payload is reported when the page after it
//! has a feature that no benign input produced.
//!
//! Every attribute is read by its sink in the shared table of `djust-rules`
//! (the one `html!` compiles with), so the check looks where the browser
//! would act: URLs in every URL sink (`href`, `src`, `formaction`, `poster`,
//! `xlink:href`, `<object data>`, each `ping` and `srcset` URL, the URL of
//! a `<meta http-equiv="refresh">`, the values of an SVG animation of
//! `href`), the document in `srcdoc` (parsed and fingerprinted like the
//! page itself), and any change to a page-wide directive (`<base href>`,
//! `<meta http-equiv>`), which only a literal may set.

use djust_rules::attributes::{
    animation_values, attribute_sink, refresh_url, url_list, AttrSink, Directive, Sibling,
};
use djust_runtime::template::filters::{filter_srcset, is_safe_url};
use scraper::{ElementRef, Html};
use std::collections::BTreeSet;
use std::fmt;

/// How many `srcdoc` documents deep the fingerprint looks.
const MAX_FRAME_DEPTH: usize = 4;

/// One security-relevant fact about a parsed page.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Feature {
    /// An element with this tag name exists.
    Element(String),
    /// Some element has an attribute with this name.
    Attribute(String),
    /// An `on*` attribute with this name and value.
    EventHandler {
        /// Element tag.
        tag: String,
        /// Attribute name.
        attr: String,
        /// Attribute value.
        value: String,
    },
    /// A URL attribute whose value (after html5ever decoded it) has a scheme
    /// outside the allowlist, as [`is_safe_url`] decides.
    DangerousUrl {
        /// Element tag.
        tag: String,
        /// Attribute name.
        attr: String,
        /// Attribute value (one candidate for `srcset`).
        value: String,
    },
    /// A `<script>` element with this `src` and text.
    Script(String),
    /// A `style` attribute or `<style>` text with script-capable CSS
    /// (`expression(`, `javascript:`, `vbscript:`, `-moz-binding`, `behavior:`).
    DangerousStyle(String),
    /// A page-wide directive only a literal may set (`<base href>`,
    /// `<meta http-equiv>` and its `content`) with this value: a value no
    /// benign input produced means input reached it.
    Directive {
        /// Element tag.
        tag: String,
        /// Attribute name.
        attr: String,
        /// Attribute value.
        value: String,
    },
    /// A feature of the HTML document held by a `srcdoc` attribute.
    InFrame {
        /// The element holding the document (`iframe`).
        tag: String,
        /// The feature inside it.
        inner: Box<Feature>,
    },
    /// `srcdoc` documents nested deeper than the check looks.
    FramesTooDeep,
}

/// Longest excerpt of a payload or value in a message, in characters.
const MAX_SHOWN: usize = 80;

/// Shortens `text` for a message and quotes it Rust-style, so control and
/// invisible characters show as escapes and the message stays one line.
pub(crate) fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_SHOWN).collect();
    if text.chars().count() > MAX_SHOWN {
        out.push('…');
    }
    format!("{out:?}")
}

/// A JSON value for a message: its JSON text (already one line and
/// unambiguous), shortened.
pub(crate) fn shorten_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out: String = text.chars().take(MAX_SHOWN).collect();
    if text.chars().count() > MAX_SHOWN {
        out.push('…');
    }
    out
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Feature::Element(tag) => write!(f, "new element <{tag}>"),
            Feature::Attribute(attr) => write!(f, "new attribute `{attr}`"),
            Feature::EventHandler { tag, attr, value } => write!(
                f,
                "event-handler attribute `{attr}`={} on <{tag}>",
                shorten(value)
            ),
            Feature::DangerousUrl { tag, attr, value } => write!(
                f,
                "non-allowlisted URL {} in `{attr}` of <{tag}>",
                shorten(value)
            ),
            Feature::Script(text) => write!(f, "script {}", shorten(text)),
            Feature::DangerousStyle(text) => write!(f, "script-capable CSS {}", shorten(text)),
            Feature::Directive { tag, attr, value } => write!(
                f,
                "page-wide directive `{attr}`={} on <{tag}> (only a literal belongs there)",
                shorten(value)
            ),
            Feature::InFrame { tag, inner } => {
                write!(f, "in the `srcdoc` document of <{tag}>: {inner}")
            }
            Feature::FramesTooDeep => write!(
                f,
                "`srcdoc` documents nested more than {MAX_FRAME_DEPTH} deep"
            ),
        }
    }
}

/// The features of one page.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fingerprint(BTreeSet<Feature>);

impl Fingerprint {
    /// Parses `html` as the browser would (a fragment in `<body>`) and
    /// collects its features.
    pub(crate) fn of(html: &str) -> Self {
        let mut features = BTreeSet::new();
        collect(&Html::parse_fragment(html), 0, &mut |feature| {
            features.insert(feature);
        });
        Fingerprint(features)
    }

    /// Adds every feature of `other`.
    pub(crate) fn extend(&mut self, other: Fingerprint) {
        self.0.extend(other.0);
    }

    /// The features of `self` that `baseline` lacks.
    pub(crate) fn new_since<'a>(&'a self, baseline: &'a Fingerprint) -> Vec<&'a Feature> {
        self.0.difference(&baseline.0).collect()
    }
}

/// Calls `add` with every feature of `document`; `depth` counts the
/// `srcdoc` documents around it.
fn collect(document: &Html, depth: usize, add: &mut dyn FnMut(Feature)) {
    for node in document.tree.nodes() {
        let Some(element) = ElementRef::wrap(node) else {
            continue;
        };
        let tag = element.value().name().to_ascii_lowercase();
        if tag == "script" {
            let src = element.value().attr("src").unwrap_or_default();
            let text: String = element.text().collect();
            add(Feature::Script(format!("src={src:?} {text}")));
        }
        if tag == "style" {
            let text: String = element.text().collect();
            if is_dangerous_css(&text) {
                add(Feature::DangerousStyle(text));
            }
        }
        for (name, value) in element.value().attrs() {
            collect_attr(element, &tag, name, value, depth, add);
        }
        add(Feature::Element(tag));
    }
}

/// Calls `add` with the features of attribute `name` (its local name:
/// `xlink:href` reads as `href`, which has the same sink) of `element`.
fn collect_attr(
    element: ElementRef<'_>,
    tag: &str,
    name: &str,
    value: &str,
    depth: usize,
    add: &mut dyn FnMut(Feature),
) {
    let attr = name.to_ascii_lowercase();
    let sibling = |other: &str| {
        element
            .value()
            .attrs()
            .find(|(name, _)| name.eq_ignore_ascii_case(other))
            .map_or(Sibling::Absent, |(_, value)| {
                Sibling::Literal(value.to_owned())
            })
    };
    let check_urls = |urls: &mut dyn Iterator<Item = &str>, add: &mut dyn FnMut(Feature)| {
        for url in urls.filter(|url| !is_safe_url(url)) {
            add(Feature::DangerousUrl {
                tag: tag.to_owned(),
                attr: attr.clone(),
                value: url.to_owned(),
            });
        }
    };
    let directive = || Feature::Directive {
        tag: tag.to_owned(),
        attr: attr.clone(),
        value: value.to_owned(),
    };
    match attribute_sink(tag, &attr, &sibling) {
        AttrSink::Script => add(Feature::EventHandler {
            tag: tag.to_owned(),
            attr: attr.clone(),
            value: value.to_owned(),
        }),
        AttrSink::Style => {
            if is_dangerous_css(value) {
                add(Feature::DangerousStyle(value.to_owned()));
            }
        }
        AttrSink::Url => check_urls(&mut std::iter::once(value), add),
        // The runtime's own splitting, so the URLs checked are the ones the
        // browser fetches; the whole value is shown.
        AttrSink::Srcset if filter_srcset(value) != value => add(Feature::DangerousUrl {
            tag: tag.to_owned(),
            attr: attr.clone(),
            value: value.to_owned(),
        }),
        AttrSink::Srcset => {}
        AttrSink::UrlList => check_urls(&mut url_list(value), add),
        AttrSink::Markup if depth >= MAX_FRAME_DEPTH => add(Feature::FramesTooDeep),
        AttrSink::Markup => {
            let frame = Html::parse_document(value);
            collect(&frame, depth + 1, &mut |inner| {
                add(Feature::InFrame {
                    tag: tag.to_owned(),
                    inner: Box::new(inner),
                })
            });
        }
        AttrSink::LiteralOnly(Directive::BaseUrl) => {
            check_urls(&mut std::iter::once(value), add);
            add(directive());
        }
        AttrSink::LiteralOnly(Directive::MetaPragma) => {
            let refresh = matches!(sibling("http-equiv"), Sibling::Literal(equiv) if equiv.trim().eq_ignore_ascii_case("refresh"));
            if refresh && attr == "content" {
                check_urls(&mut refresh_url(value).into_iter(), add);
            }
            add(directive());
        }
        AttrSink::LiteralOnly(Directive::AnimatedUrl) => {
            check_urls(&mut animation_values(value), add)
        }
        AttrSink::LiteralOnly(Directive::AnimationTarget) | AttrSink::Text => {}
    }
    add(Feature::Attribute(attr));
}

/// CSS that can run script in some browser.
fn is_dangerous_css(css: &str) -> bool {
    let folded: String = css
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\\' && *c != '\0')
        .flat_map(char::to_lowercase)
        .collect();
    [
        "expression(",
        "javascript:",
        "vbscript:",
        "-moz-binding",
        "behavior:",
    ]
    .iter()
    .any(|needle| folded.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_features(baseline: &str, page: &str) -> Vec<String> {
        Fingerprint::of(page)
            .new_since(&Fingerprint::of(baseline))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn escaped_payloads_add_nothing() {
        let base = "<p>smoke</p>";
        let page = "<p>&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>";
        assert!(new_features(base, page).is_empty());
    }

    #[test]
    fn injected_markup_is_found() {
        let base = "<p><a href=\"/x\">smoke</a></p>";
        let found = new_features(base, "<p><script>alert(1)</script></p>");
        assert!(found.iter().any(|f| f.contains("<script>")), "{found:?}");
        let found = new_features(base, "<p><a href=\"/x\" onclick=\"alert(1)\">s</a></p>");
        assert!(found.iter().any(|f| f.contains("onclick")), "{found:?}");
        let found = new_features(base, "<p><a href=\"java&#x09;script:alert(1)\">s</a></p>");
        assert!(
            found.iter().any(|f| f.contains("non-allowlisted URL")),
            "{found:?}"
        );
        let found = new_features(
            base,
            "<p><img srcset=\"/a.png 1x, data:image/svg+xml,x 2x\"></p>",
        );
        assert!(found.iter().any(|f| f.contains("data:")), "{found:?}");
        let found = new_features(base, "<p style=\"x:expression(alert(1))\">s</p>");
        assert!(found.iter().any(|f| f.contains("CSS")), "{found:?}");
    }

    /// Every sink of the shared table is looked at: markup in `srcdoc`,
    /// URLs in `ping`, `formaction`, `poster`, `xlink:href`, `<object data>`,
    /// `<embed src>`, a refresh's URL and an SVG animation of `href`, and a
    /// changed `<base href>` or pragma even with a harmless-looking value.
    #[test]
    fn every_sink_is_looked_at() {
        let cases: [(&str, &str, &str); 11] = [
            (
                r#"<iframe srcdoc="<p>hi</p>"></iframe>"#,
                r#"<iframe srcdoc="<p>hi</p><img src=x onerror=alert(1)>"></iframe>"#,
                "in the `srcdoc` document of <iframe>: event-handler attribute `onerror`",
            ),
            (
                r#"<iframe srcdoc="<p>hi</p>"></iframe>"#,
                r#"<iframe srcdoc="<script>alert(1)</script>"></iframe>"#,
                "in the `srcdoc` document of <iframe>: script",
            ),
            (
                r#"<a href="/" ping="/count">x</a>"#,
                r#"<a href="/" ping="/count javascript:alert(1)">x</a>"#,
                "non-allowlisted URL \"javascript:alert(1)\" in `ping`",
            ),
            (
                r#"<form><button formaction="/a">x</button></form>"#,
                r#"<form><button formaction="javascript:alert(1)">x</button></form>"#,
                "in `formaction` of <button>",
            ),
            (
                r#"<video poster="/a.png"></video>"#,
                r#"<video poster="javascript:alert(1)"></video>"#,
                "in `poster` of <video>",
            ),
            (
                r#"<svg><a xlink:href="/a"><text>x</text></a></svg>"#,
                r#"<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>"#,
                "in `href` of <a>",
            ),
            (
                r#"<object data="/a.svg"></object><embed src="/a.svg">"#,
                r#"<object data="data:text/html,x"></object><embed src="javascript:x">"#,
                "in `data` of <object>",
            ),
            (
                r#"<meta http-equiv="refresh" content="0; url=/next">"#,
                r#"<meta http-equiv="refresh" content="0; url=javascript:alert(1)">"#,
                "non-allowlisted URL \"javascript:alert(1)\" in `content` of <meta>",
            ),
            (
                r#"<svg><a href="/"><set attributeName="href" to="/a"></set></a></svg>"#,
                r#"<svg><a href="/"><set attributeName="href" to="javascript:alert(1)"></set></a></svg>"#,
                "in `to` of <set>",
            ),
            (
                r#"<svg><a href="/"><animate attributeName="xlink:href" values="/a;/b"></animate></a></svg>"#,
                r#"<svg><a href="/"><animate attributeName="xlink:href" values="/a;javascript:alert(1)"></animate></a></svg>"#,
                "in `values` of <animate>",
            ),
            (
                r#"<base href="/app/">"#,
                r#"<base href="https://evil.example/">"#,
                "page-wide directive `href`=\"https://evil.example/\" on <base>",
            ),
        ];
        for (base, page, expected) in cases {
            let found = new_features(base, page);
            assert!(
                found.iter().any(|f| f.contains(expected)),
                "{page}: {expected:?} not in {found:?}"
            );
        }
        let found = new_features(
            "<object data=\"/a.svg\"></object><embed src=\"/a.svg\">",
            "<object data=\"/a.svg\"></object><embed src=\"javascript:x\">",
        );
        assert!(
            found.iter().any(|f| f.contains("in `src` of <embed>")),
            "{found:?}"
        );
        // Same values: nothing new, however many directives the page has.
        let page = r#"<base href="/app/"><meta http-equiv="refresh" content="30"><iframe srcdoc="<b>x</b>"></iframe>"#;
        assert!(new_features(page, page).is_empty());
        // Frames inside frames are followed, up to a limit.
        let mut nested = String::from("<script>x()</script>");
        for _ in 0..2 {
            nested = format!(
                "<iframe srcdoc=\"{}\"></iframe>",
                djust_rules::escape(&nested)
            );
        }
        let found = new_features("<p>x</p>", &nested);
        assert!(
            found
                .iter()
                .any(|f| f.contains("<iframe>: in the `srcdoc` document of <iframe>: script")),
            "{found:?}"
        );
        for _ in 0..MAX_FRAME_DEPTH {
            nested = format!(
                "<iframe srcdoc=\"{}\"></iframe>",
                djust_rules::escape(&nested)
            );
        }
        let found = new_features("<p>x</p>", &nested);
        assert!(
            found.iter().any(|f| f.contains("nested more than")),
            "{found:?}"
        );
    }

    #[test]
    fn a_second_different_script_is_found_even_if_the_baseline_has_one() {
        let base = "<script>init()</script><p>x</p>";
        let found = new_features(
            base,
            "<script>init()</script><p>x<script>evil()</script></p>",
        );
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
