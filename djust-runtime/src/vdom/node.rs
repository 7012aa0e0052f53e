//! The VDOM data model: static subtrees, element templates and the run-time tree built from them.
//!
//! A compiled template is a tree in which every maximal static subtree is ONE
//! pre-rendered [`StaticNode`], and every dynamic element points to a
//! compile-time [`ElementTemplate`] plus its dynamic attribute slots. The diff
//! compares static nodes by pointer and dynamic elements by template pointer
//! and slots, so it never walks what cannot change.

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

/// One node of the run-time tree.
#[derive(Debug, Clone)]
pub enum VNode {
    /// A pre-rendered static subtree, compared by pointer.
    Static(&'static StaticNode),
    /// Dynamic text, RAW (escaped when written). Never empty in a built tree.
    Text(String),
    /// An element with a template (or owned) head, dynamic attributes and children.
    Element(VElement),
}

/// An element whose attributes or descendants may change.
#[derive(Debug, Clone)]
pub struct VElement {
    /// Tag and static attributes.
    pub head: ElementHead,
    /// One entry per Dynamic attr of the template; the value is RAW (unescaped, already URL/style-filtered by the caller); None = attribute absent.
    pub dyn_attrs: Vec<Option<String>>,
    /// Child nodes; adjacent text is always merged into one [`VNode::Text`].
    pub children: Vec<VNode>,
    /// Identity in a keyed list (set by `VBuilder::key_since`).
    pub key: Option<String>,
}

/// Static template, or an owned head for elements that only exist at run time (parsed from trusted raw HTML).
#[derive(Debug, Clone)]
pub enum ElementHead {
    /// A compile-time template, compared by pointer.
    Template(&'static ElementTemplate),
    /// A head parsed from raw HTML at run time.
    Owned(Box<OwnedHead>),
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

impl ElementHead {
    /// The tag name.
    pub fn tag(&self) -> &str {
        match self {
            ElementHead::Template(template) => template.tag,
            ElementHead::Owned(owned) => &owned.tag,
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

impl VNode {
    /// The node's HTML (see [`crate::vdom::html`]).
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        crate::vdom::html::write_node(self, &mut out);
        out
    }
}

/// Equality by serialized HTML: two nodes are equal when they render the same bytes.
impl PartialEq for VNode {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (VNode::Static(a), VNode::Static(b)) if std::ptr::eq(*a, *b) => true,
            (VNode::Text(a), VNode::Text(b)) => a == b,
            _ => self.to_html() == other.to_html(),
        }
    }
}

/// Equality by serialized HTML (keys are ignored).
impl PartialEq for VElement {
    fn eq(&self, other: &Self) -> bool {
        let mut a = String::new();
        let mut b = String::new();
        crate::vdom::html::write_element(self, &mut a);
        crate::vdom::html::write_element(other, &mut b);
        a == b
    }
}

/// HTML void elements: no children, no close tag.
pub const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose text content the parser reads raw (no entity decoding), so
/// their text children are written without escaping.
pub const RAW_TEXT_ELEMENTS: &[&str] = &[
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "script",
    "style",
    "xmp",
];

/// `true` when `tag` is a void element.
pub fn is_void_tag(tag: &str) -> bool {
    VOID_ELEMENTS.contains(&tag)
}

/// `true` when the text children of `tag` are written raw.
pub fn is_raw_text_tag(tag: &str) -> bool {
    RAW_TEXT_ELEMENTS.contains(&tag)
}
