//! Computes the patches that turn the DOM of one VDOM tree into the DOM of the next.
//!
//! Static nodes are compared by pointer (then by HTML) and never walked;
//! dynamic elements by template and dynamic slots. Child lists in which every
//! child (old and new) is a keyed element use the keyed algorithm of
//! [`super::keyed`]; all others are diffed by index.
//!
//! Patches are applied IN ORDER and every path or index refers to the DOM as
//! left by the previous patch. Within one child list the order is:
//! - by index: patches inside the common prefix (child by child), then
//!   `insert_child` for extra new children in ascending index order, or
//!   `remove_child` for extra old children in descending index order;
//! - keyed: `remove_child` for vanished keys (descending), then moves and
//!   inserts in ascending new index (see [`super::keyed`]), after which the
//!   list is in the new order; then the patches inside each surviving child,
//!   addressed by its new index.
//!
//! Nothing is allocated while nodes are equal: path strings, node HTML and
//! `dj-id` values are built only when a patch is emitted.

use std::collections::HashSet;
use std::fmt;

use super::html::write_node;
use super::keyed::{self, KeyedOp};
use super::node::{ElementHead, OwnedHead, VElement, VNode};
use crate::protocol::Patch;

/// Why no patch list could be computed.
///
/// The runtime turns this into a clear error in debug builds (the template
/// has a bug) and falls back to a full `html_update` frame in release builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffError {
    /// Two siblings of a keyed list (old or new) share a key.
    DuplicateKey {
        /// The duplicated key.
        key: String,
    },
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffError::DuplicateKey { key } => {
                write!(
                    f,
                    "duplicate key {key:?} in a keyed list (keys must be unique among siblings)"
                )
            }
        }
    }
}

impl std::error::Error for DiffError {}

impl From<keyed::DuplicateKey> for DiffError {
    fn from(error: keyed::DuplicateKey) -> Self {
        DiffError::DuplicateKey { key: error.0 }
    }
}

/// Patches turning `old` (the children of the view root) into `new`.
pub fn diff(old: &[VNode], new: &[VNode]) -> Result<Vec<Patch>, DiffError> {
    let mut differ = Differ {
        patches: Vec::new(),
        path: Vec::with_capacity(16),
    };
    differ.children(None, old, new)?;
    Ok(differ.patches)
}

struct Differ {
    patches: Vec<Patch>,
    /// Child indexes from the view root to the current node.
    path: Vec<usize>,
}

/// The decoded static `dj-id` of an element, if its template has one.
fn dj_id(element: Option<&VElement>) -> Option<String> {
    match &element?.head {
        ElementHead::Template(template) => template
            .static_dj_id()
            .map(|value| html_escape::decode_html_entities(value).into_owned()),
        ElementHead::Owned(_) => None,
    }
}

fn node_dj_id(node: &VNode) -> Option<String> {
    match node {
        VNode::Element(element) => dj_id(Some(element)),
        _ => None,
    }
}

fn node_html(node: &VNode) -> String {
    let mut out = String::new();
    write_node(node, &mut out);
    out
}

fn key_of(node: &VNode) -> &str {
    match node {
        VNode::Element(element) => element.key.as_deref().unwrap_or(""),
        _ => "",
    }
}

fn is_keyed(node: &VNode) -> bool {
    matches!(node, VNode::Element(element) if element.key.is_some())
}

impl Differ {
    fn path_string(&self) -> String {
        let mut out = String::with_capacity(self.path.len() * 3);
        let mut buffer = itoa::Buffer::new();
        for index in &self.path {
            out.push('/');
            out.push_str(buffer.format(*index));
        }
        out
    }

    fn node(&mut self, old: &VNode, new: &VNode) -> Result<(), DiffError> {
        match (old, new) {
            (VNode::Static(a), VNode::Static(b)) => {
                if !std::ptr::eq(*a, *b) && a.html != b.html {
                    self.replace(old, new);
                }
            }
            (VNode::Text(a), VNode::Text(b)) => {
                if a != b {
                    self.patches.push(Patch::SetText {
                        path: self.path_string(),
                        value: b.clone(),
                        id: None,
                    });
                }
            }
            (VNode::Element(a), VNode::Element(b)) => return self.element(old, a, new, b),
            _ => self.replace(old, new),
        }
        Ok(())
    }

    fn replace(&mut self, old: &VNode, new: &VNode) {
        self.patches.push(Patch::Replace {
            path: self.path_string(),
            value: node_html(new),
            id: node_dj_id(old),
        });
    }

