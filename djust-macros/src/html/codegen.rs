//! Server-side rendering backend: turns the AST into code that writes the
//! page into one pre-sized `String`.
//!
//! Static markup (tags, literal attributes, text) is escaped at compile time
//! and merged into as few `push_str` calls as possible (maud's `Builder::cut`);
//! each splice calls the `djust::__private` entry point for its context
//! (text, attribute, URL, `srcset`, `ping`, `style`, `srcdoc`), so the
//! escaping is chosen by position at compile time and by type at run time;
//! values write only text, which the entry points escape. Internal identifiers use `Span::mixed_site()` so they
//! cannot clash with the user's variables.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use djust_rules::attributes::AttrSink;

use super::ast::{is_void, Attr, AttrValue, Condition, Element, Else, IfNode, Node};
pub use djust_rules::escape::escape_into;

/// Bytes reserved per dynamic splice when sizing the output buffer.
const BYTES_PER_SPLICE: usize = 16;
/// Assumed iterations of a loop when sizing the output buffer.
const ASSUMED_LOOP_ITERATIONS: usize = 8;

/// Accumulates generated statements, merging adjacent static text.
struct Builder<'a> {
    out: &'a Ident,
    tail: String,
    stmts: Vec<TokenStream>,
}

impl<'a> Builder<'a> {
    fn new(out: &'a Ident) -> Self {
        Builder {
            out,
            tail: String::new(),
            stmts: Vec::new(),
        }
    }

    fn push_static(&mut self, text: &str) {
        self.tail.push_str(text);
    }

    fn push_escaped(&mut self, text: &str) {
        escape_into(text, &mut self.tail);
    }

