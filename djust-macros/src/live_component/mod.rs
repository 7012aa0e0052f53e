//! `#[live_component]`: a stateful component's `impl` block, read and
//! checked by the same stages as `#[live_view]` (its [`items`], event-name
//! and `dj-target` checks, exposure analysis, `_` field checks, handler
//! codegen), with what differs for a component:
//!
//! - no auth posture of its own: `public`, `login_required` and
//!   `permission` are refused, because every event runs with the parent
//!   view's context and checks, so a component can never widen access;
//! - `fn mount(props: P) -> Self` takes the parent's props (synchronous:
//!   it runs inside the parent's render), `fn update(&mut self, props: P)`
//!   optionally receives them again on each later render of the parent;
//! - its handlers' rate-limit buckets are named `component.handler`;
//! - the server lifecycle hooks of a view (`handle_tick`, `handle_info`,
//!   `handle_params`, `restored`, `check_permissions`) are refused: they
//!   belong to the parent, which a component reaches with
//!   `ctx.notify_parent(message)`.
//!
//! [`items`]: crate::live_view::items

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, Type};

use crate::ctxt::Ctxt;
use crate::html;
use crate::live_view::analysis::{self, Exposure};
use crate::live_view::attrs::{did_you_mean, is_snake_name};
use crate::live_view::{codegen, components, items, private};

const NAME: &str = "name";
/// View options a component refuses, with why.
const VIEW_ONLY: &[&str] = &[
    "public",
    "login_required",
    "permission",
    "login_url",
    "tick",
    "reauth_each_event",
    "persist",
    "upload",
    "title",
];
/// Lifecycle methods of a view that a component does not have.
const VIEW_HOOKS: &[&str] = &[
    "handle_tick",
    "handle_info",
    "handle_params",
    "restored",
    "check_permissions",
];

/// `ChatRoom` → `chat_room`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `#[live_component(...)]` options: only `name = ".."`.
fn parse_args(args: TokenStream, cx: &Ctxt) -> Option<String> {
    let mut name = None;
    let parser = syn::meta::parser(|meta| {
        let Some(ident) = meta.path.get_ident().map(ToString::to_string) else {
            cx.error_spanned_by(&meta.path, "expected `name = \"..\"`");
            return Ok(());
        };
        if ident == NAME {
            let lit: syn::LitStr = meta.value()?.parse()?;
            if !is_snake_name(&lit.value()) {
                cx.error_spanned_by(
                    &lit,
                    format!(
                        "component name `{}` must match `^[a-z][a-z0-9_]*$`",
                        lit.value()
                    ),
                );
            }
            if name.is_some() {
                cx.error_spanned_by(&meta.path, "`name` specified more than once");
            }
            name = Some(lit.value());
        } else if VIEW_ONLY.contains(&ident.as_str()) {
            cx.error_spanned_by(&meta.path, format!("`{ident}` is a view option: a component has no auth posture or page of its own\n\nhelp: remove it; every event of a component runs with its parent view's login, permission and `reauth_each_event` checks, so a component can never be more open than the view it is embedded in"));
            if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|inner| {
                    if inner.input.peek(syn::Token![=]) {
                        let _: syn::Expr = inner.value()?.parse()?;
                    }
                    Ok(())
                })?;
            }
        } else {
            let hint = did_you_mean(&ident, [NAME])
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            cx.error_spanned_by(
                &meta.path,
                format!("unknown `#[live_component]` option `{ident}`\n\nhelp: {hint}the only option is `name = \"..\"`"),
            );
            if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        cx.syn_error(error);
    }
    name
}

/// The props type: `mount`'s one argument.
fn props_type(mount: &ImplItemFn, cx: &Ctxt) -> Option<Type> {
    let mut inputs = mount.sig.inputs.iter();
    match (inputs.next(), inputs.next()) {
        (Some(FnArg::Typed(arg)), None) if mount.sig.asyncness.is_none() => Some((*arg.ty).clone()),
        _ => {
            cx.error_spanned_by(&mount.sig, "a component's `mount` takes its props and no `self`, and is synchronous (it runs inside the parent's render): `fn mount(props: CartProps) -> Self`");
            None
        }
    }
}

