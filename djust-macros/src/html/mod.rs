//! `html!`: parse → check → codegen over one AST.
//!
//! [`parse`] builds the [`ast`], [`check`] enforces the security rules,
//! [`nesting`] refuses markup the browser's parser would restructure,
//! [`links`] checks live links (`dj-patch`, `dj-navigate`), [`commands`]
//! makes a dynamic `dj-<event>={..}` accept only a `djust::JS`,
//! [`codegen`] writes the server-side rendering code and [`codegen_vdom`]
//! the VDOM-building code, and [`trusted`] registers each place trusted
//! markup enters the page for the audit; the expansion picks one at run time
//! (`djust_runtime::template::mode`). Errors from parsing and
//! checking are accumulated in one [`Ctxt`] and reported together; on error
//! the macro still expands to a value of type `Html` so the surrounding code
//! does not fail with unrelated type errors.

pub mod ast;
pub mod check;
pub mod codegen;
pub mod codegen_vdom;
pub mod commands;
pub mod links;
pub mod nesting;
pub mod parse;
pub mod streams;
pub mod trusted;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;

/// Expands an `html!` invocation.
pub fn expand(input: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let mut nodes = match parse::parse_template(input, &cx) {
        Ok(nodes) => nodes,
        Err(error) => {
            cx.syn_error(error);
            Vec::new()
        }
    };
    check::check(&nodes, &cx);
    nesting::check(&nodes, &cx);
    links::check(&nodes, &cx);
    match cx.check() {
        Ok(()) => {
            commands::rewrite(&mut nodes);
            let markup = codegen::expand(&nodes);
            let vdom = codegen_vdom::expand(&nodes);
            let sites = trusted::registrations(&nodes);
            quote! {{
                #sites
                if ::djust::__private::vdom_mode() { #vdom } else { #markup }
            }}
        }
        Err(error) => {
            let error = error.to_compile_error();
            quote! {{ #error ::djust::Html::default() }}
        }
    }
}
