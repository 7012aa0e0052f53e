//! Live links: `dj-patch` and `dj-navigate` make an `<a href>` move
//! without a page load (the same view with a new URL, or another view of
//! the live session). The checks: they go on `<a>` elements with an
//! `href`, take no value (the `href` is the target, so the link still works
//! without JavaScript, in a new tab, and for crawlers), are not combined,
//! and a literal `href` is a same-origin path; `dj-replace` only modifies
//! one of them.

use super::ast::{each_element, Attr, AttrValue, Element, Node};
use crate::ctxt::Ctxt;

const LIVE_LINKS: [&str; 2] = ["dj-patch", "dj-navigate"];

fn find<'a>(element: &'a Element, name: &str) -> Option<&'a Attr> {
    element
        .attrs
        .iter()
        .find(|attr| attr.name.value.eq_ignore_ascii_case(name))
}

/// Checks every live link in `nodes`.
pub fn check(nodes: &[Node], cx: &Ctxt) {
    each_element(nodes, &mut |element| check_element(element, cx));
}

fn check_element(element: &Element, cx: &Ctxt) {
    let links: Vec<&Attr> = LIVE_LINKS
        .iter()
        .filter_map(|name| find(element, name))
        .collect();
    if let Some(replace) = find(element, "dj-replace") {
        if links.is_empty() {
            cx.error_spanned_by(
                &replace.name.tokens,
                "`dj-replace` only modifies a `dj-patch` or `dj-navigate` link\n\nhelp: add `dj-patch` or `dj-navigate`, or remove `dj-replace`",
            );
        } else if !matches!(replace.value, AttrValue::Bare) {
            cx.error_spanned_by(
                &replace.name.tokens,
                "`dj-replace` takes no value: write `dj-replace`",
            );
        }
    }
    if links.len() > 1 {
        cx.error_spanned_by(
            &links[1].name.tokens,
            "a link is either `dj-patch` (same view, new URL) or `dj-navigate` (another view), not both",
        );
    }
    let Some(link) = links.first() else { return };
    let kind = &link.name.value;
    if !matches!(link.value, AttrValue::Bare) {
        cx.error_spanned_by(
            &link.name.tokens,
            format!("`{kind}` takes no value: the link's `href` is where it goes\n\nhelp: write `<a href=\"/contacts?page=2\" {kind}>`"),
        );
    }
    if !element.name.value.eq_ignore_ascii_case("a") {
        cx.error_spanned_by(
            &link.name.tokens,
            format!("`{kind}` goes on an `<a href=..>` link, not on `<{}>`\n\nhelp: use `<a href=\"/path\" {kind}>`; for a button that changes the URL, call `ctx.push_patch` or `ctx.push_navigate` in its handler", element.name.value),
        );
        return;
    }
    match find(element, "href").map(|href| &href.value) {
        None | Some(AttrValue::Bare) => cx.error_spanned_by(
            &link.name.tokens,
            format!("a `{kind}` link needs an `href`: the URL it goes to\n\nhelp: write `<a href=\"/contacts\" {kind}>`"),
        ),
        Some(AttrValue::Literal(lit)) => {
            let href = lit.value();
            let same_origin_path = (href.starts_with('/')
                && !href.starts_with("//")
                && !href.starts_with("/\\"))
                || href.starts_with('?');
            if !same_origin_path || href.chars().any(char::is_control) {
                cx.error_spanned_by(
                    lit,
                    format!("a `{kind}` link goes to a same-origin path, not `{href}`\n\nhelp: write a path such as \"/contacts/3\" (or a query such as \"?page=2\"); other sites take a plain link"),
                );
            }
        }
        // A dynamic href is checked on the server: off-origin targets are refused.
        Some(AttrValue::Dynamic(_)) => {}
    }
}
