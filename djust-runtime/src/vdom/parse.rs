//! Parses an HTML fragment with html5ever into plain [`DomNode`]s, like a browser would.
//!
//! Only the explicit raw-HTML path of the builder and the reference DOM use
//! this; the live-update hot path never re-parses HTML. Comments, doctypes and
//! processing instructions are dropped and adjacent text is merged.

use std::borrow::Cow;
use std::cell::{Ref, RefCell};

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{local_name, ns, parse_fragment, Attribute, ParseOpts, QualName};

use super::reference::DomNode;

/// The element whose content model the fragment is parsed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// As `body.innerHTML = …`: a page fragment.
    Body,
    /// As `template.innerHTML = …`: what the client uses to build patch nodes.
    Template,
}

/// Parses `html` as the children of a `context` element.
pub(crate) fn parse(html: &str, context: Context) -> Vec<DomNode> {
    let local = match context {
        Context::Body => local_name!("body"),
        Context::Template => local_name!("template"),
    };
    let sink = Sink::default();
    let mut opts = ParseOpts::default();
    // `innerHTML` keeps a leading U+FEFF; only a document's byte stream drops it.
    opts.tokenizer.discard_bom = false;
    let sink = parse_fragment(
        sink,
        opts,
        QualName::new(None, ns!(html), local),
        Vec::new(),
        false,
    )
    .one(html);
    sink.into_dom()
}

#[derive(Debug)]
enum Data {
    Document,
    Fragment,
    Element {
        attrs: Vec<(String, String)>,
        template_contents: Option<usize>,
    },
    Text(String),
    Ignored,
}

#[derive(Debug)]
struct Node {
    name: QualName,
    data: Data,
    parent: Option<usize>,
    children: Vec<usize>,
}

#[derive(Debug)]
struct Arena {
    nodes: Vec<Node>,
    fallback_name: QualName,
}

/// An arena-backed html5ever tree sink. Handles are indexes into the arena.
#[derive(Debug)]
struct Sink {
    arena: RefCell<Arena>,
}

impl Default for Sink {
    fn default() -> Self {
        let document = Node {
            name: QualName::new(None, ns!(), local_name!("")),
            data: Data::Document,
            parent: None,
            children: Vec::new(),
        };
        Sink {
            arena: RefCell::new(Arena {
                nodes: vec![document],
                fallback_name: QualName::new(None, ns!(), local_name!("")),
            }),
        }
    }
}

fn attr_name(name: &QualName) -> String {
    match &name.prefix {
        Some(prefix) => format!("{}:{}", &**prefix, &*name.local),
        None => name.local.to_string(),
    }
}

