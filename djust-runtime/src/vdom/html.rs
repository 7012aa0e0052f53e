//! Serializes a VDOM tree to HTML, byte-identical to what the SSR backend writes.
//!
//! Rules: a static node pushes its pre-rendered HTML; text is escaped with
//! [`escape_into`]; an element writes `<tag`, its template attributes in
//! order (static ones as written at compile time, dynamic ones escaped and
//! only when present), `>`, then — unless void — its children and `</tag>`.
//! The one exception: text inside raw-text elements parsed from trusted raw
//! HTML (`<style>`, `<script>`, …) is written as is, because the browser does
//! not decode entities there.

use super::node::{is_raw_text_tag, ElementHead, TAttr, VElement, VNode};
use crate::template::escape::escape_into;

/// Appends the HTML of `nodes` to `out`.
pub fn write_html(nodes: &[VNode], out: &mut String) {
    for node in nodes {
        write_node(node, out);
    }
}

/// The HTML of `nodes` as a new `String`.
pub fn to_html(nodes: &[VNode]) -> String {
    let mut out = String::with_capacity(256);
    write_html(nodes, &mut out);
    out
}

/// Appends the HTML of one node to `out`.
pub fn write_node(node: &VNode, out: &mut String) {
    match node {
        VNode::Static(node) => out.push_str(node.html),
        VNode::Text(text) => escape_into(text, out),
        VNode::Element(element) => write_element(element, out),
    }
}

/// Appends the HTML of one element (head, children, close tag) to `out`.
pub fn write_element(element: &VElement, out: &mut String) {
    out.push('<');
    match &element.head {
        ElementHead::Template(template) => {
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
                        if let Some(Some(value)) = element.dyn_attrs.get(slot) {
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
            write_html(&element.children, out);
            out.push_str("</");
            out.push_str(template.tag);
            out.push('>');
        }
        ElementHead::Owned(head) => {
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
                for child in &element.children {
                    match child {
                        VNode::Text(text) => out.push_str(text),
                        other => write_node(other, out),
                    }
                }
            } else {
                write_html(&element.children, out);
            }
            out.push_str("</");
            out.push_str(&head.tag);
            out.push('>');
        }
    }
}
