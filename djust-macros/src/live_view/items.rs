//! Reads the view's `impl` block: the lifecycle methods (`mount`, `render`,
//! `check_permissions`, `handle_tick`, `handle_info`) and every
//! `#[event_handler]` with its typed parameters, `#[default(..)]`s,
//! `#[rate_limit]` and `#[permission_required]`. The djust attributes are
//! removed from the items so the re-emitted `impl` compiles.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, FnArg, ImplItem, ImplItemFn, ItemImpl, Lit, Pat, ReturnType, Type};

use djust_rules::events::{EventNameProblem, MAX_EVENT_NAME_LEN};

use super::attrs::{is_snake_name, is_valid_permission};
use crate::ctxt::Ctxt;

/// Names with a fixed meaning that can never be event handlers.
pub const RESERVED: &[&str] = &[
    "mount",
    "render",
    "check_permissions",
    "handle_tick",
    "handle_info",
    "handle_params",
    "restored",
    "view",
];

/// How a handler receives the event context.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CtxArg {
    /// Not at all.
    None,
    /// `ctx: &EventCtx`.
    Shared,
    /// `ctx: &mut EventCtx`.
    Mut,
}

/// One typed handler parameter.
pub struct ParamDef {
    /// Its name (the JSON key).
    pub ident: syn::Ident,
    /// Its type.
    pub ty: Type,
    /// `#[default(expr)]`.
    pub default: Option<Expr>,
}

/// `#[rate_limit(...)]`.
pub struct RateLimitDef {
    /// Tokens per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
    /// `user`, `session` or `ip`.
    pub key: String,
}

/// One `#[event_handler]` method.
pub struct HandlerDef {
    /// Method name.
    pub ident: syn::Ident,
    /// `async fn`.
    pub is_async: bool,
    /// Context argument.
    pub ctx: CtxArg,
    /// Typed parameters.
    pub params: Vec<ParamDef>,
    /// `#[rate_limit]`.
    pub rate_limit: Option<RateLimitDef>,
    /// `#[permission_required]`.
    pub permission: Option<String>,
    /// `#[event_handler(offline)]`: the client may queue this event while
    /// offline and replay it later.
    pub offline: bool,
    /// Where type errors about the return value point.
    pub output_span: Span,
}

/// A lifecycle method that exists, with its shape.
pub struct Lifecycle {
    /// `async fn`.
    pub is_async: bool,
    /// Context argument (for `handle_tick`/`handle_info`).
    pub ctx: CtxArg,
    /// The message type of `handle_info`.
    pub message_ty: Option<Type>,
}

/// `handle_params`: its shape and typed URL parameters.
pub struct ParamsHook {
    /// `async fn`.
    pub is_async: bool,
    /// Context argument.
    pub ctx: CtxArg,
    /// Typed parameters, read from the URL's path and query.
    pub params: Vec<ParamDef>,
    /// Where type errors about the return value point.
    pub output_span: Span,
}

/// Everything the macro reads from the `impl` block.
pub struct ViewItems {
    /// `mount`.
    pub mount: Option<Lifecycle>,
    /// `render` exists.
    pub render: bool,
    /// `check_permissions` exists.
    pub check_permissions: bool,
    /// `handle_tick`.
    pub handle_tick: Option<(Lifecycle, Span)>,
    /// `handle_info`.
    pub handle_info: Option<Lifecycle>,
    /// `restored(&mut self, ctx: &mut MountCtx)` (a `persist` view back
    /// from its snapshot), with the name's span.
    pub restored: Option<(Lifecycle, Span)>,
    /// `handle_params`.
    pub handle_params: Option<ParamsHook>,
    /// `#[event_handler]` methods in source order.
    pub handlers: Vec<HandlerDef>,
}

fn is_attr(attr: &Attribute, name: &str) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == name)
}

/// `&EventCtx` / `&mut EventCtx` (by the last path segment).
fn ctx_arg_kind(ty: &Type) -> Option<CtxArg> {
    let Type::Reference(reference) = ty else {
        return None;
    };
    let Type::Path(path) = &*reference.elem else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "EventCtx" {
        return None;
    }
    Some(if reference.mutability.is_some() {
        CtxArg::Mut
    } else {
        CtxArg::Shared
    })
}

