//! File uploads: slots a view declares at compile time
//! (`#[live_view(upload(photo, accept = "image/png .jpg", max_size = "2MB"))]`),
//! streamed over the view's WebSocket as binary chunks, checked before any
//! work is done and while the bytes arrive, kept in temp files with
//! server-made names until a handler consumes them.
//!
//! * [`types`]: the known file types (extensions, MIME types, active content).
//! * [`UploadSlotMeta`]: a declared slot; [`parse_size`] reads `"8MB"`.
//! * [`Uploads`]: one connection's uploads and every check they meet.
//! * [`Scanner`]: magic bytes, markup and polyglots, chunk by chunk.
//! * [`UploadDir`] / [`TempUpload`]: temp files, deleted unless consumed.
//! * [`client_name`]: the client's file name made safe to keep and show.

mod entries;
mod name;
mod slot;
mod sniff;
mod store;
pub mod types;

pub use entries::{
    Announcement, ChunkAck, CompletedUpload, UploadError, UploadLimits, UploadedFile, Uploads,
    MAX_CHUNK_BYTES, MAX_REFERENCE_LEN,
};
pub use name::{client_name, extension, MAX_NAME_BYTES};
pub use slot::{human_size, UploadSlotMeta};
pub use sniff::{ContentRefusal, Scanner};
pub use store::{StoreError, TempUpload, UploadDir};
pub use types::parse_size;
