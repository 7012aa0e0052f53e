//! The client's file name, made safe to keep as metadata and to show: it
//! never names a path on the server (stored files get server-made names),
//! and what is shown cannot lie about the file.
//!
//! [`client_name`] keeps the last path component only (no `/`, `\`, `..`),
//! removes control, format and bidi characters (a right-to-left override
//! turns `gnp.exe` into what reads as `exe.png`), trims the spaces and dots
//! Windows drops from the end (`evil.svg.` is `evil.svg`), renames Windows
//! device names (`CON`, `aux.txt`), and keeps at most [`MAX_NAME_BYTES`]
//! bytes, extension included. [`extension`] is the last extension only, so
//! `photo.php.png` is a `.png`, and its bytes must prove it.

/// Longest client file name kept, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// `true` for characters a file name must not carry: controls, and the
/// invisible format and bidi characters (general category Cf).
fn invisible(c: char) -> bool {
    c.is_control() || crate::security::is_format_char(c)
}

/// The client's name for a file, safe to keep and to show (escaped like
/// any text). Never empty: `file` when nothing is left.
pub fn client_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name: String = last.chars().filter(|c| !invisible(*c)).collect();
    // Windows drops trailing dots and spaces: `evil.svg. ` is `evil.svg`.
    while name.ends_with(['.', ' ']) {
        name.pop();
    }
    let name = name.trim_start().to_owned();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        return "file".to_owned();
    }
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    let name = if RESERVED.contains(&stem.to_ascii_lowercase().as_str()) {
        format!("_{name}")
    } else {
        name
    };
    truncate(&name)
}

/// At most [`MAX_NAME_BYTES`] bytes on a character boundary, keeping the
/// extension (`<start of a very long name>.png`).
fn truncate(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let ext = extension(name)
        .map(|ext| format!(".{ext}"))
        .filter(|ext| ext.len() <= 16)
        .unwrap_or_default();
    let mut end = MAX_NAME_BYTES - ext.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ext}", &name[..end])
}

/// The last extension, lower case, without the dot (`None` for none).
pub fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names() {
        let cases = [
            ("photo.png", "photo.png"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Windows\\system32\\cmd.exe", "cmd.exe"),
            ("a/b\\..\\c.txt", "c.txt"),
            ("..", "file"),
            ("...", "file"),
            ("", "file"),
            ("evil.svg.", "evil.svg"),
            ("evil.svg . . ", "evil.svg"),
            ("gnp\u{202e}.exe", "gnp.exe"),
            ("in\u{200b}visible\u{feff}.txt", "invisible.txt"),
            ("nul\u{0}byte.png", "nulbyte.png"),
            ("bell\u{7}\u{1b}[31m.png", "bell[31m.png"),
            ("CON", "_CON"),
            ("aux.txt", "_aux.txt"),
            ("Lpt9.tar.gz", "_Lpt9.tar.gz"),
            ("console.txt", "console.txt"),
            ("photo.php.png", "photo.php.png"),
        ];
        for (raw, expected) in cases {
            assert_eq!(client_name(raw), expected, "{raw:?}");
        }
        assert_eq!(extension("photo.php.png").as_deref(), Some("png"));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("noext"), None);
    }

    #[test]
    fn long_names_keep_their_extension_and_utf8() {
        let long = format!("{}.png", "é".repeat(1000));
        let kept = client_name(&long);
        assert!(kept.len() <= MAX_NAME_BYTES, "{}", kept.len());
        assert!(kept.ends_with(".png"));
        let long = "x".repeat(1000);
        assert_eq!(client_name(&long).len(), MAX_NAME_BYTES);
    }
}