impl Arena {
    fn add(&mut self, name: QualName, data: Data) -> usize {
        self.nodes.push(Node {
            name,
            data,
            parent: None,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn unnamed(&self) -> QualName {
        self.fallback_name.clone()
    }

    fn detach(&mut self, node: usize) {
        let Some(parent) = self.nodes.get(node).and_then(|n| n.parent) else {
            return;
        };
        if let Some(parent_node) = self.nodes.get_mut(parent) {
            parent_node.children.retain(|&child| child != node);
        }
        if let Some(n) = self.nodes.get_mut(node) {
            n.parent = None;
        }
    }

    fn text_at(&mut self, node: Option<usize>) -> Option<&mut String> {
        match self.nodes.get_mut(node?).map(|n| &mut n.data) {
            Some(Data::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// Inserts `child` into `parent` at `index` (`None` = append), merging text.
    fn insert(&mut self, parent: usize, index: Option<usize>, child: NodeOrText<usize>) {
        let Some(len) = self.nodes.get(parent).map(|p| p.children.len()) else {
            return;
        };
        let index = index.unwrap_or(len).min(len);
        let node = match child {
            NodeOrText::AppendText(text) => {
                let before = index.checked_sub(1).and_then(|i| {
                    self.nodes
                        .get(parent)
                        .and_then(|p| p.children.get(i).copied())
                });
                if let Some(existing) = self.text_at(before) {
                    existing.push_str(&text);
                    return;
                }
                let name = self.unnamed();
                self.add(name, Data::Text(text.to_string()))
            }
            NodeOrText::AppendNode(node) => {
                self.detach(node);
                node
            }
        };
        let len = self.nodes.get(parent).map_or(0, |p| p.children.len());
        if let Some(parent_node) = self.nodes.get_mut(parent) {
            parent_node.children.insert(index.min(len), node);
        }
        if let Some(n) = self.nodes.get_mut(node) {
            n.parent = Some(parent);
        }
    }

    fn position(&self, node: usize) -> Option<(usize, usize)> {
        let parent = self.nodes.get(node)?.parent?;
        let index = self
            .nodes
            .get(parent)?
            .children
            .iter()
            .position(|&c| c == node)?;
        Some((parent, index))
    }

    fn convert_children(&self, node: usize, out: &mut Vec<DomNode>) {
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        for &child in &n.children {
            let Some(c) = self.nodes.get(child) else {
                continue;
            };
            match &c.data {
                Data::Text(text) => {
                    if text.is_empty() {
                        continue;
                    }
                    if let Some(DomNode::Text(previous)) = out.last_mut() {
                        previous.push_str(text);
                    } else {
                        out.push(DomNode::Text(text.clone()));
                    }
                }
                Data::Element {
                    attrs,
                    template_contents,
                } => {
                    let mut children = Vec::new();
                    self.convert_children(template_contents.unwrap_or(child), &mut children);
                    out.push(DomNode::Element {
                        tag: c.name.local.to_string(),
                        attrs: attrs.clone(),
                        children,
                    });
                }
                Data::Document | Data::Fragment | Data::Ignored => {}
            }
        }
    }
}

impl Sink {
    fn into_dom(self) -> Vec<DomNode> {
        let arena = self.arena.into_inner();
        let mut out = Vec::new();
        // A fragment parse appends one `html` element to the document; the
        // fragment's nodes are its children.
        if let Some(document) = arena.nodes.first() {
            for &child in &document.children {
                if matches!(
                    arena.nodes.get(child).map(|n| &n.data),
                    Some(Data::Element { .. })
                ) {
                    arena.convert_children(child, &mut out);
                }
            }
        }
        out
    }
}

impl TreeSink for Sink {
    type Handle = usize;
    type Output = Self;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Self {
        self
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> usize {
        0
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> Ref<'a, QualName> {
        Ref::map(self.arena.borrow(), |arena| {
            arena
                .nodes
                .get(*target)
                .map_or(&arena.fallback_name, |n| &n.name)
        })
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> usize {
        let mut arena = self.arena.borrow_mut();
        let template_contents = if flags.template {
            let unnamed = arena.unnamed();
            Some(arena.add(unnamed, Data::Fragment))
        } else {
            None
        };
        let attrs = attrs
            .into_iter()
            .map(|attr| (attr_name(&attr.name), attr.value.to_string()))
            .collect();
        arena.add(
            name,
            Data::Element {
                attrs,
                template_contents,
            },
        )
    }

    fn create_comment(&self, _text: StrTendril) -> usize {
        let mut arena = self.arena.borrow_mut();
        let unnamed = arena.unnamed();
        arena.add(unnamed, Data::Ignored)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.create_comment(StrTendril::new())
    }

    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        self.arena.borrow_mut().insert(*parent, None, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &usize,
        prev_element: &usize,
        child: NodeOrText<usize>,
    ) {
        let has_parent = self
            .arena
            .borrow()
            .nodes
            .get(*element)
            .is_some_and(|n| n.parent.is_some());
        if has_parent {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &usize) -> usize {
        match self.arena.borrow().nodes.get(*target).map(|n| &n.data) {
            Some(Data::Element {
                template_contents: Some(contents),
                ..
            }) => *contents,
            _ => *target,
        }
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        let mut arena = self.arena.borrow_mut();
        if let NodeOrText::AppendNode(node) = &new_node {
            arena.detach(*node);
        }
        if let Some((parent, index)) = arena.position(*sibling) {
            arena.insert(parent, Some(index), new_node);
        }
    }

    fn add_attrs_if_missing(&self, target: &usize, attrs: Vec<Attribute>) {
        let mut arena = self.arena.borrow_mut();
        if let Some(Data::Element {
            attrs: existing, ..
        }) = arena.nodes.get_mut(*target).map(|n| &mut n.data)
        {
            for attr in attrs {
                let name = attr_name(&attr.name);
                if !existing.iter().any(|(n, _)| *n == name) {
                    existing.push((name, attr.value.to_string()));
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &usize) {
        self.arena.borrow_mut().detach(*target);
    }

    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let mut arena = self.arena.borrow_mut();
        let children = arena
            .nodes
            .get_mut(*node)
            .map(|n| std::mem::take(&mut n.children))
            .unwrap_or_default();
        for child in &children {
            if let Some(c) = arena.nodes.get_mut(*child) {
                c.parent = Some(*new_parent);
            }
        }
        if let Some(p) = arena.nodes.get_mut(*new_parent) {
            p.children.extend(children);
        }
    }
}
