//! Nesting the browser's HTML parser would rewrite: `<tr>` straight in
//! `<table>` (it inserts `<tbody>`), a `<div>` in a `<p>` (it closes the
//! `<p>`), `<a>` in `<a>`, `<form>` in `<form>`, text in a table…
//!
//! The page a browser builds from such markup is not the tree the template
//! describes, so live updates, which address nodes by their position in the
//! template's tree, would patch the wrong nodes; CSS selectors such as
//! `table > tr` would not match either. Each case is a compile error on
//! the offending tag with the fix.
//!
//! The rules follow the WHATWG parsing algorithm ("in table", "in row",
//! "in body" insertion modes), for markup known at compile time: `{expr}`
//! splices are not checked (an `Html` component may well render rows), and
//! control flow (`if`/`for`/`match`) is transparent, its nodes being
//! children of the element around it. Foreign content (`<svg>`, `<math>`)
//! and `<template>` contents follow other rules and are skipped.

use super::ast::{Element, Else, IfNode, Node};
use crate::ctxt::Ctxt;

/// Checks every element of `nodes` (a template's top level).
pub fn check(nodes: &[Node], cx: &Ctxt) {
    let top = Context::default();
    for_each_child(nodes, &mut |node| visit(node, &top, cx));
}

/// What encloses a node: the parent element and the open elements whose
/// content the parser restricts.
#[derive(Clone, Default)]
struct Context {
    /// The nearest enclosing element, lower-case.
    parent: Option<String>,
    /// Inside a `<p>`, not behind a scope boundary (`<button>`, `<table>`…).
    in_p: bool,
    /// Inside an `<a>`, not behind a cell or `<object>`.
    in_a: bool,
    /// Inside a `<form>`.
    in_form: bool,
    /// Inside a `<button>`, not behind a table or cell.
    in_button: bool,
}

/// Calls `f` on each node of `nodes`, looking through `if`/`for`/`match`
/// (whose bodies become children of the enclosing element).
fn for_each_child<'a>(nodes: &'a [Node], f: &mut dyn FnMut(&'a Node)) {
    for node in nodes {
        match node {
            Node::If(if_node) => for_each_in_if(if_node, f),
            Node::For(for_node) => for_each_child(&for_node.body, f),
            Node::Match(match_node) => {
                for arm in &match_node.arms {
                    for_each_child(&arm.body, f);
                }
            }
            Node::Element(_) | Node::Text(_) | Node::Splice(_) => f(node),
        }
    }
}

fn for_each_in_if<'a>(if_node: &'a IfNode, f: &mut dyn FnMut(&'a Node)) {
    for_each_child(&if_node.then_branch, f);
    match &if_node.else_branch {
        Some(Else::If(nested)) => for_each_in_if(nested, f),
        Some(Else::Block(nodes)) => for_each_child(nodes, f),
        None => {}
    }
}

fn visit(node: &Node, context: &Context, cx: &Ctxt) {
    match node {
        Node::Element(element) => visit_element(element, context, cx),
        Node::Text(text) => {
            let parent = context.parent.as_deref().unwrap_or_default();
            if is_table_section(parent) && !text.value().trim().is_empty() {
                cx.error_spanned_by(
                    text,
                    format!("text directly inside `<{parent}>`: browsers move it out of the table, so the page would not match the template\n\nhelp: put the text in a cell (`<td>`) or a `<caption>`"),
                );
            }
        }
        // Not known until run time; control flow was flattened by the caller.
        _ => {}
    }
}

fn visit_element(element: &Element, context: &Context, cx: &Ctxt) {
    let tag = element.name.value.to_ascii_lowercase();
    if let Some(problem) = restructuring(&tag, context) {
        cx.error_spanned_by(&element.name.tokens, problem);
    }
    if matches!(
        tag.as_str(),
        "svg" | "math" | "template" | "script" | "style"
    ) {
        return;
    }
    let inner = enter(&tag, context);
    for_each_child(&element.children, &mut |child| visit(child, &inner, cx));
}

/// The context of `tag`'s children.
fn enter(tag: &str, outer: &Context) -> Context {
    let mut inner = outer.clone();
    inner.parent = Some(tag.to_owned());
    if is_scope_boundary(tag) {
        inner.in_p = false;
        inner.in_button = false;
    }
    if is_formatting_marker(tag) {
        inner.in_a = false;
    }
    match tag {
        "p" => inner.in_p = true,
        "a" => inner.in_a = true,
        "form" => inner.in_form = true,
        "button" => {
            inner.in_button = true;
            inner.in_p = false;
        }
        _ => {}
    }
    inner
}

