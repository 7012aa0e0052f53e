//! VDOM backend: the same AST compiled to calls on `djust::__private::VBuilder`.
//!
//! Every element whose attributes and descendants are all literal becomes
//! one `static StaticNode` holding its pre-rendered markup (the diff compares
//! it by pointer and never looks inside). A dynamic element gets a
//! `static ElementTemplate` (tag, literal attributes, dynamic attribute slots
//! in source order) and its dynamic parts are set at run time. The markup of
//! static parts comes from the SSR backend's own writer, so serialising the
//! VDOM gives byte-identical HTML to server-side rendering.

use std::cell::Cell;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use djust_rules::attributes::AttrSink;

use super::ast::{is_void, Attr, AttrValue, Condition, Element, Else, IfNode, Node};
use super::codegen::{escape_into, static_element_html};

/// Code generation state for one `html!` invocation.
struct Gen {
    builder: Ident,
    next_static: Cell<usize>,
}

impl Gen {
    fn static_ident(&self) -> Ident {
        let n = self.next_static.get();
        self.next_static.set(n + 1);
        format_ident!("__DJUST_STATIC_{}", n, span = Span::mixed_site())
    }
}

/// Code for a whole template in VDOM mode: an expression of type `djust::Html`.
pub fn expand(nodes: &[Node]) -> TokenStream {
    let gen = Gen {
        builder: Ident::new("__djust_vdom", Span::mixed_site()),
        next_static: Cell::new(0),
    };
    let b = &gen.builder;
    let body = nodes_to_code(nodes, &gen);
    let estimate = count_nodes(nodes);
    quote! {{
        // The buffer sizes of this call site's last tree, so each buffer is
        // allocated once (no regrowth) on later renders.
        static __DJUST_TREE_HINT: ::djust::__private::TreeSizeHint =
            ::djust::__private::TreeSizeHint::new(#estimate);
        let mut #b = ::djust::__private::VBuilder::with_hint(&__DJUST_TREE_HINT);
        #body
        ::djust::__private::html_from_nodes(#b.finish())
    }}
}

/// A first guess at the number of arena nodes (loops counted once).
fn count_nodes(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .map(|node| match node {
            Node::Element(element) => 1 + count_nodes(&element.children),
            Node::If(_) | Node::Match(_) | Node::For(_) => 2,
            Node::Text(_) | Node::Splice(_) => 1,
        })
        .sum()
}

fn nodes_to_code(nodes: &[Node], gen: &Gen) -> TokenStream {
    let code = nodes.iter().map(|node| node_to_code(node, gen));
    quote!(#(#code)*)
}

fn node_to_code(node: &Node, gen: &Gen) -> TokenStream {
    let b = &gen.builder;
    match node {
        Node::Text(lit) => {
            let text = lit.value();
            quote!(#b.push_text(#text);)
        }
        Node::Splice(splice) => {
            let expr = &splice.expr;
            let span = expr.span();
            if splice.safe {
                quote_spanned!(span=> ::djust::__private::render_safe(&(#expr), &mut #b);)
            } else {
                quote_spanned!(span=> ::djust::__private::render_vdom(&(#expr), &mut #b);)
            }
        }
        Node::Element(element) => element_to_code(element, gen),
        Node::If(if_node) => if_to_code(if_node, gen),
        Node::For(for_node) => {
            let pat = &for_node.pat;
            let iter = &for_node.iter;
            let body = nodes_to_code(&for_node.body, gen);
            match &for_node.key {
                Some(key) => quote! {
                    for #pat in #iter {
                        let __djust_mark = #b.mark();
                        #body
                        #b.key_since_with(__djust_mark, &(#key));
                    }
                },
                None => quote!(for #pat in #iter { #body }),
            }
        }
        Node::Match(match_node) => {
            let expr = &match_node.expr;
            let arms = match_node.arms.iter().map(|arm| {
                let pat = &arm.pat;
                let guard = arm.guard.as_ref().map(|g| quote!(if #g));
                let body = nodes_to_code(&arm.body, gen);
                quote!(#pat #guard => { #body })
            });
            quote!(match #expr { #(#arms)* })
        }
    }
}

fn if_to_code(if_node: &IfNode, gen: &Gen) -> TokenStream {
    let condition = match &if_node.condition {
        Condition::Bool(expr) => quote!(#expr),
        Condition::Let(pat, expr) => quote!(let #pat = #expr),
    };
    let then_branch = nodes_to_code(&if_node.then_branch, gen);
    let else_branch = match &if_node.else_branch {
        None => quote!(),
        Some(Else::If(nested)) => {
            let nested = if_to_code(nested, gen);
            quote!(else #nested)
        }
        Some(Else::Block(nodes)) => {
            let code = nodes_to_code(nodes, gen);
            quote!(else { #code })
        }
    };
    quote!(if #condition { #then_branch } #else_branch)
}

fn element_to_code(element: &Element, gen: &Gen) -> TokenStream {
    let b = &gen.builder;
    if let Some(html) = static_element_html(element) {
        let ident = gen.static_ident();
        return quote! {{
            static #ident: ::djust::__private::StaticNode = ::djust::__private::StaticNode { html: #html };
            #b.push_static(&#ident);
        }};
    }
    let tag = &element.name.value;
    let is_void = is_void(tag);
    let mut template_attrs = Vec::new();
    let mut setters = Vec::new();
    for attr in &element.attrs {
        let name = &attr.name.value;
        match &attr.value {
            AttrValue::Bare => template_attrs.push(quote! {
                ::djust::__private::TAttr::Static { name: #name, value: ::std::option::Option::None }
            }),
            AttrValue::Literal(lit) => {
                let mut escaped = String::new();
                escape_into(&lit.value(), &mut escaped);
                template_attrs.push(quote! {
                    ::djust::__private::TAttr::Static { name: #name, value: ::std::option::Option::Some(#escaped) }
                });
            }
            AttrValue::Dynamic(expr) => {
                let slot = setters.len();
                template_attrs.push(quote!(::djust::__private::TAttr::Dynamic { name: #name }));
                setters.push(dynamic_attr_setter(b, slot, element, attr, expr));
            }
        }
    }
    let ident = gen.static_ident();
    let children = nodes_to_code(&element.children, gen);
    quote! {{
        static #ident: ::djust::__private::ElementTemplate = ::djust::__private::ElementTemplate {
            tag: #tag,
            attrs: &[#(#template_attrs),*],
            is_void: #is_void,
        };
        #b.open(&#ident);
        #(#setters)*
        #children
        #b.close();
    }}
}

/// The builder call setting a dynamic attribute: raw value, filtered by the
/// attribute's sink (URL, `srcset`, `ping`, `style`), `srcdoc` markup
/// checked to be `SafeHtml`. Ordinary values are written straight into the
/// tree's buffer, without an intermediate `String`.
fn dynamic_attr_setter(
    b: &Ident,
    slot: usize,
    element: &Element,
    attr: &Attr,
    expr: &syn::Expr,
) -> TokenStream {
    let span = expr.span();
    let filtered = match element.sink(attr) {
        AttrSink::Url => quote_spanned!(span=> ::djust::__private::url_attr(&(#expr))),
        AttrSink::Srcset => quote_spanned!(span=> ::djust::__private::srcset_attr(&(#expr))),
        AttrSink::UrlList => quote_spanned!(span=> ::djust::__private::url_list_attr(&(#expr))),
        AttrSink::Style => quote_spanned!(span=> ::djust::__private::style_attr(&(#expr))),
        AttrSink::Markup => quote_spanned!(span=> ::djust::__private::markup_attr(&(#expr))),
        AttrSink::Text => return quote_spanned!(span=> #b.set_attr_with(#slot, &(#expr));),
        // Refused by `check`: no code is generated after an error.
        AttrSink::Script | AttrSink::LiteralOnly(_) => return TokenStream::new(),
    };
    quote!(#b.set_attr(#slot, #filtered);)
}
