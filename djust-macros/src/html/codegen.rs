//! The one walk over the AST: turns a template into one body that writes
//! to a `djust::__private::Sink`, which is markup (server-side rendering)
//! or VDOM nodes, chosen at run time when the expansion starts.
//!
//! Every user expression appears once in the expansion, so a splice that
//! holds another `html!` costs that template once (compile time stays
//! linear in the template's size instead of doubling per nesting level).
//!
//! Static content (tags, literal attributes, text) is escaped at compile
//! time and merged into as few `Segment`s as possible (maud's
//! `Builder::cut`): each holds the markup server-side rendering writes with
//! one `push_str`, and the VDOM operations for the same content. An element
//! whose attributes and descendants are all literal becomes one
//! `StaticNode` (the diff compares it by pointer and never looks inside); a
//! dynamic element gets an `ElementTemplate` (tag, literal attributes,
//! dynamic attribute slots in source order). Each splice calls the sink's
//! method for its context (text, attribute, URL, `srcset`, `ping`, `style`,
//! `srcdoc`), so the escaping is chosen by position at compile time and by
//! type at run time. Internal identifiers use `Span::mixed_site()` so they
//! cannot clash with the user's variables.

use std::cell::RefCell;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use djust_rules::attributes::AttrSink;

use super::ast::{is_void, Attr, AttrValue, Condition, Element, Else, IfNode, Node};
use super::literal_branches::literal_branches;
pub use djust_rules::escape::escape_into;

/// Bytes reserved per dynamic splice when sizing the output buffer.
const BYTES_PER_SPLICE: usize = 16;
/// Assumed iterations of a loop when sizing the output buffer.
const ASSUMED_LOOP_ITERATIONS: usize = 8;

/// State shared by the whole expansion: the sink's name and the `static`
/// items (segments, element templates, static nodes) the body refers to.
struct Gen {
    sink: Ident,
    items: RefCell<Vec<TokenStream>>,
}

impl Gen {
    /// Declares a `static` item and returns its name.
    fn item(&self, ty: TokenStream, value: TokenStream) -> Ident {
        let mut items = self.items.borrow_mut();
        let ident = format_ident!("__DJUST_STATIC_{}", items.len(), span = Span::mixed_site());
        items.push(quote!(static #ident: ::djust::__private::#ty = #value;));
        ident
    }
}

/// Accumulates the statements of one block, merging adjacent static
/// content into one segment.
struct Builder<'g> {
    gen: &'g Gen,
    /// Pending static markup, escaped, as server-side rendering writes it.
    html: String,
    /// Pending VDOM operations for the same content.
    ops: Vec<TokenStream>,
    stmts: Vec<TokenStream>,
}

impl<'g> Builder<'g> {
    fn new(gen: &'g Gen) -> Self {
        Builder {
            gen,
            html: String::new(),
            ops: Vec::new(),
            stmts: Vec::new(),
        }
    }

    fn push_static(&mut self, text: &str) {
        self.html.push_str(text);
    }

    fn push_escaped(&mut self, text: &str) {
        escape_into(text, &mut self.html);
    }

    fn push_op(&mut self, op: TokenStream) {
        self.ops.push(op);
    }

