//! `style` filter: keeps the declarations of a dynamic `style` value that are
//! plainly presentational and drops everything else.
//!
//! A declaration `property: value` survives only if
//! - the property (ASCII case-insensitive, surrounding ASCII whitespace
//!   ignored) is on [`ALLOWED_PROPERTIES`];
//! - the value is non-empty and made only of `A-Z a-z 0-9`, space and
//!   `# . , % ( ) + - /` — so no quotes, backslash escapes, comments (`*`),
//!   `<`/`>`, `@`, `!`, `;`, `{`, `}` or `:`;
//! - with spaces removed, it contains none of `url(`, `expression(`,
//!   `javascript`, `behavior`, `-moz-binding`, `image-set(` (ASCII
//!   case-insensitive; comments cannot occur because `*` is refused);
//! - every function it calls (`name(`) is on [`ALLOWED_FUNCTIONS`], so a CSS
//!   function that loads resources, including future ones, is refused too.

use std::borrow::Cow;

/// Properties a dynamic `style` value may set.
pub const ALLOWED_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "width",
    "height",
    "min-width",
    "min-height",
    "max-width",
    "max-height",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "margin-block",
    "margin-inline",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "padding-block",
    "padding-inline",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-radius",
    "border-collapse",
    "border-spacing",
    "border-top-color",
    "border-right-color",
    "border-bottom-color",
    "border-left-color",
    "border-top-width",
    "border-right-width",
    "border-bottom-width",
    "border-left-width",
    "border-top-style",
    "border-right-style",
    "border-bottom-style",
    "border-left-style",
    "font-size",
    "font-weight",
    "font-style",
    "font-family",
    "text-align",
    "text-decoration",
    "line-height",
    "display",
    "opacity",
    "visibility",
    "gap",
    "row-gap",
    "column-gap",
    "flex",
    "flex-direction",
    "flex-wrap",
    "flex-flow",
    "flex-grow",
    "flex-shrink",
    "flex-basis",
    "grid-template-columns",
    "vertical-align",
    "white-space",
    "cursor",
    "overflow",
    "overflow-x",
    "overflow-y",
];

/// CSS functions a value may call: colours, arithmetic, custom properties and
/// grid helpers. None of them loads anything.
pub const ALLOWED_FUNCTIONS: &[&str] = &[
    "rgb",
    "rgba",
    "hsl",
    "hsla",
    "hwb",
    "lab",
    "lch",
    "oklab",
    "oklch",
    "calc",
    "min",
    "max",
    "clamp",
    "var",
    "minmax",
    "repeat",
    "fit-content",
];

/// Substrings refused anywhere in a value (spaces removed, case ignored).
const FORBIDDEN: &[&str] = &[
    "url(",
    "expression(",
    "javascript",
    "behavior",
    "-moz-binding",
    "image-set(",
];

/// Filters a dynamic `style` value down to its safe declarations.
///
/// Returns `value` itself (borrowed) when every declaration was kept; a
/// re-joined `property: value; property: value` when some were dropped; and
/// `None` when nothing is left, meaning the attribute should not be rendered.
/// Empty declarations (such as after a trailing `;`) are ignored.
pub fn filter_style(value: &str) -> Option<Cow<'_, str>> {
    let mut kept = 0usize;
    let mut dropped = false;
    for declaration in value.split(';') {
        if declaration.trim_ascii().is_empty() {
            continue;
        }
        if safe_declaration(declaration).is_some() {
            kept += 1;
        } else {
            dropped = true;
        }
    }
    if kept == 0 {
        return None;
    }
    if !dropped {
        return Some(Cow::Borrowed(value));
    }
    let mut out = String::with_capacity(value.len());
    for (property, value) in value.split(';').filter_map(safe_declaration) {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(property);
        out.push_str(": ");
        out.push_str(value);
    }
    Some(Cow::Owned(out))
}

/// The canonical property name and trimmed value of an allowed declaration.
fn safe_declaration(declaration: &str) -> Option<(&'static str, &str)> {
    let (property, value) = declaration.split_once(':')?;
    let property = property.trim_ascii();
    let property = ALLOWED_PROPERTIES
        .iter()
        .find(|allowed| allowed.eq_ignore_ascii_case(property))?;
    let value = value.trim_ascii();
    safe_value(value).then_some((property, value))
}

/// `true` for a value that passes the character, substring and function checks.
fn safe_value(value: &str) -> bool {
    !value.is_empty()
        && value.bytes().all(|byte| {
            byte.is_ascii_alphanumeric()
                || matches!(
                    byte,
                    b' ' | b'#' | b'.' | b',' | b'%' | b'(' | b')' | b'+' | b'-' | b'/'
                )
        })
        && !FORBIDDEN
            .iter()
            .any(|needle| contains_ignoring_spaces(value, needle))
        && functions_allowed(value)
}

/// ASCII case-insensitive substring search in `haystack` with its spaces
/// removed. `needle` is lowercase and has no spaces.
fn contains_ignoring_spaces(haystack: &str, needle: &str) -> bool {
    let haystack = haystack.as_bytes();
    let needle = needle.as_bytes();
    (0..haystack.len()).any(|start| {
        let mut wanted = needle.iter();
        let mut next = wanted.next();
        for &byte in haystack.get(start..).unwrap_or_default() {
            let Some(&expected) = next else { break };
            if byte == b' ' {
                continue;
            }
            if byte.to_ascii_lowercase() != expected {
                return false;
            }
            next = wanted.next();
        }
        next.is_none()
    })
}

/// `true` when every `(` in `value` follows (spaces aside) a name on
/// [`ALLOWED_FUNCTIONS`] or no name at all (a grouping parenthesis, as in
/// `calc(2px - (1px + 1em))`; a "name" without letters, such as `-`, is an
/// operator).
fn functions_allowed(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &byte)| byte == b'(')
        .all(|(paren, _)| {
            let before = value.get(..paren).unwrap_or_default().trim_end_matches(' ');
            let name_start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .map_or(0, |position| position + 1);
            let name = before.get(name_start..).unwrap_or_default();
            !name.bytes().any(|byte| byte.is_ascii_alphabetic())
                || ALLOWED_FUNCTIONS
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_do_not_hide_forbidden_words() {
        assert!(contains_ignoring_spaces("u r l (x)", "url("));
        assert!(contains_ignoring_spaces("a JavaScript", "javascript"));
        assert!(!contains_ignoring_spaces("ur", "url("));
    }

    #[test]
    fn only_allowlisted_functions() {
        assert!(functions_allowed("rgb(1, 2, 3)"));
        assert!(functions_allowed("calc(100% - (2px + 1em))"));
        assert!(functions_allowed("calc(100% - calc(2px + 1em))"));
        assert!(!functions_allowed("attr(x)"));
        assert!(!functions_allowed("u-r-l(x)"));
        assert!(!functions_allowed("rgb(1,2,3) image (x)"));
    }
}
