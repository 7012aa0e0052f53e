//! Parser for the `html!` syntax, written on `syn`.
//!
//! Why not rstml: the design's control flow is bare Rust keywords inside
//! markup (`if`, `if let`, `match`, `for pat in iter key = expr`) plus the
//! `{expr|safe}` filter. rstml has no such nodes (rstml-control-flow uses
//! `@if`), so every control-flow construct would be a custom node re-entering
//! rstml's recursive parser, and its 0.13 line moved to syn 3 while the rest
//! of our dependency tree (serde_derive, tokio-macros, askama, ...) is on
//! syn 2. The grammar is small, so a direct `syn` parser keeps one syn major,
//! exact spans for every check, and recovery we control.
//!
//! Errors come in two levels (maud's and rstml's split): malformed syntax is
//! a hard `syn::Error` that stops parsing; structural mistakes (mismatched,
//! unclosed or stray tags, dynamic attribute names, unquoted literals) are
//! pushed to the [`Ctxt`] and parsing goes on, so all of them are reported.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{braced, Expr, Ident, Lit, LitStr, Pat, Token};

use super::ast::{
    is_void, Arm, Attr, AttrValue, Condition, Element, Else, ForNode, HtmlName, IfNode, MatchNode,
    Node, Splice,
};
use crate::ctxt::Ctxt;

mod kw {
    syn::custom_keyword!(key);
    syn::custom_keyword!(safe);
}

/// Parses a whole template.
pub fn parse_template(input: TokenStream, cx: &Ctxt) -> syn::Result<Vec<Node>> {
    (|stream: ParseStream| parse_nodes(stream, cx, &mut Vec::new())).parse2(input)
}

/// `true` when the stream is at `</`.
fn at_closing_tag(input: ParseStream) -> bool {
    input.peek(Token![<]) && input.peek2(Token![/])
}

/// Parses sibling nodes until the end of the stream or a closing tag of an
/// element open around them (`ancestors`, innermost last). A closing tag that
/// matches no open element is reported as stray, skipped, and parsing goes on.
fn parse_nodes(
    input: ParseStream,
    cx: &Ctxt,
    ancestors: &mut Vec<HtmlName>,
) -> syn::Result<Vec<Node>> {
    let mut nodes = Vec::new();
    while !input.is_empty() {
        if at_closing_tag(input) {
            let closing = parse_closing_tag(&input.fork())?;
            if ancestors.iter().any(|open| open.value == closing.value) {
                break;
            }
            parse_closing_tag(input)?;
            let hint = if is_void(&closing.value) {
                format!(
                    "`<{0}>` is a void element and has no closing tag: remove `</{0}>`",
                    closing.value
                )
            } else if let Some(open) = ancestors.last() {
                format!("the innermost open element here is `<{}>`; remove `</{}>` or close `<{}>` first", open.value, closing.value, open.value)
            } else {
                format!(
                    "remove it, or add the opening `<{}>` it should close",
                    closing.value
                )
            };
            cx.error_spanned_by(
                &closing.tokens,
                format!(
                    "stray closing tag `</{}>` has no matching opening tag\n\nhelp: {hint}",
                    closing.value
                ),
            );
            continue;
        }
        if let Some(node) = parse_node(input, cx, ancestors)? {
            nodes.push(node);
        }
    }
    Ok(nodes)
}

