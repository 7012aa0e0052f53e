//! Static analysis of the view's templates and methods:
//! - every `dj-*` event name in any `html!` of the `impl` must name an
//!   `#[event_handler]` (compile error with a "did you mean" otherwise);
//! - the paths `render`'s template reads, through loop variables, `if let`
//!   and `match` bindings and method calls (`contacts[].name`), for the
//!   registry and the audit;
//! - the fields each method assigns (`self.x = ..`, `self.x.push(..)`,
//!   `Self { x, .. }`), including through helper methods of the same
//!   `impl` block it calls (`self.reload()`).

use std::collections::{BTreeSet, HashMap};

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, ImplItemFn, Member, Pat, Token};

use super::attrs::did_you_mean;
use crate::ctxt::Ctxt;
use crate::html::ast::{each_element, AttrValue, Condition, Else, IfNode, Node};
use crate::html::check::{event_attr_base, is_valid_event_name};
use crate::html::commands::pushed_events;
use crate::html::parse::parse_template;

/// Methods that do not change what a path refers to.
const TRANSPARENT_METHODS: &[&str] = &[
    "iter",
    "iter_mut",
    "into_iter",
    "as_ref",
    "as_deref",
    "as_str",
    "as_slice",
    "clone",
    "to_owned",
    "to_string",
    "borrow",
    "deref",
    "enumerate",
    "rev",
    "copied",
    "cloned",
    "unwrap",
    "unwrap_or_default",
    "expect",
    "values",
    "keys",
];

/// Methods that modify their receiver (std collections and strings).
const MUTATING_METHODS: &[&str] = &[
    "push",
    "push_str",
    "push_back",
    "push_front",
    "insert",
    "remove",
    "clear",
    "retain",
    "truncate",
    "extend",
    "append",
    "pop",
    "pop_back",
    "pop_front",
    "sort",
    "sort_by",
    "sort_by_key",
    "sort_unstable",
    "dedup",
    "drain",
    "swap",
    "reverse",
    "get_mut",
    "iter_mut",
    "entry",
    "set",
    "take",
    "replace",
];

/// Parsed `html!` templates found in a method body.
pub fn templates_in(method: &ImplItemFn) -> Vec<Vec<Node>> {
    struct Finder(Vec<TokenStream>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            if mac
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "html")
            {
                self.0.push(mac.tokens.clone());
            }
        }
    }
    let mut finder = Finder(Vec::new());
    finder.visit_block(&method.block);
    finder
        .0
        .into_iter()
        .filter_map(|tokens| {
            // Syntax errors are html!'s to report; here they just skip the template.
            let scratch = Ctxt::new();
            let nodes = parse_template(tokens, &scratch).ok();
            let _ = scratch.check();
            nodes
        })
        .collect()
}

/// Reports event attributes naming no `#[event_handler]`.
pub fn check_event_names(nodes: &[Node], handlers: &[String], view: &str, cx: &Ctxt) {
    for node in nodes {
        match node {
            Node::Element(element) => {
                // Events sent to a component are checked against it (`components`).
                let attrs = if super::components::has_target(element) {
                    &[][..]
                } else {
                    &element.attrs[..]
                };
                for attr in attrs {
                    let Some(event) = event_attr_base(&attr.name.value) else {
                        continue;
                    };
                    match &attr.value {
                        AttrValue::Literal(lit) => {
                            check_handler_name(
                                lit,
                                &format!("`{event}=\"{}\"`", lit.value()),
                                handlers,
                                view,
                                cx,
                            );
                        }
                        AttrValue::Dynamic(expr) => {
                            for lit in pushed_events(expr) {
                                let what = format!("`push(\"{}\")` in `{event}`", lit.value());
                                check_handler_name(&lit, &what, handlers, view, cx);
                            }
                        }
                        AttrValue::Bare => {}
                    }
                }
                check_event_names(&element.children, handlers, view, cx);
            }
            Node::If(if_node) => check_if_events(if_node, handlers, view, cx),
            Node::For(for_node) => check_event_names(&for_node.body, handlers, view, cx),
            Node::Match(match_node) => {
                for arm in &match_node.arms {
                    check_event_names(&arm.body, handlers, view, cx);
                }
            }
            Node::Text(_) | Node::Splice(_) => {}
        }
    }
}

