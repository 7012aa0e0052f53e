//! Streams: collections the server sends and then forgets.
//!
//! `ctx.stream_insert("messages", id, html! { <li>..</li> })` renders one
//! item and queues it for the container `<ul dj-stream="messages">` of the
//! view's template; `stream_delete` and `stream_reset` remove items. The
//! view keeps no item: its memory does not grow with the collection (a
//! chat of 100,000 messages costs what a chat of ten does), and its VDOM
//! never holds the container's children, so diffs leave them alone. The
//! client keeps the items, updates one in place when its id comes again,
//! and trims to `dj-stream-limit`.
//!
//! Items inserted during `mount` (and `handle_params` at mount) are part of
//! the first render: the page and the socket's `mount` carry them inside
//! their container. After a mount, each callback's changes follow its
//! patch as `stream` frames. A remount (a reconnect that cannot resume)
//! runs `mount` again, which inserts the items again from the
//! application's own source.

use crate::protocol::StreamOp;
use crate::template::escape::escape_into;
use crate::template::Html;
use crate::vdom::VNode;

use super::{Error, Result};

/// Longest stream name, in bytes.
pub const MAX_STREAM_NAME_LEN: usize = 64;
/// Longest item id, in bytes.
pub const MAX_STREAM_ID_LEN: usize = 128;

/// The changes of one callback to one stream, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamBatch {
    /// The stream's name (`dj-stream="name"`).
    pub name: String,
    /// The changes.
    pub ops: Vec<StreamOp>,
}

/// Stream names are identifiers: `[a-z][a-z0-9_]*`.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = name.len() <= MAX_STREAM_NAME_LEN
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "stream names are identifiers ([a-z][a-z0-9_]*, at most {MAX_STREAM_NAME_LEN} bytes), not {:?}",
            crate::security::sanitize_for_log(name)
        )))
    }
}

/// Item ids: ASCII letters, digits, `-`, `_`, `:` and `.`, at most
/// [`MAX_STREAM_ID_LEN`] bytes (they become an attribute value and a DOM
/// lookup key).
fn check_id(id: &str) -> Result<()> {
    let valid = !id.is_empty()
        && id.len() <= MAX_STREAM_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
    if valid {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "stream item ids are 1 to {MAX_STREAM_ID_LEN} ASCII letters, digits, '-', '_', ':' or '.', not {:?}",
            crate::security::sanitize_for_log(id)
        )))
    }
}

/// The markup of one item: `item` must be exactly one element; it gets
/// `data-djust-stream-id="id"`.
fn item_markup(id: &str, item: Html) -> Result<String> {
    let nodes = item.into_nodes();
    let roots: Vec<VNode<'_>> = nodes.roots().collect();
    let tag = match roots.as_slice() {
        [VNode::Element(element)] => element.tag().to_owned(),
        _ => {
            return Err(Error::msg(
                "a stream item is one element (e.g. html! { <li>..</li> }), not text or several elements",
            ))
        }
    };
    let markup = nodes.to_html();
    let after_tag = 1 + tag.len();
    if !markup.starts_with('<') || markup.get(1..after_tag) != Some(tag.as_str()) {
        return Err(Error::msg(
            "a stream item's markup does not start with its element",
        ));
    }
    let mut out = String::with_capacity(markup.len() + id.len() + 24);
    out.push_str(&markup[..after_tag]);
    out.push_str(" data-djust-stream-id=\"");
    escape_into(id, &mut out);
    out.push('"');
    out.push_str(&markup[after_tag..]);
    Ok(out)
}

/// Queues `op` for stream `name`, after the changes already queued.
fn push(batches: &mut Vec<StreamBatch>, name: &str, op: StreamOp) {
    match batches.last_mut() {
        Some(last) if last.name == name => last.ops.push(op),
        _ => batches.push(StreamBatch {
            name: name.to_owned(),
            ops: vec![op],
        }),
    }
}

/// `ctx.stream_insert_at`: checks and queues one item.
pub(crate) fn insert(
    batches: &mut Vec<StreamBatch>,
    name: &str,
    id: &str,
    item: Html,
    at: i64,
) -> Result<()> {
    check_name(name)?;
    check_id(id)?;
    let html = item_markup(id, item)?;
    push(
        batches,
        name,
        StreamOp::Insert {
            id: id.to_owned(),
            html,
            at: if at < 0 { -1 } else { at },
        },
    );
    Ok(())
}

/// `ctx.stream_delete`.
pub(crate) fn delete(batches: &mut Vec<StreamBatch>, name: &str, id: &str) -> Result<()> {
    check_name(name)?;
    check_id(id)?;
    push(batches, name, StreamOp::Delete { id: id.to_owned() });
    Ok(())
}