/// Checks `update(&mut self, props: P)`.
fn check_update(update: &ImplItemFn, cx: &Ctxt) {
    let takes_self_mut =
        matches!(update.sig.receiver(), Some(receiver) if receiver.mutability.is_some());
    if !takes_self_mut || update.sig.inputs.len() != 2 || update.sig.asyncness.is_some() {
        cx.error_spanned_by(&update.sig, "a component's `update` receives the parent's props on each render of the parent: `fn update(&mut self, props: CartProps)` (synchronous)");
    }
}

/// Expands `#[live_component] impl Cart { .. }`.
pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut impl_block: ItemImpl = match syn::parse2(input) {
        Ok(block) => block,
        Err(error) => {
            let error = syn::Error::new(
                error.span(),
                "`#[live_component]` goes on the component's `impl` block: `#[live_component] impl Cart { ... }`",
            );
            return error.to_compile_error();
        }
    };
    let cx = Ctxt::new();
    let name = parse_args(args, &cx);
    let items = items::read(&mut impl_block, &cx);

    if impl_block.trait_.is_some() || !impl_block.generics.params.is_empty() {
        cx.error_spanned_by(
            &impl_block.self_ty,
            "`#[live_component]` goes on the component's own, non-generic `impl` block",
        );
    }
    let type_name = match &*impl_block.self_ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        other => {
            cx.error_spanned_by(other, "`#[live_component]` expects `impl TypeName { .. }`");
            String::new()
        }
    };
    let methods: Vec<&ImplItemFn> = impl_block
        .items
        .iter()
        .filter_map(|item| match item {
            ImplItem::Fn(method) => Some(method),
            _ => None,
        })
        .collect();
    let self_span = impl_block.self_ty.to_token_stream();
    let mount = methods.iter().find(|m| m.sig.ident == "mount");
    let props = match mount {
        Some(mount) => props_type(mount, &cx),
        None => {
            cx.error_spanned_by(&self_span, format!("component `{type_name}` has no `mount`\n\nhelp: add `fn mount(props: Props) -> Self`, which builds its state from the props its parent passes"));
            None
        }
    };
    let update = methods.iter().find(|m| m.sig.ident == "update");
    if let Some(update) = update {
        check_update(update, &cx);
    }
    if !items.render {
        cx.error_spanned_by(&self_span, format!("component `{type_name}` has no `render`\n\nhelp: add `fn render(&self) -> Html {{ html! {{ .. }} }}`"));
    }
    for method in &methods {
        let ident = method.sig.ident.to_string();
        if VIEW_HOOKS.contains(&ident.as_str()) {
            cx.error_spanned_by(&method.sig.ident, format!("`{ident}` is a view's lifecycle method; a component does not have it\n\nhelp: a component tells its parent view with `ctx.notify_parent(message)` in a handler, and the view's `handle_info` receives it"));
        }
    }
    for handler in &items.handlers {
        if handler.ident == "update" {
            cx.error_spanned_by(&handler.ident, "`update` is a component's lifecycle method and cannot be an `#[event_handler]`\n\nhelp: rename the handler, e.g. `update_clicked`");
        }
    }

    let handler_names: Vec<String> = items.handlers.iter().map(|h| h.ident.to_string()).collect();
    let templates: Vec<(String, Vec<html::ast::Node>)> = methods
        .iter()
        .flat_map(|method| {
            let name = method.sig.ident.to_string();
            analysis::templates_in(method)
                .into_iter()
                .map(move |template| (name.clone(), template))
        })
        .collect();
    let mut embedded = Vec::new();
    for (_, template) in &templates {
        components::embedded(template, &cx, &mut embedded);
    }
    let mut exposure = Exposure::default();
    let mut trusted_values = 0u32;
    let mut target_checks = Vec::new();
    for (method_name, template) in &templates {
        analysis::check_event_names(template, &handler_names, &type_name, &cx);
        analysis::check_upload_slots(template, &[], &type_name, &cx);
        target_checks.extend(components::check_targets(
            template, &embedded, &type_name, &cx,
        ));
        if method_name == "render" {
            analysis::exposure(template, &Default::default(), &mut exposure);
        }
        trusted_values = trusted_values.saturating_add(html::trusted::count(template));
    }
    let mut assigned = Vec::new();
    for method in &methods {
        let method_name = method.sig.ident.to_string();
        let entry = matches!(method_name.as_str(), "mount" | "update")
            || handler_names.contains(&method_name);
        if entry {
            for field in analysis::assigned_through_calls(method, &methods) {
                assigned.push((field, method_name.clone()));
            }
        }
    }
    let private_fields = private::used_private_fields(&impl_block, &type_name);
    let component_name = name.unwrap_or_else(|| snake_case(&type_name));

    match (cx.check(), props) {
        (Ok(()), Some(props)) => {
            let self_ty = (*impl_block.self_ty).clone();
            let private_checks = private::checks(&private_fields);
            let generated = generate(&Model {
                self_ty: &self_ty,
                type_name: &type_name,
                name: &component_name,
                props: &props,
                has_update: update.is_some(),
                exposure: &exposure,
                safe_splices: trusted_values,
                assigned: &assigned,
                items: &items,
            });
            quote! {
                #impl_block
                #generated
                impl #self_ty { #private_checks }
                #(#target_checks)*
            }
        }
        (Err(error), _) => {
            let error = error.to_compile_error();
            quote!(#impl_block #error)
        }
        // `props_type` reported why there are none.
        (Ok(()), None) => {
            let error =
                syn::Error::new(Span::call_site(), "component without props").to_compile_error();
            quote!(#impl_block #error)
        }
    }
}

/// What codegen needs.
struct Model<'a> {
    self_ty: &'a Type,
    type_name: &'a str,
    name: &'a str,
    props: &'a Type,
    has_update: bool,
    exposure: &'a Exposure,
    safe_splices: u32,
    assigned: &'a [(String, String)],
    items: &'a items::ViewItems,
}

