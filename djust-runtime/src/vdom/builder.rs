//! `VBuilder`: the API the `html!` macro calls to build a VDOM tree in one pass.
//!
//! The builder normalises the tree exactly like the browser's HTML parser
//! would see it, which is what makes child-index paths valid:
//! adjacent text (dynamic text, static text runs, text at the boundaries of
//! spliced components and raw HTML) merges into ONE text node, empty text
//! makes no node, and text and attribute values have CR LF / CR turned into
//! LF and NUL into U+FFFD (the parser would do the same to the SSR output).
//!
//! What generated code looks like for
//! `<ul> for c in &cs key = c.id { <li class={c.class}>{c.name}</li> } </ul>`
//! (the `<ul>` has no dynamic attribute but a dynamic child, so it is an
//! element template too; a fully static `<ul>` would be one `StaticNode`):
//!
//! ```
//! use djust_runtime::vdom::{to_html, ElementTemplate, TAttr, VBuilder};
//!
//! static UL: ElementTemplate = ElementTemplate { tag: "ul", attrs: &[], is_void: false };
//! static LI: ElementTemplate =
//!     ElementTemplate { tag: "li", attrs: &[TAttr::Dynamic { name: "class" }], is_void: false };
//!
//! struct C { id: u32, class: &'static str, name: &'static str }
//! let cs = [C { id: 7, class: "a", name: "Ann & Bob" }];
//!
//! let mut b = VBuilder::with_capacity(1);
//! b.open(&UL);
//! for c in &cs {
//!     let mark = b.mark();
//!     b.open(&LI);
//!     b.set_attr_with(0, &c.class);
//!     b.text_buffer().push_str(c.name);
//!     b.close();
//!     b.key_since_with(mark, &c.id);
//! }
//! b.close();
//! assert_eq!(to_html(&b.finish()), r#"<ul><li class="a">Ann &amp; Bob</li></ul>"#);
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use super::node::{
    is_void_tag, ElementHead, ElementTemplate, Extra, Kind, Node, OwnedHead, Span, StaticNode,
    VNode, VTree, NO_EXTRA,
};
use super::parse::{parse, Context};
use super::reference::DomNode;
use crate::template::render::{AttrValue, Render};

/// Remembers the buffer sizes of the last tree one `html!` call site built,
/// so the next render of that site allocates each buffer once.
#[derive(Debug)]
pub struct TreeSizeHint {
    nodes: AtomicUsize,
    text: AtomicUsize,
    values: AtomicUsize,
    keys: AtomicUsize,
    attrs: AtomicUsize,
    extras: AtomicUsize,
    sig: AtomicUsize,
}

impl TreeSizeHint {
    /// Starts from `nodes` nodes and nothing else.
    pub const fn new(nodes: usize) -> Self {
        TreeSizeHint {
            nodes: AtomicUsize::new(nodes),
            text: AtomicUsize::new(0),
            values: AtomicUsize::new(0),
            keys: AtomicUsize::new(0),
            attrs: AtomicUsize::new(0),
            extras: AtomicUsize::new(0),
            sig: AtomicUsize::new(0),
        }
    }

    fn record(&self, tree: &VTree) {
        // Capped: one huge render must not make every later one allocate a lot.
        const CAP: usize = 1 << 22;
        let set = |slot: &AtomicUsize, len: usize| {
            if len != slot.load(Ordering::Relaxed) {
                slot.store(len.min(CAP), Ordering::Relaxed);
            }
        };
        set(&self.nodes, tree.nodes.len());
        set(&self.text, tree.text.len());
        set(&self.values, tree.values.len());
        set(&self.keys, tree.keys.len());
        set(&self.attrs, tree.attrs.len());
        set(&self.extras, tree.extras.len());
        set(&self.sig, tree.sig.len());
    }
}

/// Builds a [`VTree`] (the children of a view root or a component) in document order.
#[derive(Debug, Default)]
pub struct VBuilder {
    tree: VTree,
    /// Open elements (arena indexes), innermost last.
    stack: Vec<u32>,
    /// Start of the pending text run of the current level in `tree.text`:
    /// the run is `tree.text[pending..]`, flushed as one `Text` node when a
    /// non-text node arrives, so text merges without looking back.
    pending: usize,
    /// The last child of the current level is a static text run, and it is
    /// the last node of the arena (so it can be absorbed into a text run).
    static_text: bool,
    hint: Option<&'static TreeSizeHint>,
    /// Normalise each text run as it is flushed (see `finish`).
    normalize: bool,
}

