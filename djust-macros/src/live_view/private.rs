//! The `_` fields a view's `impl` block uses, for the check that each is a
//! `djust::Private<_>`.
//!
//! The macro sees the `impl` block, not the struct, so it cannot list the
//! struct's fields; it collects every `_` field the block names: reads and
//! writes `self._name` (also inside macro arguments such as `format!`),
//! struct literals and patterns `Self { _name, .. }` / `View { _name, .. }`.
//! For each it generates `assert_private(&self._name)`, spanned on the
//! field, which fails to compile unless the field's type is `Private<_>`.
//! A `_` field the block never names (built by a constructor elsewhere and
//! never used here) is not checked.

use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::quote_spanned;
use syn::visit::Visit;
use syn::{Expr, ItemImpl, Member, Path};

/// `true` for `Self` or the view's own type name.
fn names_the_view(path: &Path, type_name: &str) -> bool {
    path.is_ident("Self")
        || path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == type_name)
}

fn is_private(ident: &Ident) -> bool {
    ident.to_string().starts_with('_')
}

struct Collector<'a> {
    type_name: &'a str,
    fields: Vec<Ident>,
}

impl Collector<'_> {
    fn add(&mut self, ident: &Ident) {
        if is_private(ident) && !self.fields.iter().any(|seen| seen == ident) {
            self.fields.push(ident.clone());
        }
    }

    /// `self . _name` in the tokens of a macro call.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (index, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(group) => self.scan_tokens(group.stream()),
                TokenTree::Ident(ident) if ident == "self" => {
                    if let (Some(TokenTree::Punct(dot)), Some(TokenTree::Ident(field))) =
                        (tokens.get(index + 1), tokens.get(index + 2))
                    {
                        if dot.as_char() == '.' {
                            self.add(field);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_expr_field(&mut self, node: &'ast syn::ExprField) {
        if let (Expr::Path(base), Member::Named(ident)) = (&*node.base, &node.member) {
            if base.path.is_ident("self") {
                self.add(ident);
            }
        }
        syn::visit::visit_expr_field(self, node);
    }

    fn visit_expr_struct(&mut self, node: &'ast syn::ExprStruct) {
        if names_the_view(&node.path, self.type_name) {
            for field in &node.fields {
                if let Member::Named(ident) = &field.member {
                    self.add(ident);
                }
            }
        }
        syn::visit::visit_expr_struct(self, node);
    }

    fn visit_pat_struct(&mut self, node: &'ast syn::PatStruct) {
        if names_the_view(&node.path, self.type_name) {
            for field in &node.fields {
                if let Member::Named(ident) = &field.member {
                    self.add(ident);
                }
            }
        }
        syn::visit::visit_pat_struct(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        self.scan_tokens(node.tokens.clone());
    }
}

/// The `_` fields `impl_block` names, in order of first use.
pub fn used_private_fields(impl_block: &ItemImpl, type_name: &str) -> Vec<Ident> {
    let mut collector = Collector {
        type_name,
        fields: Vec::new(),
    };
    collector.visit_item_impl(impl_block);
    collector.fields
}

/// A hidden method asserting each field is a `Private<_>`, or nothing.
pub fn checks(fields: &[Ident]) -> TokenStream {
    if fields.is_empty() {
        return TokenStream::new();
    }
    let asserts = fields.iter().map(|field| {
        let span = field.span();
        quote_spanned!(span=> ::djust::__private::assert_private(&self.#field);)
    });
    quote::quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        fn __djust_private_fields_are_private(&self) {
            #(#asserts)*
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_way_a_block_names_a_private_field() {
        let block: ItemImpl = syn::parse_quote! {
            impl Shop {
                fn mount() -> Self { Shop { _db: db(), name: String::new(), _key: k() } }
                fn render(&self) -> Html { let s = &self._token; html! { {s} } }
                fn helper(&self) { let Self { _cache, .. } = self; tracing::info!("{}", self._log.len()); }
                fn other(&self) { self.inner._nested; Other { _not_ours: 1 }; self._db.get(); }
            }
        };
        let names: Vec<String> = used_private_fields(&block, "Shop")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["_db", "_key", "_token", "_cache", "_log"]);
    }
}
