//! Security and structure checks over the parsed template.
//!
//! Every rule pushes a spanned error with a hint to the [`Ctxt`] and the walk
//! goes on, so a template shows all its problems at once:
//! `on*` attributes, dynamic content or attributes in `<script>`/`<style>`,
//! malformed or non-literal `dj-*` event names, duplicate attributes,
//! literal `javascript:`-style URLs, and reads of `_private` fields.

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

use super::ast::{is_url_attr, Attr, AttrValue, Condition, Element, Else, IfNode, Node};
use crate::ctxt::Ctxt;

/// Client events that name a handler: their value is an event name.
pub const EVENT_ATTRS: &[&str] = &[
    "dj-click",
    "dj-submit",
    "dj-change",
    "dj-input",
    "dj-keydown",
    "dj-keyup",
    "dj-blur",
    "dj-focus",
];

/// The event attribute `name` refers to, ignoring a `.key` filter suffix
/// (`dj-keydown.enter` → `dj-keydown`).
pub fn event_attr_base(name: &str) -> Option<&'static str> {
    let base = name.split('.').next().unwrap_or(name);
    EVENT_ATTRS
        .iter()
        .copied()
        .find(|event| event.eq_ignore_ascii_case(base))
}

/// `^[a-z][a-z0-9_]*$`
pub fn is_valid_event_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// Runs every check on `nodes`.
pub fn check(nodes: &[Node], cx: &Ctxt) {
    for node in nodes {
        check_node(node, cx);
    }
}

fn check_node(node: &Node, cx: &Ctxt) {
    match node {
        Node::Element(element) => check_element(element, cx),
        Node::Text(_) => {}
        Node::Splice(splice) => check_expr(&splice.expr, cx),
        Node::If(if_node) => check_if(if_node, cx),
        Node::For(for_node) => {
            check_pat(&for_node.pat, cx);
            check_expr(&for_node.iter, cx);
            if let Some(key) = &for_node.key {
                check_expr(key, cx);
            }
            check(&for_node.body, cx);
        }
        Node::Match(match_node) => {
            check_expr(&match_node.expr, cx);
            for arm in &match_node.arms {
                check_pat(&arm.pat, cx);
                if let Some(guard) = &arm.guard {
                    check_expr(guard, cx);
                }
                check(&arm.body, cx);
            }
        }
    }
}

fn check_if(if_node: &IfNode, cx: &Ctxt) {
    match &if_node.condition {
        Condition::Bool(expr) => check_expr(expr, cx),
        Condition::Let(pat, expr) => {
            check_pat(pat, cx);
            check_expr(expr, cx);
        }
    }
    check(&if_node.then_branch, cx);
    match &if_node.else_branch {
        Some(Else::If(nested)) => check_if(nested, cx),
        Some(Else::Block(nodes)) => check(nodes, cx),
        None => {}
    }
}

fn check_element(element: &Element, cx: &Ctxt) {
    let tag = element.name.value.to_ascii_lowercase();
    let raw_text = tag == "script" || tag == "style";
    let mut seen: Vec<String> = Vec::new();
    for attr in &element.attrs {
        let lower = attr.name.value.to_ascii_lowercase();
        if seen.contains(&lower) {
            cx.error_spanned_by(
                &attr.name.tokens,
                format!("duplicate attribute `{}`\n\nhelp: an element can set each attribute once; remove one of them", attr.name.value),
            );
        }
        seen.push(lower);
        check_attr(attr, cx);
        if raw_text {
            if let AttrValue::Dynamic(expr) = &attr.value {
                cx.error_spanned_by(
                    expr,
                    format!("dynamic attributes on `<{tag}>` are not allowed: a dynamic `src` or `type` can load attacker-controlled code\n\nhelp: write the value as a literal, e.g. `src=\"/static/app.js\"`"),
                );
            }
        }
    }
    if raw_text {
        for child in &element.children {
            match child {
                Node::Text(lit) => {
                    if lit.value().to_ascii_lowercase().contains("</") {
                        cx.error_spanned_by(
                            lit,
                            format!("`</` inside `<{tag}>` text would end the element early\n\nhelp: move the code to a static file and load it with `src`"),
                        );
                    }
                }
                Node::Splice(splice) => cx.error_spanned_by(
                    &splice.expr,
                    format!("dynamic content inside `<{tag}>` is not allowed: HTML escaping does not protect {} code\n\nhelp: pass data in a `data-*` attribute and read it from a static script, or use a `dj-*` event", if tag == "script" { "JavaScript" } else { "CSS" }),
                ),
                Node::Element(inner) => cx.error_spanned_by(
                    &inner.name.tokens,
                    format!("`<{tag}>` can only contain literal text"),
                ),
                Node::If(_) | Node::For(_) | Node::Match(_) => cx.error_spanned_by(
                    &element.name.tokens,
                    format!("dynamic content inside `<{tag}>` is not allowed: `<{tag}>` can only contain literal text\n\nhelp: move the logic out of the `<{tag}>` element"),
                ),
            }
        }
    } else {
        check(&element.children, cx);
    }
}