/// `true` when `text` contains a character the HTML parser would change.
#[inline]
fn needs_normalizing(text: &str) -> bool {
    text.bytes().any(|byte| byte == 0)
}

/// Rewrites `text` as the browser will hold it: NUL, which HTML cannot carry,
/// becomes U+FFFD (the escaper writes NUL as U+FFFD too, so a `set_text`
/// patch and a server-rendered page agree). CR needs nothing: the escaper
/// writes it as `&#13;`, which the parser reads back as CR. Allocates only
/// when something changes.
pub fn normalize_text(text: &mut String) {
    if !needs_normalizing(text) {
        return;
    }
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        out.push(if c == '\0' { '\u{FFFD}' } else { c });
    }
    *text = out;
}

/// Normalises `buffer[start..]` in place (see [`normalize_text`]).
#[inline]
fn normalize_tail(buffer: &mut String, start: usize) {
    let start = start.min(buffer.len());
    if buffer.get(start..).is_some_and(needs_normalizing) {
        let mut tail = buffer.split_off(start);
        normalize_text(&mut tail);
        buffer.push_str(&tail);
    }
}

/// `tree` rebuilt with every text run normalised (see [`normalize_text`]).
#[cold]
fn normalized(tree: &VTree) -> VTree {
    let mut builder = VBuilder {
        normalize: true,
        ..VBuilder::default()
    };
    builder.push_tree(tree);
    builder.finish()
}

/// Converts a static text run's HTML back to raw text.
fn static_text(node: &StaticNode) -> std::borrow::Cow<'static, str> {
    html_escape::decode_html_entities(node.html)
}

// Signature stream tags (see `VTree::sig`).
const SIG_STATIC: u8 = 1;
const SIG_TEXT: u8 = 2;
const SIG_ELEMENT: u8 = 3;
const SIG_OWNED: u8 = 4;
const SIG_ATTR: u8 = 5;
const SIG_NO_ATTR: u8 = 6;
/// Element and owned element with a keyed element among their descendants.
const SIG_ELEMENT_KEYED: u8 = 7;
const SIG_OWNED_KEYED: u8 = 8;
/// The end of an element's children.
const SIG_CLOSE: u8 = 9;

/// `true` when a subtree whose signature starts with `tag` may be skipped
/// when its signature and text are unchanged (no keyed list inside).
#[inline]
pub(crate) fn sig_skippable(tag: Option<&u8>) -> bool {
    matches!(tag, Some(&SIG_ELEMENT | &SIG_OWNED))
}

/// The address of a compile-time static, as its identity in the signature.
#[inline]
fn address<T>(item: &'static T) -> u64 {
    item as *const T as usize as u64
}

/// A length-prefixed string in the signature.
fn push_sig_str(sig: &mut Vec<u8>, text: &str) {
    sig.extend_from_slice(&index_u32(text.len()).to_le_bytes());
    sig.extend_from_slice(text.as_bytes());
}

#[inline]
fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