/// Parses one node; `None` when the input was consumed with a soft error.
fn parse_node(
    input: ParseStream,
    cx: &Ctxt,
    ancestors: &mut Vec<HtmlName>,
) -> syn::Result<Option<Node>> {
    if input.peek(Token![<]) {
        return parse_element(input, cx, ancestors).map(|e| Some(Node::Element(e)));
    }
    if input.peek(LitStr) {
        return Ok(Some(Node::Text(input.parse()?)));
    }
    if input.peek(Lit) {
        let lit: Lit = input.parse()?;
        let shown = lit.to_token_stream().to_string();
        cx.error_spanned_by(
            &lit,
            format!("text in `html!` must be a string literal\n\nhelp: write `\"{shown}\"`, or `{{{shown}}}` to render a value"),
        );
        return Ok(None);
    }
    if input.peek(syn::token::Brace) {
        return parse_splice(input, cx).map(|s| s.map(Node::Splice));
    }
    if input.peek(Token![if]) {
        return parse_if(input, cx).map(|n| Some(Node::If(n)));
    }
    if input.peek(Token![for]) {
        return parse_for(input, cx).map(|n| Some(Node::For(n)));
    }
    if input.peek(Token![match]) {
        return parse_match(input, cx).map(|n| Some(Node::Match(n)));
    }
    if input.peek(Ident::peek_any) {
        let ident = Ident::parse_any(input)?;
        return Err(syn::Error::new(
            ident.span(),
            format!("unexpected `{ident}` in `html!`\n\nhelp: text must be quoted (`\"{ident}\"`) and values go in braces (`{{{ident}}}`)"),
        ));
    }
    Err(input
        .error("expected an element `<tag>`, text in quotes, `{expr}`, `if`, `for` or `match`"))
}

/// Parses `div`, `dj-click`, `xlink:href`, `dj-keydown.enter`.
fn parse_name(input: ParseStream) -> syn::Result<HtmlName> {
    let first = Ident::parse_any(input)?;
    let span = first.span();
    let mut value = first.to_string();
    let mut tokens = first.to_token_stream();
    loop {
        let separator = if input.peek(Token![-]) {
            let dash: Token![-] = input.parse()?;
            dash.to_tokens(&mut tokens);
            '-'
        } else if input.peek(Token![:]) && !input.peek(Token![::]) {
            let colon: Token![:] = input.parse()?;
            colon.to_tokens(&mut tokens);
            ':'
        } else if input.peek(Token![.]) {
            let dot: Token![.] = input.parse()?;
            dot.to_tokens(&mut tokens);
            '.'
        } else {
            break;
        };
        value.push(separator);
        if input.peek(Ident::peek_any) {
            let part = Ident::parse_any(input)?;
            value.push_str(&part.to_string());
            part.to_tokens(&mut tokens);
        } else if input.peek(syn::LitInt) {
            let part: syn::LitInt = input.parse()?;
            value.push_str(&part.to_string());
            part.to_tokens(&mut tokens);
        } else {
            return Err(input.error(format!("expected a name after `{separator}`")));
        }
    }
    Ok(HtmlName {
        value,
        tokens,
        span,
    })
}

/// Parses `</name>` and returns the name.
fn parse_closing_tag(input: ParseStream) -> syn::Result<HtmlName> {
    input.parse::<Token![<]>()?;
    input.parse::<Token![/]>()?;
    let name = parse_name(input)?;
    input.parse::<Token![>]>()?;
    Ok(name)
}

/// Parses an element; `ancestors` are the elements open around it in the
/// same stream, so a closing tag meant for one of them is left in place.
fn parse_element(
    input: ParseStream,
    cx: &Ctxt,
    ancestors: &mut Vec<HtmlName>,
) -> syn::Result<Element> {
    input.parse::<Token![<]>()?;
    let name = parse_name(input)?;
    let mut attrs = Vec::new();
    loop {
        if input.peek(Token![>]) || (input.peek(Token![/]) && input.peek2(Token![>])) {
            break;
        }
        if input.is_empty() {
            return Err(syn::Error::new(
                name.span,
                format!("`<{}` is missing its `>`", name.value),
            ));
        }
        if input.peek(syn::token::Brace) {
            let content;
            let brace = braced!(content in input);
            let _: TokenStream = content.parse()?;
            cx.error_at(
                brace.span.join(),
                "dynamic attribute names are not allowed: an attribute's name decides how its value is escaped and must be known at compile time\n\nhelp: write the name literally, e.g. `title={value}`",
            );
            if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                parse_attr_value(input)?;
            }
            continue;
        }
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            cx.error_spanned_by(
                &lit,
                "dynamic or quoted attribute names are not allowed\n\nhelp: write the name literally, e.g. `title=\"...\"`",
            );
            continue;
        }
        let attr_name = parse_name(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            parse_attr_value(input)?
        } else {
            AttrValue::Bare
        };
        attrs.push(Attr {
            name: attr_name,
            value,
        });
    }
    if input.peek(Token![/]) {
        input.parse::<Token![/]>()?;
        input.parse::<Token![>]>()?;
        return Ok(Element {
            name,
            attrs,
            children: Vec::new(),
        });
    }
    input.parse::<Token![>]>()?;
    if is_void(&name.value) {
        return Ok(Element {
            name,
            attrs,
            children: Vec::new(),
        });
    }
    ancestors.push(name.clone());
    let children = parse_nodes(input, cx, ancestors);
    ancestors.pop();
    let children = children?;
    if input.is_empty() {
        cx.error_spanned_by(
            &name.tokens,
            format!(
                "unclosed element `<{0}>`\n\nhelp: close it with `</{0}>`, or write `<{0}/>` if it has no children",
                name.value
            ),
        );
        return Ok(Element {
            name,
            attrs,
            children,
        });
    }
    // At a closing tag: ours, or an ancestor's (then we are unclosed).
    let closing = parse_closing_tag(&input.fork())?;
    if closing.value == name.value {
        parse_closing_tag(input)?;
    } else {
        cx.error_spanned_by(
            &name.tokens,
            format!(
                "element `<{0}>` is not closed before `</{1}>`\n\nhelp: tags must nest: add `</{0}>` before `</{1}>`",
                name.value, closing.value
            ),
        );
    }
    Ok(Element {
        name,
        attrs,
        children,
    })
}

