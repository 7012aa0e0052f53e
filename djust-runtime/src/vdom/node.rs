//! The VDOM data model: static subtrees, element templates and the run-time tree built from them.
//!
//! A compiled template is a tree in which every maximal static subtree is ONE
//! pre-rendered [`StaticNode`], and every dynamic element points to a
//! compile-time [`ElementTemplate`] plus its dynamic attribute slots. The diff
//! compares static nodes by pointer and dynamic elements by template pointer
//! and slots, so it never walks what cannot change.

use std::fmt;

/// A static subtree (exactly one DOM node: an element with all-static attributes and descendants, or a text run) rendered at compile time.
///
/// A text run's `html` is escaped text and never starts with `<`; an
/// element's `html` always does. The builder relies on this to merge static
/// text with adjacent text, as the browser's parser would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticNode {
    /// The node's HTML, exactly as the SSR backend writes it.
    pub html: &'static str,
}

impl StaticNode {
    /// `true` when this static node is a text run rather than an element.
    #[inline]
    pub fn is_text(&self) -> bool {
        !self.html.starts_with('<')
    }
}

/// One attribute of an element template, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TAttr {
    /// name="value" known at compile time; value already HTML-escaped; None = boolean attribute written bare (` disabled`).
    Static {
        /// Attribute name.
        name: &'static str,
        /// Pre-escaped value, or `None` for a bare boolean attribute.
        value: Option<&'static str>,
    },
    /// Value supplied at run time in slot order (the n-th Dynamic attr is slot n).
    Dynamic {
        /// Attribute name.
        name: &'static str,
    },
}

/// The static part of a dynamic element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementTemplate {
    /// Tag name, lower case.
    pub tag: &'static str,
    /// Attributes in source order; the n-th [`TAttr::Dynamic`] is slot n.
    pub attrs: &'static [TAttr],
    /// Void elements (`<br>`, `<input>`, …) have no children and no close tag.
    pub is_void: bool,
}

impl ElementTemplate {
    /// Number of dynamic attribute slots.
    #[inline]
    pub fn slot_count(&self) -> usize {
        self.attrs
            .iter()
            .filter(|attr| matches!(attr, TAttr::Dynamic { .. }))
            .count()
    }

    /// Name of dynamic slot `slot`, if it exists.
    pub fn slot_name(&self, slot: usize) -> Option<&'static str> {
        self.attrs
            .iter()
            .filter_map(|attr| match attr {
                TAttr::Dynamic { name } => Some(*name),
                TAttr::Static { .. } => None,
            })
            .nth(slot)
    }

    /// The (still escaped) value of a static `dj-id` attribute, if any.
    pub fn static_dj_id(&self) -> Option<&'static str> {
        self.attrs.iter().find_map(|attr| match attr {
            TAttr::Static {
                name: "dj-id",
                value,
            } => Some(value.unwrap_or("")),
            _ => None,
        })
    }

    /// Same static part: the same pointer, or equal contents.
    #[inline]
    pub fn same_as(&'static self, other: &'static ElementTemplate) -> bool {
        std::ptr::eq(self, other)
            || (self.tag == other.tag && self.is_void == other.is_void && self.attrs == other.attrs)
    }
}

/// A byte range in one of a [`VTree`]'s string buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    /// The span `start..end` (saturating at `u32::MAX`, which no tree reaches).
    #[inline]
    pub(crate) fn new(start: usize, end: usize) -> Self {
        let start32 = u32::try_from(start).unwrap_or(u32::MAX);
        let len = u32::try_from(end.saturating_sub(start)).unwrap_or(u32::MAX);
        Span {
            start: start32,
            len,
        }
    }

    /// The bytes of this span in `buffer` (empty if out of range).
    #[inline]
    pub(crate) fn bytes(self, buffer: &str) -> &[u8] {
        let start = self.start as usize;
        buffer
            .as_bytes()
            .get(start..start + self.len as usize)
            .unwrap_or(&[])
    }

    /// The text of this span in `buffer` (empty if out of range).
    #[inline]
    pub(crate) fn of(self, buffer: &str) -> &str {
        let start = self.start as usize;
        buffer.get(start..start + self.len as usize).unwrap_or("")
    }
}

