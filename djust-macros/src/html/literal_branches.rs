//! Attribute values that choose between string literals, escaped at
//! compile time.
//!
//! `class={if active { "on" } else { "off" }}` (or a `match` whose every arm
//! is a string literal) can only ever write one of its literals, so the
//! expansion branches on the user's condition itself and writes each
//! branch's whole attribute (` class="on"`) as one static string, escaped
//! here by the escaper the runtime uses for dynamic values. Server-side
//! rendering then copies a constant instead of scanning and copying a
//! `&str` at run time; the VDOM gets the literal's text in the attribute's
//! slot exactly as the `&str` would have put it there. Any other shape
//! (a branch that is not a literal, an `if` without `else`, attributes on
//! an arm) keeps the ordinary run-time path.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Expr, ExprIf, ExprMatch, LitStr, Stmt};

use djust_rules::escape::escape_into;

/// The code writing `expr` into attribute `name` (dynamic slot `slot`) when
/// every value `expr` can produce is a string literal; `None` otherwise.
/// `write` turns one literal into the statement that writes it, given the
/// attribute's whole markup and the literal's text.
pub fn literal_branches(
    expr: &Expr,
    write: &dyn Fn(&LitStr, String) -> TokenStream,
    name: &str,
) -> Option<TokenStream> {
    let leaf = |lit: &LitStr| {
        let mut markup = format!(" {name}=\"");
        escape_into(&lit.value(), &mut markup);
        markup.push('"');
        write(lit, markup)
    };
    branches(expr, &leaf)
}

fn branches(expr: &Expr, leaf: &dyn Fn(&LitStr) -> TokenStream) -> Option<TokenStream> {
    match expr {
        Expr::Lit(lit) if lit.attrs.is_empty() => match &lit.lit {
            syn::Lit::Str(text) => Some(leaf(text)),
            _ => None,
        },
        Expr::Paren(inner) if inner.attrs.is_empty() => branches(&inner.expr, leaf),
        Expr::Group(inner) if inner.attrs.is_empty() => branches(&inner.expr, leaf),
        Expr::Block(block) if block.attrs.is_empty() && block.label.is_none() => {
            block_tail(&block.block, leaf)
        }
        Expr::If(expr_if) => if_branches(expr_if, leaf),
        Expr::Match(expr_match) => match_branches(expr_match, leaf),
        _ => None,
    }
}

/// A block that is only a tail expression (`{ "on" }`).
fn block_tail(block: &syn::Block, leaf: &dyn Fn(&LitStr) -> TokenStream) -> Option<TokenStream> {
    match block.stmts.as_slice() {
        [Stmt::Expr(tail, None)] => branches(tail, leaf),
        _ => None,
    }
}

fn if_branches(expr_if: &ExprIf, leaf: &dyn Fn(&LitStr) -> TokenStream) -> Option<TokenStream> {
    if !expr_if.attrs.is_empty() {
        return None;
    }
    let (_, otherwise) = expr_if.else_branch.as_ref()?;
    let then_code = block_tail(&expr_if.then_branch, leaf)?;
    let else_code = branches(otherwise, leaf)?;
    let if_token = expr_if.if_token;
    let cond = &expr_if.cond;
    Some(quote!(#if_token #cond { #then_code } else { #else_code }))
}

fn match_branches(
    expr_match: &ExprMatch,
    leaf: &dyn Fn(&LitStr) -> TokenStream,
) -> Option<TokenStream> {
    if !expr_match.attrs.is_empty() {
        return None;
    }
    let mut arms = Vec::with_capacity(expr_match.arms.len());
    for arm in &expr_match.arms {
        if !arm.attrs.is_empty() {
            return None;
        }
        let body = branches(&arm.body, leaf)?;
        let pat = &arm.pat;
        let guard = arm
            .guard
            .as_ref()
            .map(|(if_token, guard)| quote!(#if_token #guard));
        arms.push(quote!(#pat #guard => { #body }));
    }
    let match_token = expr_match.match_token;
    let scrutinee = &expr_match.expr;
    Some(quote_spanned!(match_token.span=> #match_token #scrutinee { #(#arms)* }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(source: &str) -> Option<String> {
        let expr: Expr = syn::parse_str(source).ok()?;
        let write = |lit: &LitStr, markup: String| {
            let raw = lit.value();
            quote!(write(#markup, #raw);)
        };
        literal_branches(&expr, &write, "class").map(|code| code.to_string())
    }

    #[test]
    fn if_else_of_literals_branches_on_the_condition() {
        let code = expand(r#"if index == 0 { "champion" } else { "" }"#).unwrap_or_default();
        assert!(
            code.contains(r#"write (" class=\"champion\"" , "champion")"#),
            "{code}"
        );
        assert!(code.contains(r#"write (" class=\"\"" , "")"#), "{code}");
        assert!(code.starts_with("if index == 0"), "{code}");
    }

    #[test]
    fn literals_are_escaped_for_the_attribute() {
        let code =
            expand(r#"if hostile { "\"><script>x</script>" } else { "a&b" }"#).unwrap_or_default();
        assert!(
            code.contains("&quot;&gt;&lt;script&gt;x&lt;/script&gt;"),
            "{code}"
        );
        assert!(code.contains("a&amp;b"), "{code}");
    }

    #[test]
    fn else_if_chains_and_matches_are_covered() {
        assert!(expand(r#"if a { "x" } else if b { "y" } else { "z" }"#).is_some());
        assert!(expand(
            r#"match n { 0 => "zero", 1 | 2 => { "few" } _ if big => "big", _ => "many" }"#
        )
        .is_some());
        assert!(expand(r#"("plain")"#).is_some());
    }

    #[test]
    fn anything_not_a_literal_keeps_the_runtime_path() {
        for source in [
            r#"if a { "x" }"#,
            r#"if a { "x" } else { name }"#,
            r#"if a { "x" } else { format!("y") }"#,
            r#"match n { 0 => "zero", _ => other }"#,
            r#"if a { let s = "x"; s } else { "y" }"#,
            r#"match n { #[cfg(test)] 0 => "zero", _ => "many" }"#,
            "name",
            "5",
        ] {
            assert!(expand(source).is_none(), "{source}");
        }
    }
}
