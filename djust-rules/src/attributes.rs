//! Attribute tables: which attributes hold a URL, and the sink table saying
//! how the browser reads each attribute's value.
//!
//! The `html!` macro decides from [`attribute_sink`] how a value is checked
//! at compile time and filtered at run time; the smoke tests look for
//! injected markup and dangerous URLs in the same sinks. Names are compared
//! ASCII case-insensitively.
//!
//! | sink | attributes | a dynamic value |
//! | --- | --- | --- |
//! | [`AttrSink::Script`] | `on*` | refused (compile error), literal too |
//! | [`AttrSink::Markup`] | `srcdoc` | only trusted markup (`SafeHtml`), escaped into the attribute |
//! | [`AttrSink::Url`] | [`URL_ATTRIBUTES`] (`href src action formaction poster cite data background xlink:href`) | scheme allowlist |
//! | [`AttrSink::Srcset`] | `srcset`, `imagesrcset` | scheme allowlist per image candidate |
//! | [`AttrSink::UrlList`] | `ping` | scheme allowlist per space-separated URL |
//! | [`AttrSink::Style`] | `style` | safe-CSS filter |
//! | [`AttrSink::LiteralOnly`] | `<base href>`; `<meta http-equiv>` and, beside it, `content`; `attributeName` of SVG animation elements and, when it names `href`/`xlink:href`, their `values`/`to`/`from`/`by` | refused: only a literal may set it (see [`Directive`]) |
//! | [`AttrSink::Text`] | everything else | escaped |

/// Attributes whose value the browser treats as a URL (`srcset` holds a
/// list of them).
pub const URL_ATTRIBUTES: &[&str] = &[
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
];

/// `true` for attributes whose value is a URL: `href src action formaction
/// poster cite data background srcset xlink:href` (ASCII case-insensitive).
pub fn is_url_attribute(name: &str) -> bool {
    URL_ATTRIBUTES
        .iter()
        .any(|attribute| attribute.eq_ignore_ascii_case(name))
}

/// How the browser reads an attribute's value: what a dynamic value must
/// go through before it is written there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrSink {
    /// Plain text: HTML-escaped.
    Text,
    /// One URL: the scheme allowlist, then escaped.
    Url,
    /// `srcset`, `imagesrcset`: comma-separated image candidates, each URL
    /// filtered.
    Srcset,
    /// `ping`: space-separated URLs, each filtered.
    UrlList,
    /// `style`: CSS declarations, the safe-CSS filter.
    Style,
    /// `srcdoc`: the browser parses the (unescaped) value as a whole HTML
    /// document in a same-origin frame, so only trusted markup may go there.
    Markup,
    /// `on*`: JavaScript. Never allowed, not even as a literal.
    Script,
    /// A directive no filter can make safe: only a literal may set it.
    LiteralOnly(Directive),
}

/// Why an attribute only takes literals ([`AttrSink::LiteralOnly`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    /// `<base href>`: every relative URL of the page, `<script src>` and
    /// form actions included, resolves against it; even an `https:` URL
    /// moves them to another site.
    BaseUrl,
    /// `<meta http-equiv>` and its `content`: a page-wide pragma
    /// (`refresh` redirects to the URL in `content`, others set the content
    /// type or a policy).
    MetaPragma,
    /// `attributeName` of an SVG animation element: it picks the attribute
    /// the animated values land in, `href` included.
    AnimationTarget,
    /// `values`/`to`/`from`/`by` of an SVG animation whose `attributeName`
    /// is `href` or `xlink:href`: each value becomes a link's URL without
    /// passing any filter.
    AnimatedUrl,
}

impl Directive {
    /// What the browser does with the attribute, for error messages.
    pub fn reason(self) -> &'static str {
        match self {
            Directive::BaseUrl => "`<base href>` sets the URL every relative link, form and script of the page resolves against: even an `https:` URL moves them to another site",
            Directive::MetaPragma => "`<meta http-equiv>` is a page-wide directive: `refresh` redirects to the URL in `content` (`javascript:` included), others change the content type or policies",
            Directive::AnimationTarget => "`attributeName` picks the attribute an SVG animation writes its values into: a dynamic one can turn the values into a link's `href`",
            Directive::AnimatedUrl => "an SVG animation of `href` writes these values into the link's URL, where no scheme filter applies",
        }
    }

    /// What to write instead, for error messages.
    pub fn help(self) -> &'static str {
        match self {
            Directive::BaseUrl => "write the base URL as a literal, e.g. `<base href=\"/app/\">`, or use absolute paths",
            Directive::MetaPragma => "write the directive as a literal; to send the user somewhere else, navigate from an event handler",
            Directive::AnimationTarget => "write `attributeName` as a literal",
            Directive::AnimatedUrl => "write the animated URLs as literals, or animate another attribute and switch links with `href={url}` (which is filtered)",
        }
    }
}

