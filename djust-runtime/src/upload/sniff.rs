//! What a file's bytes really are, checked while they stream in: the
//! magic bytes of its first chunk (the `infer` crate) must name the type
//! its name and the browser claimed, and no chunk may carry markup a
//! browser would run (an SVG or HTML page renamed `.png`, a GIF with a JAR
//! appended, a PDF that is also an HTML page).
//!
//! The scanner keeps the last bytes of each chunk, so a marker split over
//! two chunks is still seen.

use super::types::{FileType, Recognised};

/// Markers of active content, compared without case.
const MARKUP: &[&[u8]] = &[
    b"<script",
    b"<html",
    b"<svg",
    b"<?xml",
    b"<!doctype",
    b"<iframe",
    b"<object",
    b"<embed",
    b"<body",
    b"<img",
    b"javascript:",
];

/// A ZIP local file header: a GIF or a PDF carrying one is a polyglot
/// (GIFAR: a GIF that is also a Java archive).
const ZIP_HEADER: &[u8] = b"PK\x03\x04";

/// Bytes of the first chunk the magic check reads.
const HEAD_BYTES: usize = 512;

/// Bytes kept between chunks (longest marker minus one).
const CARRY: usize = 16;

/// Why a file's content was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRefusal {
    /// The bytes are not the claimed type (a disguised file).
    NotTheClaimedType,
    /// Markup or script inside a file that must not carry any.
    ActiveContent,
    /// Another file format hidden inside this one (GIFAR, PDF + ZIP).
    Polyglot,
    /// A text file that is not valid UTF-8.
    NotText,
}

impl std::fmt::Display for ContentRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotTheClaimedType => "the file's content is not the type its name says",
            Self::ActiveContent => "the file contains markup or script",
            Self::Polyglot => "the file hides another file format",
            Self::NotText => "the file is not valid text",
        })
    }
}

/// Checks one file's chunks as they arrive.
#[derive(Debug)]
pub struct Scanner {
    claimed: &'static FileType,
    allow_active: bool,
    head_checked: bool,
    carry: Vec<u8>,
    /// Incomplete UTF-8 sequence at the end of the last chunk (text types).
    utf8_tail: Vec<u8>,
}

impl Scanner {
    /// A scanner for a file claimed to be `claimed`; `allow_active` for
    /// slots that accept active content (then markup is not refused).
    pub fn new(claimed: &'static FileType, allow_active: bool) -> Self {
        Scanner {
            claimed,
            allow_active,
            head_checked: false,
            carry: Vec::new(),
            utf8_tail: Vec::new(),
        }
    }

    /// Checks the next chunk (the first one holds the magic bytes).
    pub fn chunk(&mut self, bytes: &[u8]) -> Result<(), ContentRefusal> {
        if !self.head_checked {
            self.head_checked = true;
            self.check_head(&bytes[..bytes.len().min(HEAD_BYTES)])?;
        }
        if self.claimed.recognised == Recognised::Text {
            self.check_utf8(bytes)?;
        }
        let mut window = std::mem::take(&mut self.carry);
        window.extend_from_slice(bytes);
        let markup_allowed = self.allow_active && self.claimed.active;
        if !markup_allowed && contains_markup(&window) {
            return Err(ContentRefusal::ActiveContent);
        }
        let zip_claimed = self.claimed.mime == "application/zip";
        if !zip_claimed && find(&window, ZIP_HEADER) {
            return Err(ContentRefusal::Polyglot);
        }
        let keep = window.len().min(CARRY);
        self.carry = window[window.len() - keep..].to_vec();
        Ok(())
    }

    /// At the end of the file: nothing left dangling (a text file cut in
    /// the middle of a character).
    pub fn finish(&self) -> Result<(), ContentRefusal> {
        if !self.utf8_tail.is_empty() {
            return Err(ContentRefusal::NotText);
        }
        Ok(())
    }

    fn check_head(&self, head: &[u8]) -> Result<(), ContentRefusal> {
        let sniffed = infer::get(head).map(|kind| kind.mime_type());
        match self.claimed.recognised {
            Recognised::Magic => match sniffed {
                Some(mime) if same_type(mime, self.claimed.mime) => Ok(()),
                _ => Err(ContentRefusal::NotTheClaimedType),
            },
            // Text and markup have no magic bytes: a recognised binary
            // format claiming to be text is a disguise.
            Recognised::Text | Recognised::Markup => match sniffed {
                Some(_) => Err(ContentRefusal::NotTheClaimedType),
                None => Ok(()),
            },
        }
    }