fn parse_attr_value(input: ParseStream) -> syn::Result<AttrValue> {
    if input.peek(LitStr) {
        return Ok(AttrValue::Literal(input.parse()?));
    }
    if input.peek(syn::token::Brace) {
        let content;
        braced!(content in input);
        let expr: Expr = content.parse()?;
        if !content.is_empty() {
            return Err(content.error("unexpected tokens after the attribute's expression"));
        }
        return Ok(AttrValue::Dynamic(Box::new(expr)));
    }
    Err(input.error(
        "an attribute value must be a string literal `\"...\"` or an expression in braces `{...}`",
    ))
}

/// `{expr}` or `{expr|safe}`.
fn parse_splice(input: ParseStream, cx: &Ctxt) -> syn::Result<Option<Splice>> {
    let group: proc_macro2::Group = input.parse()?;
    debug_assert_eq!(group.delimiter(), Delimiter::Brace);
    let mut tokens: Vec<TokenTree> = group.stream().into_iter().collect();
    if tokens.is_empty() {
        cx.error_at(group.span(), "empty `{}` in `html!`\n\nhelp: put an expression inside, e.g. `{self.count}`, or remove the braces");
        return Ok(None);
    }
    let safe = is_safe_suffix(&tokens);
    if safe {
        tokens.truncate(tokens.len() - 2);
    }
    let stream: TokenStream = tokens.into_iter().collect();
    let expr: Expr = syn::parse2(stream)?;
    Ok(Some(Splice {
        expr: Box::new(expr),
        safe,
    }))
}

/// `… | safe` at the end (and not `… || safe`).
fn is_safe_suffix(tokens: &[TokenTree]) -> bool {
    let n = tokens.len();
    if n < 3 {
        return false;
    }
    let is_safe = matches!(&tokens[n - 1], TokenTree::Ident(ident) if ident == "safe");
    let is_pipe = matches!(&tokens[n - 2], TokenTree::Punct(p) if p.as_char() == '|' && p.spacing() == Spacing::Alone);
    let double_pipe = matches!(&tokens[n - 3], TokenTree::Punct(p) if p.as_char() == '|' && p.spacing() == Spacing::Joint);
    is_safe && is_pipe && !double_pipe
}

fn parse_body(input: ParseStream, cx: &Ctxt) -> syn::Result<Vec<Node>> {
    let content;
    braced!(content in input);
    parse_nodes(&content, cx, &mut Vec::new())
}

