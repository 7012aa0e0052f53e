//! One connection's uploads: every check an upload meets before its bytes
//! are kept, in order, and the bounds that apply while they stream.
//!
//! An entry is *announced* (slot, name, size, type) and refused before any
//! byte is sent unless the slot is declared, the user holds its permission,
//! the slot and the connection have room, the size fits the slot, the
//! name's extension and the browser's MIME type name the same known type,
//! the slot accepts it (active content only where allowed) and the quotas
//! have room. Then its chunks arrive as binary frames; each one is checked
//! against the connection's byte rate, written to a temp file and scanned
//! (magic bytes first, markup and polyglots all along), and acknowledged
//! with the offset reached, so a client never has more than one chunk in
//! flight. One byte past the announced size aborts the entry. A finished
//! entry waits for a handler to consume it; anything that does not finish
//! (refused, cancelled, idle, the connection gone) is deleted.

use std::path::Path;
use std::time::{Duration, Instant};

use super::name::{client_name, extension};
use super::slot::{human_size, UploadSlotMeta};
use super::sniff::{ContentRefusal, Scanner};
use super::store::{StoreError, TempUpload, UploadDir};
use super::types::{by_extension, by_mime, FileType};
use crate::limits::TokenBucket;

/// Largest binary upload frame: the entry's reference and a chunk of the
/// file's data, 64 KiB in all.
pub const MAX_CHUNK_BYTES: usize = 64 * 1024;

/// Longest entry reference (`[A-Za-z0-9_-]`), chosen by the client.
pub const MAX_REFERENCE_LEN: usize = 32;

/// The bounds on one connection's uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Entries in progress or waiting to be consumed, in all slots.
    pub max_entries: usize,
    /// Bytes per second one connection may send.
    pub bytes_per_second: u64,
    /// Bytes one connection may hold on disk (announced sizes).
    pub quota: u64,
    /// An entry that receives nothing this long is dropped.
    pub idle: Duration,
}

/// Why an upload was refused or aborted (the text is safe to show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadError {
    /// The view declares no such slot.
    UnknownSlot,
    /// The user lacks the slot's permission.
    PermissionDenied,
    /// The slot or the connection has no room for another file.
    TooManyFiles(u32),
    /// Larger than the slot allows (or one byte past what was announced).
    TooLarge(u64),
    /// Empty files are not uploads.
    Empty,
    /// The type is not one the slot accepts.
    TypeNotAccepted(String),
    /// The name and the browser's type disagree, or name no known type.
    UnknownType,
    /// The bytes are not what they claim, or carry markup.
    Content(ContentRefusal),
    /// Sent faster than the connection's byte rate.
    TooFast,
    /// The disk quota (the connection's or the server's) is full.
    StorageFull,
    /// Storage failed (details in the log).
    StorageFailed,
    /// No upload in progress has this reference.
    UnknownReference,
    /// A malformed chunk frame or announcement.
    Malformed,
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownSlot => f.write_str("This page takes no upload here."),
            Self::PermissionDenied => f.write_str("You are not allowed to upload here."),
            Self::TooManyFiles(max) => write!(f, "Too many files: at most {max} here."),
            Self::TooLarge(max) => write!(f, "File too large: at most {}.", human_size(*max)),
            Self::Empty => f.write_str("The file is empty."),
            Self::TypeNotAccepted(accepted) => {
                write!(
                    f,
                    "This type of file is not accepted here (accepted: {accepted})."
                )
            }
            Self::UnknownType => {
                f.write_str("The file's type could not be recognised from its name.")
            }
            Self::Content(refusal) => write!(f, "File refused: {refusal}."),
            Self::TooFast => f.write_str("Upload sent too fast."),
            Self::StorageFull => f.write_str("No room for more uploads right now."),
            Self::StorageFailed => f.write_str("The upload could not be stored."),
            Self::UnknownReference => f.write_str("Unknown upload."),
            Self::Malformed => f.write_str("Malformed upload."),
        }
    }
}

impl std::error::Error for UploadError {}

