//! What a browser's stream containers hold, replayed from the frames a
//! [`TestClient`](crate::TestClient) received: the items the last first
//! render placed in the container, then every `stream` frame's changes
//! (inserts, in-place replacements, deletions, resets) and the container's
//! `dj-stream-limit`, as `djust.js` applies them.

use djust_runtime::protocol::{ServerMessage, StreamOp};
use scraper::{Html as Document, Selector};

/// One item of a stream container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamItem {
    /// Its id (`data-djust-stream-id`).
    pub id: String,
    /// Its markup.
    pub html: String,
}

/// The items of container `name` after `frames`.
pub(crate) fn stream_items(frames: &[ServerMessage], name: &str) -> Vec<StreamItem> {
    let first = frames.iter().rposition(|frame| {
        matches!(
            frame,
            ServerMessage::Mount { .. } | ServerMessage::LiveNavigate { .. }
        )
    });
    let Some(first) = first else {
        return Vec::new();
    };
    let html = match &frames[first] {
        ServerMessage::Mount { html, .. } | ServerMessage::LiveNavigate { html, .. } => html,
        _ => return Vec::new(),
    };
    let (mut items, limit) = placed_items(html, name);
    for frame in &frames[first + 1..] {
        let ServerMessage::Stream { name: stream, ops } = frame else {
            continue;
        };
        if stream != name {
            continue;
        }
        let mut trim_from_start = true;
        for op in ops {
            match op {
                StreamOp::Insert { id, html, at } => {
                    let item = StreamItem {
                        id: id.clone(),
                        html: html.clone(),
                    };
                    if let Some(existing) = items.iter_mut().find(|item| item.id == *id) {
                        *existing = item;
                    } else if *at < 0 {
                        items.push(item);
                        trim_from_start = true;
                    } else {
                        let at = usize::try_from(*at).unwrap_or(usize::MAX).min(items.len());
                        items.insert(at, item);
                        trim_from_start = false;
                    }
                }
                StreamOp::Delete { id } => items.retain(|item| item.id != *id),
                StreamOp::Reset => items.clear(),
            }
        }
        if let Some(limit) = limit {
            while items.len() > limit {
                if trim_from_start {
                    items.remove(0);
                } else {
                    items.pop();
                }
            }
        }
    }
    items
}

/// The items a first render placed in container `name`, and its limit.
fn placed_items(html: &str, name: &str) -> (Vec<StreamItem>, Option<usize>) {
    let document = Document::parse_fragment(html);
    let Ok(containers) = Selector::parse("[dj-stream]") else {
        return (Vec::new(), None);
    };
    let Some(container) = document
        .select(&containers)
        .find(|element| element.value().attr("dj-stream") == Some(name))
    else {
        return (Vec::new(), None);
    };
    let limit = container
        .value()
        .attr("dj-stream-limit")
        .and_then(|limit| limit.parse().ok())
        .filter(|limit: &usize| *limit > 0);
    let items = container
        .child_elements()
        .filter_map(|child| {
            Some(StreamItem {
                id: child.value().attr("data-djust-stream-id")?.to_owned(),
                html: child.html(),
            })
        })
        .collect();
    (items, limit)
}