/// Reads `impl_block`, removing djust attributes from its items.
pub fn read(impl_block: &mut ItemImpl, cx: &Ctxt) -> ViewItems {
    let mut items = ViewItems {
        mount: None,
        render: false,
        check_permissions: false,
        handle_tick: None,
        handle_info: None,
        restored: None,
        handle_params: None,
        handlers: Vec::new(),
    };
    for item in &mut impl_block.items {
        let ImplItem::Fn(method) = item else { continue };
        let name = method.sig.ident.to_string();
        let is_handler = method
            .attrs
            .iter()
            .any(|attr| is_attr(attr, "event_handler"));
        if is_handler {
            if let Some(handler) = read_handler(method, cx) {
                items.handlers.push(handler);
            }
            continue;
        }
        for attr in &method.attrs {
            for stray in ["rate_limit", "permission_required"] {
                if is_attr(attr, stray) {
                    cx.error_spanned_by(attr, format!("`#[{stray}]` only applies to `#[event_handler]` methods\n\nhelp: add `#[event_handler]` to `{name}`, or remove `#[{stray}]`"));
                }
            }
        }
        method
            .attrs
            .retain(|attr| !is_attr(attr, "rate_limit") && !is_attr(attr, "permission_required"));
        let is_async = method.sig.asyncness.is_some();
        match name.as_str() {
            "mount" => {
                if method.sig.receiver().is_some() || method.sig.inputs.len() != 1 {
                    cx.error_spanned_by(&method.sig, "`mount` takes exactly one argument and no `self`: `async fn mount(ctx: &mut MountCtx) -> Result<Self>`");
                }
                items.mount = Some(Lifecycle {
                    is_async,
                    ctx: CtxArg::None,
                    message_ty: None,
                });
            }
            "render" => {
                if !matches!(method.sig.receiver(), Some(receiver) if receiver.reference.is_some() && receiver.mutability.is_none())
                    || method.sig.inputs.len() != 1
                    || is_async
                {
                    cx.error_spanned_by(&method.sig, "`render` must be `fn render(&self) -> Html` (synchronous, no other arguments)");
                }
                items.render = true;
            }
            "check_permissions" => items.check_permissions = true,
            "handle_tick" => {
                let (ctx, extra) = lifecycle_args(method, cx);
                if !extra.is_empty() {
                    cx.error_spanned_by(
                        &method.sig,
                        "`handle_tick` takes `&mut self` and optionally `ctx: &mut EventCtx`",
                    );
                }
                items.handle_tick = Some((
                    Lifecycle {
                        is_async,
                        ctx,
                        message_ty: None,
                    },
                    method.sig.ident.span(),
                ));
            }
            "restored" => {
                let takes_self_mut = matches!(method.sig.receiver(), Some(receiver) if receiver.mutability.is_some());
                if !takes_self_mut || method.sig.inputs.len() != 2 {
                    cx.error_spanned_by(&method.sig, "`restored` takes `&mut self` and the mount context: `fn restored(&mut self, ctx: &mut MountCtx)`");
                }
                items.restored = Some((
                    Lifecycle {
                        is_async,
                        ctx: CtxArg::None,
                        message_ty: None,
                    },
                    method.sig.ident.span(),
                ));
            }
            "handle_params" => {
                if !matches!(method.sig.receiver(), Some(receiver) if receiver.mutability.is_some())
                {
                    cx.error_spanned_by(&method.sig.ident, "`handle_params` must take `&mut self`: `fn handle_params(&mut self, ctx: &mut EventCtx, page: Option<u32>)`");
                }
                if !method.sig.generics.params.is_empty() {
                    cx.error_spanned_by(&method.sig.generics, "`handle_params` cannot be generic: parameters are decoded into concrete types");
                }
                if let Some((ctx, params)) = read_params(method, "handle_params", cx) {
                    let output_span = match &method.sig.output {
                        ReturnType::Type(_, ty) => ty.span(),
                        ReturnType::Default => method.sig.ident.span(),
                    };
                    items.handle_params = Some(ParamsHook {
                        is_async,
                        ctx,
                        params,
                        output_span,
                    });
                }
            }
            "handle_info" => {
                let (ctx, extra) = lifecycle_args(method, cx);
                if extra.len() != 1 {
                    cx.error_spanned_by(&method.sig, "`handle_info` takes `&mut self`, optionally `ctx: &mut EventCtx`, and one message: `fn handle_info(&mut self, message: ChatMessage)`");
                }
                items.handle_info = Some(Lifecycle {
                    is_async,
                    ctx,
                    message_ty: extra.into_iter().next(),
                });
            }
            _ => {}
        }
    }
    items
}

