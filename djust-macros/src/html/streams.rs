//! Checks of stream containers (`dj-stream="name"`): the name is a literal
//! identifier, `dj-stream-limit` a literal positive number, and the
//! container is empty in the template. Its children are the stream's items,
//! which `ctx.stream_insert` sends and the browser keeps; a child written
//! in the template would be diffed by the server against items it never
//! sees.

use quote::ToTokens;

use super::ast::{AttrValue, Element, Node};
use crate::ctxt::Ctxt;

/// Longest stream name (as `djust_runtime::view::stream`).
const MAX_STREAM_NAME_LEN: usize = 64;

fn is_stream_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_STREAM_NAME_LEN
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks `element` if it is a stream container.
pub fn check_stream_container(element: &Element, cx: &Ctxt) {
    let mut container = false;
    for attr in &element.attrs {
        match attr.name.value.as_str() {
            "dj-stream" => {
                container = true;
                match &attr.value {
                    AttrValue::Literal(name) if is_stream_name(&name.value()) => {}
                    AttrValue::Literal(name) => cx.error_spanned_by(
                        name,
                        format!("`dj-stream` names a stream: an identifier ([a-z][a-z0-9_]*, at most {MAX_STREAM_NAME_LEN} bytes), as passed to `ctx.stream_insert`\n\nhelp: e.g. `dj-stream=\"messages\"`"),
                    ),
                    AttrValue::Dynamic(expr) => cx.error_spanned_by(
                        expr.to_token_stream(),
                        "`dj-stream` takes a literal stream name, not an expression\n\nhelp: e.g. `dj-stream=\"messages\"`",
                    ),
                    AttrValue::Bare => cx.error_spanned_by(
                        &attr.name.tokens,
                        "`dj-stream` needs the stream's name\n\nhelp: e.g. `dj-stream=\"messages\"`",
                    ),
                }
            }
            "dj-stream-limit" => match &attr.value {
                AttrValue::Literal(limit)
                    if limit.value().parse::<u32>().is_ok_and(|limit| limit > 0) => {}
                _ => cx.error_spanned_by(
                    &attr.name.tokens,
                    "`dj-stream-limit` is a literal positive number of items, e.g. `dj-stream-limit=\"100\"`",
                ),
            },
            _ => {}
        }
    }
    if !container {
        return;
    }
    if let Some(first) = element.children.first() {
        let tokens = match first {
            Node::Element(child) => child.name.tokens.clone(),
            _ => element.name.tokens.clone(),
        };
        cx.error_spanned_by(
            tokens,
            "a `dj-stream` container is empty in the template: its children are the stream's items, sent with `ctx.stream_insert` and kept by the browser\n\nhelp: render the items with `ctx.stream_insert(\"name\", id, html! { <li>..</li> })` in `mount` and in handlers",
        );
    }
}