/// A finished upload, as a handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The slot it came in.
    pub slot: &'static str,
    /// The client's file name, made safe (metadata only: never a path).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Its type, as its bytes proved it.
    pub mime: &'static str,
    /// Its canonical extension, with the dot (`.jpg`).
    pub extension: &'static str,
}

/// A finished upload and its temp file (deleted when dropped).
#[derive(Debug)]
pub struct CompletedUpload {
    /// The client's reference for it.
    pub reference: String,
    /// What it is.
    pub file: UploadedFile,
    /// Where its bytes are until consumed.
    pub temp: TempUpload,
}

impl CompletedUpload {
    /// The temp file holding the bytes.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }
}

/// A client announcing a file, before any byte of it is sent.
#[derive(Debug, Clone, Copy)]
pub struct Announcement<'a> {
    /// The declared slot it names (`None`: the view declares no such slot).
    pub slot: Option<&'static UploadSlotMeta>,
    /// The user holds the slot's permission (if it has one).
    pub allowed: bool,
    /// The client's reference for the entry (`[A-Za-z0-9_-]{1,32}`).
    pub reference: &'a str,
    /// The client's file name.
    pub name: &'a str,
    /// Its size in bytes.
    pub size: u64,
    /// The browser's MIME type (parameters ignored).
    pub mime: &'a str,
    /// A sub-directory of the upload directory (a tenant).
    pub subdir: Option<&'a str>,
}

/// One announced upload, receiving.
#[derive(Debug)]
struct Receiving {
    reference: String,
    slot: &'static UploadSlotMeta,
    name: String,
    size: u64,
    file_type: &'static FileType,
    temp: TempUpload,
    scanner: Scanner,
    last_chunk: Instant,
}

/// What a chunk did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkAck {
    /// The entry.
    pub reference: String,
    /// Bytes received so far.
    pub offset: u64,
    /// The whole file arrived and passed every check.
    pub done: bool,
    /// How long the client should wait before the next chunk to stay
    /// within the byte rate (a chunk that comes sooner is refused).
    pub wait_ms: u64,
}

/// One connection's uploads (see the module docs).
#[derive(Debug)]
pub struct Uploads {
    dir: UploadDir,
    limits: UploadLimits,
    bucket: TokenBucket,
    receiving: Vec<Receiving>,
    completed: Vec<CompletedUpload>,
    reserved: u64,
}

