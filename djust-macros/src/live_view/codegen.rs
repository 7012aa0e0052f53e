//! Generates the `LiveView` impl: metadata, the dispatch `match` (the
//! allowlist), parameter decoding, permission and rate-limit checks, the
//! lifecycle adapters, `View::view()` and the registry entry.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type};

use super::items::{CtxArg, HandlerDef, Lifecycle, ParamDef, ParamsHook, ViewItems};
use super::ViewModel;

/// Types `FromParam` decodes with form coercion.
fn is_coercible(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let name = last.ident.to_string();
    match name.as_str() {
        "String" | "bool" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16"
        | "u32" | "u64" | "u128" | "usize" | "f32" | "f64" => {
            matches!(last.arguments, PathArguments::None)
        }
        "Option" | "Vec" => single_type_arg(&last.arguments).is_some_and(is_coercible),
        _ => false,
    }
}

fn single_type_arg(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(ty)) if args.args.len() == 1 => Some(ty),
        _ => None,
    }
}

/// (kind, optional) for the registry.
fn param_kind(ty: &Type) -> (TokenStream, bool) {
    let kind = |name: &str| -> TokenStream {
        let ident = format_ident!("{}", name);
        quote!(::djust::__private::ParamKind::#ident)
    };
    let Type::Path(path) = ty else {
        return (kind("Other"), false);
    };
    let Some(last) = path.path.segments.last() else {
        return (kind("Other"), false);
    };
    match last.ident.to_string().as_str() {
        "Option" => match single_type_arg(&last.arguments) {
            Some(inner) => (param_kind(inner).0, true),
            None => (kind("Other"), true),
        },
        "Vec" => (kind("List"), false),
        "String" => (kind("String"), false),
        "bool" => (kind("Bool"), false),
        "f32" | "f64" => (kind("Float"), false),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => (kind("Integer"), false),
        _ => (kind("Other"), false),
    }
}

/// The type as the user wrote it, without token spacing.
pub fn type_text(ty: &Type) -> String {
    quote!(#ty).to_string().replace(' ', "")
}

fn option_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(text) => quote!(::std::option::Option::Some(#text)),
        None => quote!(::std::option::Option::None),
    }
}

/// `Form<T>` (or `forms::Form<T>`): the `T`.
fn form_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Form" {
        return None;
    }
    single_type_arg(&last.arguments)
}

