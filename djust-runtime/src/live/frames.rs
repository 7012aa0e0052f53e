//! The frames for a change of the tree: the diff as one `patch` frame, or
//! the whole HTML when the patches would be larger than the page.

use crate::protocol::ServerMessage;
use crate::vdom::{diff, to_html, VTree};

/// Patch frames larger than this are compared with the page's HTML.
const LARGE_PATCHES: usize = 4096;

/// The frames that turn the client's `old` tree into `new` as version
/// `version`, answering the event `reference`; `None` when nothing changed.
///
/// Usually one `patch` frame. When the patches would be larger than the
/// page's HTML (a new table, a replaced list), one `html_update` frame
/// instead (followed by a `noop` carrying the event's `ref`, as
/// `html_update` has none).
pub fn update_frames(
    old: &VTree,
    new: &VTree,
    version: u64,
    reference: Option<u64>,
) -> Result<Option<Vec<ServerMessage>>, crate::vdom::DiffError> {
    let patches = diff(old, new)?;
    if patches.is_empty() {
        return Ok(None);
    }
    let patch_bytes: usize = patches.iter().map(patch_json_len).sum();
    if patch_bytes > LARGE_PATCHES {
        let html = to_html(new);
        if json_len(&html) < patch_bytes {
            let mut frames = vec![ServerMessage::HtmlUpdate { html, version }];
            if reference.is_some() {
                frames.push(ServerMessage::Noop { reference });
            }
            return Ok(Some(frames));
        }
    }
    Ok(Some(vec![ServerMessage::Patch {
        patches,
        version,
        reference,
    }]))
}

/// Length of `text` as a JSON string body (quotes, backslashes and control
/// characters are escaped).
fn json_len(text: &str) -> usize {
    text.len()
        + text
            .bytes()
            .map(|byte| match byte {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 1,
                0..=0x1f => 5,
                _ => 0,
            })
            .sum::<usize>()
}

/// Approximate JSON length of one patch (field names and punctuation
/// counted as a fixed 48 bytes).
fn patch_json_len(patch: &crate::protocol::Patch) -> usize {
    use crate::protocol::Patch;
    48 + match patch {
        Patch::Replace { path, value, id } | Patch::SetText { path, value, id } => {
            path.len() + json_len(value) + id.as_deref().map_or(0, json_len)
        }
        Patch::SetAttr {
            path,
            key,
            value,
            id,
        } => path.len() + key.len() + json_len(value) + id.as_deref().map_or(0, json_len),
        Patch::RemoveAttr { path, key, id } => {
            path.len() + key.len() + id.as_deref().map_or(0, json_len)
        }
        Patch::InsertChild { path, node, id, .. } => {
            path.len() + 6 + json_len(node) + id.as_deref().map_or(0, json_len)
        }
        Patch::RemoveChild { path, id, .. } => path.len() + 6 + id.as_deref().map_or(0, json_len),
        Patch::MoveChild { path, id, .. } => path.len() + 12 + id.as_deref().map_or(0, json_len),
    }
}