/// What one arena node is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A pre-rendered static subtree (a leaf of the arena).
    Static(&'static StaticNode),
    /// Dynamic text, RAW, in [`VTree::text`].
    Text(Span),
    /// An element with a compile-time template.
    Element(&'static ElementTemplate),
    /// An element parsed from trusted raw HTML: index into [`VTree::owned`].
    Owned(u32),
}

/// One node of the arena, in document (pre-)order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// Index of the next sibling: one past the last node of this subtree.
    pub(crate) next: u32,
    /// Index into [`VTree::extras`] (dynamic attributes, key), or [`NO_EXTRA`].
    pub(crate) extra: u32,
    /// Start of this node's subtree in [`VTree::sig`].
    pub(crate) sig: u32,
    /// Start of this node's subtree's text in [`VTree::text`].
    pub(crate) text_at: u32,
}

/// `Node::extra` of a node without dynamic attributes or key.
pub(crate) const NO_EXTRA: u32 = u32::MAX;

/// Dynamic attributes and key of an element that has any.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extra {
    /// First slot in [`VTree::attrs`].
    pub(crate) attrs: u32,
    /// Number of slots (the template's dynamic attributes).
    pub(crate) slots: u32,
    /// Key in [`VTree::keys`], if any.
    pub(crate) key: Option<Span>,
}

/// The run-time tree built by one render: a flat arena.
///
/// Nodes are stored in document order in one `Vec`, each with the index of
/// its next sibling, so a subtree is a contiguous range and a render costs a
/// handful of allocations (one per buffer) instead of several per node.
/// Dynamic text, attribute values and keys live in three `String`s and are
/// referenced by span. Read it through [`VTree::roots`] and the borrowed
/// views [`VNode`] and [`VElement`].
#[derive(Clone, Default)]
pub struct VTree {
    pub(crate) nodes: Vec<Node>,
    /// Dynamic text runs, in document order.
    pub(crate) text: String,
    /// Dynamic attribute values, RAW.
    pub(crate) values: String,
    /// Keys of keyed-loop elements.
    pub(crate) keys: String,
    /// Dynamic attribute slots (`None` = attribute absent).
    pub(crate) attrs: Vec<Option<Span>>,
    /// Per-element dynamic attribute ranges and keys.
    pub(crate) extras: Vec<Extra>,
    /// Heads of elements parsed from raw HTML.
    pub(crate) owned: Vec<OwnedHead>,
    /// The signature stream: every node, in document order, as
    /// position-independent bytes (kind, static/template address, a close
    /// marker after an element's children, text lengths, attribute values with their lengths; keys are
    /// left out because they never reach the DOM). Two subtrees whose
    /// signature bytes and text bytes are equal serialize to the same DOM,
    /// so the diff skips them with two `memcmp`s (see [`VTree::same_subtree`]).
    pub(crate) sig: Vec<u8>,
}

/// One node of a [`VTree`], borrowed.
#[derive(Debug, Clone, Copy)]
pub enum VNode<'a> {
    /// A pre-rendered static subtree, compared by pointer.
    Static(&'static StaticNode),
    /// Dynamic text, RAW (escaped when written). Never empty in a built tree.
    Text(&'a str),
    /// An element with a template (or owned) head, dynamic attributes and children.
    Element(VElement<'a>),
}

/// An element of a [`VTree`], borrowed.
#[derive(Clone, Copy)]
pub struct VElement<'a> {
    pub(crate) tree: &'a VTree,
    pub(crate) index: u32,
}

/// Static template, or an owned head for elements that only exist at run time (parsed from trusted raw HTML).
#[derive(Debug, Clone, Copy)]
pub enum ElementHead<'a> {
    /// A compile-time template, compared by pointer.
    Template(&'static ElementTemplate),
    /// A head parsed from raw HTML at run time.
    Owned(&'a OwnedHead),
}

/// The children of a node (or the top level of a tree), in order.
#[derive(Clone)]
pub struct Children<'a> {
    tree: &'a VTree,
    next: u32,
    end: u32,
}

impl<'a> Iterator for Children<'a> {
    type Item = VNode<'a>;

    #[inline]
    fn next(&mut self) -> Option<VNode<'a>> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        let node = self.tree.nodes.get(index as usize)?;
        self.next = node.next.max(index + 1);
        Some(self.tree.view(index))
    }
}

