//! Client commands in event attributes: `dj-<event>={value}` takes a
//! `djust::JS` and nothing else.
//!
//! After the checks pass, [`rewrite`] turns every dynamic event attribute
//! value into `::djust::__private::js_command(&(value))`, whose trait bound
//! accepts only `JS` (a `String` or `&str` is a compile error naming the
//! type: a handler name is a literal, checked against the view). The code
//! generators then see an ordinary attribute whose value writes the
//! commands' JSON, escaped.

use quote::quote_spanned;
use syn::spanned::Spanned;

use super::ast::{AttrValue, Else, IfNode, Node};
use super::check::event_attr_base;

/// Rewrites every dynamic `dj-<event>={value}` in `nodes`.
pub fn rewrite(nodes: &mut [Node]) {
    for node in nodes {
        match node {
            Node::Element(element) => {
                for attr in &mut element.attrs {
                    if event_attr_base(&attr.name.value).is_none() {
                        continue;
                    }
                    if let AttrValue::Dynamic(expr) = &mut attr.value {
                        let span = expr.span();
                        let call = quote_spanned!(span=> ::djust::__private::js_command(&(#expr)));
                        if let Ok(wrapped) = syn::parse2::<syn::Expr>(call) {
                            **expr = wrapped;
                        }
                    }
                }
                rewrite(&mut element.children);
            }
            Node::If(if_node) => rewrite_if(if_node),
            Node::For(for_node) => rewrite(&mut for_node.body),
            Node::Match(match_node) => {
                for arm in &mut match_node.arms {
                    rewrite(&mut arm.body);
                }
            }
            Node::Text(_) | Node::Splice(_) => {}
        }
    }
}

fn rewrite_if(if_node: &mut IfNode) {
    rewrite(&mut if_node.then_branch);
    match &mut if_node.else_branch {
        Some(Else::If(nested)) => rewrite_if(nested),
        Some(Else::Block(nodes)) => rewrite(nodes),
        None => {}
    }
}

/// The string literals a client-command expression pushes to the server:
/// the first argument of every `.push("..")`/`.push_with("..", ..)` method
/// call and `JS::push("..")`/`JS::push_with("..", ..)` call in it.
pub fn pushed_events(expr: &syn::Expr) -> Vec<syn::LitStr> {
    use syn::visit::Visit;

    struct Finder(Vec<syn::LitStr>);
    fn first_literal<'a>(args: impl IntoIterator<Item = &'a syn::Expr>) -> Option<syn::LitStr> {
        match args.into_iter().next() {
            Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            })) => Some(lit.clone()),
            _ => None,
        }
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            if call.method == "push" || call.method == "push_with" {
                self.0.extend(first_literal(&call.args));
            }
            syn::visit::visit_expr_method_call(self, call);
        }

        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            if let syn::Expr::Path(path) = &*call.func {
                let named_push =
                    path.path.segments.last().is_some_and(|segment| {
                        segment.ident == "push" || segment.ident == "push_with"
                    });
                if named_push {
                    self.0.extend(first_literal(&call.args));
                }
            }
            syn::visit::visit_expr_call(self, call);
        }
    }
    let mut finder = Finder(Vec::new());
    finder.visit_expr(expr);
    finder.0
}
