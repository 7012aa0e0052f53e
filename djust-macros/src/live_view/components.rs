//! The components an `impl` block's templates embed, and the checks of
//! `dj-target`, shared by `#[live_view]` and `#[live_component]`.
//!
//! A template embeds a component with a splice
//! `{live_component::<Cart>("cart", props)}` (or `(("row", key), props)`
//! for one of many). [`embedded`] finds those calls and reads the type and
//! the literal id; [`check_targets`] then requires every `dj-target="id"`
//! to name one of them (a compile error with a "did you mean" otherwise)
//! and returns, for each event name on a targeting element, a constant
//! the compiler evaluates against the component's `HANDLER_NAMES`
//! (spanned on the event's literal), so naming a handler the component
//! does not have fails to compile with a "did you mean". The macro of the
//! parent cannot see the component's `impl` block; the type system and
//! const evaluation carry its handler list across.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::{Expr, GenericArgument, Lit, PathArguments, Type};

use super::attrs::{did_you_mean, is_snake_name};
use crate::ctxt::Ctxt;
use crate::html::ast::{each_element, AttrValue, Else, IfNode, Node};
use crate::html::check::event_attr_base;
use crate::html::commands::pushed_events;

/// The attribute that sends an element's events to a component.
pub const TARGET_ATTR: &str = "dj-target";

/// One `live_component::<T>(id, props)` call found in a template.
pub struct Embedded {
    /// The literal name part of the id.
    pub name: syn::LitStr,
    /// The component type as written.
    pub ty: Type,
    /// Embedded with a key (`("row", key)`): one of many.
    pub keyed: bool,
}

/// The `live_component::<T>(..)` calls among `nodes`' splices.
pub fn embedded(nodes: &[Node], cx: &Ctxt, out: &mut Vec<Embedded>) {
    for node in nodes {
        match node {
            Node::Splice(splice) => {
                if let Some(found) = embedding(&splice.expr, cx) {
                    out.push(found);
                }
            }
            Node::Element(element) => embedded(&element.children, cx, out),
            Node::If(if_node) => embedded_if(if_node, cx, out),
            Node::For(for_node) => embedded(&for_node.body, cx, out),
            Node::Match(match_node) => {
                for arm in &match_node.arms {
                    embedded(&arm.body, cx, out);
                }
            }
            Node::Text(_) => {}
        }
    }
}

fn embedded_if(if_node: &IfNode, cx: &Ctxt, out: &mut Vec<Embedded>) {
    embedded(&if_node.then_branch, cx, out);
    match &if_node.else_branch {
        Some(Else::If(nested)) => embedded_if(nested, cx, out),
        Some(Else::Block(nodes)) => embedded(nodes, cx, out),
        None => {}
    }
}

/// `live_component::<T>(id, props)`, read; reports a malformed one.
fn embedding(expr: &Expr, cx: &Ctxt) -> Option<Embedded> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "live_component" {
        return None;
    }
    let ty = match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match args.args.first() {
            Some(GenericArgument::Type(ty)) => Some(ty.clone()),
            _ => None,
        },
        _ => None,
    };
    let Some(ty) = ty else {
        cx.error_spanned_by(
            &last.ident,
            "name the component's type: `live_component::<Cart>(\"cart\", props)`",
        );
        return None;
    };
    if call.args.len() != 2 {
        cx.error_spanned_by(
            &call.args,
            "`live_component` takes an id and the props: `live_component::<Cart>(\"cart\", props)`",
        );
        return None;
    }
    let (name, keyed) = match call.args.first() {
        Some(Expr::Lit(lit)) => match &lit.lit {
            Lit::Str(name) => (Some(name.clone()), false),
            _ => (None, false),
        },
        Some(Expr::Tuple(tuple)) if tuple.elems.len() == 2 => match tuple.elems.first() {
            Some(Expr::Lit(syn::ExprLit {
                lit: Lit::Str(name),
                ..
            })) => (Some(name.clone()), true),
            _ => (None, true),
        },
        _ => (None, false),
    };
    let Some(name) = name else {
        cx.error_spanned_by(
            call.args.first(),
            "a component's id is a string literal (`\"cart\"`), or a literal and a key for one of many (`(\"row\", item.id)`)\n\nhelp: the literal is what `dj-target` names, checked at compile time",
        );
        return None;
    };
    if !is_snake_name(&name.value()) {
        cx.error_spanned_by(
            &name,
            format!(
                "component id `{}` must match `^[a-z][a-z0-9_]*$`",
                name.value()
            ),
        );
    }
    Some(Embedded { name, ty, keyed })
}

/// Checks every `dj-target` in `nodes` against `components` (the whole
/// `impl` block's), returning the constants that check the targeted
/// events against the components' handlers. `owner` is the view's or
/// component's type name, for messages.
pub fn check_targets(
    nodes: &[Node],
    components: &[Embedded],
    owner: &str,
    cx: &Ctxt,
) -> Vec<TokenStream> {
    let mut checks = Vec::new();
    each_element(nodes, &mut |element| {
        let Some(attr) = element
            .attrs
            .iter()
            .find(|attr| attr.name.value.eq_ignore_ascii_case(TARGET_ATTR))
        else {
            return;
        };
        let AttrValue::Literal(lit) = &attr.value else {
            cx.error_spanned_by(
                &attr.name.tokens,
                "`dj-target` names a component with a string literal, e.g. `dj-target=\"cart\"`",
            );
            return;
        };
        let id = lit.value();
        let Some(component) = components.iter().find(|found| found.name.value() == id) else {
            let names: Vec<String> = components.iter().map(|c| c.name.value()).collect();
            let hint = match did_you_mean(&id, names.iter().map(String::as_str)) {
                Some(close) => format!("did you mean `{close}`?"),
                None if names.is_empty() => format!("`{owner}` embeds no component: embed one in its template with `{{live_component::<Cart>(\"{id}\", props)}}`"),
                None => format!("the components of `{owner}` are: {}", names.join(", ")),
            };
            cx.error_spanned_by(
                lit,
                format!("`dj-target=\"{id}\"` names no component of `{owner}`\n\nhelp: {hint}"),
            );
            return;
        };
        if component.keyed {
            cx.error_spanned_by(
                lit,
                format!("`{id}` is embedded once per key (`(\"{id}\", key)`), so `dj-target=\"{id}\"` cannot say which one\n\nhelp: put the element inside the component's own template: its events go to that instance"),
            );
            return;
        }
        for other in &element.attrs {
            let Some(event) = event_attr_base(&other.name.value) else {
                continue;
            };
            let names = match &other.value {
                AttrValue::Literal(name) => vec![name.clone()],
                AttrValue::Dynamic(expr) => pushed_events(expr),
                AttrValue::Bare => Vec::new(),
            };
            for name in names {
                let ty = &component.ty;
                let span = name.span();
                let what = format!("`{event}=\"{}\"` (with `dj-target=\"{id}\"`)", name.value());
                let type_name = quote::quote!(#ty).to_string().replace(' ', "");
                checks.push(quote_spanned! {span=>
                    const _: () = ::djust::__private::check_component_event(
                        #what,
                        #type_name,
                        <#ty as ::djust::__private::LiveComponent>::HANDLER_NAMES,
                        #name,
                    );
                });
            }
        }
    });
    checks
}

/// `true` when an element sends its events to a component (its event
/// names are checked against that component, not the `impl` block).
pub fn has_target(element: &crate::html::ast::Element) -> bool {
    element
        .attrs
        .iter()
        .any(|attr| attr.name.value.eq_ignore_ascii_case(TARGET_ATTR))
}
