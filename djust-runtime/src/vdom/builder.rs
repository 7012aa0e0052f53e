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
//!     b.set_attr(0, Some(c.class.to_string()));
//!     b.text_buffer().push_str(c.name);
//!     b.close();
//!     b.key_since(mark, c.id.to_string());
//! }
//! b.close();
//! assert_eq!(to_html(&b.finish()), r#"<ul><li class="a">Ann &amp; Bob</li></ul>"#);
//! ```

use super::node::{
    is_void_tag, ElementHead, ElementTemplate, OwnedHead, StaticNode, VElement, VNode,
};
use super::parse::{parse, Context};
use super::reference::DomNode;

/// Builds a `Vec<VNode>` (the children of a view root or a component) in document order.
#[derive(Debug, Default)]
pub struct VBuilder {
    /// Top-level nodes.
    roots: Vec<VNode>,
    /// Pending text run after `roots`.
    text: String,
    /// Open elements, innermost last; each collects its own children and pending text.
    stack: Vec<(VElement, String)>,
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

/// Converts a static text run's HTML back to raw text.
fn static_text(node: &StaticNode) -> std::borrow::Cow<'static, str> {
    html_escape::decode_html_entities(node.html)
}

/// One level of the tree under construction: the finished children and the
/// pending text run that follows them (flushed as one `Text` node when a
/// non-text node arrives, so text merges without looking back).
struct Level<'a> {
    children: &'a mut Vec<VNode>,
    text: &'a mut String,
}

impl<'a> Level<'a> {
    /// Turns the pending text run into a node (nothing if empty).
    #[inline]
    fn flush(&mut self) {
        if !self.text.is_empty() {
            normalize_text(self.text);
            self.children.push(VNode::Text(std::mem::take(self.text)));
        }
    }

    /// A static text run just before an empty pending run becomes that run.
    #[inline]
    fn absorb_static_text(&mut self) {
        if self.text.is_empty() {
            if let Some(VNode::Static(node)) = self.children.last() {
                if node.is_text() {
                    let decoded = static_text(node);
                    self.text.push_str(&decoded);
                    self.children.pop();
                }
            }
        }
    }

    /// The pending text run (see [`Level::absorb_static_text`]).
    #[inline]
    fn text(&mut self) -> &mut String {
        self.absorb_static_text();
        self.text
    }

    /// Like [`Level::text`], for the builder's lifetime.
    #[inline]
    fn into_text(mut self) -> &'a mut String {
        self.absorb_static_text();
        self.text
    }

    /// `true` when the last node (pending or finished) is text.
    fn ends_with_text(&self) -> bool {
        !self.text.is_empty()
            || matches!(self.children.last(), Some(VNode::Static(node)) if node.is_text())
    }

    /// Appends any node with text merging.
    fn push(&mut self, node: VNode) {
        match node {
            VNode::Text(text) => {
                if text.is_empty() {
                    return;
                }
                if self.ends_with_text() {
                    self.text().push_str(&text);
                } else {
                    *self.text = text;
                }
            }
            VNode::Static(node) if node.is_text() => {
                if node.html.is_empty() {
                    return;
                }
                if self.ends_with_text() {
                    let decoded = static_text(node);
                    self.text().push_str(&decoded);
                } else {
                    self.children.push(VNode::Static(node));
                }
            }
            other => {
                self.flush();
                self.children.push(other);
            }
        }
    }
}

