//! [`check_uploads`]: every declared upload slot against the hostile-file
//! corpus (`payloads::upload_corpus`): hostile files are refused with a
//! reason, real files are taken exactly when the slot accepts their type,
//! nothing closes the connection, and no temp file outlives its upload.

use djust_runtime::protocol::ServerMessage;
use djust_runtime::upload::types::{by_extension, by_mime};
use djust_runtime::upload::{client_name, extension};
use djust_runtime::view::ViewFactory;

use super::harness::Harness;
use super::{SmokeFailure, SmokeOptions, SmokeReport};
use crate::payloads::upload_corpus;

/// Runs every declared upload slot of `factory`'s view against the
/// hostile-file corpus: hostile files are refused with a reason, real files
/// are taken exactly when the slot accepts their type, nothing closes the
/// connection, and no temp file outlives its upload.
pub fn check_uploads(
    factory: ViewFactory,
    options: &SmokeOptions,
) -> Result<SmokeReport, SmokeFailure> {
    let mut h = Harness::new(factory, options, "uploads");
    for slot in h.meta.uploads {
        for payload in upload_corpus() {
            if h.stopped() {
                return h.finish();
            }
            let what = format!("upload slot `{}`: {}", slot.name, payload.what);
            let mut client = match h.mount() {
                Ok(client) => client,
                Err(refusal) => {
                    h.fail(format!("{what}: mount refused: {refusal:?}"));
                    return h.finish();
                }
            };
            h.count_event();
            let result = client.upload(slot.name, payload.name, payload.mime, payload.bytes);
            let done = result
                .frames
                .iter()
                .any(|frame| matches!(frame, ServerMessage::UploadDone { .. }));
            let refused = result.frames.iter().find_map(|frame| match frame {
                ServerMessage::UploadError { error, .. } => Some(error.as_str()),
                _ => None,
            });
            if result.closed {
                h.fail(format!("{what}: the connection was closed"));
                continue;
            }
            // What a real file of this name is, if the slot takes it.
            let by_name = extension(&client_name(payload.name)).and_then(|ext| by_extension(&ext));
            let claimed_same =
                matches!((by_name, by_mime(payload.mime)), (Some(a), Some(b)) if a.mime == b.mime);
            let fits = payload.bytes.len() as u64 <= slot.max_size;
            let acceptable = !payload.hostile
                && claimed_same
                && fits
                && by_name.is_some_and(|file_type| slot.accepts(file_type));
            match (acceptable, done, refused) {
                (true, true, _) | (false, false, Some(_)) => {}
                (true, false, refused) => h.fail(format!(
                    "{what}: refused ({refused:?}), yet the slot accepts it"
                )),
                (false, true, _) => h.fail(format!("{what}: ACCEPTED, the slot must refuse it")),
                (false, false, None) => h.fail(format!(
                    "{what}: neither accepted nor refused: {:?}",
                    result.frames
                )),
            }
        }
    }
    h.finish()
}
