//! `#[live_view]`: parse → check → codegen for a view's `impl` block.
//!
//! [`attrs`] validates the attribute's options, [`items`] reads the methods
//! (lifecycle and `#[event_handler]`s) and strips djust attributes,
//! [`analysis`] checks the templates' event names against the handlers and
//! records what the template exposes and what methods assign, [`private`]
//! finds the `_` fields the block uses (each must be a `Private<_>`), and
//! [`codegen`] writes the `LiveView` impl. All errors go to one [`Ctxt`];
//! on error the user's `impl` block is still emitted (stripped of djust
//! attributes) so its own code keeps type-checking.

pub mod analysis;
pub mod attrs;
pub mod codegen;
pub mod components;
pub mod items;
pub mod private;
mod upload;

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::{ImplItem, ItemImpl, Type};

use crate::ctxt::Ctxt;
use crate::html;
use analysis::Exposure;
use attrs::{Posture, ViewAttrs};

/// What codegen needs about the view.
pub struct ViewModel {
    /// The `impl`'s self type.
    pub self_ty: Type,
    /// Wire name.
    pub name: String,
    /// Rust type name.
    pub type_name: String,
    /// Parsed attribute options.
    pub attrs: ViewAttrs,
    /// Needs a logged-in user.
    pub login_required: bool,
    /// What `render`'s template reads.
    pub exposure: Exposure,
    /// (field, method) pairs.
    pub assigned: Vec<(String, String)>,
}

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

/// Expands `#[live_view(args)] impl View { .. }`.
pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut impl_block: ItemImpl = match syn::parse2(input) {
        Ok(block) => block,
        Err(error) => {
            let error = syn::Error::new(error.span(), "`#[live_view]` goes on the view's `impl` block: `#[live_view(public)] impl Counter { ... }`");
            return error.to_compile_error();
        }
    };
    let cx = Ctxt::new();
    let attrs = attrs::parse(args, &cx);
    let items = items::read(&mut impl_block, &cx);

    if impl_block.trait_.is_some() {
        cx.error_spanned_by(
            &impl_block.self_ty,
            "`#[live_view]` goes on the view's inherent `impl` block, not a trait impl",
        );
    }
    if !impl_block.generics.params.is_empty() {
        cx.error_spanned_by(
            &impl_block.generics,
            "live views cannot be generic: the registry needs one concrete type per view",
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
            cx.error_spanned_by(other, "`#[live_view]` expects `impl TypeName { .. }`");
            String::new()
        }
    };
    let self_span = impl_block.self_ty.to_token_stream();
    if items.mount.is_none() {
        cx.error_spanned_by(&self_span, format!("live view `{type_name}` has no `mount`\n\nhelp: add `async fn mount(ctx: &mut MountCtx) -> Result<Self>` that builds the initial state"));
    }
    if !items.render {
        cx.error_spanned_by(&self_span, format!("live view `{type_name}` has no `render`\n\nhelp: add `fn render(&self) -> Html {{ html! {{ .. }} }}`"));
    }
    match (&attrs.tick_ms, &items.handle_tick) {
        (Some((_, span)), None) => cx.error_at(*span, "`tick` needs a `fn handle_tick(&mut self) -> Result<()>` to call"),
        (None, Some((_, span))) => cx.error_at(*span, "`handle_tick` is never called without an interval\n\nhelp: add `tick = <milliseconds>` to `#[live_view(...)]`"),
        _ => {}
    }
    if let (None, Some((_, span))) = (&attrs.persist, &items.restored) {
        cx.error_at(*span, "`restored` only runs for views that persist their state\n\nhelp: add `persist` to `#[live_view(...)]`, or remove `restored`");
    }

    let handler_names: Vec<String> = items.handlers.iter().map(|h| h.ident.to_string()).collect();
    let slot_names: Vec<String> = attrs.uploads.iter().map(|slot| slot.name.clone()).collect();
    let mut exposure = Exposure::default();
    let mut trusted_values = 0u32;
    let mut assigned = Vec::new();
    let methods: Vec<&syn::ImplItemFn> = impl_block
        .items
        .iter()
        .filter_map(|item| match item {
            ImplItem::Fn(method) => Some(method),
            _ => None,
        })
        .collect();
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
    let mut target_checks = Vec::new();
    for (_, template) in &templates {
        target_checks.extend(components::check_targets(
            template, &embedded, &type_name, &cx,
        ));
    }
    for item in &impl_block.items {
        let ImplItem::Fn(method) = item else { continue };
        let method_name = method.sig.ident.to_string();
        for template in analysis::templates_in(method) {
            analysis::check_event_names(&template, &handler_names, &type_name, &cx);
            analysis::check_upload_slots(&template, &slot_names, &type_name, &cx);
            if method_name == "render" {
                analysis::exposure(&template, &Default::default(), &mut exposure);
            }
            // Trusted markup anywhere in the impl (helpers too) counts.
            trusted_values = trusted_values.saturating_add(crate::html::trusted::count(&template));
        }
        // Where state changes: mount, handlers, and server-side updates.
        let entry_point = matches!(
            method_name.as_str(),
            "mount" | "handle_info" | "handle_tick" | "handle_params" | "restored"
        ) || handler_names.contains(&method_name);
        if entry_point {
            for field in analysis::assigned_through_calls(method, &methods) {
                assigned.push((field, method_name.clone()));
            }
        }
    }

    let private_fields = private::used_private_fields(&impl_block, &type_name);

    let name = match &attrs.name {
        Some((name, _)) => name.clone(),
        None => snake_case(&type_name),
    };
    exposure.safe_splices = trusted_values;
    let login_required = attrs.posture == Posture::LoginRequired;
    let model = ViewModel {
        self_ty: (*impl_block.self_ty).clone(),
        name,
        type_name,
        attrs,
        login_required,
        exposure,
        assigned,
    };

    match cx.check() {
        Ok(()) => {
            let generated = codegen::expand(&model, &items);
            let private_checks = private::checks(&private_fields);
            let self_ty = &model.self_ty;
            quote! {
                #impl_block
                #generated
                impl #self_ty { #private_checks }
                #(#target_checks)*
            }
        }
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#impl_block #error)
        }
    }
}

/// Used outside `#[live_view]`: a clear error instead of "unknown attribute".
pub fn misplaced(attribute: &str, item: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        format!("`#[{attribute}]` only works on methods inside an `impl` block marked `#[live_view(...)]` or `#[live_component]`"),
    )
    .to_compile_error();
    quote!(#error #item)
}