impl VTree {
    /// Bytes this tree holds on the heap (its buffers' capacities): what
    /// keeping it costs, e.g. for a view kept while its client reconnects.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.nodes.capacity() * size_of::<Node>()
            + self.text.capacity()
            + self.values.capacity()
            + self.keys.capacity()
            + self.attrs.capacity() * size_of::<Option<Span>>()
            + self.extras.capacity() * size_of::<Extra>()
            + self.owned.capacity() * size_of::<OwnedHead>()
            + self
                .owned
                .iter()
                .map(|head| {
                    head.tag.capacity()
                        + head
                            .attrs
                            .iter()
                            .map(|(name, value)| name.capacity() + value.capacity())
                            .sum::<usize>()
                })
                .sum::<usize>()
            + self.sig.capacity()
    }

    /// A digest of everything the diff reads: the signature stream (node
    /// kinds and nesting, static nodes and templates by address, attribute
    /// writes with their values), the text, and every element's key. Two
    /// trees of one process with equal fingerprints diff as the same tree,
    /// so a session can drop its tree while idle and check, when it
    /// renders it again, that it got back what the client has (see
    /// `LiveSession::hibernate`). Addresses make it meaningless across
    /// processes.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest as _, Sha256};
        let mut hasher = Sha256::new();
        for part in [self.sig.as_slice(), self.text.as_bytes()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        for extra in &self.extras {
            match extra.key {
                Some(span) => {
                    let key = span.bytes(&self.keys);
                    hasher.update((key.len() as u64).to_le_bytes());
                    hasher.update(key);
                }
                None => hasher.update(u64::MAX.to_le_bytes()),
            }
        }
        hasher.finalize().into()
    }

    /// The top-level nodes.
    pub fn roots(&self) -> Children<'_> {
        Children {
            tree: self,
            next: 0,
            end: self.len_u32(),
        }
    }

    /// Number of top-level nodes.
    pub fn len(&self) -> usize {
        self.roots().count()
    }

    /// `true` when the tree has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Number of nodes in the whole tree.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    #[inline]
    pub(crate) fn len_u32(&self) -> u32 {
        u32::try_from(self.nodes.len()).unwrap_or(u32::MAX)
    }

    /// The node at arena index `index`.
    #[inline]
    pub(crate) fn view(&self, index: u32) -> VNode<'_> {
        match self.nodes.get(index as usize).map(|node| node.kind) {
            Some(Kind::Static(node)) => VNode::Static(node),
            Some(Kind::Text(span)) => VNode::Text(span.of(&self.text)),
            Some(Kind::Element(_) | Kind::Owned(_)) => {
                VNode::Element(VElement { tree: self, index })
            }
            None => VNode::Text(""),
        }
    }

    /// The signature bytes and the text bytes of the subtree rooted at node `index`.
    ///
    /// Equal signatures and texts imply equal DOM: same node kinds in the
    /// same (pre-)order and nesting (close markers), same static nodes and templates
    /// (by address), same text lengths and so the same texts, same sequence
    /// of attribute writes. Unequal signatures prove nothing (e.g. equal
    /// templates at two addresses); the diff then compares node by node.
    #[inline]
    pub(crate) fn subtree(&self, index: u32) -> (&[u8], &[u8]) {
        let Some(node) = self.nodes.get(index as usize) else {
            return (&[], &[]);
        };
        let (sig_end, text_end) = self
            .nodes
            .get(node.next as usize)
            .map_or((self.sig.len(), self.text.len()), |next| {
                (next.sig as usize, next.text_at as usize)
            });
        (
            self.sig.get(node.sig as usize..sig_end).unwrap_or(&[]),
            self.text
                .as_bytes()
                .get(node.text_at as usize..text_end)
                .unwrap_or(&[]),
        )
    }

    /// The extra data of node `index`, if any.
    #[inline]
    pub(crate) fn extra(&self, index: u32) -> Option<&Extra> {
        let node = self.nodes.get(index as usize)?;
        self.extras.get(node.extra as usize)
    }

    /// The key of node `index` (elements of keyed loops).
    #[inline]
    pub(crate) fn key(&self, index: u32) -> Option<&str> {
        self.extra(index)
            .and_then(|extra| extra.key)
            .map(|span| span.of(&self.keys))
    }

    /// Dynamic slot `slot` of element `index` (`None` = absent).
    #[inline]
    pub(crate) fn attr(&self, index: u32, slot: usize) -> Option<&str> {
        let extra = self.extra(index)?;
        if slot >= extra.slots as usize {
            return None;
        }
        self.attrs
            .get(extra.attrs as usize + slot)
            .copied()
            .flatten()
            .map(|span| span.of(&self.values))
    }

    /// The head of element `index`.
    pub(crate) fn head(&self, index: u32) -> Option<ElementHead<'_>> {
        match self.nodes.get(index as usize)?.kind {
            Kind::Element(template) => Some(ElementHead::Template(template)),
            Kind::Owned(owned) => self.owned.get(owned as usize).map(ElementHead::Owned),
            _ => None,
        }
    }

    /// Children of node `index` as an index range `(first, end)`.
    #[inline]
    pub(crate) fn child_range(&self, index: u32) -> (u32, u32) {
        match self.nodes.get(index as usize) {
            Some(node) => (index + 1, node.next),
            None => (0, 0),
        }
    }

    /// The HTML of the whole tree.
    pub fn to_html(&self) -> String {
        crate::vdom::html::to_html(self)
    }
}

