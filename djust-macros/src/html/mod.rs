//! `html!`: parse → check → codegen over one AST.
//!
//! [`parse`] builds the [`ast`], [`check`] enforces the security rules,
//! [`nesting`] refuses markup the browser's parser would restructure,
//! [`links`] checks live links (`dj-patch`, `dj-navigate`), [`commands`]
//! makes a dynamic `dj-<event>={..}` accept only a `djust::JS`,
//! [`codegen`] walks the template once into one body writing to a sink that
//! is markup or VDOM nodes (picked at run time, `djust_runtime::template::mode`),
//! and [`trusted`] registers each place trusted markup enters the page for
//! the audit. Errors from parsing and
//! checking are accumulated in one [`Ctxt`] and reported together; on error
//! the macro still expands to a value of type `Html` so the surrounding code
//! does not fail with unrelated type errors.

pub mod ast;
pub mod check;
pub mod codegen;
pub mod commands;
pub mod links;
pub mod literal_branches;
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
            let body = codegen::expand(&nodes);
            let sites = trusted::registrations(&nodes);
            quote! {{
                #sites
                #body
            }}
        }
        Err(error) => {
            let error = error.to_compile_error();
            quote! {{ #error ::djust::Html::default() }}
        }
    }
}
