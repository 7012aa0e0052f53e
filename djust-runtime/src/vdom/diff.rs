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

use super::builder::sig_skippable;
use super::html::write_index;
use super::keyed::{self, FastHash, KeyedOp};
use super::node::{ElementHead, Kind, OwnedHead, VTree};
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
pub fn diff(old: &VTree, new: &VTree) -> Result<Vec<Patch>, DiffError> {
    let mut differ = Differ {
        old,
        new,
        patches: Vec::new(),
        replace_parent: false,
        path: Vec::with_capacity(16),
    };
    if old.keys.is_empty() && new.keys.is_empty() && old.sig == new.sig && old.text == new.text {
        // Same signature, same DOM (see `VTree::sig`).
        return Ok(Vec::new());
    }
    differ.children(None, (0, old.len_u32()), (0, new.len_u32()))?;
    Ok(differ.patches)
}

struct Differ<'a> {
    old: &'a VTree,
    new: &'a VTree,
    patches: Vec<Patch>,
    /// Set by `keyed_children` when no child of a keyed list survives (a
    /// clear, a create, a replace-all): the parent element is then replaced
    /// with ONE patch instead of one per child.
    replace_parent: bool,
    /// Child indexes from the view root to the current node.
    path: Vec<usize>,
}

/// `true` when two element subtrees are known to have the same DOM: equal
/// signatures, and no keyed list inside (keys are not in the signature, and
/// a duplicate key must still be reported).
#[inline]
fn unchanged(old: (&[u8], &[u8]), new: (&[u8], &[u8])) -> bool {
    sig_skippable(old.0.first()) && old.0 == new.0 && old.1 == new.1
}

/// The arena index of the sibling after `index`.
#[inline]
fn next_of(tree: &VTree, index: u32) -> u32 {
    tree.nodes
        .get(index as usize)
        .map_or(u32::MAX, |node| node.next.max(index + 1))
}

/// The arena indexes of the siblings `first..end`.
fn siblings(tree: &VTree, (first, end): (u32, u32)) -> Vec<u32> {
    let mut out = Vec::new();
    let mut index = first;
    while index < end {
        out.push(index);
        index = next_of(tree, index);
    }
    out
}

/// The decoded static `dj-id` of element `index` of `tree`, if its template has one.
fn dj_id(tree: &VTree, index: Option<u32>) -> Option<String> {
    match tree.head(index?)? {
        ElementHead::Template(template) => template
            .static_dj_id()
            .map(|value| html_escape::decode_html_entities(value).into_owned()),
        ElementHead::Owned(_) => None,
    }
}

fn node_html(tree: &VTree, index: u32) -> String {
    // Markup is about the signature (tags, attributes) plus the text.
    let (sig, text) = tree.subtree(index);
    let mut out = String::with_capacity(sig.len() + text.len() + text.len() / 8 + 16);
    write_index(tree, index, &mut out);
    out
}

fn key_of(tree: &VTree, index: u32) -> &str {
    tree.key(index).unwrap_or("")
}

fn is_keyed(tree: &VTree, index: u32) -> bool {
    tree.nodes.get(index as usize).is_some_and(|node| {
        matches!(node.kind, Kind::Element(_) | Kind::Owned(_)) && tree.key(index).is_some()
    })
}

/// `true` when every sibling in `first..end` is a keyed element.
fn all_keyed(tree: &VTree, (first, end): (u32, u32)) -> bool {
    let mut index = first;
    while index < end {
        if !is_keyed(tree, index) {
            return false;
        }
        index = next_of(tree, index);
    }
    true
}

/// Byte equality with an inline loop for the short texts most dynamic
/// parts are (numbers, short labels), where a `memcmp` call costs more than
/// the comparison.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 16 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    a == b
}

