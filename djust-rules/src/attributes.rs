//! Attribute tables: which attributes hold a URL.
//!
//! The `html!` macro sends a dynamic value of such an attribute through the
//! runtime's scheme filter; the smoke tests look for dangerous URLs in the
//! same attributes. Names are compared ASCII case-insensitively.

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
}