/// `ctx.stream_reset`.
pub(crate) fn reset(batches: &mut Vec<StreamBatch>, name: &str) -> Result<()> {
    check_name(name)?;
    push(batches, name, StreamOp::Reset);
    Ok(())
}

/// `html` with each batch's items placed into its (empty) container
/// `dj-stream="name"`, for a first render. Deletions and resets apply to
/// the items inserted before them; a container the markup does not have
/// keeps its items out (logged).
pub fn place_items(html: &str, batches: &[StreamBatch]) -> String {
    let mut html = html.to_owned();
    for (name, items) in final_items(batches) {
        let marker = format!("dj-stream=\"{name}\"");
        let Some(found) = html.find(&marker) else {
            tracing::warn!(
                stream = %name,
                "stream items inserted at mount, but the template has no dj-stream container of that name"
            );
            continue;
        };
        // The end of the container's start tag: attribute values are
        // escaped, so the first `>` after the marker ends it.
        let Some(end) = html[found..].find('>').map(|offset| found + offset + 1) else {
            continue;
        };
        let markup: String = items.into_iter().map(|(_, item)| item).collect();
        html.insert_str(end, &markup);
    }
    html
}

/// Each stream's items after its changes, in order.
fn final_items(batches: &[StreamBatch]) -> Vec<(String, Vec<(String, String)>)> {
    let mut streams: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for batch in batches {
        let index = match streams.iter().position(|(name, _)| *name == batch.name) {
            Some(index) => index,
            None => {
                streams.push((batch.name.clone(), Vec::new()));
                streams.len() - 1
            }
        };
        let items = &mut streams[index].1;
        for op in &batch.ops {
            match op {
                StreamOp::Insert { id, html, at } => {
                    if let Some(existing) = items.iter_mut().find(|(item, _)| item == id) {
                        existing.1 = html.clone();
                    } else if *at < 0 {
                        items.push((id.clone(), html.clone()));
                    } else {
                        let at = usize::try_from(*at).unwrap_or(usize::MAX).min(items.len());
                        items.insert(at, (id.clone(), html.clone()));
                    }
                }
                StreamOp::Delete { id } => items.retain(|(item, _)| item != id),
                StreamOp::Reset => items.clear(),
            }
        }
    }
    streams
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html_from_markup(markup: String) -> Html {
        Html::from_generated_markup(markup)
    }

    fn li(text: &str) -> Html {
        html_from_markup(format!("<li>{text}</li>"))
    }

    #[test]
    fn items_are_one_element_with_a_checked_id() {
        let mut batches = Vec::new();
        insert(&mut batches, "messages", "m-1", li("a"), -1).expect("insert");
        assert_eq!(
            batches[0].ops[0],
            StreamOp::Insert {
                id: "m-1".into(),
                html: "<li data-djust-stream-id=\"m-1\">a</li>".into(),
                at: -1
            }
        );
        for bad in ["", "a b", "<x>", "\"", &"x".repeat(200), "é"] {
            assert!(
                insert(&mut batches, "messages", bad, li("a"), -1).is_err(),
                "{bad:?}"
            );
        }
        for bad in ["", "Messages", "a-b", "1a", &"a".repeat(100)] {
            assert!(
                insert(&mut batches, bad, "m", li("a"), -1).is_err(),
                "{bad:?}"
            );
        }
        for bad in ["text", "<li>a</li><li>b</li>", ""] {
            let item = html_from_markup(bad.to_owned());
            assert!(
                insert(&mut batches, "messages", "m", item, -1).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn first_renders_place_the_final_items_in_their_containers() {
        let mut batches = Vec::new();
        insert(&mut batches, "messages", "1", li("one"), -1).expect("insert");
        insert(&mut batches, "messages", "2", li("two"), -1).expect("insert");
        insert(&mut batches, "messages", "0", li("zero"), 0).expect("insert");
        insert(&mut batches, "messages", "2", li("TWO"), -1).expect("replace");
        delete(&mut batches, "messages", "1").expect("delete");
        let html = place_items(
            "<h1>x</h1><ul dj-stream=\"messages\" class=\"a&gt;b\"></ul><p>after</p>",
            &batches,
        );
        assert_eq!(
            html,
            "<h1>x</h1><ul dj-stream=\"messages\" class=\"a&gt;b\">\
             <li data-djust-stream-id=\"0\">zero</li><li data-djust-stream-id=\"2\">TWO</li>\
             </ul><p>after</p>"
        );
        let mut reset_batches = batches.clone();
        super::reset(&mut reset_batches, "messages").expect("reset");
        assert_eq!(
            place_items("<ul dj-stream=\"messages\"></ul>", &reset_batches),
            "<ul dj-stream=\"messages\"></ul>"
        );
        assert_eq!(place_items("<ul></ul>", &batches), "<ul></ul>");
    }
}