fn check_attr(attr: &Attr, cx: &Ctxt) {
    let name = &attr.name.value;
    let lower = name.to_ascii_lowercase();
    if let Some(event) = lower.strip_prefix("on") {
        cx.error_spanned_by(
            &attr.name.tokens,
            format!("`{name}` is not allowed: inline event handlers run arbitrary JavaScript and bypass the `#[event_handler]` allowlist\n\nhelp: use `dj-{event}=\"handler_name\"` and mark `handler_name` with `#[event_handler]`"),
        );
    }
    if let Some(event) = event_attr_base(name) {
        match &attr.value {
            AttrValue::Literal(lit) => {
                let handler = lit.value();
                if !is_valid_event_name(&handler) {
                    cx.error_spanned_by(
                        lit,
                        format!("`{handler}` is not a valid event name for `{event}`: names must match `^[a-z][a-z0-9_]*$`\n\nhelp: name the `#[event_handler]` method in snake_case, e.g. `{event}=\"save_contact\"`"),
                    );
                }
            }
            AttrValue::Dynamic(expr) => cx.error_spanned_by(
                expr,
                format!("`{event}` must name its handler with a string literal so the compiler can check it against the view's `#[event_handler]` methods\n\nhelp: write `{event}=\"handler_name\"`; pass data with `dj-value-*` attributes"),
            ),
            AttrValue::Bare => cx.error_spanned_by(
                &attr.name.tokens,
                format!("`{event}` needs the name of an `#[event_handler]`, e.g. `{event}=\"save\"`"),
            ),
        }
    }
    match &attr.value {
        AttrValue::Literal(lit) if is_url_attr(name) => {
            if let Some(scheme) = dangerous_literal_scheme(&lit.value()) {
                cx.error_spanned_by(
                    lit,
                    format!("`{scheme}:` URLs are not allowed in `{name}`: they run code or embed content in the page\n\nhelp: link to a path or an http(s) URL, and use `dj-click` for behaviour"),
                );
            }
        }
        AttrValue::Dynamic(expr) => check_expr(expr, cx),
        _ => {}
    }
}

/// The dangerous scheme a literal URL starts with, ignoring case, spaces and
/// control characters.
fn dangerous_literal_scheme(url: &str) -> Option<&'static str> {
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    ["javascript", "vbscript", "data"]
        .into_iter()
        .find(|scheme| squeezed.starts_with(scheme) && squeezed[scheme.len()..].starts_with(':'))
}

/// Reports reads of fields named `_…` (private to the server by convention).
struct PrivateFields<'a> {
    cx: &'a Ctxt,
}

fn private_field_error(cx: &Ctxt, ident: &proc_macro2::Ident) {
    cx.error_spanned_by(
        ident,
        format!("templates cannot read `{ident}`: fields starting with `_` are private to the server and never reach the client\n\nhelp: rename the field without the leading `_` if it is meant to be shown, or render a derived public value"),
    );
}

impl<'ast> Visit<'ast> for PrivateFields<'_> {
    fn visit_expr_field(&mut self, node: &'ast syn::ExprField) {
        if let syn::Member::Named(ident) = &node.member {
            if ident.to_string().starts_with('_') {
                private_field_error(self.cx, ident);
            }
        }
        syn::visit::visit_expr_field(self, node);
    }

    fn visit_field_pat(&mut self, node: &'ast syn::FieldPat) {
        if let syn::Member::Named(ident) = &node.member {
            if ident.to_string().starts_with('_') {
                private_field_error(self.cx, ident);
            }
        }
        syn::visit::visit_field_pat(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        scan_tokens_for_private_fields(node.tokens.clone(), self.cx);
    }
}

/// Macro arguments are opaque to syn: look for `. _name` in their tokens.
fn scan_tokens_for_private_fields(tokens: TokenStream, cx: &Ctxt) {
    let mut after_dot = false;
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == '.' => {
                after_dot = true;
                continue;
            }
            TokenTree::Ident(ident) if after_dot && ident.to_string().starts_with('_') => {
                private_field_error(cx, ident);
            }
            TokenTree::Group(group) => scan_tokens_for_private_fields(group.stream(), cx),
            _ => {}
        }
        after_dot = false;
    }
}

fn check_expr(expr: &syn::Expr, cx: &Ctxt) {
    PrivateFields { cx }.visit_expr(expr);
}

fn check_pat(pat: &syn::Pat, cx: &Ctxt) {
    PrivateFields { cx }.visit_pat(pat);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names() {
        assert!(is_valid_event_name("save_contact2"));
        for bad in ["", "Save", "_x", "a-b", "2a", "a b", "dеlete"] {
            assert!(!is_valid_event_name(bad), "{bad}");
        }
        assert_eq!(event_attr_base("dj-keydown.enter"), Some("dj-keydown"));
        assert_eq!(event_attr_base("dj-value-id"), None);
    }

    #[test]
    fn literal_schemes() {
        assert_eq!(
            dangerous_literal_scheme(" JaVa\tScript:alert(1)"),
            Some("javascript")
        );
        assert_eq!(dangerous_literal_scheme("data:text/html,x"), Some("data"));
        assert_eq!(dangerous_literal_scheme("/data:x"), None);
        assert_eq!(dangerous_literal_scheme("https://x"), None);
    }
}