/// What the sink table needs to know about another attribute of the same
/// element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sibling {
    /// The element does not have it.
    Absent,
    /// It has this literal value.
    Literal(String),
    /// Its value is only known at run time.
    Dynamic,
}

/// SVG elements that animate another attribute named by `attributeName`.
pub const ANIMATION_ELEMENTS: &[&str] = &[
    "animate",
    "animatecolor",
    "animatemotion",
    "animatetransform",
    "set",
];

/// The attributes of an animation element that hold the animated values.
pub const ANIMATION_VALUE_ATTRIBUTES: &[&str] = &["values", "to", "from", "by"];

fn is_one_of(table: &[&str], name: &str) -> bool {
    table.iter().any(|entry| entry.eq_ignore_ascii_case(name))
}

/// `true` when an animation's `attributeName` names a link URL
/// (`href`, `xlink:href`, any `prefix:href`).
pub fn names_href(attribute_name: &str) -> bool {
    let name = attribute_name.trim_matches(|c: char| c.is_ascii_whitespace());
    let local = name.rsplit(':').next().unwrap_or(name);
    local.eq_ignore_ascii_case("href")
}

/// How the browser reads attribute `attr` of element `tag`; `sibling`
/// tells what the element's other attributes are (the sink of `content`
/// depends on `http-equiv`, that of an animation's `values` on its
/// `attributeName`).
pub fn attribute_sink(tag: &str, attr: &str, sibling: &dyn Fn(&str) -> Sibling) -> AttrSink {
    let lower = attr.to_ascii_lowercase();
    if lower.starts_with("on") {
        return AttrSink::Script;
    }
    match lower.as_str() {
        "srcdoc" => return AttrSink::Markup,
        "srcset" | "imagesrcset" => return AttrSink::Srcset,
        "ping" => return AttrSink::UrlList,
        "style" => return AttrSink::Style,
        _ => {}
    }
    if tag.eq_ignore_ascii_case("base") && lower == "href" {
        return AttrSink::LiteralOnly(Directive::BaseUrl);
    }
    if tag.eq_ignore_ascii_case("meta") {
        if lower == "http-equiv" {
            return AttrSink::LiteralOnly(Directive::MetaPragma);
        }
        if lower == "content" && sibling("http-equiv") != Sibling::Absent {
            return AttrSink::LiteralOnly(Directive::MetaPragma);
        }
    }
    if is_one_of(ANIMATION_ELEMENTS, tag) {
        if lower == "attributename" {
            return AttrSink::LiteralOnly(Directive::AnimationTarget);
        }
        if is_one_of(ANIMATION_VALUE_ATTRIBUTES, &lower) {
            match sibling("attributeName") {
                Sibling::Literal(name) if !names_href(&name) => {}
                Sibling::Absent => {}
                Sibling::Literal(_) | Sibling::Dynamic => {
                    return AttrSink::LiteralOnly(Directive::AnimatedUrl)
                }
            }
        }
    }
    if is_url_attribute(&lower) {
        AttrSink::Url
    } else {
        AttrSink::Text
    }
}

/// The URL a `<meta http-equiv="refresh">` `content` redirects to
/// (`5; url=/next`, `0;URL='x'`), as the WHATWG "shared declarative
/// refresh steps" read it; `None` when it holds only a delay.
pub fn refresh_url(content: &str) -> Option<&str> {
    let rest = content.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let rest = rest.strip_prefix([';', ','])?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let rest = match rest.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case("url") => {
            let after = rest[3..].trim_start_matches(|c: char| c.is_ascii_whitespace());
            match after.strip_prefix('=') {
                Some(value) => value.trim_start_matches(|c: char| c.is_ascii_whitespace()),
                None => rest,
            }
        }
        _ => rest,
    };
    let url = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let inner = &rest[1..];
            inner.split(quote).next().unwrap_or(inner)
        }
        _ => rest.trim_end_matches(|c: char| c.is_ascii_whitespace()),
    };
    (!url.is_empty()).then_some(url)
}

/// The values of an animation attribute: `values` is a `;`-separated list,
/// `to`/`from`/`by` hold one value (which has no `;` to split on).
pub fn animation_values(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(';')
        .map(|part| part.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|part| !part.is_empty())
}