impl<'a> VElement<'a> {
    /// Tag and static attributes.
    pub fn head(&self) -> ElementHead<'a> {
        self.tree
            .head(self.index)
            .unwrap_or(ElementHead::Template(&EMPTY_TEMPLATE))
    }

    /// The tag name.
    pub fn tag(&self) -> &'a str {
        self.head().tag()
    }

    /// Identity in a keyed list (set by `VBuilder::key_since`).
    pub fn key(&self) -> Option<&'a str> {
        self.tree.key(self.index)
    }

    /// Dynamic attribute slot `slot` (RAW value; `None` = absent).
    pub fn dyn_attr(&self, slot: usize) -> Option<&'a str> {
        self.tree.attr(self.index, slot)
    }

    /// Child nodes; adjacent text is always merged into one [`VNode::Text`].
    pub fn children(&self) -> Children<'a> {
        let (next, end) = self.tree.child_range(self.index);
        Children {
            tree: self.tree,
            next,
            end,
        }
    }

    /// The element's HTML.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        crate::vdom::html::write_index(self.tree, self.index, &mut out);
        out
    }
}

static EMPTY_TEMPLATE: ElementTemplate = ElementTemplate {
    tag: "",
    attrs: &[],
    is_void: false,
};

impl fmt::Debug for VElement<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VElement")
            .field("tag", &self.tag())
            .field("key", &self.key())
            .field("children", &self.children().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Debug for VTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.roots()).finish()
    }
}

impl VNode<'_> {
    /// The node's HTML (see [`crate::vdom::html`]).
    pub fn to_html(&self) -> String {
        match self {
            VNode::Static(node) => node.html.to_owned(),
            VNode::Text(text) => {
                let mut out = String::new();
                crate::template::escape::escape_into(text, &mut out);
                out
            }
            VNode::Element(element) => element.to_html(),
        }
    }
}