    fn check_utf8(&mut self, bytes: &[u8]) -> Result<(), ContentRefusal> {
        let mut joined = std::mem::take(&mut self.utf8_tail);
        joined.extend_from_slice(bytes);
        match std::str::from_utf8(&joined) {
            Ok(_) => Ok(()),
            Err(error) if error.error_len().is_none() => {
                // The chunk ended inside a character: keep its start.
                self.utf8_tail = joined[error.valid_up_to()..].to_vec();
                Ok(())
            }
            Err(_) => Err(ContentRefusal::NotText),
        }
    }
}

/// `infer` names a few types differently from the table.
fn same_type(sniffed: &str, claimed: &str) -> bool {
    sniffed == claimed
        || matches!(
            (sniffed, claimed),
            ("image/vnd.microsoft.icon", "image/x-icon")
                | ("audio/wav", "audio/x-wav")
                | ("audio/x-wav", "audio/wav")
        )
}

/// Whether `window` holds a markup marker. Every marker starts with `<`
/// or `j`/`J`, so only those positions (found with `memchr`, at memory
/// speed) are compared.
fn contains_markup(window: &[u8]) -> bool {
    memchr::memchr3_iter(b'<', b'j', b'J', window).any(|at| {
        let rest = &window[at..];
        MARKUP.iter().any(|marker| {
            rest.len() >= marker.len() && rest[..marker.len()].eq_ignore_ascii_case(marker)
        })
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::super::types::by_extension;
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";

    fn scan(ext: &str, chunks: &[&[u8]]) -> Result<(), ContentRefusal> {
        let mut scanner = Scanner::new(by_extension(ext).expect("type"), false);
        for chunk in chunks {
            scanner.chunk(chunk)?;
        }
        scanner.finish()
    }

    #[test]
    fn real_files_pass() {
        assert_eq!(scan("png", &[PNG, &[0u8; 100]]), Ok(()));
        assert_eq!(scan("gif", &[GIF]), Ok(()));
        assert_eq!(scan("txt", &["héllo wörld".as_bytes()]), Ok(()));
        // A character split over two chunks.
        let text = "naïve café".as_bytes();
        assert_eq!(scan("txt", &[&text[..3], &text[3..]]), Ok(()));
    }

    #[test]
    fn disguised_and_polyglot_files_are_refused() {
        let svg = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
        assert_eq!(scan("png", &[svg]), Err(ContentRefusal::NotTheClaimedType));
        assert_eq!(
            scan("png", &[b"<html><script>alert(1)</script>"]),
            Err(ContentRefusal::NotTheClaimedType)
        );
        assert_eq!(scan("jpg", &[PNG]), Err(ContentRefusal::NotTheClaimedType));
        assert_eq!(scan("txt", &[PNG]), Err(ContentRefusal::NotTheClaimedType));
        // A real PNG header followed by script.
        assert_eq!(
            scan("png", &[PNG, b"....<ScRiPt>alert(1)</script>"]),
            Err(ContentRefusal::ActiveContent)
        );
        // A marker split between chunks.
        assert_eq!(
            scan("png", &[PNG, b"xx<sv", b"g onload=x>"]),
            Err(ContentRefusal::ActiveContent)
        );
        // GIFAR: a GIF with a ZIP (JAR) appended.
        assert_eq!(
            scan("gif", &[GIF, b"PK\x03\x04\x14\0\0\0"]),
            Err(ContentRefusal::Polyglot)
        );
        // A PDF that is also an HTML page.
        assert_eq!(
            scan("pdf", &[b"%PDF-1.7\n1 0 obj\n<html><body>x</body></html>"]),
            Err(ContentRefusal::ActiveContent)
        );
        assert_eq!(
            scan("txt", &[b"plain <script>x</script>"]),
            Err(ContentRefusal::ActiveContent)
        );
        assert_eq!(
            scan("txt", &[b"\xff\xfe bad utf-8"]),
            Err(ContentRefusal::NotText)
        );
        assert_eq!(
            scan("txt", &[&"é".as_bytes()[..1]]),
            Err(ContentRefusal::NotText)
        );
    }

    #[test]
    fn a_slot_that_allows_active_content_takes_svg() {
        let svg_type = by_extension("svg").expect("svg");
        let mut scanner = Scanner::new(svg_type, true);
        assert_eq!(
            scanner.chunk(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Ok(())
        );
        let mut refused = Scanner::new(svg_type, false);
        assert_eq!(refused.chunk(b"<svg/>"), Err(ContentRefusal::ActiveContent));
    }
}
