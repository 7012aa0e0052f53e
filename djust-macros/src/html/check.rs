//! Security and structure checks over the parsed template.
//!
//! Every rule pushes a spanned error with a hint to the [`Ctxt`] and the walk
//! goes on, so a template shows all its problems at once:
//! `on*` attributes, dynamic content or attributes in `<script>`/`<style>`,
//! markup or values in other raw-text elements, malformed `dj-*` event
//! names (a dynamic value is a client command, see [`super::commands`]),
//! duplicate attributes, dynamic values of attributes only a literal may set (the sink table's [`AttrSink::LiteralOnly`]:
//! `<base href>`, `<meta http-equiv>`, SVG animations of `href`), literal
//! `javascript:`-style URLs in every URL sink, and reads of `_private` fields.

use djust_rules::attributes::{
    animation_values, refresh_url, url_list, AttrSink, Directive, Sibling,
};
use djust_rules::events::EventNameProblem;
use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

use super::ast::{Attr, AttrValue, Condition, Element, Else, IfNode, Node};
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

/// `^[a-z][a-z0-9_]*$`, no `__`, at most 64 bytes: the runtime's rule
/// (shared through `djust-rules`), so a name the template may use is a
/// name the runtime dispatches.
pub fn is_valid_event_name(name: &str) -> bool {
    djust_rules::events::is_safe_event_name(name)
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
    // `<script>` and `<style>` hold code: a dynamic `src` or `type` could
    // load or change it.
    let code = tag == "script" || tag == "style";
    if tag == "plaintext" {
        cx.error_spanned_by(
            &element.name.tokens,
            "`<plaintext>` is not allowed: the browser reads everything after it, to the end of the page, as text\n\nhelp: use `<pre>` for preformatted text",
        );
    }
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
        check_attr(element, attr, cx);
        if code {
            if let AttrValue::Dynamic(expr) = &attr.value {
                cx.error_spanned_by(
                    expr,
                    format!("dynamic attributes on `<{tag}>` are not allowed: a dynamic `src` or `type` can load attacker-controlled code\n\nhelp: write the value as a literal, e.g. `src=\"/static/app.js\"`"),
                );
            }
        }
    }
    super::streams::check_stream_container(element, cx);
    if djust_rules::elements::is_raw_text_element(&tag) {
        check_raw_text_content(element, &tag, cx);
    } else {
        if djust_rules::elements::is_escapable_raw_text_element(&tag) {
            for_each_element_child(&element.children, &mut |inner| {
                cx.error_spanned_by(
                    &inner.name.tokens,
                    format!("`<{tag}>` holds text only: the browser reads `<{}>` inside it as text, not as an element\n\nhelp: write the text as a string literal or `{{value}}`", inner.name.value),
                );
            });
        }
        check(&element.children, cx);
    }
}

/// What to do instead of dynamic content in raw-text element `tag`.
fn raw_text_help(tag: &str) -> &'static str {
    match tag {
        "script" => "pass data in a `data-*` attribute and read it from a static script, or use a `dj-*` event",
        "style" => "set classes with `class={..}`, or a filtered `style={..}` attribute",
        "iframe" => "an `<iframe>`'s content is never shown: set its document with `src={url}` or `srcdoc={safe_html}`",
        "noscript" => "write the fallback markup as one string literal: `<noscript>\"<p>Please turn on JavaScript.</p>\"</noscript>`",
        _ => "use `<pre>` for preformatted text",
    }
}

/// Raw-text elements (`<script>`, `<style>`, `<noscript>`, `<iframe>`,
/// `<xmp>`, ...) hold literal text only: the browser neither decodes
/// entities nor builds elements there, so escaping cannot protect a value,
/// and the text must not contain the element's own end tag.
fn check_raw_text_content(element: &Element, tag: &str, cx: &Ctxt) {
    let help = raw_text_help(tag);
    let what = match tag {
        "script" => "HTML escaping does not protect JavaScript code",
        "style" => "HTML escaping does not protect CSS code",
        _ => "the browser reads its content as raw text, where escaping does not apply",
    };
    for child in &element.children {
        match child {
            Node::Text(lit) => {
                let text = lit.value().to_ascii_lowercase();
                // Code elements: any `</` (the classic `</script` and the
                // parser's script-data escape states); others: their own end tag.
                let (end, fix) = if tag == "script" || tag == "style" {
                    ("</".to_owned(), "move the code to a static file and load it with `src`")
                } else {
                    (format!("</{tag}"), "rephrase the text without the element's end tag")
                };
                if text.contains(&end) {
                    cx.error_spanned_by(
                        lit,
                        format!("`{end}` inside `<{tag}>` text would end the element early\n\nhelp: {fix}"),
                    );
                }
            }
            Node::Splice(splice) => cx.error_spanned_by(
                &splice.expr,
                format!("dynamic content inside `<{tag}>` is not allowed: {what}\n\nhelp: {help}"),
            ),
            Node::Element(inner) => cx.error_spanned_by(
                &inner.name.tokens,
                format!("`<{tag}>` can only contain literal text\n\nhelp: {help}"),
            ),
            Node::If(_) | Node::For(_) | Node::Match(_) => cx.error_spanned_by(
                &element.name.tokens,
                format!("dynamic content inside `<{tag}>` is not allowed: `<{tag}>` can only contain literal text\n\nhelp: move the logic out of the `<{tag}>` element"),
            ),
        }
    }
}

