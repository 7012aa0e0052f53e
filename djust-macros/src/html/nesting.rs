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

use super::ast::{AttrValue, Element, Else, IfNode, Node};
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
    /// Inside an `<li>`, not behind a special element other than
    /// `<address>`, `<div>`, `<p>` (where a new `<li>` stops looking).
    in_li: bool,
    /// Inside a `<dd>` or `<dt>`, with the same boundary.
    in_dd_dt: bool,
    /// Inside a `<caption>`, not behind a nested table.
    in_caption: bool,
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
            let only_whitespace = text
                .value()
                .chars()
                .all(|c| matches!(c, ' ' | '\t' | '\n' | '\x0C' | '\r'));
            if (is_table_section(parent) || parent == "colgroup") && !only_whitespace {
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
    if tag == "input" && is_hidden_input(element) {
        // The table insertion modes keep `<input type="hidden">` in place.
        return;
    }
    if let Some(problem) = restructuring(&tag, context) {
        cx.error_spanned_by(&element.name.tokens, problem);
    }
    // Raw-text elements hold only literal text (`check` enforces it).
    if matches!(tag.as_str(), "svg" | "math" | "template")
        || djust_rules::elements::is_raw_text_element(&tag)
    {
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
    if is_special(tag) && !matches!(tag, "address" | "div" | "p") {
        inner.in_li = false;
        inner.in_dd_dt = false;
    }
    if tag == "table" {
        inner.in_caption = false;
    }
    match tag {
        "li" => inner.in_li = true,
        "dd" | "dt" => inner.in_dd_dt = true,
        "caption" => inner.in_caption = true,
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
    if context.in_caption && is_table_part(tag) {
        return Some(format!("`<{tag}>` inside `<caption>`: browsers close the caption before it, {moved}\n\nhelp: a `<caption>` holds the table's title only; put `<{tag}>` after it"));
    }
    if (tag == "li" && context.in_li) || (matches!(tag, "dd" | "dt") && context.in_dd_dt) {
        let outer = if tag == "li" { "li" } else { "dd>`/`<dt" };
        return Some(format!("`<{tag}>` inside `<{outer}>`: browsers close the outer item before opening this one, {moved}\n\nhelp: close the outer item first, or nest a list (`<ul>`, `<dl>`) in between"));
    }
    if tag == parent && tag == "option" {
        return Some(format!("`<option>` directly inside `<option>`: browsers close the first before opening the second, {moved}\n\nhelp: close the outer `<option>` first"));
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

/// `<input type="hidden">` with a literal type.
fn is_hidden_input(element: &Element) -> bool {
    element.attrs.iter().any(|attr| {
        attr.name.value.eq_ignore_ascii_case("type")
            && matches!(&attr.value, AttrValue::Literal(value) if value.value().eq_ignore_ascii_case("hidden"))
    })
}

/// The parser's "special" category (HTML elements), which bounds the
/// search for an open `<li>`/`<dd>`/`<dt>` when a new one starts.
fn is_special(tag: &str) -> bool {
    is_heading(tag)
        || matches!(
            tag,
            "address"
                | "applet"
                | "area"
                | "article"
                | "aside"
                | "base"
                | "basefont"
                | "bgsound"
                | "blockquote"
                | "body"
                | "br"
                | "button"
                | "caption"
                | "center"
                | "col"
                | "colgroup"
                | "dd"
                | "details"
                | "dir"
                | "div"
                | "dl"
                | "dt"
                | "embed"
                | "fieldset"
                | "figcaption"
                | "figure"
                | "footer"
                | "form"
                | "frame"
                | "frameset"
                | "head"
                | "header"
                | "hgroup"
                | "hr"
                | "html"
                | "iframe"
                | "img"
                | "input"
                | "keygen"
                | "li"
                | "link"
                | "listing"
                | "main"
                | "marquee"
                | "menu"
                | "meta"
                | "nav"
                | "noembed"
                | "noframes"
                | "noscript"
                | "object"
                | "ol"
                | "p"
                | "param"
                | "plaintext"
                | "pre"
                | "script"
                | "search"
                | "section"
                | "select"
                | "source"
                | "style"
                | "summary"
                | "table"
                | "tbody"
                | "td"
                | "template"
                | "textarea"
                | "tfoot"
                | "th"
                | "thead"
                | "title"
                | "tr"
                | "track"
                | "ul"
                | "wbr"
                | "xmp"
        )
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

#[cfg(test)]
mod tests {
    //! Each case is one piece of markup, run through both the checker (as
    //! `html!` input: text is quoted) and html5ever, which parses as browsers
    //! do: what the checker refuses the parser must rewrite, and what it
    //! accepts must come back from the parser exactly as written.

    use super::*;
    use crate::html::parse::parse_template;

    /// `html!` tokens for `markup`: every text run between tags is quoted.
    fn as_template(markup: &str) -> proc_macro2::TokenStream {
        let mut template = String::new();
        let mut text = String::new();
        for c in markup.chars() {
            match c {
                '<' if !text.is_empty() => {
                    template.push_str(&format!("{text:?}"));
                    text.clear();
                    template.push(c);
                }
                '<' | '>' => template.push(c),
                _ if template.ends_with('>') || !text.is_empty() => text.push(c),
                _ => template.push(c),
            }
        }
        template.push_str(&text);
        template.parse().expect("tokens")
    }

    /// The nesting errors for `markup`.
    fn errors(markup: &str) -> Vec<String> {
        let cx = Ctxt::new();
        match parse_template(as_template(markup), &cx) {
            Ok(nodes) => check(&nodes, &cx),
            Err(error) => cx.syn_error(error),
        }
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The markup a browser builds from `markup` (a `<body>` fragment).
    fn reparsed(markup: &str) -> String {
        scraper::Html::parse_fragment(markup)
            .root_element()
            .inner_html()
    }

    #[test]
    fn what_the_checker_refuses_the_parser_rewrites() {
        let refused = [
            "<table><tr><td>1</td></tr></table>",
            "<table><td>1</td></table>",
            "<table><col></table>",
            "<table><div>x</div></table>",
            "<table>text</table>",
            "<table><tbody>text</tbody></table>",
            "<table><tbody><td>1</td></tbody></table>",
            "<table><tbody><div>x</div></tbody></table>",
            "<table><tbody><tr><div>x</div></tr></tbody></table>",
            "<table><tbody><tr>text</tr></tbody></table>",
            "<table><colgroup><div>x</div></colgroup></table>",
            "<table><colgroup>text</colgroup></table>",
            "<table><caption><tr><td>1</td></tr></caption></table>",
            "<table><tbody><tr><td><tr><td>1</td></tr></td></tr></tbody></table>",
            "<table><tbody>\u{a0}</tbody></table>",
            "<div><tr><td>x</td></tr></div>",
            "<div><td>x</td></div>",
            "<p><div>x</div></p>",
            "<p><span><div>x</div></span></p>",
            "<p><ul><li>x</li></ul></p>",
            "<p><table><tbody></tbody></table></p>",
            "<p><p>x</p></p>",
            "<p><h2>x</h2></p>",
            "<a href=\"/a\"><a href=\"/b\">x</a></a>",
            "<a href=\"/a\"><span><a href=\"/b\">x</a></span></a>",
            "<form><form></form></form>",
            "<form><div><form></form></div></form>",
            "<ul><li>1<li>2</li></li></ul>",
            "<ul><li>1<span><li>2</li></span></li></ul>",
            "<ul><li>1<div><li>2</li></div></li></ul>",
            "<dl><dt>1<dt>2</dt></dt></dl>",
            "<dl><dt>1<dd>2</dd></dt></dl>",
            "<select><option>1<option>2</option></option></select>",
            "<h1><h2>x</h2></h1>",
            "<button><button>x</button></button>",
        ];
        for markup in refused {
            assert!(!errors(markup).is_empty(), "html! accepts `{markup}`");
            assert_ne!(reparsed(markup), markup, "the parser keeps `{markup}`");
        }
    }

    #[test]
    fn rows_at_the_top_level_are_left_to_the_caller() {
        // A component's template may be all rows, spliced into a `<tbody>`
        // by its caller: the checker cannot know the context, so it allows it.
        assert_eq!(errors("<tr><td>row</td></tr>"), Vec::<String>::new());
    }

    #[test]
    fn what_the_checker_accepts_the_parser_keeps() {
        let accepted = [
            "<table><caption>t</caption><colgroup><col></colgroup><thead><tr><th>h</th></tr></thead><tbody><tr><td>1</td></tr></tbody><tfoot><tr><td>f</td></tr></tfoot></table>",
            "<table><tbody><tr><td><table><tbody><tr><td>n</td></tr></tbody></table></td></tr></tbody></table>",
            "<table><tbody><tr><td><a href=\"/x\"><a-like>y</a-like></a></td></tr></tbody></table>",
            "<table><tbody><input name=\"csrf\" type=\"hidden\"><tr><td>1</td></tr></tbody></table>",
            "<table><tbody>\n  <tr><td>1</td></tr>\n</tbody></table>",
            "<p>a <b>bold</b> <a href=\"/x\">link</a> <button><span>ok</span></button></p>",
            "<a href=\"/card\"><div>a block in a link</div></a>",
            "<ul><li>1<ul><li>nested</li></ul></li></ul>",
            "<dl><dt>t</dt><dd>d<dl><dt>inner</dt></dl></dd></dl>",
            "<select><optgroup label=\"g\"><option>a</option></optgroup><option>b</option></select>",
            "<form><fieldset><button>b</button></fieldset></form>",
            "<h1>title <small>sub</small></h1>",
            "<div><p>one</p><p>two</p></div>",
        ];
        for markup in accepted {
            assert_eq!(
                errors(markup),
                Vec::<String>::new(),
                "html! refuses `{markup}`"
            );
            assert_eq!(reparsed(markup), markup, "the parser rewrites `{markup}`");
        }
    }
}