/// The ctx kind and the other argument types of a `&mut self` method.
fn lifecycle_args(method: &ImplItemFn, cx: &Ctxt) -> (CtxArg, Vec<Type>) {
    if !matches!(method.sig.receiver(), Some(receiver) if receiver.mutability.is_some()) {
        cx.error_spanned_by(
            &method.sig.ident,
            format!("`{}` must take `&mut self`", method.sig.ident),
        );
    }
    let mut ctx = CtxArg::None;
    let mut rest = Vec::new();
    for input in method.sig.inputs.iter().skip(1) {
        if let FnArg::Typed(arg) = input {
            match ctx_arg_kind(&arg.ty) {
                Some(kind) if rest.is_empty() && ctx == CtxArg::None => ctx = kind,
                _ => rest.push((*arg.ty).clone()),
            }
        }
    }
    (ctx, rest)
}

fn read_handler(method: &mut ImplItemFn, cx: &Ctxt) -> Option<HandlerDef> {
    let ident = method.sig.ident.clone();
    let name = ident.to_string();
    let mut valid = true;
    if RESERVED.contains(&name.as_str()) {
        cx.error_spanned_by(&ident, format!("`{name}` is a lifecycle method and cannot be an `#[event_handler]`\n\nhelp: rename the handler, e.g. `{name}_clicked`"));
        valid = false;
    } else {
        match djust_rules::events::check_event_name(&name) {
            Ok(()) => {}
            Err(EventNameProblem::TooLong { len }) => {
                cx.error_spanned_by(&ident, format!("handler name `{name}` is {len} bytes long, but event names are at most {MAX_EVENT_NAME_LEN} bytes: the runtime refuses longer names before dispatch, so this handler could never be called\n\nhelp: give it a shorter name"));
                valid = false;
            }
            Err(_) => {
                cx.error_spanned_by(&ident, format!("handler name `{name}` must match `^[a-z][a-z0-9_]*$` without `__` (it is the event name sent over the wire)\n\nhelp: rename it in snake_case, e.g. `{}`", name.trim_start_matches('_').to_lowercase().replace("__", "_")));
                valid = false;
            }
        }
    }
    let mut rate_limit = None;
    let mut permission = None;
    let mut seen_handler = false;
    let mut offline = false;
    for attr in &method.attrs {
        if is_attr(attr, "event_handler") {
            if seen_handler {
                cx.error_spanned_by(attr, "duplicate `#[event_handler]`");
            }
            seen_handler = true;
            offline = parse_handler_args(attr, cx);
        } else if is_attr(attr, "rate_limit") {
            if rate_limit.is_some() {
                cx.error_spanned_by(attr, "duplicate `#[rate_limit]`");
            }
            rate_limit = parse_rate_limit(attr, cx);
        } else if is_attr(attr, "permission_required") {
            if permission.is_some() {
                cx.error_spanned_by(attr, "duplicate `#[permission_required]`");
            }
            match attr.parse_args::<syn::LitStr>() {
                Ok(lit) => {
                    if !is_valid_permission(&lit.value()) {
                        cx.error_spanned_by(&lit, format!("`{}` is not a permission: use `app.codename`, e.g. `#[permission_required(\"contacts.delete\")]`", lit.value()));
                    }
                    permission = Some(lit.value());
                }
                Err(_) => {
                    cx.error_spanned_by(attr, "expected `#[permission_required(\"app.codename\")]`")
                }
            }
        }
    }
    method.attrs.retain(|attr| {
        !is_attr(attr, "event_handler")
            && !is_attr(attr, "rate_limit")
            && !is_attr(attr, "permission_required")
    });

    match method.sig.receiver() {
        Some(receiver) if receiver.reference.is_some() => {}
        _ => {
            cx.error_spanned_by(
                &method.sig.ident,
                format!("`#[event_handler]` `{name}` must take `&mut self` (or `&self`)"),
            );
            valid = false;
        }
    }
    if !method.sig.generics.params.is_empty() {
        cx.error_spanned_by(&method.sig.generics, "`#[event_handler]` methods cannot be generic: parameters are decoded into concrete types");
        valid = false;
    }
    if let ReturnType::Type(_, ty) = &method.sig.output {
        if matches!(**ty, Type::ImplTrait(_)) {
            cx.error_spanned_by(ty, "`#[event_handler]` must return `()` or `Result<(), E>`");
        }
    }

    let (ctx, params) = match read_params(method, "handler", cx) {
        Some(read) => read,
        None => {
            valid = false;
            (CtxArg::None, Vec::new())
        }
    };
    let output_span = match &method.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => ident.span(),
    };
    valid.then_some(HandlerDef {
        ident,
        is_async: method.sig.asyncness.is_some(),
        ctx,
        params,
        rate_limit,
        permission,
        offline,
        output_span,
    })
}