impl VBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        VBuilder {
            roots: Vec::new(),
            text: String::new(),
            stack: Vec::new(),
        }
    }

    /// An empty builder with room for `top_level` top-level nodes.
    pub fn with_capacity(top_level: usize) -> Self {
        VBuilder {
            roots: Vec::with_capacity(top_level),
            text: String::new(),
            stack: Vec::with_capacity(8),
        }
    }

    /// The innermost open element's children (or the top level).
    #[inline]
    fn level(&mut self) -> Level<'_> {
        match self.stack.last_mut() {
            Some((element, text)) => Level {
                children: &mut element.children,
                text,
            },
            None => Level {
                children: &mut self.roots,
                text: &mut self.text,
            },
        }
    }

    /// Appends a static subtree. A static text run merges with adjacent text.
    pub fn push_static(&mut self, node: &'static StaticNode) {
        self.level().push(VNode::Static(node));
    }

    /// Appends text to the current text run: adjacent text merges into ONE Text node (the browser's parser would merge them too). Empty text creates no node.
    pub fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.level().text().push_str(text);
    }

    /// The String of the current text run (created if the last node is not Text), for writing a value's plain form directly without an intermediate allocation. If nothing is written, no node remains (empty text runs are dropped when the next node is pushed, at close and at finish).
    pub fn text_buffer(&mut self) -> &mut String {
        self.level().into_text()
    }

    /// Opens a dynamic element; `dyn_attrs` is pre-sized to the template's slots, all `None`.
    pub fn open(&mut self, template: &'static ElementTemplate) {
        self.level().flush();
        let slots = template.slot_count();
        let element = VElement {
            head: ElementHead::Template(template),
            dyn_attrs: if slots == 0 {
                Vec::new()
            } else {
                vec![None; slots]
            },
            children: Vec::new(),
            key: None,
        };
        self.stack.push((element, String::new()));
    }

    /// Sets dynamic slot `slot` of the innermost open element (RAW value; `None` = absent).
    /// An out-of-range slot is a bug in generated code: debug assertion, ignored in release.
    pub fn set_attr(&mut self, slot: usize, value: Option<String>) {
        let Some((element, _)) = self.stack.last_mut() else {
            debug_assert!(false, "set_attr with no open element");
            return;
        };
        let Some(target) = element.dyn_attrs.get_mut(slot) else {
            debug_assert!(false, "set_attr: slot {slot} out of range");
            return;
        };
        *target = value.map(|mut value| {
            normalize_text(&mut value);
            value
        });
    }

    /// Closes the innermost open element and appends it to its parent.
    pub fn close(&mut self) {
        let Some((mut element, mut text)) = self.stack.pop() else {
            debug_assert!(false, "close with no open element");
            return;
        };
        Level {
            children: &mut element.children,
            text: &mut text,
        }
        .flush();
        self.level().push(VNode::Element(element));
    }

    /// Index marking the current position among the current parent's children; used with key_since.
    pub fn mark(&self) -> usize {
        match self.stack.last() {
            Some((element, text)) => element.children.len() + usize::from(!text.is_empty()),
            None => self.roots.len() + usize::from(!self.text.is_empty()),
        }
    }

    /// Sets `key` on every Element pushed as a direct child of the current parent since `mark` (one loop iteration). If an iteration produced several elements, suffix them `key`, `key#1`, `key#2`… Text/Static nodes in an iteration stay unkeyed.
    ///
    /// Call it once per iteration: `let m = b.mark(); /* body */ b.key_since(m, key);`.
    /// Any key already set on those elements (a nested loop without a wrapper
    /// element) is replaced.
    pub fn key_since(&mut self, mark: usize, key: String) {
        let level = self.level();
        let start = mark.min(level.children.len());
        let mut elements = level.children[start..]
            .iter_mut()
            .filter_map(|node| match node {
                VNode::Element(element) => Some(element),
                _ => None,
            });
        let Some(first) = elements.next() else {
            return;
        };
        let mut count = 0usize;
        for element in elements {
            count += 1;
            let mut suffixed = String::with_capacity(key.len() + 3);
            suffixed.push_str(&key);
            suffixed.push('#');
            suffixed.push_str(itoa::Buffer::new().format(count));
            element.key = Some(suffixed);
        }
        first.key = Some(key);
    }

    /// Splices nodes built elsewhere (a nested component), merging text at the boundaries.
    pub fn push_nodes(&mut self, nodes: Vec<VNode>) {
        let mut level = self.level();
        for node in nodes {
            level.push(node);
        }
    }

    /// Trusted raw HTML (SafeHtml): parsed with html5ever as a body fragment into Owned elements and Text nodes (comments dropped), merging text at the boundaries. Not on the hot path.
    pub fn push_raw_html(&mut self, html: &str) {
        if html.is_empty() {
            return;
        }
        let nodes = parse(html, Context::Body);
        let mut level = self.level();
        for node in nodes {
            level.push(from_dom(node));
        }
    }

    /// The built nodes. Closes any element left open (a bug in generated code: debug assertion).
    pub fn finish(mut self) -> Vec<VNode> {
        debug_assert!(self.stack.is_empty(), "VBuilder::finish with open elements");
        while !self.stack.is_empty() {
            self.close();
        }
        self.level().flush();
        self.roots
    }
}

/// Converts a parsed DOM node into an owned VDOM node.
fn from_dom(node: DomNode) -> VNode {
    match node {
        DomNode::Text(text) => VNode::Text(text),
        DomNode::Element {
            tag,
            attrs,
            children,
        } => {
            let is_void = is_void_tag(&tag);
            let mut vchildren = Vec::with_capacity(children.len());
            let mut text = String::new();
            let mut level = Level {
                children: &mut vchildren,
                text: &mut text,
            };
            for child in children {
                level.push(from_dom(child));
            }
            level.flush();
            VNode::Element(VElement {
                head: ElementHead::Owned(Box::new(OwnedHead {
                    tag,
                    attrs,
                    is_void,
                })),
                dyn_attrs: Vec::new(),
                children: vchildren,
                key: None,
            })
        }
    }
}
