//! The template AST shared by the checks and both code generators (SSR and VDOM).

use djust_rules::attributes::{AttrSink, Sibling};
use proc_macro2::{Span, TokenStream};
use syn::{Expr, LitStr, Pat};

/// A name of an element or attribute: `div`, `dj-click`, `xlink:href`.
#[derive(Clone)]
pub struct HtmlName {
    /// The name as written, e.g. `dj-value-id`.
    pub value: String,
    /// The tokens of the name, for errors spanning all of it.
    pub tokens: TokenStream,
    /// The span of the first token.
    pub span: Span,
}

/// One node of markup.
pub enum Node {
    /// `<tag attrs>children</tag>` or `<tag/>`.
    Element(Element),
    /// `"text"`: escaped at compile time.
    Text(LitStr),
    /// `{expr}` or `{expr|safe}`.
    Splice(Splice),
    /// `if cond { .. } else if .. { .. } else { .. }` and `if let`.
    If(IfNode),
    /// `for pat in iter key = expr { .. }`.
    For(ForNode),
    /// `match expr { Pat => { .. } }`.
    Match(MatchNode),
}

/// An element with its attributes and children.
pub struct Element {
    /// Tag name.
    pub name: HtmlName,
    /// Attributes in source order.
    pub attrs: Vec<Attr>,
    /// Children (empty for void and self-closing elements).
    pub children: Vec<Node>,
}

/// One attribute.
pub struct Attr {
    /// Attribute name.
    pub name: HtmlName,
    /// Its value.
    pub value: AttrValue,
}

/// What an attribute is set to.
pub enum AttrValue {
    /// Bare attribute: `disabled`.
    Bare,
    /// `name="literal"`.
    Literal(LitStr),
    /// `name={expr}`.
    Dynamic(Box<Expr>),
}

/// `{expr}` spliced into content.
pub struct Splice {
    /// The expression.
    pub expr: Box<Expr>,
    /// `{expr|safe}`: must be a `SafeHtml`, written raw.
    pub safe: bool,
}

/// The condition of an `if`.
pub enum Condition {
    /// `if expr`.
    Bool(Box<Expr>),
    /// `if let pat = expr`.
    Let(Box<Pat>, Box<Expr>),
}

/// `if` with optional `else`.
pub struct IfNode {
    /// Condition.
    pub condition: Condition,
    /// Nodes when it holds.
    pub then_branch: Vec<Node>,
    /// `else` part.
    pub else_branch: Option<Else>,
}

/// What follows `else`.
pub enum Else {
    /// `else if ..`.
    If(Box<IfNode>),
    /// `else { .. }`.
    Block(Vec<Node>),
}

/// `for pat in iter key = expr { body }`.
pub struct ForNode {
    /// Loop pattern.
    pub pat: Box<Pat>,
    /// Iterated expression.
    pub iter: Box<Expr>,
    /// Key for keyed diffing.
    pub key: Option<Box<Expr>>,
    /// Loop body.
    pub body: Vec<Node>,
}

/// `match expr { arms }`.
pub struct MatchNode {
    /// Scrutinee.
    pub expr: Box<Expr>,
    /// Arms.
    pub arms: Vec<Arm>,
}

/// One `match` arm.
pub struct Arm {
    /// Pattern.
    pub pat: Box<Pat>,
    /// `if guard`.
    pub guard: Option<Box<Expr>>,
    /// Body.
    pub body: Vec<Node>,
}

/// Elements that never have children or a closing tag (the shared table
/// of `djust-rules`, which the runtime's serialiser uses too).
pub use djust_rules::elements::is_void_element as is_void;

impl Element {
    /// What the sink table needs to know about attribute `name` of this
    /// element (ASCII case-insensitive); a bare attribute is the empty literal.
    pub fn sibling(&self, name: &str) -> Sibling {
        match self
            .attrs
            .iter()
            .find(|attr| attr.name.value.eq_ignore_ascii_case(name))
        {
            None => Sibling::Absent,
            Some(attr) => match &attr.value {
                AttrValue::Bare => Sibling::Literal(String::new()),
                AttrValue::Literal(lit) => Sibling::Literal(lit.value()),
                AttrValue::Dynamic(_) => Sibling::Dynamic,
            },
        }
    }

    /// How the browser reads `attr`'s value on this element (the shared
    /// sink table of `djust-rules`).
    pub fn sink(&self, attr: &Attr) -> AttrSink {
        djust_rules::attributes::attribute_sink(&self.name.value, &attr.name.value, &|name| {
            self.sibling(name)
        })
    }
}

/// Calls `visit` on every element of `nodes`, in every branch and loop.
pub fn each_element<'a>(nodes: &'a [Node], visit: &mut dyn FnMut(&'a Element)) {
    for node in nodes {
        match node {
            Node::Element(element) => {
                visit(element);
                each_element(&element.children, visit);
            }
            Node::If(if_node) => {
                let mut branch = Some(if_node);
                while let Some(current) = branch {
                    each_element(&current.then_branch, visit);
                    branch = match &current.else_branch {
                        Some(Else::If(nested)) => Some(nested),
                        Some(Else::Block(nodes)) => {
                            each_element(nodes, visit);
                            None
                        }
                        None => None,
                    };
                }
            }
            Node::For(for_node) => each_element(&for_node.body, visit),
            Node::Match(match_node) => {
                for arm in &match_node.arms {
                    each_element(&arm.body, visit);
                }
            }
            Node::Text(_) | Node::Splice(_) => {}
        }
    }
}