/// Calls `f` on every element among `nodes`, looking through control flow
/// (not into the elements themselves).
fn for_each_element_child<'a>(nodes: &'a [Node], f: &mut dyn FnMut(&'a Element)) {
    for node in nodes {
        match node {
            Node::Element(element) => f(element),
            Node::If(if_node) => for_each_element_in_if(if_node, f),
            Node::For(for_node) => for_each_element_child(&for_node.body, f),
            Node::Match(match_node) => {
                for arm in &match_node.arms {
                    for_each_element_child(&arm.body, f);
                }
            }
            Node::Text(_) | Node::Splice(_) => {}
        }
    }
}

fn for_each_element_in_if<'a>(if_node: &'a IfNode, f: &mut dyn FnMut(&'a Element)) {
    for_each_element_child(&if_node.then_branch, f);
    match &if_node.else_branch {
        Some(Else::If(nested)) => for_each_element_in_if(nested, f),
        Some(Else::Block(nodes)) => for_each_element_child(nodes, f),
        None => {}
    }
}

fn check_attr(element: &Element, attr: &Attr, cx: &Ctxt) {
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
                if let Err(problem) = djust_rules::events::check_event_name(&handler) {
                    let help = match problem {
                        EventNameProblem::TooLong { .. } => "the runtime refuses longer names before dispatch: give the `#[event_handler]` method a shorter name".to_owned(),
                        _ => format!("name the `#[event_handler]` method in snake_case, e.g. `{event}=\"save_contact\"`"),
                    };
                    cx.error_spanned_by(
                        lit,
                        format!("`{handler}` is not a valid event name for `{event}`: {problem}\n\nhelp: {help}"),
                    );
                }
            }
            // A client command: `commands::rewrite` makes it accept only a
            // `JS`; the names it pushes are checked like literal ones.
            AttrValue::Dynamic(expr) => {
                for lit in super::commands::pushed_events(expr) {
                    let handler = lit.value();
                    if let Err(problem) = djust_rules::events::check_event_name(&handler) {
                        cx.error_spanned_by(
                            &lit,
                            format!("`push(\"{handler}\")` in `{event}` does not name a valid event: {problem}\n\nhelp: push the name of an `#[event_handler]` method, e.g. `JS::push(\"save_contact\")`"),
                        );
                    }
                }
            }
            AttrValue::Bare => cx.error_spanned_by(
                &attr.name.tokens,
                format!(
                    "`{event}` needs the name of an `#[event_handler]`, e.g. `{event}=\"save\"`"
                ),
            ),
        }
    }
    let sink = element.sink(attr);
    match &attr.value {
        AttrValue::Literal(lit) => {
            let value = lit.value();
            let found = literal_urls(element, sink, &value)
                .into_iter()
                .find_map(dangerous_literal_scheme);
            if let Some(scheme) = found {
                cx.error_spanned_by(
                    lit,
                    format!("`{scheme}:` URLs are not allowed in `{name}`: they run code or embed content in the page\n\nhelp: link to a path or an http(s) URL, and use `dj-click` for behaviour"),
                );
            }
        }
        AttrValue::Dynamic(expr) => {
            if let AttrSink::LiteralOnly(directive) = sink {
                let tag = &element.name.value;
                cx.error_spanned_by(
                    expr,
                    format!(
                        "`{name}` on `<{tag}>` only takes a literal: {}\n\nhelp: {}",
                        directive.reason(),
                        directive.help()
                    ),
                );
            }
            check_expr(expr, cx);
        }
        AttrValue::Bare => {}
    }
}

/// The URLs a literal `value` of an attribute with `sink` sends the browser
/// to, for the dangerous-scheme check.
fn literal_urls<'a>(element: &Element, sink: AttrSink, value: &'a str) -> Vec<&'a str> {
    match sink {
        AttrSink::Url | AttrSink::LiteralOnly(Directive::BaseUrl) => vec![value],
        AttrSink::Srcset => value
            .split(',')
            .filter_map(|candidate| candidate.split_whitespace().next())
            .collect(),
        AttrSink::UrlList => url_list(value).collect(),
        AttrSink::LiteralOnly(Directive::AnimatedUrl) => animation_values(value).collect(),
        AttrSink::LiteralOnly(Directive::MetaPragma) => {
            let refresh = matches!(element.sibling("http-equiv"), Sibling::Literal(equiv) if equiv.trim().eq_ignore_ascii_case("refresh"));
            match refresh_url(value) {
                Some(url) if refresh => vec![url],
                _ => Vec::new(),
            }
        }
        AttrSink::LiteralOnly(Directive::AnimationTarget)
        | AttrSink::Text
        | AttrSink::Style
        | AttrSink::Markup
        | AttrSink::Script => Vec::new(),
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
        let long = "a".repeat(65);
        for bad in [
            "", "Save", "_x", "a-b", "2a", "a b", "dеlete", "a__b", &long,
        ] {
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
