//! The file types an upload slot can accept: each MIME type with its
//! extensions, whether it is *active content* (a browser would run it:
//! SVG, HTML, XML, JavaScript) and how its content is recognised.
//!
//! One table (and one size parser), read by the `#[live_view(upload(..))]`
//! check at compile time and by the server when a file arrives, so the two
//! cannot disagree: the macro crate compiles this very file. It depends on
//! nothing but `std`.

/// How a file's bytes are checked against its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recognised {
    /// By its magic bytes (the `infer` crate must name this MIME type).
    Magic,
    /// Plain text: valid UTF-8 with no markup a browser would run.
    Text,
    /// Markup or script (active content): UTF-8 text, accepted as is only
    /// by slots that allow active content.
    Markup,
}

/// One known file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileType {
    /// The MIME type, lower case, without parameters.
    pub mime: &'static str,
    /// Its extensions, with the dot, lower case; the first is canonical.
    pub extensions: &'static [&'static str],
    /// A browser runs it (SVG, HTML, XML, JS): refused unless a slot
    /// explicitly allows active content.
    pub active: bool,
    /// How its bytes are recognised.
    pub recognised: Recognised,
}

const fn magic(mime: &'static str, extensions: &'static [&'static str]) -> FileType {
    FileType {
        mime,
        extensions,
        active: false,
        recognised: Recognised::Magic,
    }
}

const fn text(mime: &'static str, extensions: &'static [&'static str]) -> FileType {
    FileType {
        mime,
        extensions,
        active: false,
        recognised: Recognised::Text,
    }
}

const fn active(mime: &'static str, extensions: &'static [&'static str]) -> FileType {
    FileType {
        mime,
        extensions,
        active: true,
        recognised: Recognised::Markup,
    }
}

/// Every type an upload slot may name.
pub static FILE_TYPES: &[FileType] = &[
    magic("image/png", &[".png"]),
    magic("image/jpeg", &[".jpg", ".jpeg"]),
    magic("image/gif", &[".gif"]),
    magic("image/webp", &[".webp"]),
    magic("image/avif", &[".avif"]),
    magic("image/bmp", &[".bmp"]),
    magic("image/x-icon", &[".ico"]),
    magic("image/tiff", &[".tif", ".tiff"]),
    magic("application/pdf", &[".pdf"]),
    magic("application/zip", &[".zip"]),
    magic("application/gzip", &[".gz"]),
    magic("audio/mpeg", &[".mp3"]),
    magic("audio/ogg", &[".ogg"]),
    magic("audio/x-wav", &[".wav"]),
    magic("video/mp4", &[".mp4"]),
    magic("video/webm", &[".webm"]),
    text("text/plain", &[".txt"]),
    text("text/csv", &[".csv"]),
    text("text/markdown", &[".md"]),
    text("application/json", &[".json"]),
    active("image/svg+xml", &[".svg"]),
    active("text/html", &[".html", ".htm"]),
    active("application/xhtml+xml", &[".xhtml"]),
    active("application/xml", &[".xml"]),
    active("text/xml", &[]),
    active("text/javascript", &[".js", ".mjs"]),
    active("application/javascript", &[]),
];

/// A MIME type as sent by a browser, compared without its parameters,
/// surrounding whitespace or case: `image/SVG+xml; charset=utf-8` →
/// `image/svg+xml`.
pub fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The type of MIME type `mime` (parameters ignored).
pub fn by_mime(mime: &str) -> Option<&'static FileType> {
    let essence = essence(mime);
    FILE_TYPES
        .iter()
        .find(|file_type| file_type.mime == essence)
}

/// The type of extension `extension` (with or without the dot, any case).
pub fn by_extension(extension: &str) -> Option<&'static FileType> {
    let wanted = format!(
        ".{}",
        extension.trim_start_matches('.').to_ascii_lowercase()
    );
    FILE_TYPES
        .iter()
        .find(|file_type| file_type.extensions.contains(&wanted.as_str()))
}

/// What an `accept` entry names: `.png`, `image/png` or `image/*` (every
/// image type that is not active content).
pub fn resolve(entry: &str) -> Vec<&'static FileType> {
    let entry = entry.trim();
    if let Some(family) = entry.strip_suffix("/*") {
        let prefix = format!("{}/", family.to_ascii_lowercase());
        return FILE_TYPES
            .iter()
            .filter(|file_type| file_type.mime.starts_with(&prefix) && !file_type.active)
            .collect();
    }
    let found = if entry.starts_with('.') {
        by_extension(entry)
    } else {
        by_mime(entry)
    };
    found.into_iter().collect()
}

/// `"8MB"`, `"512 KB"`, `"1.5GB"`, `"100"` (bytes) → bytes; units are
/// powers of 1024 (`KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`). `None` for
/// anything else, zero, or more than 1 TiB.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "KIB" | "K" => 1 << 10,
        "MB" | "MIB" | "M" => 1 << 20,
        "GB" | "GIB" | "G" => 1 << 30,
        _ => return None,
    };
    let bytes = match number.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.len() <= 3 => {
            let whole: u64 = whole.parse().ok()?;
            let scale = 10u64.pow(fraction.len() as u32);
            let fraction: u64 = fraction.parse().ok()?;
            whole
                .checked_mul(multiplier)?
                .checked_add(fraction.checked_mul(multiplier)? / scale)?
        }
        Some(_) => return None,
        None => number.parse::<u64>().ok()?.checked_mul(multiplier)?,
    };
    (bytes > 0 && bytes <= 1 << 40).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_parameters_case_and_space_are_ignored() {
        assert_eq!(essence(" Image/SVG+XML ; charset=utf-8"), "image/svg+xml");
        assert!(by_mime("image/svg+xml; charset=utf-8").is_some_and(|t| t.active));
        assert_eq!(by_extension("JPEG").map(|t| t.mime), Some("image/jpeg"));
        assert_eq!(by_extension(".Svg").map(|t| t.active), Some(true));
    }

    #[test]
    fn wildcards_never_include_active_content() {
        let images = resolve("image/*");
        assert!(images.iter().any(|t| t.mime == "image/png"));
        assert!(!images.iter().any(|t| t.active), "{images:?}");
        assert!(resolve("video/nope").is_empty());
        assert!(resolve(".exe").is_empty());
    }

    #[test]
    fn every_extension_and_mime_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for file_type in FILE_TYPES {
            assert!(seen.insert(file_type.mime), "{}", file_type.mime);
            for extension in file_type.extensions {
                assert!(seen.insert(extension), "{extension}");
                assert_eq!(extension.to_ascii_lowercase(), *extension);
            }
        }
    }
}
