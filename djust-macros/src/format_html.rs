//! `format_html!`: `format!` for markup, escaping every argument.
//!
//! Only positional placeholders (`{}` and `{0}`) are accepted. Inline
//! captures like `{name}` would bypass the escaping wrapper that is put
//! around each argument, so they are a compile error, as are named
//! arguments and format specs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, LitStr, Token};

use crate::ctxt::Ctxt;

struct Input {
    format: LitStr,
    args: Punctuated<Expr, Token![,]>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let format: LitStr = input.parse()?;
        let args = if input.is_empty() {
            Punctuated::new()
        } else {
            input.parse::<Token![,]>()?;
            Punctuated::parse_terminated(input)?
        };
        Ok(Input { format, args })
    }
}

/// Checks the placeholders of `format`; `Ok(count)` of `{}` placeholders.
fn check_placeholders(format: &LitStr, cx: &Ctxt) {
    let text = format.value();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
            }
            '{' => {
                let mut inside = String::new();
                for next in chars.by_ref() {
                    if next == '}' {
                        break;
                    }
                    inside.push(next);
                }
                if !inside.is_empty() && !inside.chars().all(|c| c.is_ascii_digit()) {
                    cx.error_spanned_by(
                        format,
                        format!("`{{{inside}}}` is not supported by `format_html!`: only `{{}}` and `{{0}}` placeholders are, so that every value passes through the escaper\n\nhelp: pass the value as an argument: `format_html!(\"...{{}}...\", value)`"),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Expands a `format_html!` invocation.
pub fn expand(input: TokenStream) -> TokenStream {
    let input: Input = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let cx = Ctxt::new();
    check_placeholders(&input.format, &cx);
    for arg in &input.args {
        if let Expr::Assign(assign) = arg {
            cx.error_spanned_by(
                &assign.left,
                "named arguments are not supported by `format_html!`\n\nhelp: use positional arguments: `format_html!(\"{}\", value)`",
            );
        }
    }
    if let Err(error) = cx.check() {
        let error = error.to_compile_error();
        return quote! {{ #error ::djust::SafeHtml::default() }};
    }
    let format = &input.format;
    let args = input.args.iter();
    quote! {
        ::djust::__private::safe_html_from_format(::std::format!(
            #format #(, ::djust::__private::EscapeDisplay(&(#args)))*
        ))
    }
}