/// The `LiveComponent` impl and the registry entry.
fn generate(model: &Model) -> TokenStream {
    let Model {
        self_ty,
        type_name,
        name,
        props,
        ..
    } = model;
    let handler_names = model.items.handlers.iter().map(|h| h.ident.to_string());
    let handler_metas = model.items.handlers.iter().map(codegen::handler_meta);
    let arms = model.items.handlers.iter().map(|handler| {
        let rate_name = format!("{name}.{}", handler.ident);
        codegen::dispatch_arm(handler, &rate_name)
    });
    let exposed = model.exposure.paths.iter();
    let assigned = model
        .assigned
        .iter()
        .map(|(field, by)| quote!(::djust::__private::AssignedField { field: #field, by: #by }));
    let safe_splices = model.safe_splices;
    let update = if model.has_update {
        quote!(Self::update(self, __djust_props);)
    } else {
        quote!(let _ = __djust_props;)
    };
    quote! {
        impl ::djust::__private::LiveComponent for #self_ty {
            type Props = #props;

            const HANDLER_NAMES: &'static [&'static str] = &[#(#handler_names),*];

            fn meta() -> &'static ::djust::__private::ComponentMeta {
                static META: ::djust::__private::ComponentMeta = ::djust::__private::ComponentMeta {
                    name: #name,
                    type_name: #type_name,
                    module: ::std::module_path!(),
                    handlers: &[#(#handler_metas),*],
                    exposed: &[#(#exposed),*],
                    assigned: &[#(#assigned),*],
                    safe_splices: #safe_splices,
                };
                &META
            }

            fn mount_component(__djust_props: Self::Props) -> Self {
                Self::mount(__djust_props)
            }

            fn update_component(&mut self, __djust_props: Self::Props) {
                #update
            }

            fn render_component(&self) -> ::djust::Html {
                Self::render(self)
            }

            #[allow(unused_variables, unreachable_code)]
            fn dispatch_event<'a>(
                &'a mut self,
                __djust_ctx: &'a mut ::djust::__private::EventCtx,
                __djust_event: &'a str,
                __djust_params: &'a ::djust::__private::Params,
            ) -> ::djust::__private::BoxFuture<'a, ::std::result::Result<(), ::djust::__private::EventError>> {
                ::std::boxed::Box::pin(async move {
                    match __djust_event {
                        #(#arms)*
                        _ => ::std::result::Result::Err(::djust::__private::EventError::UnknownEvent),
                    }
                })
            }
        }

        ::djust::__private::inventory::submit! {
            ::djust::__private::ComponentRegistration { meta: <#self_ty as ::djust::__private::LiveComponent>::meta }
        }
    }
}
