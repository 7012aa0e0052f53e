//! [`Html`]: the value an `html!` template evaluates to.

use std::fmt;

use crate::vdom::{to_html, VBuilder, VTree};

/// Rendered markup produced by `html!`.
///
/// Every dynamic value in it was escaped for its context when the template
/// ran, so an `Html` can be spliced into another template as a component
/// (`{header}`) without being escaped again. Only `html!` builds one: there
/// is no way from a `String` or a [`SafeHtml`](super::SafeHtml) (trusted
/// markup goes into a template with `{value|safe}`, which the audit counts).
///
/// A template evaluates to markup (server-side rendering, the default) or,
/// inside [`render_nodes`](super::mode::render_nodes), to a VDOM for live
/// updates. Both serialise to the same HTML, byte for byte.
#[derive(Clone, Default)]
pub struct Html {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Markup(String),
    Nodes(VTree),
    /// Nodes shared with a cache (a component's last output): cloning
    /// costs a reference count, not the tree.
    Shared(std::sync::Arc<VTree>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Markup(String::new())
    }
}

impl Html {
    /// Wraps markup written by the `html!` macro's generated code (reached
    /// only through `djust::__private`).
    #[inline]
    pub(crate) fn from_generated_markup(markup: String) -> Self {
        Html {
            repr: Repr::Markup(markup),
        }
    }

    /// Wraps nodes built by the `html!` macro's generated code (reached
    /// only through `djust::__private`).
    #[inline]
    pub(crate) fn from_generated_nodes(nodes: VTree) -> Self {
        Html {
            repr: Repr::Nodes(nodes),
        }
    }

    /// Appends the markup to `out`.
    pub(crate) fn write_markup(&self, out: &mut String) {
        match &self.repr {
            Repr::Markup(markup) => out.push_str(markup),
            Repr::Nodes(nodes) => crate::vdom::html::write_html(nodes, out),
            Repr::Shared(nodes) => crate::vdom::html::write_html(nodes, out),
        }
    }

    /// Adds the markup to a VDOM being built.
    pub(crate) fn push_nodes(&self, builder: &mut VBuilder) {
        match &self.repr {
            Repr::Nodes(nodes) => builder.push_tree(nodes),
            Repr::Shared(nodes) => builder.push_tree(nodes),
            Repr::Markup(markup) => builder.push_raw_html(markup),
        }
    }

    /// The markup as an owned `String`.
    #[inline(always)]
    pub fn into_string(self) -> String {
        match self.repr {
            Repr::Markup(markup) => markup,
            Repr::Nodes(nodes) => to_html(&nodes),
            Repr::Shared(nodes) => to_html(&nodes),
        }
    }

    /// The VDOM of this markup (parsed, if it was rendered as markup).
    pub fn into_nodes(self) -> VTree {
        match self.repr {
            Repr::Nodes(nodes) => nodes,
            Repr::Shared(nodes) => {
                std::sync::Arc::try_unwrap(nodes).unwrap_or_else(|shared| (*shared).clone())
            }
            Repr::Markup(markup) => {
                let mut builder = VBuilder::new();
                builder.push_raw_html(&markup);
                builder.finish()
            }
        }
    }

    /// `true` when this holds VDOM nodes (rendered in VDOM mode).
    pub(crate) fn is_nodes(&self) -> bool {
        matches!(self.repr, Repr::Nodes(_) | Repr::Shared(_))
    }

    /// The same markup, made cheap to clone (VDOM nodes behind an `Arc`).
    pub(crate) fn into_shared(self) -> Self {
        match self.repr {
            Repr::Nodes(nodes) => Html {
                repr: Repr::Shared(std::sync::Arc::new(nodes)),
            },
            repr => Html { repr },
        }
    }

    /// `true` for an empty template.
    pub fn is_empty(&self) -> bool {
        match &self.repr {
            Repr::Markup(markup) => markup.is_empty(),
            Repr::Nodes(nodes) => nodes.is_empty(),
            Repr::Shared(nodes) => nodes.is_empty(),
        }
    }
}

/// Remembers how large a template's output was, so the next render of the
/// same call site allocates its buffer once (sailfish does the same).
#[doc(hidden)]
pub struct SizeHint(std::sync::atomic::AtomicUsize);

impl SizeHint {
    /// Starts from the macro's static estimate.
    pub const fn new(estimate: usize) -> Self {
        SizeHint(std::sync::atomic::AtomicUsize::new(estimate))
    }

    /// The capacity to allocate.
    #[inline]
    pub fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records an output length (keeps the largest seen, capped at 16 MiB).
    #[inline]
    pub fn record(&self, len: usize) {
        if len > self.get() {
            self.0
                .fetch_max(len.min(16 << 20), std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl PartialEq for Html {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Html {}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Markup(markup) => f.write_str(markup),
            Repr::Nodes(nodes) => f.write_str(&to_html(nodes)),
            Repr::Shared(nodes) => f.write_str(&to_html(nodes)),
        }
    }
}

impl fmt::Debug for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Html").field(&self.to_string()).finish()
    }
}

impl From<Html> for String {
    fn from(html: Html) -> String {
        html.into_string()
    }
}