/// The URLs of a `ping` value (ASCII-whitespace separated).
pub fn url_list(value: &str) -> impl Iterator<Item = &str> {
    value.split_ascii_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_attributes() {
        for name in ["href", "SRC", "xlink:href", "FormAction", "srcset", "data"] {
            assert!(is_url_attribute(name), "{name}");
        }
        for name in ["title", "data-url", "xlink", "hreflang", "", "h\u{0433}ef"] {
            assert!(!is_url_attribute(name), "{name}");
        }
    }

    fn none(_: &str) -> Sibling {
        Sibling::Absent
    }

    #[test]
    fn sinks_by_name() {
        assert_eq!(attribute_sink("a", "href", &none), AttrSink::Url);
        assert_eq!(attribute_sink("A", "HREF", &none), AttrSink::Url);
        assert_eq!(attribute_sink("button", "formaction", &none), AttrSink::Url);
        assert_eq!(attribute_sink("video", "poster", &none), AttrSink::Url);
        assert_eq!(attribute_sink("object", "data", &none), AttrSink::Url);
        assert_eq!(attribute_sink("embed", "src", &none), AttrSink::Url);
        assert_eq!(attribute_sink("use", "xlink:href", &none), AttrSink::Url);
        assert_eq!(attribute_sink("a", "ping", &none), AttrSink::UrlList);
        assert_eq!(attribute_sink("img", "srcset", &none), AttrSink::Srcset);
        assert_eq!(
            attribute_sink("link", "imagesrcset", &none),
            AttrSink::Srcset
        );
        assert_eq!(attribute_sink("iframe", "srcdoc", &none), AttrSink::Markup);
        assert_eq!(attribute_sink("frame", "SrcDoc", &none), AttrSink::Markup);
        assert_eq!(attribute_sink("p", "OnClick", &none), AttrSink::Script);
        assert_eq!(attribute_sink("p", "style", &none), AttrSink::Style);
        assert_eq!(attribute_sink("p", "title", &none), AttrSink::Text);
        assert_eq!(attribute_sink("a", "data-href", &none), AttrSink::Text);
    }

    #[test]
    fn sinks_by_element_and_siblings() {
        let base = AttrSink::LiteralOnly(Directive::BaseUrl);
        assert_eq!(attribute_sink("base", "href", &none), base);
        assert_eq!(attribute_sink("BASE", "Href", &none), base);
        assert_eq!(attribute_sink("base", "target", &none), AttrSink::Text);

        let pragma = AttrSink::LiteralOnly(Directive::MetaPragma);
        let refresh = |name: &str| match name {
            "http-equiv" => Sibling::Literal("refresh".into()),
            _ => Sibling::Absent,
        };
        assert_eq!(attribute_sink("meta", "content", &refresh), pragma);
        assert_eq!(attribute_sink("meta", "http-equiv", &none), pragma);
        let dynamic = |_: &str| Sibling::Dynamic;
        assert_eq!(attribute_sink("meta", "content", &dynamic), pragma);
        assert_eq!(attribute_sink("meta", "content", &none), AttrSink::Text);

        let animated = AttrSink::LiteralOnly(Directive::AnimatedUrl);
        for target in ["href", "xlink:href", " HREF ", "XLink:Href"] {
            let names = move |name: &str| match name {
                "attributeName" => Sibling::Literal(target.into()),
                _ => Sibling::Absent,
            };
            for tag in ["animate", "set", "animateMotion"] {
                for attr in ["values", "to", "from", "by", "VALUES"] {
                    assert_eq!(
                        attribute_sink(tag, attr, &names),
                        animated,
                        "{tag} {attr} {target}"
                    );
                }
            }
            assert_eq!(attribute_sink("rect", "to", &names), AttrSink::Text);
        }
        assert_eq!(attribute_sink("set", "to", &dynamic), animated);
        let opacity = |name: &str| match name {
            "attributeName" => Sibling::Literal("opacity".into()),
            _ => Sibling::Absent,
        };
        assert_eq!(
            attribute_sink("animate", "values", &opacity),
            AttrSink::Text
        );
        assert_eq!(attribute_sink("animate", "values", &none), AttrSink::Text);
        assert_eq!(
            attribute_sink("animate", "attributeName", &none),
            AttrSink::LiteralOnly(Directive::AnimationTarget)
        );
        // The animation's own target reference is an ordinary URL.
        assert_eq!(attribute_sink("animate", "href", &opacity), AttrSink::Url);
    }

    #[test]
    fn refresh_urls() {
        assert_eq!(refresh_url("0; url=/next"), Some("/next"));
        assert_eq!(
            refresh_url("5;URL='javascript:alert(1)'"),
            Some("javascript:alert(1)")
        );
        assert_eq!(
            refresh_url(" 1 , url = \"https://x/\" "),
            Some("https://x/")
        );
        assert_eq!(
            refresh_url("0;javascript:alert(1)"),
            Some("javascript:alert(1)")
        );
        assert_eq!(refresh_url("0; urlx"), Some("urlx"));
        assert_eq!(refresh_url("3.5; url=/a "), Some("/a"));
        assert_eq!(refresh_url("30"), None);
        assert_eq!(refresh_url("0;"), None);
        assert_eq!(refresh_url(""), None);
        assert_eq!(refresh_url("0; url=é"), Some("é"));
    }

    #[test]
    fn value_lists() {
        assert_eq!(
            animation_values(" /a ; javascript:x;;").collect::<Vec<_>>(),
            ["/a", "javascript:x"]
        );
        assert_eq!(
            url_list(" /a\thttps://b ").collect::<Vec<_>>(),
            ["/a", "https://b"]
        );
        assert!(names_href("svg:href") && !names_href("hreflang"));
    }
}
