//! Where upload bytes go while they arrive: temp files with server-made
//! names in one directory ([`UploadDir`]), removed when their upload is
//! consumed, cancelled, refused, abandoned or its connection ends (the
//! [`TempUpload`] guard), and at startup (leftovers of a crash). A disk
//! quota bounds the directory as a whole.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;

use crate::auth::generate_token;

/// Suffix of files being received.
const PART: &str = ".part";

/// Prefix of every file this module makes.
const PREFIX: &str = "djust-upload-";

/// The directory upload bytes stream into, with its disk quota.
#[derive(Debug, Clone)]
pub struct UploadDir {
    inner: Arc<Dir>,
}

#[derive(Debug)]
struct Dir {
    root: PathBuf,
    quota: u64,
    used: AtomicU64,
}

/// The quota is full, or the disk refused the file.
#[derive(Debug)]
pub enum StoreError {
    /// Taking `bytes` more would pass the directory's quota.
    QuotaExceeded,
    /// The file system failed (text for the log only).
    Io(std::io::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::QuotaExceeded => f.write_str("upload disk quota exceeded"),
            Self::Io(error) => write!(f, "upload storage failed: {error}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl UploadDir {
    /// Uses `root` (created if missing) for at most `quota` bytes, after
    /// removing what an earlier run left there (files of uploads that never
    /// finished).
    pub fn open(root: impl Into<PathBuf>, quota: u64) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let mut removed = 0usize;
        for entry in std::fs::read_dir(&root)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(PREFIX) && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, dir = %root.display(), "removed temp files of unfinished uploads");
        }
        Ok(UploadDir {
            inner: Arc::new(Dir {
                root,
                quota,
                used: AtomicU64::new(0),
            }),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Bytes reserved by uploads in progress or not yet consumed.
    pub fn used(&self) -> u64 {
        self.inner.used.load(Ordering::Acquire)
    }

    /// A new temp file, `bytes` of the quota reserved for it (its
    /// announced size, so the quota holds before a byte is written).
    /// `subdir` (a tenant) must be a plain, checked name.
    pub async fn create(&self, bytes: u64, subdir: Option<&str>) -> Result<TempUpload, StoreError> {
        let dir = &self.inner;
        dir.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= dir.quota)
            })
            .map_err(|_| StoreError::QuotaExceeded)?;
        let reservation = Reservation {
            dir: self.inner.clone(),
            bytes,
        };
        let folder = match subdir {
            Some(subdir) => dir.root.join(subdir),
            None => dir.root.clone(),
        };
        tokio::fs::create_dir_all(&folder)
            .await
            .map_err(StoreError::Io)?;
        let path = folder.join(format!("{PREFIX}{}{PART}", generate_token()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(StoreError::Io)?;
        Ok(TempUpload {
            file: Some(file),
            path,
            written: 0,
            _reservation: reservation,
        })
    }
}

/// Bytes of the quota held; given back on drop.
#[derive(Debug)]
struct Reservation {
    dir: Arc<Dir>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.dir.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// One file being received. Dropping it deletes the file: a refused,
/// cancelled or abandoned upload, or one whose connection ended, leaves
/// nothing on disk.
#[derive(Debug)]
pub struct TempUpload {
    file: Option<tokio::fs::File>,
    path: PathBuf,
    written: u64,
    _reservation: Reservation,
}

impl TempUpload {
    /// Appends `bytes`.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(std::io::Error::other("upload already finished"));
        };
        file.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Flushes and closes the file; it stays until this guard drops.
    pub async fn finish(&mut self) -> std::io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush().await?;
            file.sync_data().await?;
        }
        Ok(())
    }

    /// Where the bytes are (a server-made name).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        self.file = None;
        if let Err(error) = std::fs::remove_file(&self.path) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(%error, "could not remove an upload's temp file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("djust-store-test-{name}-{}", generate_token()))
    }

    #[tokio::test]
    async fn files_are_removed_on_drop_and_the_quota_holds() {
        let root = dir("drop");
        let uploads = UploadDir::open(&root, 100).expect("open");
        let mut file = uploads.create(60, None).await.expect("create");
        file.write(b"hello").await.expect("write");
        file.finish().await.expect("finish");
        let path = file.path().to_owned();
        assert!(path.exists());
        assert!(path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(PREFIX)));
        assert_eq!(uploads.used(), 60);
        assert!(matches!(
            uploads.create(41, None).await,
            Err(StoreError::QuotaExceeded)
        ));
        drop(file);
        assert!(!path.exists(), "dropped: deleted");
        assert_eq!(uploads.used(), 0, "and its quota given back");
        let _ = std::fs::remove_dir_all(root);
    }

    #[tokio::test]
    async fn leftovers_of_a_crash_are_removed_at_startup() {
        let root = dir("startup");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::write(root.join(format!("{PREFIX}old{PART}")), b"x").expect("write");
        std::fs::write(root.join("keep.txt"), b"x").expect("write");
        let _uploads = UploadDir::open(&root, 100).expect("open");
        assert!(!root.join(format!("{PREFIX}old{PART}")).exists());
        assert!(root.join("keep.txt").exists(), "only its own files");
        let _ = std::fs::remove_dir_all(root);
    }
}
