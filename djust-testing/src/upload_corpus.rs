//! The hostile-file corpus for uploads (`payloads/uploads/`): real files
//! of common types, and files built to slip past an upload check: SVG or
//! HTML renamed as images or text, a PNG carrying a script, GIFAR, a PDF
//! that is also an HTML page, executables and archives renamed, type
//! mismatches between name and MIME type, bidi tricks, trailing dots and
//! spaces, path traversal, device names, NUL, 1,000-character names and an
//! empty file. Embedded at compile time; nothing is read from disk.

/// One file of the corpus.
#[derive(Debug, Clone, Copy)]
pub struct UploadPayload {
    /// The file under `payloads/uploads/`.
    pub file: &'static str,
    /// The name a client sends with it.
    pub name: &'static str,
    /// The MIME type a client sends with it.
    pub mime: &'static str,
    /// Built to be refused by every slot that does not accept active
    /// content (a disguise, a polyglot, a lie about its type, or empty).
    pub hostile: bool,
    /// What it is.
    pub what: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

static CORPUS: &[UploadPayload] = &[
    UploadPayload {
        file: "valid.png",
        name: "photo.png",
        mime: "image/png",
        hostile: false,
        what: "a real PNG",
        bytes: include_bytes!("../payloads/uploads/valid.png"),
    },
    UploadPayload {
        file: "valid.jpg",
        name: "photo.jpg",
        mime: "image/jpeg",
        hostile: false,
        what: "a real JPEG",
        bytes: include_bytes!("../payloads/uploads/valid.jpg"),
    },
    UploadPayload {
        file: "valid.gif",
        name: "anim.gif",
        mime: "image/gif",
        hostile: false,
        what: "a real GIF",
        bytes: include_bytes!("../payloads/uploads/valid.gif"),
    },
    UploadPayload {
        file: "valid.pdf",
        name: "doc.pdf",
        mime: "application/pdf",
        hostile: false,
        what: "a real PDF",
        bytes: include_bytes!("../payloads/uploads/valid.pdf"),
    },
    UploadPayload {
        file: "valid.txt",
        name: "notes.txt",
        mime: "text/plain",
        hostile: false,
        what: "UTF-8 text",
        bytes: include_bytes!("../payloads/uploads/valid.txt"),
    },
    UploadPayload {
        file: "svg_as_png.png",
        name: "avatar.png",
        mime: "image/png",
        hostile: true,
        what: "an SVG with script, renamed .png",
        bytes: include_bytes!("../payloads/uploads/svg_as_png.png"),
    },
    UploadPayload {
        file: "svg_charset.svg",
        name: "avatar.svg",
        mime: "image/svg+xml; charset=utf-8",
        hostile: true,
        what: "an SVG whose MIME type carries a charset",
        bytes: include_bytes!("../payloads/uploads/svg_charset.svg"),
    },
    UploadPayload {
        file: "svg_trailing_dot.svg",
        name: "evil.svg.",
        mime: "image/png",
        hostile: true,
        what: "an SVG named evil.svg. (trailing dot)",
        bytes: include_bytes!("../payloads/uploads/svg_trailing_dot.svg"),
    },
    UploadPayload {
        file: "svg_trailing_space.svg",
        name: "evil.svg ",
        mime: "image/png",
        hostile: true,
        what: "an SVG named 'evil.svg ' (trailing space)",
        bytes: include_bytes!("../payloads/uploads/svg_trailing_space.svg"),
    },
    UploadPayload {
        file: "svg_double_ext.png",
        name: "evil.svg.png",
        mime: "image/png",
        hostile: true,
        what: "an SVG named evil.svg.png",
        bytes: include_bytes!("../payloads/uploads/svg_double_ext.png"),
    },
    UploadPayload {
        file: "html_as_jpg.jpg",
        name: "photo.jpg",
        mime: "image/jpeg",
        hostile: true,
        what: "an HTML page renamed .jpg",
        bytes: include_bytes!("../payloads/uploads/html_as_jpg.jpg"),
    },
    UploadPayload {
        file: "html_as_txt.txt",
        name: "notes.txt",
        mime: "text/plain",
        hostile: true,
        what: "an HTML page renamed .txt",
        bytes: include_bytes!("../payloads/uploads/html_as_txt.txt"),
    },
    UploadPayload {
        file: "png_with_script.png",
        name: "photo.png",
        mime: "image/png",
        hostile: true,
        what: "a real PNG followed by a script",
        bytes: include_bytes!("../payloads/uploads/png_with_script.png"),
    },
    UploadPayload {
        file: "gifar.gif",
        name: "anim.gif",
        mime: "image/gif",
        hostile: true,
        what: "GIFAR: a GIF with a ZIP (JAR) appended",
        bytes: include_bytes!("../payloads/uploads/gifar.gif"),
    },
    UploadPayload {
        file: "pdf_html.pdf",
        name: "doc.pdf",
        mime: "application/pdf",
        hostile: true,
        what: "a PDF that is also an HTML page",
        bytes: include_bytes!("../payloads/uploads/pdf_html.pdf"),
    },
    UploadPayload {
        file: "exe_as_png.png",
        name: "photo.png",
        mime: "image/png",
        hostile: true,
        what: "a Windows executable renamed .png",
        bytes: include_bytes!("../payloads/uploads/exe_as_png.png"),
    },
    UploadPayload {
        file: "zip_as_png.png",
        name: "photo.png",
        mime: "image/png",
        hostile: true,
        what: "a ZIP renamed .png",
        bytes: include_bytes!("../payloads/uploads/zip_as_png.png"),
    },
    UploadPayload {
        file: "png_as_jpg.jpg",
        name: "photo.jpg",
        mime: "image/jpeg",
        hostile: true,
        what: "a PNG named .jpg (type mismatch)",
        bytes: include_bytes!("../payloads/uploads/png_as_jpg.jpg"),
    },
    UploadPayload {
        file: "mime_mismatch.png",
        name: "photo.png",
        mime: "image/svg+xml",
        hostile: true,
        what: "a PNG announced as image/svg+xml",
        bytes: include_bytes!("../payloads/uploads/mime_mismatch.png"),
    },
    UploadPayload {
        file: "rtl_name.png",
        name: "gnp\u{202e}.exe",
        mime: "image/png",
        hostile: true,
        what: "a name with a right-to-left override (reads as exe.png)",
        bytes: include_bytes!("../payloads/uploads/rtl_name.png"),
    },
    UploadPayload {
        file: "traversal.png",
        name: "../../etc/passwd.png",
        mime: "image/png",
        hostile: false,
        what: "a real PNG with a path traversal name (the name is made safe)",
        bytes: include_bytes!("../payloads/uploads/traversal.png"),
    },
    UploadPayload {
        file: "reserved.png",
        name: "CON.png",
        mime: "image/png",
        hostile: false,
        what: "a real PNG named CON.png (made safe)",
        bytes: include_bytes!("../payloads/uploads/reserved.png"),
    },
    UploadPayload {
        file: "nul_name.png",
        name: "photo\u{0}.png",
        mime: "image/png",
        hostile: false,
        what: "a real PNG with a NUL in its name (made safe)",
        bytes: include_bytes!("../payloads/uploads/nul_name.png"),
    },
    UploadPayload {
        file: "long_name.png",
        name: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.png",
        mime: "image/png",
        hostile: false,
        what: "a real PNG with a 1,000-character name (shortened)",
        bytes: include_bytes!("../payloads/uploads/long_name.png"),
    },
    UploadPayload {
        file: "empty.png",
        name: "empty.png",
        mime: "image/png",
        hostile: true,
        what: "an empty file",
        bytes: include_bytes!("../payloads/uploads/empty.png"),
    },
];

/// Every file of the corpus.
pub fn upload_corpus() -> &'static [UploadPayload] {
    CORPUS
}