    fn element(
        &mut self,
        old_node: &VNode,
        old: &VElement,
        new_node: &VNode,
        new: &VElement,
    ) -> Result<(), DiffError> {
        match (&old.head, &new.head) {
            (ElementHead::Template(a), ElementHead::Template(b)) if a.same_as(b) => {
                let slots = old.dyn_attrs.len().max(new.dyn_attrs.len());
                for slot in 0..slots {
                    let before = old.dyn_attrs.get(slot).and_then(Option::as_deref);
                    let after = new.dyn_attrs.get(slot).and_then(Option::as_deref);
                    if before == after {
                        continue;
                    }
                    let Some(name) = b.slot_name(slot) else {
                        continue;
                    };
                    self.attr_patch(new, name, after);
                }
            }
            (ElementHead::Owned(a), ElementHead::Owned(b))
                if a.tag == b.tag && a.is_void == b.is_void =>
            {
                self.owned_attrs(new, a, b);
            }
            _ => {
                self.replace(old_node, new_node);
                return Ok(());
            }
        }
        self.children(Some(new), &old.children, &new.children)
    }

    fn attr_patch(&mut self, element: &VElement, name: &str, value: Option<&str>) {
        let path = self.path_string();
        let id = dj_id(Some(element));
        self.patches.push(match value {
            Some(value) => Patch::SetAttr {
                path,
                key: name.to_owned(),
                value: value.to_owned(),
                id,
            },
            None => Patch::RemoveAttr {
                path,
                key: name.to_owned(),
                id,
            },
        });
    }

    fn owned_attrs(&mut self, element: &VElement, old: &OwnedHead, new: &OwnedHead) {
        if old.attrs == new.attrs {
            return;
        }
        for (name, value) in &new.attrs {
            let unchanged = old.attrs.iter().any(|(n, v)| n == name && v == value);
            if !unchanged {
                self.attr_patch(element, name, Some(value));
            }
        }
        for (name, _) in &old.attrs {
            if !new.attrs.iter().any(|(n, _)| n == name) {
                self.attr_patch(element, name, None);
            }
        }
    }

    fn children(
        &mut self,
        parent: Option<&VElement>,
        old: &[VNode],
        new: &[VNode],
    ) -> Result<(), DiffError> {
        if old.is_empty() && new.is_empty() {
            return Ok(());
        }
        if old.iter().chain(new).all(is_keyed) {
            return self.keyed_children(parent, old, new);
        }
        let common = old.len().min(new.len());
        for (index, (a, b)) in old.iter().zip(new).enumerate() {
            self.path.push(index);
            let result = self.node(a, b);
            self.path.pop();
            result?;
        }
        for (index, node) in new.iter().enumerate().skip(common) {
            self.patches.push(Patch::InsertChild {
                path: self.path_string(),
                index,
                node: node_html(node),
                id: dj_id(parent),
            });
        }
        for index in (common..old.len()).rev() {
            self.patches.push(Patch::RemoveChild {
                path: self.path_string(),
                index,
                id: dj_id(parent),
            });
        }
        Ok(())
    }

    fn keyed_children(
        &mut self,
        parent: Option<&VElement>,
        old: &[VNode],
        new: &[VNode],
    ) -> Result<(), DiffError> {
        // Fast path: same keys in the same order (the usual re-render).
        if old.len() == new.len() && old.iter().zip(new).all(|(a, b)| key_of(a) == key_of(b)) {
            // Duplicates in `old` are then duplicates in `new` too.
            let mut seen = HashSet::with_capacity(new.len());
            for node in new {
                let key = key_of(node);
                if !seen.insert(key) {
                    return Err(DiffError::DuplicateKey {
                        key: key.to_owned(),
                    });
                }
            }
            for (index, (a, b)) in old.iter().zip(new).enumerate() {
                self.path.push(index);
                let result = self.node(a, b);
                self.path.pop();
                result?;
            }
            return Ok(());
        }
        let old_keys: Vec<&str> = old.iter().map(key_of).collect();
        let new_keys: Vec<&str> = new.iter().map(key_of).collect();
        let plan = keyed::plan(&old_keys, &new_keys)?;
        for op in &plan.ops {
            let path = self.path_string();
            let id = dj_id(parent);
            self.patches.push(match *op {
                KeyedOp::Remove { index } => Patch::RemoveChild { path, index, id },
                KeyedOp::Insert { index, new: n } => Patch::InsertChild {
                    path,
                    index,
                    node: new.get(n).map(node_html).unwrap_or_default(),
                    id,
                },
                KeyedOp::Move { from, to } => Patch::MoveChild { path, from, to, id },
            });
        }
        for (index, source) in plan.sources.iter().enumerate() {
            let (Some(source), Some(b)) = (source, new.get(index)) else {
                continue;
            };
            let Some(a) = old.get(*source) else {
                continue;
            };
            self.path.push(index);
            let result = self.node(a, b);
            self.path.pop();
            result?;
        }
        Ok(())
    }
}
