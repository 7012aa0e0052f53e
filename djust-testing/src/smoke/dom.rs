//! The XSS check's view of a page: the HTML parsed with html5ever (through
//! `scraper`, exactly as a browser builds the DOM) and reduced to a set of
//! security-relevant features. A payload is reported when the page after it
//! has a feature that no benign input produced.

use djust_runtime::template::filters::{is_safe_url, is_url_attribute};
use scraper::{Html, Node};
use std::collections::BTreeSet;
use std::fmt;

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
        let document = Html::parse_fragment(html);
        let mut features = BTreeSet::new();
        for node in document.tree.nodes() {
            let Node::Element(element) = node.value() else {
                continue;
            };
            let tag = element.name().to_ascii_lowercase();
            if tag == "script" {
                let text: String = node
                    .descendants()
                    .filter_map(|child| child.value().as_text().map(|t| t.to_string()))
                    .collect();
                let src = element.attr("src").unwrap_or_default();
                features.insert(Feature::Script(format!("src={src:?} {text}")));
            }
            if tag == "style" {
                let text: String = node
                    .descendants()
                    .filter_map(|child| child.value().as_text().map(|t| t.to_string()))
                    .collect();
                if is_dangerous_css(&text) {
                    features.insert(Feature::DangerousStyle(text));
                }
            }
            for (name, value) in element.attrs() {
                let attr = name.to_ascii_lowercase();
                if attr.starts_with("on") {
                    features.insert(Feature::EventHandler {
                        tag: tag.clone(),
                        attr: attr.clone(),
                        value: value.to_owned(),
                    });
                }
                if attr == "style" && is_dangerous_css(value) {
                    features.insert(Feature::DangerousStyle(value.to_owned()));
                }
                if is_url_attribute(&attr) || attr == "srcdoc" {
                    for url in url_candidates(&attr, value) {
                        if !is_safe_url(url) {
                            features.insert(Feature::DangerousUrl {
                                tag: tag.clone(),
                                attr: attr.clone(),
                                value: url.to_owned(),
                            });
                        }
                    }
                }
                features.insert(Feature::Attribute(attr));
            }
            features.insert(Feature::Element(tag));
        }
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

/// The URLs in a URL attribute: the whole value, or each image candidate of
/// a `srcset` (`url [descriptor], ...`). `srcdoc` is treated as a URL-ish
/// value so any non-empty value is reported by its attribute name instead.
fn url_candidates<'a>(attr: &str, value: &'a str) -> Vec<&'a str> {
    match attr {
        "srcset" => value
            .split(',')
            .filter_map(|candidate| candidate.split_whitespace().next())
            .collect(),
        "srcdoc" => Vec::new(),
        _ => vec![value],
    }
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