/// Reports `lit` (an event name written as `what`) when it names no
/// `#[event_handler]`, with a "did you mean".
fn check_handler_name(lit: &syn::LitStr, what: &str, handlers: &[String], view: &str, cx: &Ctxt) {
    let name = lit.value();
    if !is_valid_event_name(&name) || handlers.contains(&name) {
        return;
    }
    let hint = match did_you_mean(&name, handlers.iter().map(String::as_str)) {
        Some(close) => format!("did you mean `{close}`?"),
        None if handlers.is_empty() => format!("`{view}` has no `#[event_handler]` methods yet: add `#[event_handler] fn {name}(&mut self)`"),
        None => format!("the handlers of `{view}` are: {}", handlers.join(", ")),
    };
    cx.error_spanned_by(
        lit,
        format!("{what} names no `#[event_handler]` of `{view}`\n\nhelp: {hint}"),
    );
}

fn check_if_events(if_node: &IfNode, handlers: &[String], view: &str, cx: &Ctxt) {
    check_event_names(&if_node.then_branch, handlers, view, cx);
    match &if_node.else_branch {
        Some(Else::If(nested)) => check_if_events(nested, handlers, view, cx),
        Some(Else::Block(nodes)) => check_event_names(nodes, handlers, view, cx),
        None => {}
    }
}

/// `dj-upload="slot"` must be a literal naming a declared `upload(..)`
/// slot, on an `<input type="file">`.
pub fn check_upload_slots(nodes: &[Node], slots: &[String], view: &str, cx: &Ctxt) {
    each_element(nodes, &mut |element| {
        for attr in &element.attrs {
            if !attr.name.value.eq_ignore_ascii_case("dj-upload") {
                continue;
            }
            let AttrValue::Literal(lit) = &attr.value else {
                cx.error_spanned_by(
                    &attr.name.tokens,
                    "`dj-upload` names its slot with a string literal, e.g. `dj-upload=\"photo\"`",
                );
                continue;
            };
            let is_file_input = element.name.value.eq_ignore_ascii_case("input")
                && element.attrs.iter().any(|other| {
                    other.name.value.eq_ignore_ascii_case("type")
                        && matches!(&other.value, AttrValue::Literal(kind) if kind.value().eq_ignore_ascii_case("file"))
                });
            if !is_file_input {
                cx.error_spanned_by(lit, "`dj-upload` goes on an `<input type=\"file\">`");
            }
            let name = lit.value();
            if slots.contains(&name) {
                continue;
            }
            let hint = match did_you_mean(&name, slots.iter().map(String::as_str)) {
                Some(close) => format!("did you mean `{close}`?"),
                None if slots.is_empty() => format!("`{view}` declares no upload slot: add `upload({name}, accept = \"..\", max_size = \"..\")` to `#[live_view(...)]`"),
                None => format!("the upload slots of `{view}` are: {}", slots.join(", ")),
            };
            cx.error_spanned_by(
                lit,
                format!("`dj-upload=\"{name}\"` names no upload slot of `{view}`\n\nhelp: {hint}"),
            );
        }
    });
}

/// What a template reads.
#[derive(Default)]
pub struct Exposure {
    /// Paths like `query`, `contacts[].name`, `title()`.
    pub paths: BTreeSet<String>,
    /// Trusted values (`{x|safe}` splices, `srcdoc={x}`) in every
    /// template of the `impl` block (set by the caller).
    pub safe_splices: u32,
}

type Env = HashMap<String, String>;

fn join(base: &str, member: &str) -> String {
    if base.is_empty() {
        member.to_owned()
    } else {
        format!("{base}.{member}")
    }
}

/// The `self`-rooted path an expression denotes, if any.
fn path_of(expr: &Expr, env: &Env) -> Option<String> {
    match expr {
        Expr::Path(path) => {
            let ident = path.path.get_ident()?.to_string();
            if ident == "self" {
                Some(String::new())
            } else {
                env.get(&ident).cloned()
            }
        }
        Expr::Field(field) => {
            let base = path_of(&field.base, env)?;
            Some(match &field.member {
                Member::Named(ident) => join(&base, &ident.to_string()),
                Member::Unnamed(index) => join(&base, &index.index.to_string()),
            })
        }
        Expr::MethodCall(call) => {
            let base = path_of(&call.receiver, env)?;
            let method = call.method.to_string();
            if TRANSPARENT_METHODS.contains(&method.as_str()) {
                Some(base)
            } else {
                Some(join(&base, &format!("{method}()")))
            }
        }
        Expr::Reference(reference) => path_of(&reference.expr, env),
        Expr::Paren(paren) => path_of(&paren.expr, env),
        Expr::Group(group) => path_of(&group.expr, env),
        Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Deref(_)) => path_of(&unary.expr, env),
        Expr::Try(try_expr) => path_of(&try_expr.expr, env),
        Expr::Index(index) => path_of(&index.expr, env).map(|base| format!("{base}[]")),
        _ => None,
    }
}

