//! The plain-HTTP side of a bench client, shared by `djust-bench` and
//! `djust-soak`: where the page lives ([`Target`], loopback only), `GET` of
//! the page over HTTP/1.1 (cookies, chunked bodies) and reading an
//! attribute such as the mount token out of it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound on every single network wait.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the page lives.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
}

/// Parses `--url`: `http://IP:PORT[/path]`, loopback only.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url `{url}`: only http:// URLs are supported"))?;
    let (host, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = host
        .parse()
        .map_err(|_| format!("--url `{url}`: host must be IP:PORT (e.g. 127.0.0.1:8000)"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "--url `{url}`: only loopback addresses are allowed"
        ));
    }
    Ok(Target {
        addr,
        path: path.to_owned(),
    })
}

/// A page as `GET` returned it: the (dechunked) body and the cookies set.
pub struct Page {
    pub body: String,
    pub cookies: Vec<String>,
}

/// `GET path` over HTTP/1.1 with `Connection: close`.
pub async fn get_page(target: &Target, cookie: Option<&str>) -> Result<Page, String> {
    let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(target.addr))
        .await
        .map_err(|_| "GET: connect timed out".to_owned())?
        .map_err(|e| format!("GET: connect {}: {e}", target.addr))?;
    get_page_over(stream, target, cookie).await
}

/// `GET path` over an already connected `stream` (e.g. one bound to a
/// chosen source address).
pub async fn get_page_over(
    mut stream: TcpStream,
    target: &Target,
    cookie: Option<&str>,
) -> Result<Page, String> {
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: text/html\r\n",
        target.path, target.addr
    );
    if let Some(cookie) = cookie {
        request.push_str("Cookie: ");
        request.push_str(cookie);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("GET: write: {e}"))?;
    let mut raw = Vec::with_capacity(8192);
    tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut raw))
        .await
        .map_err(|_| "GET: read timed out".to_owned())?
        .map_err(|e| format!("GET: read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("GET: malformed HTTP response")?;
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("?");
    if status != "200" {
        return Err(format!("GET {}: HTTP status {status}", target.path));
    }
    let cookies = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, value)| value.split(';').next().map(|c| c.trim().to_owned()))
        .collect();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok(Page {
        body: if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
        cookies,
    })
}

/// Joins the chunks of a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = size.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            break;
        };
        if size == 0 || rest.len() < size || !rest.is_char_boundary(size) {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The value of the first `name="..."` attribute in `html`.
pub fn attribute(html: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&amp;", "&")
            .replace("&quot;", "\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_parse_with_their_path() {
        let target =
            parse_url("http://127.0.0.1:8000/table?x=<b>&y=é").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            target.addr,
            "127.0.0.1:8000".parse().unwrap_or_else(|e| panic!("{e}"))
        );
        assert_eq!(target.path, "/table?x=<b>&y=é");
        let target = parse_url("http://127.0.0.1:8000").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(target.path, "/");
        let target = parse_url("http://[::1]:8000/").unwrap_or_else(|e| panic!("{e}"));
        assert!(target.addr.ip().is_loopback());
    }

    #[test]
    fn other_urls_are_refused() {
        for url in [
            "https://127.0.0.1:8000/",
            "ws://127.0.0.1:8000/",
            "http://10.0.0.1:8000/",
            "http://0.0.0.0:8000/",
            "http://localhost:8000/",
            "http://127.0.0.1/",
            "http://127.0.0.1:99999/",
            "http://user@127.0.0.1:8000/",
            "http://１２７.0.0.1:8000/",
            "HTTP://127.0.0.1:8000/",
            "",
        ] {
            assert!(parse_url(url).is_err(), "{url} was accepted");
        }
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"),
            "hello world"
        );
        assert_eq!(dechunk("5\r\nnaïv\r\n2\r\ne!\r\n0\r\n\r\n"), "naïve!");
        assert_eq!(dechunk(""), "");
    }

    #[test]
    fn malformed_chunks_stop_without_panicking() {
        // Not hex, a size beyond the body, a size that overflows usize, a
        // size that ends inside a character, no size line at all.
        assert_eq!(dechunk("zz\r\nhello\r\n0\r\n\r\n"), "");
        assert_eq!(dechunk("5\r\nhello\r\nff\r\nshort\r\n"), "hello");
        assert_eq!(dechunk("ffffffffffffffffffff\r\nx\r\n"), "");
        assert_eq!(dechunk("2\r\néa\r\n0\r\n\r\n"), "é");
        assert_eq!(dechunk("1\r\né\r\n0\r\n\r\n"), "");
        assert_eq!(dechunk("hello"), "");
    }

    #[test]
    fn attributes_are_found_by_whole_name_and_unescaped() {
        let html = r#"<div xdata-djust-view="wrong" data-djust-view="a&amp;b &quot;c&quot;" data-djust-token="t">"#;
        assert_eq!(
            attribute(html, "data-djust-view").as_deref(),
            Some(r#"a&b "c""#)
        );
        assert_eq!(attribute(html, "data-djust-token").as_deref(), Some("t"));
        assert_eq!(attribute(html, "dj-view"), None);
        assert_eq!(attribute(r#"<div dj-view="unterminated"#, "dj-view"), None);
        assert_eq!(
            attribute(r#"<div dj-view="">"#, "dj-view").as_deref(),
            Some("")
        );
    }
}
