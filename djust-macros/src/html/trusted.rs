//! The places in a template where trusted markup (`SafeHtml`) enters the
//! page: `{value|safe}` splices and dynamic `srcdoc={value}` attributes.
//!
//! [`count`] gives their number (the `#[live_view]` macro records it for
//! the audit's per-view `DJ003`); [`registrations`] emits one
//! `inventory::submit!` per site, spanned on the value so `line!()` and
//! `column!()` name it, for the program-wide list the audit reads.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::spanned::Spanned;

use super::ast::{AttrValue, Element, Else, IfNode, Node};
use djust_rules::attributes::AttrSink;

/// How trusted markup enters the page at one site.
#[derive(Clone, Copy)]
pub enum Kind {
    /// `{value|safe}`.
    SafeSplice,
    /// `srcdoc={value}`.
    Srcdoc,
}

/// Calls `f` with the kind and value span of every trusted site in `nodes`.
pub fn for_each_site(nodes: &[Node], f: &mut dyn FnMut(Kind, Span)) {
    for node in nodes {
        match node {
            Node::Splice(splice) if splice.safe => f(Kind::SafeSplice, splice.expr.span()),
            Node::Splice(_) | Node::Text(_) => {}
            Node::Element(element) => {
                element_sites(element, f);
                for_each_site(&element.children, f);
            }
            Node::If(if_node) => if_sites(if_node, f),
            Node::For(for_node) => for_each_site(&for_node.body, f),
            Node::Match(match_node) => {
                for arm in &match_node.arms {
                    for_each_site(&arm.body, f);
                }
            }
        }
    }
}

fn element_sites(element: &Element, f: &mut dyn FnMut(Kind, Span)) {
    for attr in &element.attrs {
        if let AttrValue::Dynamic(expr) = &attr.value {
            if element.sink(attr) == AttrSink::Markup {
                f(Kind::Srcdoc, expr.span());
            }
        }
    }
}

fn if_sites(if_node: &IfNode, f: &mut dyn FnMut(Kind, Span)) {
    for_each_site(&if_node.then_branch, f);
    match &if_node.else_branch {
        Some(Else::If(nested)) => if_sites(nested, f),
        Some(Else::Block(nodes)) => for_each_site(nodes, f),
        None => {}
    }
}

/// The number of trusted sites in `nodes`.
pub fn count(nodes: &[Node]) -> u32 {
    let mut count = 0u32;
    for_each_site(nodes, &mut |_, _| count = count.saturating_add(1));
    count
}

/// One registration item per trusted site of `nodes`.
pub fn registrations(nodes: &[Node]) -> TokenStream {
    let mut out = TokenStream::new();
    for_each_site(nodes, &mut |kind, span| {
        let kind = match kind {
            Kind::SafeSplice => quote_spanned!(span=> ::djust::__private::TrustedKind::SafeSplice),
            Kind::Srcdoc => quote_spanned!(span=> ::djust::__private::TrustedKind::Srcdoc),
        };
        out.extend(quote_spanned! {span=>
            ::djust::__private::inventory::submit! {
                ::djust::__private::TrustedSite {
                    file: ::std::file!(),
                    line: ::std::line!(),
                    column: ::std::column!(),
                    kind: #kind,
                    module: ::std::module_path!(),
                }
            }
        });
    });
    out
}