    /// Flushes pending static content as one sink call.
    fn cut(&mut self) {
        let sink = &self.gen.sink;
        let html = std::mem::take(&mut self.html);
        let ops = std::mem::take(&mut self.ops);
        if ops.is_empty() {
            if !html.is_empty() {
                self.stmts.push(quote!(#sink.markup(#html);));
            }
            return;
        }
        let segment = self.gen.item(
            quote!(Segment),
            quote!(::djust::__private::Segment { html: #html, ops: &[#(#ops),*] }),
        );
        self.stmts.push(quote!(#sink.fixed(&#segment);));
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
    let gen = Gen {
        sink: Ident::new("__djust_sink", Span::mixed_site()),
        items: RefCell::new(Vec::new()),
    };
    let body = nodes_to_code(nodes, &gen);
    let items = gen.items.into_inner();
    let sink = &gen.sink;
    let capacity = size_hint(nodes);
    let estimate = count_nodes(nodes);
    let hint = Ident::new("__DJUST_SIZE_HINT", Span::mixed_site());
    let tree_hint = Ident::new("__DJUST_TREE_HINT", Span::mixed_site());
    quote! {{
        // This call site's last output sizes, so each buffer is allocated
        // once (no regrowth) on later renders.
        static #hint: ::djust::__private::SizeHint = ::djust::__private::SizeHint::new(#capacity);
        static #tree_hint: ::djust::__private::TreeSizeHint =
            ::djust::__private::TreeSizeHint::new(#estimate);
        #(#items)*
        #[allow(unused_mut)]
        let mut #sink = ::djust::__private::Sink::new(&#hint, &#tree_hint);
        #body
        #sink.finish(&#hint)
    }}
}

fn nodes_to_code(nodes: &[Node], gen: &Gen) -> TokenStream {
    let mut builder = Builder::new(gen);
    for node in nodes {
        node_to_code(node, &mut builder);
    }
    builder.finish()
}

fn node_to_code(node: &Node, b: &mut Builder) {
    let gen = b.gen;
    let sink = &gen.sink;
    match node {
        Node::Text(lit) => text_to_code(&lit.value(), false, b),
        Node::Splice(splice) => {
            let expr = &splice.expr;
            // Spanned on the expression so type errors point at it.
            let span = expr.span();
            if splice.safe {
                b.push_stmt(quote_spanned!(span=> #sink.render_safe(&(#expr));));
            } else {
                b.push_stmt(quote_spanned!(span=> #sink.render(&(#expr));));
            }
        }
        Node::Element(element) => element_to_code(element, b),
        Node::If(if_node) => {
            let code = if_to_code(if_node, gen);
            b.push_stmt(code);
        }
        Node::For(for_node) => {
            let pat = &for_node.pat;
            let iter = &for_node.iter;
            let body = nodes_to_code(&for_node.body, gen);
            b.push_stmt(match &for_node.key {
                Some(key) => quote! {
                    for #pat in #iter {
                        let __djust_mark = #sink.mark();
                        #body
                        #sink.key_since(__djust_mark, &(#key));
                    }
                },
                None => quote!(for #pat in #iter { #body }),
            });
        }
        Node::Match(match_node) => {
            let expr = &match_node.expr;
            let arms = match_node.arms.iter().map(|arm| {
                let pat = &arm.pat;
                let guard = arm.guard.as_ref().map(|g| quote!(if #g));
                let body = nodes_to_code(&arm.body, gen);
                quote!(#pat #guard => { #body })
            });
            b.push_stmt(quote!(match #expr { #(#arms)* }));
        }
    }
}

/// Literal text: escaped for markup (written as is inside a raw text
/// element, checked to hold no end tag: the browser decodes no entity
/// there), unescaped for the VDOM, whose serialiser escapes it.
fn text_to_code(text: &str, raw_text: bool, b: &mut Builder) {
    if raw_text {
        b.push_static(text);
    } else {
        b.push_escaped(text);
    }
    b.push_op(quote!(::djust::__private::Op::Text(#text)));
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

fn element_to_code(element: &Element, b: &mut Builder) {
    if let Some(html) = static_element_html(element) {
        let node = b.gen.item(
            quote!(StaticNode),
            quote!(::djust::__private::StaticNode { html: #html }),
        );
        b.push_static(&html);
        b.push_op(quote!(::djust::__private::Op::Static(&#node)));
        return;
    }
    let tag = &element.name.value;
    let is_void = is_void(tag);
    let template_attrs = element.attrs.iter().map(|attr| {
        let name = &attr.name.value;
        match &attr.value {
            AttrValue::Bare => quote! {
                ::djust::__private::TAttr::Static { name: #name, value: ::std::option::Option::None }
            },
            AttrValue::Literal(lit) => {
                let mut escaped = String::new();
                escape_into(&lit.value(), &mut escaped);
                quote! {
                    ::djust::__private::TAttr::Static { name: #name, value: ::std::option::Option::Some(#escaped) }
                }
            }
            AttrValue::Dynamic(_) => quote!(::djust::__private::TAttr::Dynamic { name: #name }),
        }
    });
    let template = b.gen.item(
        quote!(ElementTemplate),
        quote! {
            ::djust::__private::ElementTemplate {
                tag: #tag,
                attrs: &[#(#template_attrs),*],
                is_void: #is_void,
            }
        },
    );
    b.push_op(quote!(::djust::__private::Op::Open(&#template)));
    b.push_static("<");
    b.push_static(tag);
    let mut slot = 0;
    for attr in &element.attrs {
        attr_to_code(element, attr, &mut slot, b);
    }
    b.push_static(">");
    if !is_void {
        let raw_text = djust_rules::elements::is_raw_text_element(tag);
        for child in &element.children {
            match child {
                Node::Text(lit) => text_to_code(&lit.value(), raw_text, b),
                _ => node_to_code(child, b),
            }
        }
        b.push_static("</");
        b.push_static(tag);
        b.push_static(">");
    }
    b.push_op(quote!(::djust::__private::Op::Close));
}

fn attr_to_code(element: &Element, attr: &Attr, slot: &mut usize, b: &mut Builder) {
    let name = &attr.name.value;
    let sink = &b.gen.sink;
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
            let this_slot = *slot;
            *slot += 1;
            let method = match element.sink(attr) {
                AttrSink::Text => "attr_text",
                AttrSink::Url => "attr_url",
                AttrSink::Srcset => "attr_srcset",
                AttrSink::UrlList => "attr_url_list",
                AttrSink::Style => "attr_style",
                AttrSink::Markup => "attr_markup",
                // Refused by `check`: no code is generated after an error.
                AttrSink::Script | AttrSink::LiteralOnly(_) => return,
            };
            // `{if c { "on" } else { "off" }}`: each branch writes the
            // pending static content (`<li`) and its whole attribute as one
            // segment, escaped now (see `literal_branches`). Checked first
            // so no segment is declared for a shape that falls back.
            let no_code = |_: &syn::LitStr, _: String| TokenStream::new();
            if method == "attr_text" && literal_branches(expr, &no_code, name).is_some() {
                let prefix_html = std::mem::take(&mut b.html);
                let prefix_ops = std::mem::take(&mut b.ops);
                let gen = b.gen;
                let write = |lit: &syn::LitStr, markup: String| {
                    let text = lit.value();
                    let html = format!("{prefix_html}{markup}");
                    let segment = gen.item(
                        quote!(Segment),
                        quote!(::djust::__private::Segment { html: #html, ops: &[#(#prefix_ops),*] }),
                    );
                    quote_spanned!(lit.span()=> #sink.attr_literal(&#segment, #this_slot, #text);)
                };
                if let Some(code) = literal_branches(expr, &write, name) {
                    b.push_stmt(code);
                }
                return;
            }
            // Spanned on the expression so type errors point at it.
            let span = expr.span();
            let method = Ident::new(method, span);
            b.push_stmt(quote_spanned!(span=> #sink.#method(#this_slot, #open, &(#expr));));
        }
    }
}

/// The markup of an element whose attributes and descendants are all
/// literal, exactly as server-side rendering writes it; `None` if anything
/// in it is dynamic. The VDOM gets such a subtree as one static node.
fn static_element_html(element: &Element) -> Option<String> {
    if !is_static_element(element) {
        return None;
    }
    let mut html = String::new();
    write_static_element(element, &mut html);
    Some(html)
}

fn write_static_element(element: &Element, html: &mut String) {
    let tag = &element.name.value;
    html.push('<');
    html.push_str(tag);
    for attr in &element.attrs {
        html.push(' ');
        html.push_str(&attr.name.value);
        if let AttrValue::Literal(lit) = &attr.value {
            html.push_str("=\"");
            escape_into(&lit.value(), html);
            html.push('"');
        }
    }
    html.push('>');
    if is_void(tag) {
        return;
    }
    let raw_text = djust_rules::elements::is_raw_text_element(tag);
    for child in &element.children {
        match child {
            Node::Text(lit) if raw_text => html.push_str(&lit.value()),
            Node::Text(lit) => escape_into(&lit.value(), html),
            Node::Element(inner) => write_static_element(inner, html),
            // `is_static_element` admits only text and elements.
            _ => {}
        }
    }
    html.push_str("</");
    html.push_str(tag);
    html.push('>');
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

/// A first guess at the number of VDOM arena nodes (loops counted once).
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