fn decode_param(param: &ParamDef) -> TokenStream {
    let ident = &param.ident;
    let ty = &param.ty;
    if let Some(inner) = form_inner(ty) {
        let span = ty.span();
        return quote_spanned! {span=>
            let #ident: #ty = ::djust::__private::forms::decode_form::<#inner>(__djust_params);
        };
    }
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    let expected = type_text(ty);
    let span = ty.span();
    let call = match (&param.default, is_coercible(ty)) {
        (None, true) => {
            quote_spanned!(span=> ::djust::__private::params::decode::<#ty>(__djust_params, #name, #expected))
        }
        (Some(default), true) => {
            quote_spanned!(span=> ::djust::__private::params::decode_or::<#ty>(__djust_params, #name, #expected, || #default))
        }
        (None, false) => {
            quote_spanned!(span=> ::djust::__private::params::decode_serde::<#ty>(__djust_params, #name, #expected))
        }
        (Some(default), false) => {
            quote_spanned!(span=> ::djust::__private::params::decode_serde_or::<#ty>(__djust_params, #name, #expected, || #default))
        }
    };
    // The default is a closure so it is only evaluated when needed; a path
    // like `String::new()` would trip clippy's redundant_closure in user code.
    quote! {
        #[allow(clippy::redundant_closure)]
        let #ident: #ty = #call?;
    }
}

/// `persist`: the state to and from JSON, the optional `restored` hook,
/// and a check, spanned on `persist`, that the struct has serde's traits.
fn persist_fns(
    span: proc_macro2::Span,
    self_ty: &syn::Type,
    items: &ViewItems,
) -> (TokenStream, TokenStream) {
    let restored = items.restored.as_ref().map(|(lifecycle, _)| {
        let await_ = lifecycle.is_async.then(|| quote!(.await));
        quote! {
            let __djust_output = __djust_view.restored(__djust_ctx) #await_;
            if let ::std::result::Result::Err(__djust_error) = ::djust::__private::HandlerOutput::into_handler_result(__djust_output) {
                return ::std::option::Option::Some(::std::result::Result::Err(__djust_error));
            }
        }
    });
    let persisted = quote_spanned! {span=>
        impl #self_ty {
            #[doc(hidden)]
            const __DJUST_PERSIST: ::djust::__private::PersistFns<Self> =
                ::djust::__private::persist_fns::<Self>();
        }
    };
    let methods = quote! {
        fn snapshot_state(&self) -> ::std::option::Option<::djust::Result<::std::vec::Vec<u8>>> {
            ::std::option::Option::Some((Self::__DJUST_PERSIST.snapshot)(self))
        }

        fn restore_state<'a>(
            __djust_bytes: &'a [u8],
            __djust_ctx: &'a mut ::djust::__private::MountCtx,
        ) -> ::djust::__private::BoxFuture<'a, ::std::option::Option<::djust::Result<Self>>> {
            ::std::boxed::Box::pin(async move {
                #[allow(unused_mut)]
                let mut __djust_view: Self = match (Self::__DJUST_PERSIST.restore)(__djust_bytes) {
                    ::std::result::Result::Ok(__djust_view) => __djust_view,
                    ::std::result::Result::Err(__djust_error) => {
                        return ::std::option::Option::Some(::std::result::Result::Err(__djust_error));
                    }
                };
                #restored
                ::std::option::Option::Some(::std::result::Result::Ok(__djust_view))
            })
        }
    };
    (methods, persisted)
}

/// One `upload(..)` slot's `UploadSlotMeta`.
fn upload_meta(slot: &super::upload::UploadSlot) -> TokenStream {
    let name = &slot.name;
    let accept = &slot.accept;
    let max_size = slot.max_size;
    let max_entries = slot.max_entries;
    let permission = option_str(slot.permission.as_deref());
    let active_content = slot.active_content;
    quote! {
        ::djust::__private::UploadSlotMeta {
            name: #name,
            accept: &[#(#accept),*],
            max_size: #max_size,
            max_entries: #max_entries,
            permission: #permission,
            active_content: #active_content,
        }
    }
}

/// The `match` arm running `handler`; its rate-limit bucket is named
/// `rate_name` (the handler's name for a view, `component.handler` for a
/// component, so the two never share a bucket).
pub fn dispatch_arm(handler: &HandlerDef, rate_name: &str) -> TokenStream {
    let ident = &handler.ident;
    let name = ident.to_string();
    let permission = handler
        .permission
        .as_ref()
        .map(|perm| quote!(__djust_ctx.__require_permission(#perm)?;));
    let rate_limit = handler.rate_limit.as_ref().map(|limit| {
        let rate = limit.rate;
        let burst = limit.burst;
        let key = match limit.key.as_str() {
            "session" => quote!(::djust::__private::RateKey::Session),
            "ip" => quote!(::djust::__private::RateKey::Ip),
            _ => quote!(::djust::__private::RateKey::User),
        };
        quote!(__djust_ctx.__rate_limit(#rate_name, #rate, #burst, #key).await?;)
    });
    let decodes = handler.params.iter().map(decode_param);
    let args = handler.params.iter().map(|param| &param.ident);
    let ctx_arg = match handler.ctx {
        CtxArg::None => quote!(),
        CtxArg::Shared => quote!(&*__djust_ctx,),
        CtxArg::Mut => quote!(&mut *__djust_ctx,),
    };
    let call = if handler.is_async {
        quote!(Self::#ident(self, #ctx_arg #(#args),*).await)
    } else {
        quote!(Self::#ident(self, #ctx_arg #(#args),*))
    };
    let convert = quote_spanned!(handler.output_span=> ::djust::__private::HandlerOutput::into_handler_result(__djust_output));
    quote! {
        #name => {
            #permission
            #rate_limit
            #(#decodes)*
            let __djust_output = #call;
            #convert.map_err(::djust::__private::EventError::Handler)
        }
    }
}

/// One parameter's `ParamMeta`.
fn param_meta(param: &ParamDef) -> TokenStream {
    let pname = param.ident.to_string().trim_start_matches("r#").to_owned();
    let ty = type_text(&param.ty);
    let (kind, optional) = param_kind(&param.ty);
    let has_default = param.default.is_some();
    let form = match form_inner(&param.ty) {
        Some(inner) => {
            quote!(::std::option::Option::Some(::djust::__private::FormFields(::djust::__private::forms::fields_of::<#inner>)))
        }
        None => quote!(::std::option::Option::None),
    };
    quote!(::djust::__private::ParamMeta { name: #pname, ty: #ty, kind: #kind, optional: #optional, has_default: #has_default, form: #form })
}

/// `handle_params_view`: decodes the URL's parameters like a handler's,
/// then calls `handle_params`.
fn params_fn(hook: &ParamsHook) -> TokenStream {
    let decodes = hook.params.iter().map(decode_param);
    let args = hook.params.iter().map(|param| &param.ident);
    let ctx_arg = match hook.ctx {
        CtxArg::None => quote!(),
        CtxArg::Shared => quote!(&*__djust_ctx,),
        CtxArg::Mut => quote!(&mut *__djust_ctx,),
    };
    let await_ = hook.is_async.then(|| quote!(.await));
    let convert = quote_spanned!(hook.output_span=> ::djust::__private::HandlerOutput::into_handler_result(__djust_output));
    quote! {
        #[allow(unused_variables)]
        fn handle_params_view<'a>(
            &'a mut self,
            __djust_ctx: &'a mut ::djust::__private::EventCtx,
            __djust_params: &'a ::djust::__private::Params,
        ) -> ::djust::__private::BoxFuture<'a, ::std::result::Result<(), ::djust::__private::EventError>> {
            ::std::boxed::Box::pin(async move {
                #(#decodes)*
                let __djust_output = Self::handle_params(self, #ctx_arg #(#args),*) #await_;
                #convert.map_err(::djust::__private::EventError::Handler)
            })
        }
    }
}

/// One handler's `HandlerMeta`.
pub fn handler_meta(handler: &HandlerDef) -> TokenStream {
    let name = handler.ident.to_string();
    let params = handler.params.iter().map(param_meta);
    let rate_limit = match &handler.rate_limit {
        Some(limit) => {
            let rate = limit.rate;
            let burst = limit.burst;
            let key = match limit.key.as_str() {
                "session" => quote!(::djust::__private::RateKey::Session),
                "ip" => quote!(::djust::__private::RateKey::Ip),
                _ => quote!(::djust::__private::RateKey::User),
            };
            quote!(::std::option::Option::Some(::djust::__private::RateLimitMeta { rate: #rate, burst: #burst, key: #key }))
        }
        None => quote!(::std::option::Option::None),
    };
    let permission = option_str(handler.permission.as_deref());
    let is_async = handler.is_async;
    let offline = handler.offline;
    quote! {
        ::djust::__private::HandlerMeta {
            name: #name,
            params: &[#(#params),*],
            rate_limit: #rate_limit,
            permission: #permission,
            is_async: #is_async,
            offline: #offline,
        }
    }
}

fn lifecycle_call(method: &str, lifecycle: &Lifecycle, extra: TokenStream) -> TokenStream {
    let ident = format_ident!("{}", method);
    let ctx = match lifecycle.ctx {
        CtxArg::None => quote!(),
        CtxArg::Shared => quote!(&*__djust_ctx,),
        CtxArg::Mut => quote!(&mut *__djust_ctx,),
    };
    let call = quote!(Self::#ident(self, #ctx #extra));
    if lifecycle.is_async {
        quote!(#call.await)
    } else {
        call
    }
}

/// The whole expansion after the user's `impl` block.
pub fn expand(model: &ViewModel, items: &ViewItems) -> TokenStream {
    let self_ty = &model.self_ty;
    let view_name = &model.name;
    let type_name = &model.type_name;
    let auth = if model.login_required {
        quote!(::djust::__private::AuthPosture::LoginRequired)
    } else {
        quote!(::djust::__private::AuthPosture::Public)
    };
    let permission = option_str(model.attrs.permission.as_deref());
    let login_url = option_str(model.attrs.login_url.as_deref());
    let tick = match model.attrs.tick_ms {
        Some((ms, _)) => quote!(::std::option::Option::Some(#ms)),
        None => quote!(::std::option::Option::None),
    };
    let reauth = model.attrs.reauth_each_event;
    let persist = model.attrs.persist.is_some();
    let upload_metas = model.attrs.uploads.iter().map(upload_meta);
    let (persist_fns, persisted_impl) = model
        .attrs
        .persist
        .map(|span| persist_fns(span, &model.self_ty, items))
        .unzip();
    let handler_metas = items.handlers.iter().map(handler_meta);
    let exposed = model.exposure.paths.iter();
    let assigned = model
        .assigned
        .iter()
        .map(|(field, by)| quote!(::djust::__private::AssignedField { field: #field, by: #by }));
    let safe_splices = model.exposure.safe_splices;
    let arms = items
        .handlers
        .iter()
        .map(|handler| dispatch_arm(handler, &handler.ident.to_string()));
    let url_params = match &items.handle_params {
        Some(hook) => {
            let metas = hook.params.iter().map(param_meta);
            quote!(::std::option::Option::Some(&[#(#metas),*]))
        }
        None => quote!(::std::option::Option::None),
    };
    let params_fn = items.handle_params.as_ref().map(params_fn);
    let title = option_str(model.attrs.title.as_deref());

    let mount = match &items.mount {
        Some(lifecycle) if lifecycle.is_async => {
            quote!(::std::boxed::Box::pin(
                async move { Self::mount(ctx).await }
            ))
        }
        _ => quote!(::std::boxed::Box::pin(::std::future::ready(Self::mount(
            ctx
        )))),
    };
    let check_permissions = items.check_permissions.then(|| {
        quote! {
            fn check_view_permissions(&self, ctx: &::djust::__private::Ctx) -> ::djust::Result<()> {
                Self::check_permissions(self, ctx)
            }
        }
    });
    let tick_fn = items.handle_tick.as_ref().map(|(lifecycle, _)| {
        let call = lifecycle_call("handle_tick", lifecycle, quote!());
        quote! {
            fn tick<'a>(&'a mut self, __djust_ctx: &'a mut ::djust::__private::EventCtx) -> ::djust::__private::BoxFuture<'a, ::djust::Result<()>> {
                ::std::boxed::Box::pin(async move {
                    let __djust_output = #call;
                    ::djust::__private::HandlerOutput::into_handler_result(__djust_output)
                })
            }
        }
    });
    let info_fn = items.handle_info.as_ref().and_then(|lifecycle| {
        let message_ty = lifecycle.message_ty.as_ref()?;
        let call = lifecycle_call("handle_info", lifecycle, quote!(*__djust_message));
        let expected = type_text(message_ty);
        Some(quote! {
            fn info<'a>(&'a mut self, __djust_ctx: &'a mut ::djust::__private::EventCtx, __djust_message: ::std::boxed::Box<dyn ::std::any::Any + ::std::marker::Send>) -> ::djust::__private::BoxFuture<'a, ::djust::Result<()>> {
                ::std::boxed::Box::pin(async move {
                    match __djust_message.downcast::<#message_ty>() {
                        ::std::result::Result::Ok(__djust_message) => {
                            let __djust_output = #call;
                            ::djust::__private::HandlerOutput::into_handler_result(__djust_output)
                        }
                        ::std::result::Result::Err(_) => {
                            ::djust::__private::tracing::warn!(view = #view_name, expected = #expected, "handle_info received a message of another type; dropped");
                            ::std::result::Result::Ok(())
                        }
                    }
                })
            }
        })
    });

    quote! {
        impl #self_ty {
            /// The factory `djust::App::live` takes to serve this view.
            #[allow(dead_code)]
            pub fn view() -> ::djust::__private::ViewFactory {
                ::djust::__private::ViewFactory::of::<Self>()
            }
        }

        impl ::djust::__private::LiveView for #self_ty {
            fn meta() -> &'static ::djust::__private::ViewMeta {
                static META: ::djust::__private::ViewMeta = ::djust::__private::ViewMeta {
                    name: #view_name,
                    type_name: #type_name,
                    module: ::std::module_path!(),
                    auth: #auth,
                    permission: #permission,
                    login_url: #login_url,
                    tick_ms: #tick,
                    reauth_each_event: #reauth,
                    handlers: &[#(#handler_metas),*],
                    exposed: &[#(#exposed),*],
                    assigned: &[#(#assigned),*],
                    safe_splices: #safe_splices,
                    persist: #persist,
                    uploads: &[#(#upload_metas),*],
                    url_params: #url_params,
                    title: #title,
                };
                &META
            }

            fn mount_view(ctx: &mut ::djust::__private::MountCtx) -> ::djust::__private::BoxFuture<'_, ::djust::Result<Self>> {
                #mount
            }

            fn render_view(&self) -> ::djust::Html {
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

            #params_fn
            #check_permissions
            #tick_fn
            #info_fn
            #persist_fns
        }

        #persisted_impl

        ::djust::__private::inventory::submit! {
            ::djust::__private::ViewRegistration { factory: ::djust::__private::ViewFactory::of::<#self_ty> }
        }
    }
}