struct Reads<'a> {
    env: &'a Env,
    out: &'a mut Exposure,
}

impl<'ast> Visit<'ast> for Reads<'_> {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        if let Some(path) = path_of(expr, self.env) {
            if !path.is_empty() {
                self.out.paths.insert(path);
            }
            if let Expr::MethodCall(call) = expr {
                for arg in &call.args {
                    self.visit_expr(arg);
                }
            }
            return;
        }
        syn::visit::visit_expr(self, expr);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Ok(args) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }
}

fn reads(expr: &Expr, env: &Env, out: &mut Exposure) {
    Reads { env, out }.visit_expr(expr);
}

/// Binds the names in `pat` to `path` (struct fields to sub-paths).
fn bind(pat: &Pat, path: &str, env: &mut Env) {
    match pat {
        Pat::Ident(ident) => {
            env.insert(ident.ident.to_string(), path.to_owned());
            if let Some((_, sub)) = &ident.subpat {
                bind(sub, path, env);
            }
        }
        Pat::Reference(reference) => bind(&reference.pat, path, env),
        Pat::Paren(paren) => bind(&paren.pat, path, env),
        Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|elem| bind(elem, path, env)),
        Pat::Tuple(tuple) => tuple.elems.iter().for_each(|elem| bind(elem, path, env)),
        Pat::Struct(strukt) => {
            for field in &strukt.fields {
                if let Member::Named(name) = &field.member {
                    bind(&field.pat, &join(path, &name.to_string()), env);
                }
            }
        }
        Pat::Or(or) => or.cases.iter().for_each(|case| bind(case, path, env)),
        _ => {}
    }
}

/// Collects what `nodes` read.
pub fn exposure(nodes: &[Node], env: &Env, out: &mut Exposure) {
    for node in nodes {
        match node {
            Node::Text(_) => {}
            Node::Splice(splice) => reads(&splice.expr, env, out),
            Node::Element(element) => {
                for attr in &element.attrs {
                    if let AttrValue::Dynamic(expr) = &attr.value {
                        reads(expr, env, out);
                    }
                }
                exposure(&element.children, env, out);
            }
            Node::If(if_node) => if_exposure(if_node, env, out),
            Node::For(for_node) => {
                reads(&for_node.iter, env, out);
                let mut inner = env.clone();
                if let Some(base) = path_of(&for_node.iter, env).filter(|p| !p.is_empty()) {
                    bind(&for_node.pat, &format!("{base}[]"), &mut inner);
                }
                if let Some(key) = &for_node.key {
                    reads(key, &inner, out);
                }
                exposure(&for_node.body, &inner, out);
            }
            Node::Match(match_node) => {
                reads(&match_node.expr, env, out);
                let base = path_of(&match_node.expr, env).filter(|p| !p.is_empty());
                for arm in &match_node.arms {
                    let mut inner = env.clone();
                    if let Some(base) = &base {
                        bind(&arm.pat, base, &mut inner);
                    }
                    if let Some(guard) = &arm.guard {
                        reads(guard, &inner, out);
                    }
                    exposure(&arm.body, &inner, out);
                }
            }
        }
    }
}

fn if_exposure(if_node: &IfNode, env: &Env, out: &mut Exposure) {
    let mut inner = env.clone();
    match &if_node.condition {
        Condition::Bool(expr) => reads(expr, env, out),
        Condition::Let(pat, expr) => {
            reads(expr, env, out);
            if let Some(base) = path_of(expr, env).filter(|p| !p.is_empty()) {
                bind(pat, &base, &mut inner);
            }
        }
    }
    exposure(&if_node.then_branch, &inner, out);
    match &if_node.else_branch {
        Some(Else::If(nested)) => if_exposure(nested, env, out),
        Some(Else::Block(nodes)) => exposure(nodes, env, out),
        None => {}
    }
}

