//! A reference DOM and patch applier with exactly the semantics the browser client implements.
//!
//! Used by the property tests, by `djust-testing` and to generate browser
//! fixtures. Patches are applied in order; every path and index refers to the
//! tree as left by the previous patch. Nodes carried by `replace` and
//! `insert_child` are parsed as the client does, in a `<template>` context,
//! and must be exactly one node. Malformed patches are errors, never panics.

use std::fmt;

use super::node::{is_raw_text_tag, is_void_tag};
use super::parse::{parse, Context};
use crate::protocol::Patch;
use crate::template::escape::escape_into;

/// A plain DOM node: what the browser holds after parsing.
#[derive(Debug, Clone)]
pub enum DomNode {
    /// An element.
    Element {
        /// Tag name (local name, lower case for HTML).
        tag: String,
        /// Attributes with RAW values, in DOM order.
        attrs: Vec<(String, String)>,
        /// Child nodes.
        children: Vec<DomNode>,
    },
    /// A text node (RAW text).
    Text(String),
}

/// Equality as the DOM sees it: attribute order does not matter, everything else does.
impl PartialEq for DomNode {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (DomNode::Text(a), DomNode::Text(b)) => a == b,
            (
                DomNode::Element {
                    tag: tag_a,
                    attrs: attrs_a,
                    children: children_a,
                },
                DomNode::Element {
                    tag: tag_b,
                    attrs: attrs_b,
                    children: children_b,
                },
            ) => {
                tag_a == tag_b
                    && attrs_a.len() == attrs_b.len()
                    && attrs_a.iter().all(|attr| attrs_b.contains(attr))
                    && children_a == children_b
            }
            _ => false,
        }
    }
}

impl DomNode {
    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        match self {
            DomNode::Element { attrs, .. } => attrs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str()),
            DomNode::Text(_) => None,
        }
    }
}

/// Parses `html` as a body fragment (like `body.innerHTML = html`): comments dropped, adjacent text merged.
pub fn parse_fragment(html: &str) -> Vec<DomNode> {
    parse(html, Context::Body)
}

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// The path is malformed or does not lead to a node.
    BadPath {
        /// Index of the patch in the list.
        patch: usize,
        /// The offending path.
        path: String,
    },
    /// A child index is out of range.
    BadIndex {
        /// Index of the patch in the list.
        patch: usize,
        /// The offending index.
        index: usize,
    },
    /// The target has the wrong kind (e.g. `set_text` on an element).
    WrongNodeKind {
        /// Index of the patch in the list.
        patch: usize,
    },
    /// The node HTML of `replace`/`insert_child` is not exactly one node.
    NotOneNode {
        /// Index of the patch in the list.
        patch: usize,
    },
    /// The patch's `id` does not match the `dj-id` of the node its path leads to.
    IdMismatch {
        /// Index of the patch in the list.
        patch: usize,
        /// The id the patch carries.
        id: String,
    },
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::BadPath { patch, path } => write!(f, "patch {patch}: bad path {path:?}"),
            ApplyError::BadIndex { patch, index } => {
                write!(f, "patch {patch}: child index {index} out of range")
            }
            ApplyError::WrongNodeKind { patch } => write!(f, "patch {patch}: wrong node kind"),
            ApplyError::NotOneNode { patch } => {
                write!(f, "patch {patch}: node HTML is not exactly one node")
            }
            ApplyError::IdMismatch { patch, id } => {
                write!(f, "patch {patch}: id {id:?} does not match the target")
            }
        }
    }
}

impl std::error::Error for ApplyError {}

/// Parses a path: `""` → no segments, `"/1/3"` → `[1, 3]`.
fn path_segments(path: &str) -> Option<Vec<usize>> {
    if path.is_empty() {
        return Some(Vec::new());
    }
    let rest = path.strip_prefix('/')?;
    rest.split('/')
        .map(|segment| segment.parse().ok())
        .collect()
}

/// The node at `segments` (non-empty).
fn node_at<'a>(root: &'a mut [DomNode], segments: &[usize]) -> Option<&'a mut DomNode> {
    let (first, rest) = segments.split_first()?;
    let mut node = root.get_mut(*first)?;
    for &index in rest {
        node = match node {
            DomNode::Element { children, .. } => children.get_mut(index)?,
            DomNode::Text(_) => return None,
        };
    }
    Some(node)
}

fn check_id(node: &DomNode, id: Option<&String>, patch: usize) -> Result<(), ApplyError> {
    match id {
        Some(id) if node.attr("dj-id") != Some(id.as_str()) => Err(ApplyError::IdMismatch {
            patch,
            id: id.clone(),
        }),
        _ => Ok(()),
    }
}

