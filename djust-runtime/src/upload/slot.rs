//! [`UploadSlotMeta`]: one `upload(..)` slot a view declares in
//! `#[live_view(...)]`, as the macro records it.

#[cfg(test)]
use super::types::parse_size;
use super::types::{resolve, FileType};

/// One declared upload slot: `upload(photo, accept = "image/png .jpg",
/// max_size = "2MB", max_entries = 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadSlotMeta {
    /// The slot's name (`dj-upload="photo"`).
    pub name: &'static str,
    /// What it accepts, as written: extensions (`.png`), MIME types
    /// (`image/png`) and families (`image/*`).
    pub accept: &'static [&'static str],
    /// Largest file, in bytes.
    pub max_size: u64,
    /// Files at once in this slot.
    pub max_entries: u32,
    /// A permission the user must hold to upload here.
    pub permission: Option<&'static str>,
    /// Accepts active content (SVG, HTML, XML, JS) among its types.
    pub active_content: bool,
}

impl UploadSlotMeta {
    /// Whether `file_type` is among the types the slot accepts (active
    /// content only with `active_content`).
    pub fn accepts(&self, file_type: &FileType) -> bool {
        (!file_type.active || self.active_content)
            && self
                .accept
                .iter()
                .flat_map(|entry| resolve(entry))
                .any(|accepted| accepted.mime == file_type.mime)
    }

    /// The accepted extensions, for messages: `.png, .jpg, .jpeg`.
    pub fn accepted_extensions(&self) -> String {
        let mut extensions: Vec<&str> = self
            .accept
            .iter()
            .flat_map(|entry| resolve(entry))
            .filter(|file_type| !file_type.active || self.active_content)
            .flat_map(|file_type| file_type.extensions.iter().copied())
            .collect();
        extensions.dedup();
        extensions.join(", ")
    }
}

/// `2097152` → `2 MB`, `1536` → `1.5 KB` (for messages).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            let tenth = (bytes % size) * 10 / size;
            return if tenth == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{tenth} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::types::by_extension;

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_size("8MB"), Some(8 << 20));
        assert_eq!(parse_size(" 512 kb "), Some(512 << 10));
        assert_eq!(parse_size("1.5GB"), Some(3 << 29));
        assert_eq!(parse_size("100"), Some(100));
        for bad in [
            "",
            "0",
            "0MB",
            "-1MB",
            "1.5.5MB",
            "8 parsecs",
            "2TB",
            "99999999999999999999",
            "1.MB",
            "MB",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
        assert_eq!(human_size(2 << 20), "2 MB");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(12), "12 bytes");
    }

    #[test]
    fn slots_accept_their_types_and_active_content_only_when_allowed() {
        let slot = UploadSlotMeta {
            name: "photo",
            accept: &["image/*"],
            max_size: 2 << 20,
            max_entries: 1,
            permission: None,
            active_content: false,
        };
        let svg = by_extension("svg").expect("svg");
        assert!(slot.accepts(by_extension("png").expect("png")));
        assert!(!slot.accepts(svg));
        assert!(!slot.accepts(by_extension("pdf").expect("pdf")));
        let svg_slot = UploadSlotMeta {
            accept: &[".svg"],
            active_content: true,
            ..slot
        };
        assert!(svg_slot.accepts(svg));
        assert_eq!(
            UploadSlotMeta {
                accept: &[".png", "image/jpeg"],
                ..slot
            }
            .accepted_extensions(),
            ".png, .jpg, .jpeg"
        );
    }
}