fn parse_if(input: ParseStream, cx: &Ctxt) -> syn::Result<IfNode> {
    input.parse::<Token![if]>()?;
    let condition = if input.peek(Token![let]) {
        input.parse::<Token![let]>()?;
        let pat = Pat::parse_multi_with_leading_vert(input)?;
        input.parse::<Token![=]>()?;
        let expr = Expr::parse_without_eager_brace(input)?;
        Condition::Let(Box::new(pat), Box::new(expr))
    } else {
        Condition::Bool(Box::new(Expr::parse_without_eager_brace(input)?))
    };
    let then_branch = parse_body(input, cx)?;
    let else_branch = if input.peek(Token![else]) {
        input.parse::<Token![else]>()?;
        if input.peek(Token![if]) {
            Some(Else::If(Box::new(parse_if(input, cx)?)))
        } else {
            Some(Else::Block(parse_body(input, cx)?))
        }
    } else {
        None
    };
    Ok(IfNode {
        condition,
        then_branch,
        else_branch,
    })
}

fn parse_for(input: ParseStream, cx: &Ctxt) -> syn::Result<ForNode> {
    input.parse::<Token![for]>()?;
    let pat = Pat::parse_multi_with_leading_vert(input)?;
    input.parse::<Token![in]>()?;
    let iter = Expr::parse_without_eager_brace(input)?;
    let key = if input.peek(kw::key) {
        input.parse::<kw::key>()?;
        input.parse::<Token![=]>()?;
        Some(Box::new(Expr::parse_without_eager_brace(input)?))
    } else {
        None
    };
    let body = parse_body(input, cx)?;
    Ok(ForNode {
        pat: Box::new(pat),
        iter: Box::new(iter),
        key,
        body,
    })
}

fn parse_match(input: ParseStream, cx: &Ctxt) -> syn::Result<MatchNode> {
    input.parse::<Token![match]>()?;
    let expr = Expr::parse_without_eager_brace(input)?;
    let content;
    braced!(content in input);
    let mut arms = Vec::new();
    while !content.is_empty() {
        let pat = Pat::parse_multi_with_leading_vert(&content)?;
        let guard = if content.peek(Token![if]) {
            content.parse::<Token![if]>()?;
            Some(Box::new(content.parse::<Expr>()?))
        } else {
            None
        };
        content.parse::<Token![=>]>()?;
        if !content.peek(syn::token::Brace) {
            return Err(content.error(
                "a `match` arm in `html!` needs its markup in braces: `Pat => { <p>\"...\"</p> }`",
            ));
        }
        let body = parse_body(&content, cx)?;
        if content.peek(Token![,]) {
            content.parse::<Token![,]>()?;
        }
        arms.push(Arm {
            pat: Box::new(pat),
            guard,
            body,
        });
    }
    Ok(MatchNode {
        expr: Box::new(expr),
        arms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: TokenStream) -> (usize, Vec<String>) {
        let cx = Ctxt::new();
        let nodes = parse_template(tokens, &cx)
            .map(|n| n.len())
            .unwrap_or(usize::MAX);
        let errors = match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (nodes, errors)
    }

    #[test]
    fn parses_nested_elements_and_control_flow() {
        let (n, errors) = parse(quote! {
            <div class="a" dj-click="go" disabled>
                "text" {self.x} {y|safe}
                if a { <br> } else if b { <hr/> } else { "c" }
                if let Some(v) = opt { {v} }
                for c in &list key = c.id { <li>{c.name}</li> }
                match m { A => { "a" } B(x) if x > 1 => { {x} }, _ => {} }
            </div>
            <p/>
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(n, 2);
    }

    #[test]
    fn reports_every_tag_problem() {
        let (_, errors) = parse(quote! { <b><i></b></i> </p> <a></span></a> <br></br> <div> });
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert!(
            errors[0].contains("`<i>` is not closed before `</b>`"),
            "{errors:?}"
        );
        assert!(errors[1].contains("stray closing tag `</i>`"), "{errors:?}");
        assert!(errors[2].contains("stray closing tag `</p>`"), "{errors:?}");
        assert!(
            errors[3].contains("stray closing tag `</span>`"),
            "{errors:?}"
        );
        assert!(
            errors[3].contains("innermost open element here is `<a>`"),
            "{errors:?}"
        );
        assert!(errors[4].contains("`<br>` is a void element"), "{errors:?}");
        assert!(errors[5].contains("unclosed element `<div>`"), "{errors:?}");
    }

    #[test]
    fn safe_suffix_is_not_logical_or() {
        let (_, errors) = parse(quote! { {a || safe} {a | safe} });
        assert!(errors.is_empty(), "{errors:?}");
    }
}