/// Resolves the target node of a node patch (path must be non-empty).
fn target<'a>(
    root: &'a mut [DomNode],
    path: &str,
    id: Option<&String>,
    patch: usize,
) -> Result<&'a mut DomNode, ApplyError> {
    let bad = || ApplyError::BadPath {
        patch,
        path: path.to_owned(),
    };
    let segments = path_segments(path).ok_or_else(bad)?;
    let node = node_at(root, &segments).ok_or_else(bad)?;
    check_id(node, id, patch)?;
    Ok(node)
}

/// Resolves the child list of a child patch (`""` = the root list).
fn child_list<'a>(
    root: &'a mut Vec<DomNode>,
    path: &str,
    id: Option<&String>,
    patch: usize,
) -> Result<&'a mut Vec<DomNode>, ApplyError> {
    if path.is_empty() {
        if id.is_some() {
            return Err(ApplyError::IdMismatch {
                patch,
                id: id.cloned().unwrap_or_default(),
            });
        }
        return Ok(root);
    }
    match target(root, path, id, patch)? {
        DomNode::Element { children, .. } => Ok(children),
        DomNode::Text(_) => Err(ApplyError::WrongNodeKind { patch }),
    }
}

fn one_node(html: &str, patch: usize) -> Result<DomNode, ApplyError> {
    let mut nodes = parse(html, Context::Template);
    match (nodes.pop(), nodes.is_empty()) {
        (Some(node), true) => Ok(node),
        _ => Err(ApplyError::NotOneNode { patch }),
    }
}

/// Applies `patches` in order to the children of the view root.
///
/// On error the tree may be partly patched (the client then asks for a full
/// `html_update`).
pub fn apply(root: &mut Vec<DomNode>, patches: &[Patch]) -> Result<(), ApplyError> {
    for (number, patch) in patches.iter().enumerate() {
        match patch {
            Patch::Replace { path, value, id } => {
                let node = one_node(value, number)?;
                *target(root, path, id.as_ref(), number)? = node;
            }
            Patch::SetText { path, value, id } => match target(root, path, id.as_ref(), number)? {
                DomNode::Text(text) => value.clone_into(text),
                DomNode::Element { .. } => return Err(ApplyError::WrongNodeKind { patch: number }),
            },
            Patch::SetAttr {
                path,
                key,
                value,
                id,
            } => match target(root, path, id.as_ref(), number)? {
                DomNode::Element { attrs, .. } => {
                    match attrs.iter_mut().find(|(name, _)| name == key) {
                        Some((_, existing)) => value.clone_into(existing),
                        None => attrs.push((key.clone(), value.clone())),
                    }
                }
                DomNode::Text(_) => return Err(ApplyError::WrongNodeKind { patch: number }),
            },
            Patch::RemoveAttr { path, key, id } => match target(root, path, id.as_ref(), number)? {
                DomNode::Element { attrs, .. } => attrs.retain(|(name, _)| name != key),
                DomNode::Text(_) => return Err(ApplyError::WrongNodeKind { patch: number }),
            },
            Patch::InsertChild {
                path,
                index,
                node,
                id,
            } => {
                let node = one_node(node, number)?;
                let children = child_list(root, path, id.as_ref(), number)?;
                if *index > children.len() {
                    return Err(ApplyError::BadIndex {
                        patch: number,
                        index: *index,
                    });
                }
                children.insert(*index, node);
            }
            Patch::RemoveChild { path, index, id } => {
                let children = child_list(root, path, id.as_ref(), number)?;
                if *index >= children.len() {
                    return Err(ApplyError::BadIndex {
                        patch: number,
                        index: *index,
                    });
                }
                children.remove(*index);
            }
            Patch::MoveChild { path, from, to, id } => {
                let children = child_list(root, path, id.as_ref(), number)?;
                let len = children.len();
                if *from >= len || *to >= len {
                    return Err(ApplyError::BadIndex {
                        patch: number,
                        index: if *from >= len { *from } else { *to },
                    });
                }
                let node = children.remove(*from);
                children.insert(*to, node);
            }
        }
    }
    Ok(())
}

/// Serializes nodes to HTML with the same escaping as the VDOM serializer
/// (`& < > " '` in text and attribute values; raw text inside raw-text
/// elements such as `<style>`).
pub fn serialize(nodes: &[DomNode]) -> String {
    let mut out = String::new();
    write_nodes(nodes, false, &mut out);
    out
}

fn write_nodes(nodes: &[DomNode], raw_text: bool, out: &mut String) {
    for node in nodes {
        match node {
            DomNode::Text(text) if raw_text => out.push_str(text),
            DomNode::Text(text) => escape_into(text, out),
            DomNode::Element {
                tag,
                attrs,
                children,
            } => {
                out.push('<');
                out.push_str(tag);
                for (name, value) in attrs {
                    out.push(' ');
                    out.push_str(name);
                    out.push_str("=\"");
                    escape_into(value, out);
                    out.push('"');
                }
                out.push('>');
                if is_void_tag(tag) {
                    continue;
                }
                write_nodes(children, is_raw_text_tag(tag), out);
                out.push_str("</");
                out.push_str(tag);
                out.push('>');
            }
        }
    }
}