/// Why the parser would not keep `<tag>` where it is, if it would not.
fn restructuring(tag: &str, context: &Context) -> Option<String> {
    let parent = context.parent.as_deref().unwrap_or_default();
    let moved =
        "so the page would not match the template and live updates would patch the wrong elements";
    // Table structure: what each table element may directly contain.
    let table_child =
        |allowed: &[&str]| allowed.contains(&tag) || matches!(tag, "script" | "template" | "style");
    match parent {
        "table" if !table_child(&["caption", "colgroup", "thead", "tbody", "tfoot"]) => {
            return Some(match tag {
                "tr" => format!("`<tr>` directly inside `<table>`: browsers wrap rows in a `<tbody>` they insert, {moved}\n\nhelp: write the `<tbody>` yourself: `<table><tbody><tr>…</tr></tbody></table>`"),
                "td" | "th" => format!("`<{tag}>` directly inside `<table>`: browsers insert a `<tbody>` and a `<tr>` around it, {moved}\n\nhelp: write `<tbody><tr><{tag}>…</{tag}></tr></tbody>`"),
                "col" => format!("`<col>` directly inside `<table>`: browsers insert a `<colgroup>` around it, {moved}\n\nhelp: write `<colgroup><col></colgroup>`"),
                _ => format!("`<{tag}>` directly inside `<table>`: browsers move it out, in front of the table, {moved}\n\nhelp: put it in a cell (`<tbody><tr><td>…`) or outside the table"),
            });
        }
        "thead" | "tbody" | "tfoot" if !table_child(&["tr"]) => {
            return Some(match tag {
                "td" | "th" => format!("`<{tag}>` directly inside `<{parent}>`: browsers insert a `<tr>` around it, {moved}\n\nhelp: write `<tr><{tag}>…</{tag}></tr>`"),
                _ => format!("`<{tag}>` directly inside `<{parent}>`: browsers move it out, in front of the table, {moved}\n\nhelp: a `<{parent}>` holds `<tr>` rows; put the content in a cell"),
            });
        }
        "tr" if !table_child(&["td", "th"]) => {
            return Some(format!("`<{tag}>` directly inside `<tr>`: browsers move it out, in front of the table, {moved}\n\nhelp: a `<tr>` holds `<td>`/`<th>` cells; put the content in a cell"));
        }
        "colgroup" if !matches!(tag, "col" | "template") => {
            return Some(format!("`<{tag}>` inside `<colgroup>`: browsers close the `<colgroup>` before it, {moved}\n\nhelp: a `<colgroup>` holds only `<col>` elements"));
        }
        _ => {}
    }
    if matches!(parent, "td" | "th") && is_table_part(tag) {
        return Some(format!("`<{tag}>` directly inside `<{parent}>`: browsers close the cell (and maybe the row) before it, {moved}\n\nhelp: close the `<{parent}>` first, or nest a whole `<table>` in the cell"));
    }
    if is_table_part(tag) && !is_table_part(parent) && parent != "table" {
        let expected = match tag {
            "tr" => "`<table>`, `<thead>`, `<tbody>` or `<tfoot>`",
            "td" | "th" => "a `<tr>`",
            "col" => "a `<colgroup>`",
            _ => "a `<table>`",
        };
        if !parent.is_empty() {
            return Some(format!("`<{tag}>` inside `<{parent}>`: outside a table browsers drop the tag and keep only its content, {moved}\n\nhelp: put it in {expected}"));
        }
    }
    if tag == parent && matches!(tag, "li" | "dt" | "dd" | "option") {
        return Some(format!("`<{tag}>` directly inside `<{tag}>`: browsers close the first before opening the second, {moved}\n\nhelp: close the outer `<{tag}>` first, or nest a list (`<ul>`) in between"));
    }
    if is_heading(tag) && is_heading(parent) {
        return Some(format!("`<{tag}>` directly inside `<{parent}>`: browsers close the `<{parent}>` first, {moved}\n\nhelp: headings cannot nest; close the `<{parent}>` before it"));
    }
    if context.in_p && closes_p(tag) {
        return Some(format!("`<{tag}>` inside `<p>`: browsers end the paragraph before it (and leave an empty `<p>` after), {moved}\n\nhelp: use a `<div>` instead of the `<p>`, or an inline element (`<span>`) instead of `<{tag}>`"));
    }
    if context.in_a && tag == "a" {
        return Some(format!("`<a>` inside `<a>`: browsers close the outer link first, {moved}\n\nhelp: links cannot nest; move the inner `<a>` out"));
    }
    if context.in_form && tag == "form" {
        return Some(format!("`<form>` inside `<form>`: browsers ignore the inner `<form>` tag, {moved}\n\nhelp: forms cannot nest; close the outer form first, or use the `form=\"id\"` attribute on the inner controls"));
    }
    if context.in_button && tag == "button" {
        return Some(format!("`<button>` inside `<button>`: browsers close the outer button first, {moved}\n\nhelp: buttons cannot nest; put them side by side"));
    }
    None
}

/// Elements the table insertion modes manage.
fn is_table_part(tag: &str) -> bool {
    matches!(
        tag,
        "caption" | "colgroup" | "col" | "thead" | "tbody" | "tfoot" | "tr" | "td" | "th"
    )
}

/// Elements whose direct text is moved out of the table.
fn is_table_section(tag: &str) -> bool {
    matches!(tag, "table" | "thead" | "tbody" | "tfoot" | "tr")
}

fn is_heading(tag: &str) -> bool {
    matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Start tags that close an open `<p>` ("close a p element").
fn closes_p(tag: &str) -> bool {
    is_heading(tag)
        || matches!(
            tag,
            "address"
                | "article"
                | "aside"
                | "blockquote"
                | "center"
                | "details"
                | "dialog"
                | "dir"
                | "div"
                | "dl"
                | "dd"
                | "dt"
                | "fieldset"
                | "figcaption"
                | "figure"
                | "footer"
                | "form"
                | "header"
                | "hgroup"
                | "hr"
                | "li"
                | "listing"
                | "main"
                | "menu"
                | "nav"
                | "ol"
                | "p"
                | "plaintext"
                | "pre"
                | "search"
                | "section"
                | "summary"
                | "table"
                | "ul"
                | "xmp"
        )
}

/// Elements that end the "button scope" an open `<p>` or `<button>` is
/// looked for in.
fn is_scope_boundary(tag: &str) -> bool {
    matches!(
        tag,
        "applet" | "caption" | "html" | "table" | "td" | "th" | "marquee" | "object" | "template"
    )
}

/// Elements that put a marker in the list of active formatting elements,
/// so an `<a>` outside them is not "open" inside them.
fn is_formatting_marker(tag: &str) -> bool {
    matches!(
        tag,
        "applet" | "caption" | "marquee" | "object" | "template" | "td" | "th"
    )
}
