//! Procedural macros for djust. Use them through the `djust` facade crate,
//! which documents them; generated code reaches the runtime only through
//! `::djust::__private`.
#![forbid(unsafe_code)]

mod ctxt;
mod format_html;
pub(crate) mod html;
mod live_component;
mod live_view;

use proc_macro::TokenStream;

/// Writes HTML with compile-time, context-aware escaping. See `djust::html!`.
#[proc_macro]
pub fn html(input: TokenStream) -> TokenStream {
    html::expand(input.into()).into()
}

/// Builds `SafeHtml` from a format string, escaping every argument. See `djust::format_html!`.
#[proc_macro]
pub fn format_html(input: TokenStream) -> TokenStream {
    format_html::expand(input.into()).into()
}

/// Turns an `impl` block into a live view. See `djust::live_view`.
#[proc_macro_attribute]
pub fn live_view(args: TokenStream, input: TokenStream) -> TokenStream {
    live_view::expand(args.into(), input.into()).into()
}

/// Turns an `impl` block into a stateful component. See `djust::live_component`.
#[proc_macro_attribute]
pub fn live_component(args: TokenStream, input: TokenStream) -> TokenStream {
    live_component::expand(args.into(), input.into()).into()
}

/// Marks a method as callable from the client. Only valid inside `#[live_view]`.
#[proc_macro_attribute]
pub fn event_handler(_args: TokenStream, input: TokenStream) -> TokenStream {
    live_view::misplaced("event_handler", input.into()).into()
}

/// Rate-limits an event handler. Only valid inside `#[live_view]`.
#[proc_macro_attribute]
pub fn rate_limit(_args: TokenStream, input: TokenStream) -> TokenStream {
    live_view::misplaced("rate_limit", input.into()).into()
}

/// Requires a permission for an event handler. Only valid inside `#[live_view]`.
#[proc_macro_attribute]
pub fn permission_required(_args: TokenStream, input: TokenStream) -> TokenStream {
    live_view::misplaced("permission_required", input.into()).into()
}