/// The arguments of `#[event_handler]`: none, or `offline`. Returns
/// whether the handler opted in to offline replay.
fn parse_handler_args(attr: &Attribute, cx: &Ctxt) -> bool {
    let list = match &attr.meta {
        syn::Meta::Path(_) => return false,
        syn::Meta::List(list) => list,
        syn::Meta::NameValue(_) => {
            cx.error_spanned_by(attr, "`#[event_handler]` takes no value\n\nhelp: write `#[event_handler]`, or `#[event_handler(offline)]` to let the client queue this event while offline");
            return false;
        }
    };
    let mut offline = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("offline") {
            if offline {
                cx.error_spanned_by(&meta.path, "`offline` specified more than once");
            }
            offline = true;
            if meta.input.peek(syn::Token![=]) {
                cx.error_spanned_by(
                    &meta.path,
                    "`offline` takes no value: write `#[event_handler(offline)]`",
                );
                let _: Expr = meta.value()?.parse()?;
            }
        } else {
            let hint = match meta.path.get_ident().map(ToString::to_string) {
                Some(word) if super::attrs::did_you_mean(&word, ["offline"]).is_some() => {
                    "did you mean `offline`? "
                }
                _ => "",
            };
            cx.error_spanned_by(&meta.path, format!("unknown `#[event_handler]` option\n\nhelp: {hint}the only option is `offline` (`#[event_handler(offline)]`: the client may queue this event while offline and replay it later)"));
            if meta.input.peek(syn::Token![=]) {
                let _: Expr = meta.value()?.parse()?;
            }
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, list.tokens.clone()) {
        cx.syn_error(error);
    }
    offline
}

/// The context argument and the typed parameters of a handler or of
/// `handle_params` (`what`), removing their `#[default]`s; `None` when one
/// is malformed (reported).
fn read_params(method: &mut ImplItemFn, what: &str, cx: &Ctxt) -> Option<(CtxArg, Vec<ParamDef>)> {
    let mut valid = true;
    let source = if what == "handler" {
        "the event's params"
    } else {
        "the URL's path and query"
    };
    let mut ctx = CtxArg::None;
    let mut params = Vec::new();
    for (position, input) in method.sig.inputs.iter_mut().enumerate().skip(1) {
        let FnArg::Typed(arg) = input else { continue };
        let default = take_default(&mut arg.attrs, cx);
        if let Some(kind) = ctx_arg_kind(&arg.ty) {
            if position != 1 {
                cx.error_spanned_by(
                    &arg.ty,
                    "the `EventCtx` argument must come first, right after `self`",
                );
                valid = false;
            }
            ctx = kind;
            continue;
        }
        let Pat::Ident(pat) = &*arg.pat else {
            cx.error_spanned_by(&arg.pat, format!("{what} parameters must be plain names (`id: i64`): the name is the key read from {source}"));
            valid = false;
            continue;
        };
        let param_name = pat.ident.to_string();
        let key = param_name.trim_start_matches("r#");
        if !is_snake_name(key) {
            cx.error_spanned_by(&pat.ident, format!("parameter name `{key}` must match `^[a-z][a-z0-9_]*$` (it is read from {source})"));
            valid = false;
        }
        if let Type::Reference(reference) = &*arg.ty {
            let hint = if reference.elem.to_token_stream().to_string() == "str" {
                "String"
            } else {
                "an owned type"
            };
            cx.error_spanned_by(
                &arg.ty,
                format!(
                    "{what} parameters are decoded from {} and must be owned: use {hint}",
                    if what == "handler" {
                        "the event's JSON"
                    } else {
                        source
                    }
                ),
            );
            valid = false;
            continue;
        }
        params.push(ParamDef {
            ident: pat.ident.clone(),
            ty: (*arg.ty).clone(),
            default,
        });
    }
    valid.then_some((ctx, params))
}