/// Public fields a method assigns.
pub fn assigned_fields(method: &ImplItemFn) -> BTreeSet<String> {
    struct Assigned(BTreeSet<String>);
    fn self_field(expr: &Expr) -> Option<String> {
        match expr {
            Expr::Field(field) => match (&*field.base, &field.member) {
                (Expr::Path(path), Member::Named(name)) if path.path.is_ident("self") => {
                    Some(name.to_string())
                }
                _ => self_field(&field.base),
            },
            Expr::Index(index) => self_field(&index.expr),
            Expr::MethodCall(call) => self_field(&call.receiver),
            Expr::Paren(paren) => self_field(&paren.expr),
            _ => None,
        }
    }
    impl<'ast> Visit<'ast> for Assigned {
        fn visit_expr_assign(&mut self, node: &'ast syn::ExprAssign) {
            self.0.extend(self_field(&node.left));
            syn::visit::visit_expr_assign(self, node);
        }
        fn visit_expr_binary(&mut self, node: &'ast syn::ExprBinary) {
            let compound = matches!(
                node.op,
                syn::BinOp::AddAssign(_)
                    | syn::BinOp::SubAssign(_)
                    | syn::BinOp::MulAssign(_)
                    | syn::BinOp::DivAssign(_)
                    | syn::BinOp::RemAssign(_)
                    | syn::BinOp::BitOrAssign(_)
                    | syn::BinOp::BitAndAssign(_)
                    | syn::BinOp::BitXorAssign(_)
                    | syn::BinOp::ShlAssign(_)
                    | syn::BinOp::ShrAssign(_)
            );
            if compound {
                self.0.extend(self_field(&node.left));
            }
            syn::visit::visit_expr_binary(self, node);
        }
        fn visit_expr_method_call(&mut self, node: &'ast syn::ExprMethodCall) {
            if MUTATING_METHODS.contains(&node.method.to_string().as_str()) {
                self.0.extend(self_field(&node.receiver));
            }
            syn::visit::visit_expr_method_call(self, node);
        }
        fn visit_expr_struct(&mut self, node: &'ast syn::ExprStruct) {
            if node.path.is_ident("Self") || node.path.segments.len() == 1 {
                for field in &node.fields {
                    if let Member::Named(name) = &field.member {
                        self.0.insert(name.to_string());
                    }
                }
            }
            syn::visit::visit_expr_struct(self, node);
        }
    }
    let mut assigned = Assigned(BTreeSet::new());
    assigned.visit_block(&method.block);
    assigned.0.retain(|field| !field.starts_with('_'));
    assigned.0
}

/// Methods of `self` that `method` calls (`self.reload()`).
pub fn self_calls(method: &ImplItemFn) -> BTreeSet<String> {
    struct Calls(BTreeSet<String>);
    impl<'ast> Visit<'ast> for Calls {
        fn visit_expr_method_call(&mut self, node: &'ast syn::ExprMethodCall) {
            if let Expr::Path(path) = &*node.receiver {
                if path.path.is_ident("self") {
                    self.0.insert(node.method.to_string());
                }
            }
            syn::visit::visit_expr_method_call(self, node);
        }
    }
    let mut calls = Calls(BTreeSet::new());
    calls.visit_block(&method.block);
    calls.0
}

/// The fields `entry` assigns itself or through the methods of `methods`
/// it calls, directly or not (each method visited once, so recursion ends).
pub fn assigned_through_calls(entry: &ImplItemFn, methods: &[&ImplItemFn]) -> BTreeSet<String> {
    let mut assigned = assigned_fields(entry);
    let mut visited: BTreeSet<String> = BTreeSet::from([entry.sig.ident.to_string()]);
    let mut pending: Vec<String> = self_calls(entry).into_iter().collect();
    while let Some(name) = pending.pop() {
        if !visited.insert(name.clone()) {
            continue;
        }
        if let Some(helper) = methods.iter().find(|method| method.sig.ident == name) {
            assigned.extend(assigned_fields(helper));
            pending.extend(self_calls(helper));
        }
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(tokens: proc_macro2::TokenStream) -> ImplItemFn {
        syn::parse2(tokens).expect("a method")
    }

    #[test]
    fn fields_assigned_by_called_helpers_count_even_through_recursion() {
        let entry = method(quote::quote! {
            fn search(&mut self, q: String) { self.query = q; self.reload(); }
        });
        let reload = method(quote::quote! {
            fn reload(&mut self) { self.rows = load(); self.count += 1; self.settle(); }
        });
        let settle = method(quote::quote! {
            fn settle(&mut self) { if self.rows.is_empty() { self.reload(); self.empty.push(1); } }
        });
        let unrelated = method(quote::quote! {
            fn unrelated(&mut self) { self.other = 1; }
        });
        let methods = [&entry, &reload, &settle, &unrelated];
        let assigned = assigned_through_calls(&entry, &methods);
        assert_eq!(
            assigned.into_iter().collect::<Vec<_>>(),
            ["count", "empty", "query", "rows"]
        );
        // Calls of methods outside the block add nothing (and do not fail).
        let external = method(quote::quote! {
            fn page(&mut self) { self.page = 2; self.helper_elsewhere(); other.reload(); }
        });
        assert_eq!(
            assigned_through_calls(&external, &methods)
                .into_iter()
                .collect::<Vec<_>>(),
            ["page"]
        );
    }
}
