//! Serializes a VDOM tree to HTML, byte-identical to what the SSR backend writes.
//!
//! Rules: a static node pushes its pre-rendered HTML; text is escaped with
//! [`escape_into`]; an element writes `<tag`, its template attributes in
//! order (static ones as written at compile time, dynamic ones escaped and
//! only when present), `>`, then — unless void — its children and `</tag>`.
//! The one exception: text inside raw-text elements (`<style>`, `<script>`,
//! `<noscript>`, … the shared table of `djust-rules`) is written as is,
//! because the browser does not decode entities there; `html!` allows only
//! literal text in them.

use super::node::{is_raw_text_tag, Kind, TAttr, VTree};
use crate::template::escape::escape_into;

/// Appends the HTML of `tree` to `out`.
pub fn write_html(tree: &VTree, out: &mut String) {
    write_range(tree, 0, tree.len_u32(), out);
}

/// The HTML of `tree` as a new `String`.
pub fn to_html(tree: &VTree) -> String {
    let mut out = String::with_capacity(256 + tree.text.len() + tree.values.len());
    write_html(tree, &mut out);
    out
}

/// Appends the HTML of the sibling nodes `first..end` (arena indexes).
pub(crate) fn write_range(tree: &VTree, first: u32, end: u32, out: &mut String) {
    let mut index = first;
    while index < end {
        write_index(tree, index, out);
        index = tree
            .nodes
            .get(index as usize)
            .map_or(u32::MAX, |node| node.next.max(index + 1));
    }
}

/// Appends the HTML of node `index` (and its subtree) to `out`.
pub(crate) fn write_index(tree: &VTree, index: u32, out: &mut String) {
    let Some(node) = tree.nodes.get(index as usize) else {
        return;
    };
    match node.kind {
        Kind::Static(node) => out.push_str(node.html),
        Kind::Text(span) => escape_into(span.of(&tree.text), out),
        Kind::Element(template) => {
            out.push('<');
            out.push_str(template.tag);
            let mut slot = 0;
            for attr in template.attrs {
                match attr {
                    TAttr::Static { name, value } => {
                        out.push(' ');
                        out.push_str(name);
                        if let Some(value) = value {
                            out.push_str("=\"");
                            out.push_str(value);
                            out.push('"');
                        }
                    }
                    TAttr::Dynamic { name } => {
                        if let Some(value) = tree.attr(index, slot) {
                            out.push(' ');
                            out.push_str(name);
                            out.push_str("=\"");
                            escape_into(value, out);
                            out.push('"');
                        }
                        slot += 1;
                    }
                }
            }
            out.push('>');
            if template.is_void {
                return;
            }
            if is_raw_text_tag(template.tag) {
                write_raw_text_children(tree, index, node.next, out);
            } else {
                write_range(tree, index + 1, node.next, out);
            }
            out.push_str("</");
            out.push_str(template.tag);
            out.push('>');
        }
        Kind::Owned(owned) => {
            let Some(head) = tree.owned.get(owned as usize) else {
                return;
            };
            out.push('<');
            out.push_str(&head.tag);
            for (name, value) in &head.attrs {
                out.push(' ');
                out.push_str(name);
                out.push_str("=\"");
                escape_into(value, out);
                out.push('"');
            }
            out.push('>');
            if head.is_void {
                return;
            }
            if is_raw_text_tag(&head.tag) {
                write_raw_text_children(tree, index, node.next, out);
            } else {
                write_range(tree, index + 1, node.next, out);
            }
            out.push_str("</");
            out.push_str(&head.tag);
            out.push('>');
        }
    }
}

/// The children of raw-text element `index` (ending before `end`): text as
/// is, since the browser decodes no entity there (the `html!` macro allows
/// only literal text in such elements, and trusted raw HTML keeps the text
/// html5ever read).
fn write_raw_text_children(tree: &VTree, index: u32, end: u32, out: &mut String) {
    let mut child = index + 1;
    while child < end {
        match tree.nodes.get(child as usize).map(|n| (n.kind, n.next)) {
            Some((Kind::Text(span), next)) => {
                out.push_str(span.of(&tree.text));
                child = next.max(child + 1);
            }
            Some((_, next)) => {
                write_index(tree, child, out);
                child = next.max(child + 1);
            }
            None => break,
        }
    }
}