/// Removes `#[default(expr)]` (or `#[default = expr]`) from a parameter.
fn take_default(attrs: &mut Vec<Attribute>, cx: &Ctxt) -> Option<Expr> {
    let mut default = None;
    attrs.retain(|attr| {
        if !is_attr(attr, "default") {
            return true;
        }
        let parsed = match &attr.meta {
            syn::Meta::List(_) => attr.parse_args::<Expr>().ok(),
            syn::Meta::NameValue(nv) => Some(nv.value.clone()),
            syn::Meta::Path(_) => None,
        };
        match parsed {
            Some(expr) => default = Some(expr),
            None => cx.error_spanned_by(
                attr,
                "expected `#[default(expr)]`, e.g. `#[default(1)] page: u32`",
            ),
        }
        false
    });
    default
}

fn lit_number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(int) => int.base10_parse::<f64>().ok(),
            Lit::Float(float) => float.base10_parse::<f64>().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn parse_rate_limit(attr: &Attribute, cx: &Ctxt) -> Option<RateLimitDef> {
    let mut rate = None;
    let mut burst = None;
    let mut rate_given = false;
    let mut burst_given = false;
    let mut key = "user".to_string();
    let result = attr.parse_nested_meta(|meta| {
        let name = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        match name.as_str() {
            "rate" => {
                rate_given = true;
                let expr: Expr = meta.value()?.parse()?;
                match lit_number(&expr) {
                    Some(value) if value > 0.0 && value.is_finite() => rate = Some(value),
                    _ => cx.error_spanned_by(&expr, "`rate` is events per second and must be a number > 0, e.g. `rate = 5`"),
                }
            }
            "burst" => {
                burst_given = true;
                let lit: syn::LitInt = meta.value()?.parse()?;
                match lit.base10_parse::<u32>() {
                    Ok(value) if value >= 1 => burst = Some(value),
                    _ => cx.error_spanned_by(&lit, "`burst` must be an integer ≥ 1, e.g. `burst = 3`"),
                }
            }
            "key" => {
                let lit: syn::LitStr = meta.value()?.parse()?;
                let value = lit.value();
                if !matches!(value.as_str(), "user" | "session" | "ip") {
                    cx.error_spanned_by(&lit, format!("rate-limit `key` must be \"user\", \"session\" or \"ip\", not \"{value}\""));
                }
                key = value;
            }
            other => {
                cx.error_spanned_by(&meta.path, format!("unknown `#[rate_limit]` option `{other}`\n\nhelp: options are rate, burst, key"));
                if meta.input.peek(syn::Token![=]) {
                    let _: Expr = meta.value()?.parse()?;
                }
            }
        }
        Ok(())
    });
    if let Err(error) = result {
        cx.syn_error(error);
        return None;
    }
    match (rate, burst) {
        (Some(rate), Some(burst)) => Some(RateLimitDef { rate, burst, key }),
        // An invalid value was already reported on its own token.
        _ if rate_given && burst_given => None,
        _ => {
            cx.error_at(attr.span(), "`#[rate_limit]` needs both `rate` and `burst`, e.g. `#[rate_limit(rate = 5, burst = 3)]`");
            None
        }
    }
}