impl Differ<'_> {
    fn path_string(&self) -> String {
        let mut out = String::with_capacity(self.path.len() * 3);
        let mut buffer = itoa::Buffer::new();
        for index in &self.path {
            out.push('/');
            out.push_str(buffer.format(*index));
        }
        out
    }

    fn node(&mut self, a: u32, b: u32) -> Result<(), DiffError> {
        let (Some(old_node), Some(new_node)) = (
            self.old.nodes.get(a as usize),
            self.new.nodes.get(b as usize),
        ) else {
            return Ok(());
        };
        match (old_node.kind, new_node.kind) {
            (Kind::Static(x), Kind::Static(y)) => {
                if !std::ptr::eq(x, y) && x.html != y.html {
                    self.replace(a, b);
                }
            }
            (Kind::Text(x), Kind::Text(y)) => {
                if !same_bytes(x.bytes(&self.old.text), y.bytes(&self.new.text)) {
                    self.patches.push(Patch::SetText {
                        path: self.path_string(),
                        value: y.of(&self.new.text).to_owned(),
                        id: None,
                    });
                }
            }
            (Kind::Element(_) | Kind::Owned(_), Kind::Element(_) | Kind::Owned(_))
                if unchanged(self.old.subtree(a), self.new.subtree(b)) =>
            {
                // Same signature: the same DOM subtree (see `VTree::sig`).
            }
            (Kind::Element(x), Kind::Element(y)) if x.same_as(y) => {
                let mark = self.patches.len();
                if old_node.extra != u32::MAX || new_node.extra != u32::MAX {
                    let slots = self
                        .old
                        .extra(a)
                        .map_or(0, |e| e.slots)
                        .max(self.new.extra(b).map_or(0, |e| e.slots));
                    for slot in 0..slots as usize {
                        let before = self.old.attr(a, slot);
                        let after = self.new.attr(b, slot);
                        if before == after {
                            continue;
                        }
                        let Some(name) = y.slot_name(slot) else {
                            continue;
                        };
                        self.attr_patch(b, name, after);
                    }
                }
                return self.element_children(mark, a, b);
            }
            (Kind::Owned(_), Kind::Owned(_)) => {
                let mark = self.patches.len();
                match (self.old.head(a), self.new.head(b)) {
                    (Some(ElementHead::Owned(x)), Some(ElementHead::Owned(y)))
                        if x.tag == y.tag && x.is_void == y.is_void =>
                    {
                        self.owned_attrs(b, x, y);
                    }
                    _ => {
                        self.replace(a, b);
                        return Ok(());
                    }
                }
                return self.element_children(mark, a, b);
            }
            _ => self.replace(a, b),
        }
        Ok(())
    }

    /// The children of elements `a` (old) and `b` (new), whose own patches
    /// start at `mark`: replaced as a whole when a keyed list inside is
    /// replaced entirely.
    fn element_children(&mut self, mark: usize, a: u32, b: u32) -> Result<(), DiffError> {
        self.children(Some(b), self.old.child_range(a), self.new.child_range(b))?;
        if std::mem::take(&mut self.replace_parent) {
            self.patches.truncate(mark);
            self.replace(a, b);
        }
        Ok(())
    }

    fn replace(&mut self, a: u32, b: u32) {
        self.patches.push(Patch::Replace {
            path: self.path_string(),
            value: node_html(self.new, b),
            id: dj_id(self.old, Some(a)),
        });
    }

    fn attr_patch(&mut self, element: u32, name: &str, value: Option<&str>) {
        let path = self.path_string();
        let id = dj_id(self.new, Some(element));
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

    fn owned_attrs(&mut self, element: u32, old: &OwnedHead, new: &OwnedHead) {
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
        parent: Option<u32>,
        old: (u32, u32),
        new: (u32, u32),
    ) -> Result<(), DiffError> {
        if old.0 >= old.1 && new.0 >= new.1 {
            return Ok(());
        }
        if all_keyed(self.old, old) && all_keyed(self.new, new) {
            return self.keyed_children(parent, old, new);
        }
        let (mut a, mut b) = (old.0, new.0);
        let mut index = 0usize;
        while a < old.1 && b < new.1 {
            self.path.push(index);
            let result = self.node(a, b);
            self.path.pop();
            result?;
            a = next_of(self.old, a);
            b = next_of(self.new, b);
            index += 1;
        }
        let common = index;
        while b < new.1 {
            self.patches.push(Patch::InsertChild {
                path: self.path_string(),
                index,
                node: node_html(self.new, b),
                id: dj_id(self.new, parent),
            });
            b = next_of(self.new, b);
            index += 1;
        }
        let mut old_len = common;
        while a < old.1 {
            a = next_of(self.old, a);
            old_len += 1;
        }
        for index in (common..old_len).rev() {
            self.patches.push(Patch::RemoveChild {
                path: self.path_string(),
                index,
                id: dj_id(self.new, parent),
            });
        }
        Ok(())
    }

    fn keyed_children(
        &mut self,
        parent: Option<u32>,
        old: (u32, u32),
        new: (u32, u32),
    ) -> Result<(), DiffError> {
        let old = siblings(self.old, old);
        let new = siblings(self.new, new);
        let (old_tree, new_tree) = (self.old, self.new);
        // Fast path: same keys in the same order (the usual re-render).
        if old.len() == new.len()
            && old
                .iter()
                .zip(&new)
                .all(|(a, b)| key_of(old_tree, *a) == key_of(new_tree, *b))
        {
            // Duplicates in `old` are then duplicates in `new` too.
            let mut seen: HashSet<&str, FastHash> =
                HashSet::with_capacity_and_hasher(new.len(), FastHash);
            for node in &new {
                let key = key_of(new_tree, *node);
                if !seen.insert(key) {
                    return Err(DiffError::DuplicateKey {
                        key: key.to_owned(),
                    });
                }
            }
            for (index, (a, b)) in old.iter().zip(&new).enumerate() {
                self.path.push(index);
                let result = self.node(*a, *b);
                self.path.pop();
                result?;
            }
            return Ok(());
        }
        let old_keys: Vec<&str> = old.iter().map(|i| key_of(old_tree, *i)).collect();
        let new_keys: Vec<&str> = new.iter().map(|i| key_of(new_tree, *i)).collect();
        let plan = keyed::plan(&old_keys, &new_keys)?;
        if parent.is_some() && plan.ops.len() > 1 && plan.sources.iter().all(Option::is_none) {
            // Nothing survives: one `replace` of the parent instead of one
            // patch per child (clear: ~60 bytes instead of 50 KB).
            self.replace_parent = true;
            return Ok(());
        }
        for op in &plan.ops {
            let path = self.path_string();
            let id = dj_id(new_tree, parent);
            self.patches.push(match *op {
                KeyedOp::Remove { index } => Patch::RemoveChild { path, index, id },
                KeyedOp::Insert { index, new: n } => Patch::InsertChild {
                    path,
                    index,
                    node: new
                        .get(n)
                        .map(|i| node_html(new_tree, *i))
                        .unwrap_or_default(),
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
            let result = self.node(*a, *b);
            self.path.pop();
            result?;
        }
        Ok(())
    }
}