    /// Flushes pending static text as one `push_str`.
    fn cut(&mut self) {
        if !self.tail.is_empty() {
            let out = self.out;
            let tail = std::mem::take(&mut self.tail);
            self.stmts.push(quote!(#out.push_str(#tail);));
        }
    }

    fn push_stmt(&mut self, stmt: TokenStream) {
        self.cut();
        self.stmts.push(stmt);
    }

    fn finish(mut self) -> TokenStream {
        self.cut();
        let stmts = self.stmts;
        quote!(#(#stmts)*)
    }
}

/// Code for a whole template: an expression of type `djust::Html`.
pub fn expand(nodes: &[Node]) -> TokenStream {
    let out = Ident::new("__djust_out", Span::mixed_site());
    let body = nodes_to_code(nodes, &out);
    let capacity = size_hint(nodes);
    let hint = Ident::new("__DJUST_SIZE_HINT", Span::mixed_site());
    quote! {{
        static #hint: ::djust::__private::SizeHint = ::djust::__private::SizeHint::new(#capacity);
        let mut #out = ::std::string::String::with_capacity(#hint.get());
        #body
        #hint.record(#out.len());
        ::djust::__private::html_from_markup(#out)
    }}
}

fn nodes_to_code(nodes: &[Node], out: &Ident) -> TokenStream {
    let mut builder = Builder::new(out);
    for node in nodes {
        node_to_code(node, &mut builder);
    }
    builder.finish()
}

fn node_to_code(node: &Node, b: &mut Builder) {
    let out = b.out;
    match node {
        Node::Text(lit) => b.push_escaped(&lit.value()),
        Node::Splice(splice) => {
            let expr = &splice.expr;
            // Spanned on the expression so type errors point at it.
            let span = expr.span();
            if splice.safe {
                b.push_stmt(
                    quote_spanned!(span=> ::djust::__private::render_safe(&(#expr), &mut #out);),
                );
            } else {
                b.push_stmt(
                    quote_spanned!(span=> ::djust::__private::render_text(&(#expr), &mut #out);),
                );
            }
        }
        Node::Element(element) => element_to_code(element, b),
        Node::If(if_node) => {
            let code = if_to_code(if_node, out);
            b.push_stmt(code);
        }
        Node::For(for_node) => {
            let pat = &for_node.pat;
            let iter = &for_node.iter;
            let body = nodes_to_code(&for_node.body, out);
            // The key only matters to the VDOM backend.
            b.push_stmt(quote! {
                #[allow(unused_variables)]
                for #pat in #iter { #body }
            });
        }
        Node::Match(match_node) => {
            let expr = &match_node.expr;
            let arms = match_node.arms.iter().map(|arm| {
                let pat = &arm.pat;
                let guard = arm.guard.as_ref().map(|g| quote!(if #g));
                let body = nodes_to_code(&arm.body, out);
                quote!(#pat #guard => { #body })
            });
            b.push_stmt(quote!(match #expr { #(#arms)* }));
        }
    }
}

fn if_to_code(if_node: &IfNode, out: &Ident) -> TokenStream {
    let condition = match &if_node.condition {
        Condition::Bool(expr) => quote!(#expr),
        Condition::Let(pat, expr) => quote!(let #pat = #expr),
    };
    let then_branch = nodes_to_code(&if_node.then_branch, out);
    let else_branch = match &if_node.else_branch {
        None => quote!(),
        Some(Else::If(nested)) => {
            let nested = if_to_code(nested, out);
            quote!(else #nested)
        }
        Some(Else::Block(nodes)) => {
            let code = nodes_to_code(nodes, out);
            quote!(else { #code })
        }
    };
    quote!(if #condition { #then_branch } #else_branch)
}

fn element_to_code(element: &Element, b: &mut Builder) {
    let tag = &element.name.value;
    b.push_static("<");
    b.push_static(tag);
    for attr in &element.attrs {
        attr_to_code(element, attr, b);
    }
    b.push_static(">");
    if is_void(tag) {
        return;
    }
    let raw_text = djust_rules::elements::is_raw_text_element(tag);
    for child in &element.children {
        match child {
            // Raw text (checked to hold no end tag): the browser decodes no
            // entity there, so it is written as is.
            Node::Text(lit) if raw_text => b.push_static(&lit.value()),
            _ => node_to_code(child, b),
        }
    }
    b.push_static("</");
    b.push_static(tag);
    b.push_static(">");
}

fn attr_to_code(element: &Element, attr: &Attr, b: &mut Builder) {
    let name = &attr.name.value;
    let out = b.out;
    match &attr.value {
        AttrValue::Bare => {
            b.push_static(" ");
            b.push_static(name);
        }
        AttrValue::Literal(lit) => {
            b.push_static(" ");
            b.push_static(name);
            b.push_static("=\"");
            b.push_escaped(&lit.value());
            b.push_static("\"");
        }
        AttrValue::Dynamic(expr) => {
            let open = format!(" {name}=\"");
            // Spanned on the expression so type errors point at it.
            let span = expr.span();
            // A filtered text value: written escaped when present.
            let filtered = |value: TokenStream| {
                quote_spanned! {span=>
                    if let ::std::option::Option::Some(__djust_text) = #value {
                        #out.push_str(#open);
                        ::djust::__private::escape_text_into(&__djust_text, &mut #out);
                        #out.push('"');
                    }
                }
            };
            let url = |filter: TokenStream| {
                filtered(quote_spanned! {span=>
                    ::djust::__private::UrlValue::url_text(&(#expr)).map(#filter)
                })
            };
            let code = match element.sink(attr) {
                AttrSink::Url => url(quote!(::djust::__private::filter_url)),
                AttrSink::Srcset => url(quote!(::djust::__private::filter_srcset)),
                AttrSink::UrlList => url(quote!(::djust::__private::filter_url_list)),
                AttrSink::Style => {
                    filtered(quote_spanned!(span=> ::djust::__private::style_attr(&(#expr))))
                }
                AttrSink::Markup => filtered(
                    quote_spanned!(span=> ::djust::__private::MarkupValue::markup_text(&(#expr))),
                ),
                AttrSink::Text => quote_spanned! {span=>
                    {
                        let __djust_value = &(#expr);
                        if ::djust::__private::attr_is_present(__djust_value) {
                            #out.push_str(#open);
                            ::djust::__private::write_attr_escaped(__djust_value, &mut #out);
                            #out.push('"');
                        }
                    }
                },
                // Refused by `check`: no code is generated after an error.
                AttrSink::Script | AttrSink::LiteralOnly(_) => return,
            };
            b.push_stmt(code);
        }
    }
}

/// The markup of an element whose attributes and descendants are all
/// literal, exactly as SSR writes it; `None` if anything in it is dynamic.
/// The VDOM backend turns such a subtree into one static node.
pub fn static_element_html(element: &Element) -> Option<String> {
    if !is_static_element(element) {
        return None;
    }
    let out = Ident::new("__djust_unused", Span::mixed_site());
    let mut builder = Builder::new(&out);
    element_to_code(element, &mut builder);
    builder.stmts.is_empty().then_some(builder.tail)
}

fn is_static_element(element: &Element) -> bool {
    element
        .attrs
        .iter()
        .all(|attr| !matches!(attr.value, AttrValue::Dynamic(_)))
        && element.children.iter().all(|child| match child {
            Node::Text(_) => true,
            Node::Element(inner) => is_static_element(inner),
            _ => false,
        })
}

/// Estimated output size: static bytes plus an allowance per splice.
fn size_hint(nodes: &[Node]) -> usize {
    nodes.iter().map(node_size).sum()
}

fn node_size(node: &Node) -> usize {
    match node {
        Node::Text(lit) => lit.value().len(),
        Node::Splice(_) => BYTES_PER_SPLICE,
        Node::Element(element) => {
            let tag = element.name.value.len();
            let attrs: usize = element
                .attrs
                .iter()
                .map(|attr| {
                    attr.name.value.len()
                        + 4
                        + match &attr.value {
                            AttrValue::Bare => 0,
                            AttrValue::Literal(lit) => lit.value().len(),
                            AttrValue::Dynamic(_) => BYTES_PER_SPLICE,
                        }
                })
                .sum();
            2 * tag + 5 + attrs + size_hint(&element.children)
        }
        Node::If(if_node) => if_size(if_node),
        Node::For(for_node) => ASSUMED_LOOP_ITERATIONS * size_hint(&for_node.body),
        Node::Match(match_node) => match_node
            .arms
            .iter()
            .map(|arm| size_hint(&arm.body))
            .max()
            .unwrap_or(0),
    }
}

fn if_size(if_node: &IfNode) -> usize {
    let else_size = match &if_node.else_branch {
        None => 0,
        Some(Else::If(nested)) => if_size(nested),
        Some(Else::Block(nodes)) => size_hint(nodes),
    };
    size_hint(&if_node.then_branch).max(else_size)
}