impl VBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        VBuilder::default()
    }

    /// An empty builder with room for `top_level` top-level nodes.
    pub fn with_capacity(top_level: usize) -> Self {
        let mut builder = VBuilder::default();
        builder.tree.nodes.reserve(top_level);
        builder.stack.reserve(8);
        builder
    }

    /// An empty builder sized from what this call site built last time
    /// (recorded again by [`VBuilder::finish`]).
    pub fn with_hint(hint: &'static TreeSizeHint) -> Self {
        let get = |slot: &AtomicUsize| slot.load(Ordering::Relaxed);
        let mut tree = VTree::recycled();
        tree.nodes.reserve(get(&hint.nodes));
        tree.text.reserve(get(&hint.text));
        tree.values.reserve(get(&hint.values));
        tree.keys.reserve(get(&hint.keys));
        tree.attrs.reserve(get(&hint.attrs));
        tree.extras.reserve(get(&hint.extras));
        tree.sig.reserve(get(&hint.sig));
        VBuilder {
            tree,
            stack: Vec::with_capacity(8),
            pending: 0,
            static_text: false,
            hint: Some(hint),
            normalize: false,
        }
    }

    #[inline(always)]
    fn push_leaf(&mut self, kind: Kind) {
        let next = index_u32(self.tree.nodes.len() + 1);
        let sig = index_u32(self.tree.sig.len());
        let mut text_at = index_u32(self.tree.text.len());
        match kind {
            Kind::Static(node) => {
                let mut bytes = [SIG_STATIC; 9];
                if let Some(addr) = bytes.get_mut(1..) {
                    addr.copy_from_slice(&address(node).to_le_bytes());
                }
                self.tree.sig.extend_from_slice(&bytes);
            }
            Kind::Text(span) => {
                // The bytes themselves are compared in `text`.
                let [a, b, c, d] = span.len.to_le_bytes();
                self.tree.sig.extend_from_slice(&[SIG_TEXT, a, b, c, d]);
                text_at = span.start;
            }
            Kind::Element(_) | Kind::Owned(_) => {}
        }
        self.tree.nodes.push(Node {
            kind,
            next,
            extra: NO_EXTRA,
            sig,
            text_at,
        });
    }

    /// Turns the pending text run into a node (nothing if empty).
    #[inline(always)]
    fn flush(&mut self) {
        let len = self.tree.text.len();
        if len > self.pending {
            self.flush_text(len);
        } else {
            self.pending = len;
        }
    }

    #[inline(never)]
    fn flush_normalizing(&mut self) {
        normalize_tail(&mut self.tree.text, self.pending);
    }

    #[inline(always)]
    fn flush_text(&mut self, len: usize) {
        let start = self.pending;
        // NUL is rare: `finish` looks for it in the whole text and value
        // buffers at once and rebuilds the tree with `normalize` set if it
        // finds any (a per-run scan costs a mispredicted branch per node).
        let tail_has_nul = self.normalize
            && self
                .tree
                .text
                .as_bytes()
                .get(start..)
                .is_some_and(|tail| tail.contains(&0));
        let end = if tail_has_nul {
            self.flush_normalizing();
            self.tree.text.len()
        } else {
            len
        };
        self.push_leaf(Kind::Text(Span::new(start, end)));
        self.pending = end;
        self.static_text = false;
    }

    /// The pending text run's buffer; a static text run just before an
    /// empty pending run is absorbed into it first (decoded).
    #[inline]
    fn text_mut(&mut self) -> &mut String {
        if self.static_text && self.tree.text.len() <= self.pending {
            self.absorb_static_text();
        }
        &mut self.tree.text
    }

    #[cold]
    fn absorb_static_text(&mut self) {
        self.static_text = false;
        if let Some(Node {
            kind: Kind::Static(node),
            sig,
            ..
        }) = self.tree.nodes.last().copied()
        {
            self.tree.nodes.pop();
            self.tree.sig.truncate(sig as usize);
            let decoded = static_text(node);
            self.pending = self.tree.text.len();
            self.tree.text.push_str(&decoded);
        }
    }

    /// `true` when the last node (pending or finished) of the level is text.
    #[inline]
    fn ends_with_text(&self) -> bool {
        self.tree.text.len() > self.pending || self.static_text
    }

    /// Appends a static subtree. A static text run merges with adjacent text.
    #[inline(always)]
    pub fn push_static(&mut self, node: &'static StaticNode) {
        if node.is_text() {
            if node.html.is_empty() {
                return;
            }
            if self.ends_with_text() {
                let decoded = static_text(node);
                self.text_mut().push_str(&decoded);
            } else {
                self.push_leaf(Kind::Static(node));
                self.static_text = true;
            }
        } else {
            self.flush();
            self.push_leaf(Kind::Static(node));
            self.static_text = false;
        }
    }

    /// Appends text to the current text run: adjacent text merges into ONE Text node (the browser's parser would merge them too). Empty text creates no node.
    #[inline(always)]
    pub fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.text_mut().push_str(text);
    }

    /// The String of the current text run, for writing a value's plain form
    /// directly without an intermediate allocation. Only APPEND to it: it
    /// holds the text of earlier nodes too. If nothing is written, no node
    /// remains (empty text runs make no node).
    #[inline]
    pub fn text_buffer(&mut self) -> &mut String {
        self.text_mut()
    }

    /// Opens a dynamic element; its dynamic attribute slots start absent.
    #[inline(always)]
    pub fn open(&mut self, template: &'static ElementTemplate) {
        self.flush();
        let extra = if template.attrs.is_empty() {
            NO_EXTRA
        } else {
            self.open_slots(template)
        };
        self.open_node(Kind::Element(template), extra);
    }

    /// The dynamic attribute slots of a new element, all absent.
    fn open_slots(&mut self, template: &'static ElementTemplate) -> u32 {
        let slots = template.slot_count();
        if slots == 0 {
            return NO_EXTRA;
        }
        let attrs = index_u32(self.tree.attrs.len());
        self.tree.attrs.resize(self.tree.attrs.len() + slots, None);
        self.push_extra(Extra {
            attrs,
            slots: index_u32(slots),
            key: None,
        })
    }

    #[inline]
    fn push_extra(&mut self, extra: Extra) -> u32 {
        let index = index_u32(self.tree.extras.len());
        self.tree.extras.push(extra);
        index
    }

    #[inline(always)]
    fn open_node(&mut self, kind: Kind, extra: u32) {
        let index = index_u32(self.tree.nodes.len());
        let sig = index_u32(self.tree.sig.len());
        // Kind, then the head; `close` appends SIG_CLOSE, so the bytes
        // nest like the tree.
        match kind {
            Kind::Element(template) => {
                let [a, b, c, d, e, f, g, h] = address(template).to_le_bytes();
                self.tree
                    .sig
                    .extend_from_slice(&[SIG_ELEMENT, a, b, c, d, e, f, g, h]);
            }
            Kind::Owned(owned) => {
                self.tree.sig.push(SIG_OWNED);
                if let Some(head) = self.tree.owned.get(owned as usize) {
                    let sig = &mut self.tree.sig;
                    push_sig_str(sig, &head.tag);
                    sig.push(u8::from(head.is_void));
                    sig.extend_from_slice(&index_u32(head.attrs.len()).to_le_bytes());
                    for (name, value) in &head.attrs {
                        push_sig_str(sig, name);
                        push_sig_str(sig, value);
                    }
                }
            }
            Kind::Static(_) | Kind::Text(_) => {}
        }
        self.tree.nodes.push(Node {
            kind,
            next: index + 1,
            extra,
            sig,
            text_at: index_u32(self.tree.text.len()),
        });
        self.stack.push(index);
        self.static_text = false;
    }

    /// Opens an element parsed from trusted raw HTML.
    fn open_owned(&mut self, head: OwnedHead) {
        self.flush();
        let owned = index_u32(self.tree.owned.len());
        self.tree.owned.push(head);
        self.open_node(Kind::Owned(owned), NO_EXTRA);
    }

    /// The attribute slot `slot` of the innermost open element.
    #[inline]
    fn slot_mut(&mut self, slot: usize) -> Option<&mut Option<Span>> {
        let Some(&index) = self.stack.last() else {
            debug_assert!(false, "set_attr with no open element");
            return None;
        };
        let node = self.tree.nodes.get(index as usize)?;
        let Some(extra) = self.tree.extras.get(node.extra as usize) else {
            debug_assert!(false, "set_attr: slot {slot} out of range");
            return None;
        };
        if slot >= extra.slots as usize {
            debug_assert!(false, "set_attr: slot {slot} out of range");
            return None;
        }
        self.tree.attrs.get_mut(extra.attrs as usize + slot)
    }

    /// Sets dynamic slot `slot` of the innermost open element (RAW value; `None` = absent).
    /// An out-of-range slot is a bug in generated code: debug assertion, ignored in release.
    pub fn set_attr(&mut self, slot: usize, value: Option<String>) {
        match value {
            Some(value) => self.set_attr_str(slot, &value),
            None => self.clear_attr(slot),
        }
    }

    /// Marks slot `slot` absent (the signature records the write too).
    fn clear_attr(&mut self, slot: usize) {
        if let Some(target) = self.slot_mut(slot) {
            *target = None;
            self.tree.sig.push(SIG_NO_ATTR);
            self.tree
                .sig
                .extend_from_slice(&index_u32(slot).to_le_bytes());
        }
    }

    /// Sets dynamic slot `slot` to `value` (RAW).
    pub fn set_attr_str(&mut self, slot: usize, value: &str) {
        let start = self.tree.values.len();
        self.tree.values.push_str(value);
        self.finish_attr(slot, start);
    }

    /// Sets dynamic slot `slot` from an ordinary attribute value (absent
    /// when `false`/`None`), written straight into the tree's buffer.
    #[inline]
    pub fn set_attr_with<T: AttrValue + ?Sized>(&mut self, slot: usize, value: &T) {
        if !value.is_present() {
            self.clear_attr(slot);
            return;
        }
        let start = self.tree.values.len();
        crate::template::render::write_attr_raw(value, &mut self.tree.values);
        self.finish_attr(slot, start);
    }

    #[inline]
    fn finish_attr(&mut self, slot: usize, start: usize) {
        if self.normalize {
            normalize_tail(&mut self.tree.values, start);
        }
        let span = Span::new(start, self.tree.values.len());
        if let Some(target) = self.slot_mut(slot) {
            *target = Some(span);
            let sig = &mut self.tree.sig;
            let [a, b, c, d] = index_u32(slot).to_le_bytes();
            let [e, f, g, h] = span.len.to_le_bytes();
            sig.extend_from_slice(&[SIG_ATTR, a, b, c, d, e, f, g, h]);
            sig.extend_from_slice(span.bytes(&self.tree.values));
        }
    }

    /// Closes the innermost open element.
    #[inline(always)]
    pub fn close(&mut self) {
        self.flush();
        let Some(index) = self.stack.pop() else {
            debug_assert!(false, "close with no open element");
            return;
        };
        let next = self.tree.len_u32();
        if let Some(node) = self.tree.nodes.get_mut(index as usize) {
            node.next = next;
        }
        self.tree.sig.push(SIG_CLOSE);
        self.static_text = false;
    }

    /// A mark of the current position among the current parent's children; used with key_since.
    #[inline]
    pub fn mark(&self) -> usize {
        self.tree.nodes.len()
    }

    /// Sets `key` on every Element pushed as a direct child of the current parent since `mark` (one loop iteration). If an iteration produced several elements, suffix them `key`, `key#1`, `key#2`… Text/Static nodes in an iteration stay unkeyed.
    ///
    /// Call it once per iteration: `let m = b.mark(); /* body */ b.key_since(m, key);`.
    /// Any key already set on those elements (a nested loop without a wrapper
    /// element) is replaced.
    pub fn key_since(&mut self, mark: usize, key: String) {
        self.key_since_str(mark, &key);
    }

    /// [`VBuilder::key_since`] with a borrowed key.
    pub fn key_since_str(&mut self, mark: usize, key: &str) {
        let start = self.tree.keys.len();
        self.tree.keys.push_str(key);
        self.apply_key(mark, start);
    }

    /// [`VBuilder::key_since`] with the key written from a loop's key
    /// expression (its plain text), without an intermediate `String`.
    #[inline]
    pub fn key_since_with<K: Render + ?Sized>(&mut self, mark: usize, key: &K) {
        let start = self.tree.keys.len();
        crate::template::render::write_text_raw(key, &mut self.tree.keys);
        self.apply_key(mark, start);
    }

    fn apply_key(&mut self, mark: usize, start: usize) {
        let span = Span::new(start, self.tree.keys.len());
        let mut index = mark;
        let mut count = 0usize;
        while let Some(node) = self.tree.nodes.get(index).copied() {
            let at = index;
            index = (node.next as usize).max(index + 1);
            if !matches!(node.kind, Kind::Element(_) | Kind::Owned(_)) {
                continue;
            }
            let key = if count == 0 {
                span
            } else {
                let mut suffixed = String::with_capacity(span.len as usize + 3);
                suffixed.push_str(span.of(&self.tree.keys));
                suffixed.push('#');
                suffixed.push_str(itoa::Buffer::new().format(count));
                let at = self.tree.keys.len();
                self.tree.keys.push_str(&suffixed);
                Span::new(at, self.tree.keys.len())
            };
            count += 1;
            self.set_key(at, key);
        }
    }

    fn set_key(&mut self, index: usize, key: Span) {
        let Some(node) = self.tree.nodes.get(index).copied() else {
            return;
        };
        self.mark_keyed_ancestors();
        if let Some(extra) = self.tree.extras.get_mut(node.extra as usize) {
            extra.key = Some(key);
            return;
        }
        let extra = self.push_extra(Extra {
            attrs: 0,
            slots: 0,
            key: Some(key),
        });
        if let Some(node) = self.tree.nodes.get_mut(index) {
            node.extra = extra;
        }
    }

    /// Flags every open element as holding a keyed list somewhere inside:
    /// the diff never skips such a subtree by signature, so duplicate keys
    /// are still found (keys are not part of the signature).
    fn mark_keyed_ancestors(&mut self) {
        for &index in self.stack.iter().rev() {
            let Some(node) = self.tree.nodes.get(index as usize) else {
                continue;
            };
            let Some(tag) = self.tree.sig.get_mut(node.sig as usize) else {
                continue;
            };
            match *tag {
                SIG_ELEMENT => *tag = SIG_ELEMENT_KEYED,
                SIG_OWNED => *tag = SIG_OWNED_KEYED,
                // Its ancestors are flagged already.
                _ => break,
            }
        }
    }

    /// Splices nodes built elsewhere (a nested component), merging text at the boundaries.
    pub fn push_nodes(&mut self, nodes: VTree) {
        self.push_tree(&nodes);
    }

    /// Splices a copy of `tree` (a nested component), merging text at the boundaries.
    pub fn push_tree(&mut self, tree: &VTree) {
        for node in tree.roots() {
            self.push_view(node);
        }
    }

    fn push_view(&mut self, node: VNode<'_>) {
        match node {
            VNode::Static(node) => self.push_static(node),
            VNode::Text(text) => self.push_text(text),
            VNode::Element(element) => {
                match element.head() {
                    ElementHead::Template(template) => {
                        self.open(template);
                        for slot in 0..template.slot_count() {
                            if let Some(value) = element.dyn_attr(slot) {
                                self.set_attr_str(slot, value);
                            }
                        }
                    }
                    ElementHead::Owned(head) => self.open_owned(head.clone()),
                }
                let at = self.stack.last().map_or(0, |&index| index as usize);
                for child in element.children() {
                    self.push_view(child);
                }
                self.close();
                if let Some(key) = element.key() {
                    let start = self.tree.keys.len();
                    self.tree.keys.push_str(key);
                    let span = Span::new(start, self.tree.keys.len());
                    self.set_key(at, span);
                }
            }
        }
    }

    /// Trusted raw HTML (SafeHtml): parsed with html5ever as a body fragment into Owned elements and Text nodes (comments dropped), merging text at the boundaries. Not on the hot path.
    pub fn push_raw_html(&mut self, html: &str) {
        if html.is_empty() {
            return;
        }
        for node in parse(html, Context::Body) {
            self.push_dom(node);
        }
    }

    fn push_dom(&mut self, node: DomNode) {
        match node {
            DomNode::Text(text) => self.push_text(&text),
            DomNode::Element {
                tag,
                attrs,
                children,
            } => {
                let is_void = is_void_tag(&tag);
                self.open_owned(OwnedHead {
                    tag,
                    attrs,
                    is_void,
                });
                for child in children {
                    self.push_dom(child);
                }
                self.close();
            }
        }
    }

    /// The built tree. Closes any element left open (a bug in generated code: debug assertion).
    pub fn finish(mut self) -> VTree {
        debug_assert!(self.stack.is_empty(), "VBuilder::finish with open elements");
        while !self.stack.is_empty() {
            self.close();
        }
        self.flush();
        if let Some(hint) = self.hint {
            hint.record(&self.tree);
        }
        let tree = std::mem::take(&mut self.tree);
        if !self.normalize
            && (tree.text.as_bytes().contains(&0) || tree.values.as_bytes().contains(&0))
        {
            return normalized(&tree);
        }
        tree
    }
}
