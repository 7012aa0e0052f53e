//! Open-redirect protection for `?next=` style parameters.

/// Longest `next` value accepted.
const MAX_NEXT_LEN: usize = 2048;

/// `next` if it is a same-origin path, otherwise `"/"`.
///
/// Accepted: starts with exactly one `/` (not `//` or `/\`, which browsers
/// treat as another host), contains no backslash, no control or whitespace
/// character (browsers strip tab and newline, turning `/\t/evil.com` into
/// `//evil.com`; CR/LF would split headers), no `..` path segment, is at most
/// 2048 bytes, and all of that except the whitespace rule (`%20` is fine)
/// still holds after one round of percent-decoding (`/%2F%2Fevil.com`,
/// `/%2e%2e/`, `/%0d%0a…`). Invalid percent escapes are refused. The value
/// is returned exactly as given, never decoded.
pub fn safe_next_path(next: &str) -> String {
    if next.len() <= MAX_NEXT_LEN && is_safe_path(next, Whitespace::Refuse) {
        if let Some(decoded) = percent_decode_once(next) {
            if is_safe_path(&decoded, Whitespace::Allow) {
                return next.to_owned();
            }
        }
    }
    "/".to_owned()
}

/// `login_url?next=<path>`, with `next` made safe ([`safe_next_path`]) and
/// percent-encoded: where an anonymous user is sent from a `login_required`
/// page or socket.
pub fn login_redirect_target(login_url: &str, next: &str) -> String {
    let next = safe_next_path(next);
    let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{login_url}?next={encoded}")
}

/// Whether whitespace is refused: always in the raw text, but an encoded
/// space (`%20`) is a normal thing to find in a query.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whitespace {
    Refuse,
    Allow,
}

fn is_safe_path(path: &str, whitespace: Whitespace) -> bool {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') || matches!(bytes.get(1), Some(b'/' | b'\\')) {
        return false;
    }
    if path.chars().any(|c| {
        c == '\\' || c.is_control() || (whitespace == Whitespace::Refuse && c.is_whitespace())
    }) {
        return false;
    }
    let path_part = path.split(['?', '#']).next().unwrap_or_default();
    !path_part.split('/').any(|segment| segment == "..")
}

/// One round of percent-decoding; `None` for a bad escape or non-UTF-8 result.
fn percent_decode_once(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let high = hex_value(*bytes.get(index + 1)?)?;
            let low = hex_value(*bytes.get(index + 2)?)?;
            out.push(high << 4 | low);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Longest path or query accepted for live routing, in bytes.
pub const MAX_URL_BYTES: usize = 4096;

/// `url` (fragment included) when it is a same-origin path (the check of
/// `safe_next_path`, which also judges the fragment), within
/// [`MAX_URL_BYTES`]; `None` otherwise.
pub fn same_origin_url(url: &str) -> Option<String> {
    if url.len() > MAX_URL_BYTES {
        return None;
    }
    (safe_next_path(url) == url).then(|| url.to_owned())
}

/// `url` (without its fragment) when it can be routed: its path passes
/// [`same_origin_url`] and no part of it holds a raw control, whitespace
/// or backslash character. Percent-escapes in the query are data (`?q=%09` searches for
/// a tab), so they are not judged as a redirect target would be; a URL that
/// is later used as a redirect target still goes through `safe_next_path`.
pub fn routable_url(url: &str) -> Option<String> {
    if url.len() > MAX_URL_BYTES {
        return None;
    }
    if url
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let url = url.split('#').next().unwrap_or_default();
    let path = url.split_once('?').map_or(url, |(path, _)| path);
    (same_origin_url(path).as_deref() == Some(path)).then(|| url.to_owned())
}
