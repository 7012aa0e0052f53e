//! daphne GHSA-rrc9-mx66-ffcm: oversize WebSocket frames were buffered
//! before they were refused. The size limit was applied to the assembled
//! message, so a client announcing a huge frame (or sending fragments that
//! never end) made the server read and hold all of it first: memory
//! exhaustion from a single socket.
//!
//! In djust-rs the transport refuses on the frame header: a frame, or the
//! fragments of one message, longer than 4 × `DJUST_MAX_MESSAGE_BYTES` is a
//! capacity error before its payload is read; below that backstop, a
//! message above `DJUST_MAX_MESSAGE_BYTES` is read and refused unparsed.
//! Either way the client gets the `Message too large` error and close
//! 1009, and nothing more of the socket is read. The tests write
//! hand-made frame headers to the raw TCP stream and wait for the refusal
//! having written only a bounded number of bytes: the header alone for a
//! 10 MiB announcement, the backstop plus one byte for endless fragments.
//! A server that buffered first would wait for bytes that never come.

use djust::prelude::*;
use djust::runtime::security::SafeError;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::MaybeTlsStream;

use crate::support::*;

/// Ten mebibytes: the announced frame.
const HUGE: u64 = 10 * 1024 * 1024;

/// The smallest `DJUST_MAX_MESSAGE_BYTES`: a backstop of 4 KiB.
const SMALL_LIMIT: usize = 1024;

const TEXT: u8 = 0x1;
const CONTINUATION: u8 = 0x0;

struct Echo {
    count: u64,
}

#[live_view(public, name = "adv_rrc9_echo")]
impl Echo {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Echo { count: 0 })
    }

    fn render(&self) -> Html {
        html! { <p id="count">{self.count}</p> }
    }

    #[event_handler]
    fn bump(&mut self) {
        self.count += 1;
    }
}

async fn start(max_message_bytes: usize) -> djust::Server {
    App::new()
        .config(djust::Config {
            max_message_bytes,
            ..test_config()
        })
        .live("/", Echo::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// A client frame header (masked, as clients must) announcing `length`
/// payload bytes, and its mask.
fn header(fin: bool, opcode: u8, length: u64) -> (Vec<u8>, [u8; 4]) {
    let mask = [0x37_u8, 0xfa, 0x21, 0x3d];
    let mut bytes = vec![if fin { 0x80 } else { 0x00 } | opcode];
    match length {
        0..=125 => bytes.push(0x80 | length as u8),
        126..=0xffff => {
            bytes.push(0x80 | 126);
            bytes.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            bytes.push(0x80 | 127);
            bytes.extend_from_slice(&length.to_be_bytes());
        }
    }
    bytes.extend_from_slice(&mask);
    (bytes, mask)
}

/// Writes bytes straight to the socket's TCP stream (the WebSocket client
/// is bypassed); returns how many were written.
async fn write_raw(socket: &mut Socket, bytes: &[u8]) -> usize {
    match socket.get_mut() {
        MaybeTlsStream::Plain(tcp) => {
            tcp.write_all(bytes).await.expect("write");
            tcp.flush().await.expect("flush");
            bytes.len()
        }
        _ => panic!("plain TCP expected"),
    }
}

/// Writes a whole frame (header and masked `payload`); returns the bytes written.
async fn write_frame(socket: &mut Socket, fin: bool, opcode: u8, payload: &[u8]) -> usize {
    let (mut bytes, mask) = header(fin, opcode, payload.len() as u64);
    bytes.extend(
        payload
            .iter()
            .enumerate()
            .map(|(index, byte)| byte ^ mask[index % 4]),
    );
    write_raw(socket, &bytes).await
}

/// Expects the refusal: exactly the `Message too large` error, then 1009.
async fn assert_refused(socket: &mut Socket, written: usize, what: &str) {
    let (code, frames) = until_close(socket).await;
    assert_eq!(
        errors(&frames),
        [generic(SafeError::MessageTooLarge)],
        "{what}: no refusal after the client wrote {written} bytes: {frames:?}"
    );
    assert_eq!(code, Some(1009), "{what}");
}

#[tokio::test]
async fn a_10_mib_frame_is_refused_on_its_header() {
    // The default limit (64 KiB, backstop 256 KiB): the production setting.
    let server = start(djust::Config::default().max_message_bytes).await;
    let addr = server.local_addr();
    let (mut socket, _) = mount_page(addr, "/", "adv_rrc9_echo").await;
    let (bytes, _) = header(true, TEXT, HUGE);
    // Only the 14-byte header is ever written: the refusal must come
    // without a single payload byte.
    let written = write_raw(&mut socket, &bytes).await;
    assert_eq!(written, 14);
    assert_refused(&mut socket, written, "10 MiB announced").await;
    // The server is fine: a new socket works.
    let (mut again, _) = mount_page(addr, "/", "adv_rrc9_echo").await;
    let frames = send_event(&mut again, "bump", json!({}), 1).await;
    assert_eq!(frames[0]["type"], "patch", "{frames:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_backstop_is_four_times_the_message_limit_and_exact() {
    let server = start(SMALL_LIMIT).await;
    let addr = server.local_addr();
    let backstop = 4 * SMALL_LIMIT as u64;
    // One byte over the backstop: refused on the header, before mount even.
    let mut socket = connect(addr).await;
    let (bytes, _) = header(true, TEXT, backstop + 1);
    let written = write_raw(&mut socket, &bytes).await;
    assert_refused(&mut socket, written, "backstop + 1 announced").await;
    // At the backstop the frame is read (that much is bounded) and refused
    // by the message limit, unparsed.
    let mut socket = connect(addr).await;
    let payload = vec![b'x'; backstop as usize];
    let written = write_frame(&mut socket, true, TEXT, &payload).await;
    assert_refused(&mut socket, written, "a frame at the backstop").await;
    // Control: a message at the limit is an ordinary event.
    let (mut socket, _) = mount_page(addr, "/", "adv_rrc9_echo").await;
    let empty = r#"{"type":"event","event":"bump","params":{"pad":""},"ref":1}"#;
    let padded = empty.replace(
        "\"pad\":\"\"",
        &format!("\"pad\":\"{}\"", "y".repeat(SMALL_LIMIT - empty.len())),
    );
    assert_eq!(padded.len(), SMALL_LIMIT);
    write_frame(&mut socket, true, TEXT, padded.as_bytes()).await;
    let patch = recv(&mut socket).await.expect("patch");
    assert_eq!(patch["type"], "patch", "{patch}");
    server.shutdown().await;
}

#[tokio::test]
async fn fragments_that_never_end_are_cut_off_at_the_backstop() {
    let server = start(SMALL_LIMIT).await;
    let addr = server.local_addr();
    let (mut socket, _) = mount_page(addr, "/", "adv_rrc9_echo").await;
    let chunk = vec![b'z'; SMALL_LIMIT];
    // Four unfinished fragments fill the backstop exactly, one more byte
    // passes it; no fragment ever carries FIN.
    let mut written = write_frame(&mut socket, false, TEXT, &chunk).await;
    for _ in 0..3 {
        written += write_frame(&mut socket, false, CONTINUATION, &chunk).await;
    }
    written += write_frame(&mut socket, false, CONTINUATION, b"z").await;
    let bound = 4 * SMALL_LIMIT + 1 + 5 * 8;
    assert!(written <= bound, "{written}");
    assert_refused(&mut socket, written, "endless fragments").await;
    server.shutdown().await;
}