thread_local! {
    /// Buffers of dropped trees, reused by the next [`VBuilder`](super::VBuilder)
    /// on this thread: a live view's new tree replaces its old one on every
    /// update, so this turns each render's allocations (and, for large
    /// trees, the page faults of fresh memory) into none.
    static POOL: std::cell::RefCell<Vec<VTree>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Trees kept per thread, and the largest node buffer worth keeping.
const POOL_TREES: usize = 4;
const POOL_MAX_NODES: usize = 1 << 20;

impl VTree {
    /// An empty tree, reusing the buffers of a dropped one when possible.
    pub(crate) fn recycled() -> VTree {
        POOL.try_with(|pool| pool.try_borrow_mut().ok().and_then(|mut pool| pool.pop()))
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Drops the tree and frees its buffers instead of keeping them for
    /// the next render on this thread: for a tree that is dropped because
    /// its session goes idle (hibernation), whose memory should go back,
    /// not wait in the pool.
    pub(crate) fn release(mut self) {
        self.nodes = Vec::new();
    }

    fn clear(&mut self) {
        self.nodes.clear();
        self.text.clear();
        self.values.clear();
        self.keys.clear();
        self.attrs.clear();
        self.extras.clear();
        self.owned.clear();
        self.sig.clear();
    }
}

impl Drop for VTree {
    fn drop(&mut self) {
        let capacity = self.nodes.capacity();
        if capacity == 0 || capacity > POOL_MAX_NODES {
            return;
        }
        let _ = POOL.try_with(|pool| {
            let Ok(mut pool) = pool.try_borrow_mut() else {
                return;
            };
            if pool.len() >= POOL_TREES {
                return;
            }
            // Checked first, so this tree is always kept (dropping it here
            // would come back to this function).
            let mut tree = VTree {
                nodes: std::mem::take(&mut self.nodes),
                text: std::mem::take(&mut self.text),
                values: std::mem::take(&mut self.values),
                keys: std::mem::take(&mut self.keys),
                attrs: std::mem::take(&mut self.attrs),
                extras: std::mem::take(&mut self.extras),
                owned: Vec::new(),
                sig: std::mem::take(&mut self.sig),
            };
            tree.clear();
            pool.push(tree);
        });
    }
}

/// Equality by serialized HTML: two trees are equal when they render the same bytes.
impl PartialEq for VTree {
    fn eq(&self, other: &Self) -> bool {
        self.to_html() == other.to_html()
    }
}

/// Equality by serialized HTML: two nodes are equal when they render the same bytes.
impl PartialEq for VNode<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (VNode::Static(a), VNode::Static(b)) if std::ptr::eq(*a, *b) => true,
            (VNode::Text(a), VNode::Text(b)) => a == b,
            _ => self.to_html() == other.to_html(),
        }
    }
}

/// The head of an element parsed from trusted raw HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedHead {
    /// Tag name.
    pub tag: String,
    /// Attributes in source order, RAW values.
    pub attrs: Vec<(String, String)>,
    /// Void elements have no children and no close tag.
    pub is_void: bool,
}

impl<'a> ElementHead<'a> {
    /// The tag name.
    pub fn tag(&self) -> &'a str {
        match self {
            ElementHead::Template(template) => template.tag,
            ElementHead::Owned(owned) => owned.tag.as_str(),
        }
    }

    /// `true` for void elements.
    pub fn is_void(&self) -> bool {
        match self {
            ElementHead::Template(template) => template.is_void,
            ElementHead::Owned(owned) => owned.is_void,
        }
    }
}

/// HTML void elements and raw-text elements: the shared tables of
/// `djust-rules`, so the serialiser and the `html!` macro agree.
pub use djust_rules::elements::{RAW_TEXT_ELEMENTS, VOID_ELEMENTS};

/// `true` when `tag` is a void element.
#[inline]
pub fn is_void_tag(tag: &str) -> bool {
    djust_rules::elements::is_void_element(tag)
}

/// `true` when the text children of `tag` are written raw.
#[inline]
pub fn is_raw_text_tag(tag: &str) -> bool {
    djust_rules::elements::is_raw_text_element(tag)
}

#[cfg(test)]
mod pool_tests {
    use super::*;

    fn pooled() -> usize {
        POOL.with(|pool| pool.borrow().len())
    }

    fn some_tree() -> VTree {
        let mut tree = VTree::recycled();
        tree.nodes.reserve(64);
        tree.text.push_str("text");
        tree
    }

    #[test]
    fn a_dropped_tree_is_pooled_and_a_released_one_is_freed() {
        POOL.with(|pool| pool.borrow_mut().clear());
        drop(some_tree());
        assert_eq!(pooled(), 1, "dropped: kept for the next render");
        let tree = VTree::recycled();
        assert_eq!(pooled(), 0, "taken again");
        assert!(tree.nodes.capacity() >= 64 && tree.text.is_empty());
        tree.release();
        assert_eq!(pooled(), 0, "released: its memory goes back");
    }
}
