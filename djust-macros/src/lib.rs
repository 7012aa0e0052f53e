//! Procedural macros for djust. Use them through the `djust` facade crate,
//! which documents them; generated code reaches the runtime only through
//! `::djust::__private`.
#![forbid(unsafe_code)]

mod ctxt;
mod format_html;
mod html;

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