/// `[A-Za-z0-9_-]{1,32}`.
fn valid_reference(reference: &str) -> bool {
    !reference.is_empty()
        && reference.len() <= MAX_REFERENCE_LEN
        && reference
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

impl Uploads {
    /// No uploads yet, on `dir`, within `limits`, at `now`.
    pub fn new(dir: UploadDir, limits: UploadLimits, now: Instant) -> Self {
        // A burst of one chunk and one second's worth: a fast client is
        // paced, never refused for the first chunk.
        let rate = limits.bytes_per_second.max(1) as f64;
        let burst = limits
            .bytes_per_second
            .max(MAX_CHUNK_BYTES as u64)
            .min(u64::from(u32::MAX)) as u32;
        Uploads {
            dir,
            limits,
            bucket: TokenBucket::new_at(rate, burst, now),
            receiving: Vec::new(),
            completed: Vec::new(),
            reserved: 0,
        }
    }

    /// Entries in progress or waiting in `slot`.
    fn in_slot(&self, slot: &str) -> usize {
        self.receiving
            .iter()
            .filter(|r| r.slot.name == slot)
            .count()
            + self
                .completed
                .iter()
                .filter(|c| c.file.slot == slot)
                .count()
    }

    /// The checks of an announcement, before any byte is taken: see the
    /// module docs. `allowed` says whether the user holds the
    /// slot's permission.
    pub async fn announce(
        &mut self,
        announced: Announcement<'_>,
        now: Instant,
    ) -> Result<(), UploadError> {
        self.expire(now);
        let Announcement {
            slot,
            allowed,
            reference,
            name,
            size,
            mime,
            subdir,
        } = announced;
        if !valid_reference(reference) {
            return Err(UploadError::Malformed);
        }
        let slot = slot.ok_or(UploadError::UnknownSlot)?;
        if !allowed {
            return Err(UploadError::PermissionDenied);
        }
        if self.receiving.iter().any(|r| r.reference == reference) {
            return Err(UploadError::Malformed);
        }
        if self.in_slot(slot.name) >= slot.max_entries as usize {
            return Err(UploadError::TooManyFiles(slot.max_entries));
        }
        if self.receiving.len() + self.completed.len() >= self.limits.max_entries {
            return Err(UploadError::TooManyFiles(self.limits.max_entries as u32));
        }
        if size == 0 {
            return Err(UploadError::Empty);
        }
        if size > slot.max_size {
            return Err(UploadError::TooLarge(slot.max_size));
        }
        let name = client_name(name);
        let by_name = extension(&name).and_then(|ext| by_extension(&ext));
        let file_type = match (by_name, by_mime(mime)) {
            (Some(by_name), Some(by_mime)) if by_name.mime == by_mime.mime => by_name,
            (Some(by_name), _) if !slot.accepts(by_name) => {
                return Err(UploadError::TypeNotAccepted(slot.accepted_extensions()))
            }
            _ => return Err(UploadError::UnknownType),
        };
        if !slot.accepts(file_type) {
            return Err(UploadError::TypeNotAccepted(slot.accepted_extensions()));
        }
        if self.reserved.saturating_add(size) > self.limits.quota {
            return Err(UploadError::StorageFull);
        }
        let temp = self
            .dir
            .create(size, subdir)
            .await
            .map_err(|error| match error {
                StoreError::QuotaExceeded => UploadError::StorageFull,
                StoreError::Io(error) => {
                    tracing::error!(%error, "cannot create an upload's temp file");
                    UploadError::StorageFailed
                }
            })?;
        self.reserved += size;
        self.receiving.push(Receiving {
            reference: reference.to_owned(),
            slot,
            name,
            size,
            file_type,
            temp,
            scanner: Scanner::new(file_type, slot.active_content),
            last_chunk: now,
        });
        Ok(())
    }

    /// One binary frame: `[length of the reference][reference][data]`.
    /// On an error the entry (if the frame named one) is aborted and its
    /// file deleted; the reference is returned with the error.
    pub async fn chunk(
        &mut self,
        frame: &[u8],
        now: Instant,
    ) -> Result<ChunkAck, (Option<String>, UploadError)> {
        self.expire(now);
        let Some((&len, rest)) = frame.split_first() else {
            return Err((None, UploadError::Malformed));
        };
        let len = usize::from(len);
        let (Some(reference), Some(data)) = (rest.get(..len), rest.get(len..)) else {
            return Err((None, UploadError::Malformed));
        };
        let Ok(reference) = std::str::from_utf8(reference) else {
            return Err((None, UploadError::Malformed));
        };
        let Some(index) = self.receiving.iter().position(|r| r.reference == reference) else {
            return Err((
                valid_reference(reference).then(|| reference.to_owned()),
                UploadError::UnknownReference,
            ));
        };
        let reference = reference.to_owned();
        let result = if frame.len() > MAX_CHUNK_BYTES {
            Err(UploadError::Malformed)
        } else {
            self.write_chunk(index, data, now).await
        };
        match result {
            Ok(ack) => Ok(ack),
            Err(error) => {
                self.abort(index);
                Err((Some(reference), error))
            }
        }
    }

    async fn write_chunk(
        &mut self,
        index: usize,
        data: &[u8],
        now: Instant,
    ) -> Result<ChunkAck, UploadError> {
        if data.is_empty() {
            return Err(UploadError::Malformed);
        }
        // Byte rate: one token per byte.
        if !self.bucket.try_take_at(data.len() as u32, now) {
            return Err(UploadError::TooFast);
        }
        let entry = &mut self.receiving[index];
        let received = entry.temp.written() + data.len() as u64;
        if received > entry.size {
            return Err(UploadError::TooLarge(entry.size.min(entry.slot.max_size)));
        }
        entry.scanner.chunk(data).map_err(UploadError::Content)?;
        entry.temp.write(data).await.map_err(|error| {
            tracing::error!(%error, "cannot write an upload's temp file");
            UploadError::StorageFailed
        })?;
        entry.last_chunk = now;
        let done = received == entry.size;
        if done {
            entry.scanner.finish().map_err(UploadError::Content)?;
            entry.temp.finish().await.map_err(|error| {
                tracing::error!(%error, "cannot finish an upload's temp file");
                UploadError::StorageFailed
            })?;
        }
        let ack = ChunkAck {
            reference: entry.reference.clone(),
            offset: received,
            done,
            wait_ms: self.wait_ms(now),
        };
        if done {
            let entry = self.receiving.remove(index);
            self.completed.push(CompletedUpload {
                reference: entry.reference,
                file: UploadedFile {
                    slot: entry.slot.name,
                    name: entry.name,
                    size: entry.size,
                    mime: entry.file_type.mime,
                    extension: entry.file_type.extensions.first().copied().unwrap_or(""),
                },
                temp: entry.temp,
            });
        }
        Ok(ack)
    }

    /// Milliseconds until a full chunk fits the byte rate.
    fn wait_ms(&mut self, now: Instant) -> u64 {
        let available = u64::from(self.bucket.available_at(now));
        let missing = (MAX_CHUNK_BYTES as u64).saturating_sub(available);
        missing.saturating_mul(1000) / self.limits.bytes_per_second.max(1)
    }

    /// Cancels the entry `reference` (receiving or finished): its file is
    /// deleted. `false` if there is none.
    pub fn cancel(&mut self, reference: &str) -> bool {
        if let Some(index) = self.receiving.iter().position(|r| r.reference == reference) {
            self.abort(index);
            return true;
        }
        if let Some(index) = self.completed.iter().position(|c| c.reference == reference) {
            let cancelled = self.completed.remove(index);
            self.reserved = self.reserved.saturating_sub(cancelled.file.size);
            return true;
        }
        false
    }

    fn abort(&mut self, index: usize) {
        let entry = self.receiving.remove(index);
        self.reserved = self.reserved.saturating_sub(entry.size);
    }

    /// Drops entries idle past the limit (their files are deleted).
    pub fn expire(&mut self, now: Instant) {
        let idle = self.limits.idle;
        let mut freed = 0;
        self.receiving.retain(|entry| {
            let keep = now.saturating_duration_since(entry.last_chunk) < idle;
            if !keep {
                freed += entry.size;
            }
            keep
        });
        self.reserved = self.reserved.saturating_sub(freed);
    }

    /// Finished uploads (for `ctx.uploads(slot)`).
    pub fn completed(&self) -> impl Iterator<Item = &UploadedFile> {
        self.completed.iter().map(|completed| &completed.file)
    }

    /// Takes the finished uploads of `slot` (to consume).
    pub fn take_completed(&mut self, slot: &str) -> Vec<CompletedUpload> {
        let (taken, kept) = std::mem::take(&mut self.completed)
            .into_iter()
            .partition(|completed| completed.file.slot == slot);
        self.completed = kept;
        for completed in &taken {
            self.reserved = self.reserved.saturating_sub(completed.file.size);
        }
        taken
    }

    /// Entries in progress.
    pub fn receiving(&self) -> usize {
        self.receiving.len()
    }

    /// Lends every finished upload to a handler (see [`Uploads::give_back`]).
    pub fn lend_completed(&mut self) -> Vec<CompletedUpload> {
        std::mem::take(&mut self.completed)
    }

    /// Takes back what a handler did not consume; consumed uploads free
    /// their share of the connection's quota.
    pub fn give_back(&mut self, left: Vec<CompletedUpload>) {
        self.completed.extend(left);
        self.reserved = self.receiving.iter().map(|r| r.size).sum::<u64>()
            + self.completed.iter().map(|c| c.file.size).sum::<u64>();
    }
}
