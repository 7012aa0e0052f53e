//! Uploads over a real WebSocket: a declared slot takes a file streamed as
//! acknowledged binary chunks into a temp file, and a handler consumes it.
//! Every refusal the issue lists, each before the bytes are kept: not
//! mounted, undeclared slot, unannounced chunk, size and type against the
//! slot, the hostile-file corpus (disguises, polyglots, type mismatches,
//! bidi names, trailing dots), one byte over the announced size, too many
//! files, the slot's permission, oversize chunks, the byte rate and the
//! quota. Cancelled, refused and interrupted uploads leave no temp file.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use djust::prelude::*;
use djust::runtime::auth::{MemoryAuthBackend, User};
use djust_testing::payloads::upload_corpus;
use futures_util::SinkExt;
use serde_json::{json, Value};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// Where saved photos go (app state).
struct Storage(PathBuf);

struct Profile {
    saved: Vec<(String, u64, String)>,
}

#[live_view(
    public,
    name = "profile",
    upload(photo, accept = "image/*", max_size = "64KB", max_entries = 1),
    upload(
        docs,
        accept = ".pdf .txt",
        max_size = "200KB",
        max_entries = 2,
        permission = "docs.upload"
    ),
    upload(notes, accept = "text/plain", max_size = "1MB")
)]
impl Profile {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Profile { saved: Vec::new() })
    }

    fn render(&self) -> Html {
        html! {
            <input type="file" dj-upload="photo"/>
            <input type="file" dj-upload="docs"/>
            <input type="file" dj-upload="notes"/>
            <ul id="saved">
                for (index, (name, size, mime)) in self.saved.iter().enumerate() key = index {
                    <li>{name} " " {size} " " {mime}</li>
                }
            </ul>
            <button dj-click="save">"Save"</button>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 100, burst = 100, key = "ip")]
    fn save(&mut self, ctx: &mut EventCtx) -> Result<()> {
        let storage = ctx.state::<Storage>()?.0.clone();
        let saved = ctx.consume_uploads("photo", |file, path| {
            let target = storage.join(format!("{}{}", self.saved.len(), file.extension));
            std::fs::copy(path, &target).map_err(|e| Error::msg(e.to_string()))?;
            Ok((file.name.clone(), file.size, file.mime.to_owned()))
        })?;
        self.saved.extend(saved);
        Ok(())
    }
}

struct Plain;

#[live_view(public, name = "plain")]
impl Plain {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Plain)
    }
    fn render(&self) -> Html {
        html! { <p>"no uploads here"</p> }
    }
}

struct Running {
    server: djust::Server,
    uploads: PathBuf,
    storage: PathBuf,
    _cleanup: Cleanup,
}

/// Removes the test's directories when it ends (also on failure).
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "djust-upload-test-{name}-{}",
        djust::runtime::auth::generate_token()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

async fn start(name: &str, config: djust::Config) -> Running {
    let uploads = temp(&format!("{name}-tmp"));
    let storage = temp(&format!("{name}-store"));
    let backend = MemoryAuthBackend::new();
    backend.insert(
        User::new("1", "dora").with_permission("docs.upload"),
        quick_hash("dora-password"),
    );
    let server = App::new()
        .config(djust::Config {
            upload_dir: Some(uploads.clone()),
            ..config
        })
        .auth(backend)
        .state(Storage(storage.clone()))
        .live("/", Profile::view())
        .live("/plain", Plain::view())
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    Running {
        server,
        _cleanup: Cleanup(vec![uploads.clone(), storage.clone()]),
        uploads,
        storage,
    }
}

/// Files in `dir` (the temp files of uploads).
fn files_in(dir: &PathBuf) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn announce(
    socket: &mut Socket,
    slot: &str,
    reference: &str,
    name: &str,
    size: usize,
    mime: &str,
) -> Value {
    send_json(
        socket,
        &json!({"type": "upload", "slot": slot, "ref": reference, "name": name, "size": size, "mime": mime}),
    )
    .await;
    recv(socket).await.expect("reply")
}

fn chunk(reference: &str, data: &[u8]) -> Vec<u8> {
    let mut frame = vec![reference.len() as u8];
    frame.extend_from_slice(reference.as_bytes());
    frame.extend_from_slice(data);
    frame
}

async fn send_chunk(socket: &mut Socket, reference: &str, data: &[u8]) -> Value {
    socket
        .send(Message::Binary(chunk(reference, data).into()))
        .await
        .expect("send");
    recv(socket).await.expect("reply")
}

/// Uploads `bytes` in chunks of `size`, each after the last ack; returns
/// every reply.
async fn upload(
    socket: &mut Socket,
    slot: &str,
    reference: &str,
    name: &str,
    mime: &str,
    bytes: &[u8],
    size: usize,
) -> Vec<Value> {
    let mut replies = vec![announce(socket, slot, reference, name, bytes.len(), mime).await];
    if replies[0]["type"] != "upload_ack" {
        return replies;
    }
    for part in bytes.chunks(size) {
        let reply = send_chunk(socket, reference, part).await;
        let acked = reply["type"] == "upload_ack";
        replies.push(reply);
        if !acked {
            return replies;
        }
        if part.len() < size || replies.len() == bytes.len().div_ceil(size) + 1 {
            break;
        }
    }
    if replies.last().is_some_and(|r| r["type"] == "upload_ack") && replies.len() > 1 {
        // The final ack is followed by `upload_done`.
        if let Some(done) = recv(socket).await {
            replies.push(done);
        }
    }
    replies
}

fn kinds(frames: &[Value]) -> Vec<&str> {
    frames
        .iter()
        .map(|f| f["type"].as_str().unwrap_or_default())
        .collect()
}

fn error_of(frames: &[Value]) -> String {
    frames
        .iter()
        .find(|f| f["type"] == "upload_error")
        .and_then(|f| f["error"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn corpus(file: &str) -> &'static djust_testing::payloads::UploadPayload {
    upload_corpus()
        .iter()
        .find(|payload| payload.file == file)
        .expect("corpus file")
}

#[tokio::test]
async fn a_declared_slot_takes_a_file_in_acknowledged_chunks_and_a_handler_consumes_it() {
    let running = start("happy", test_config()).await;
    let (mut socket, _) = mount_page(running.server.local_addr(), "/", "profile").await;
    let png = corpus("valid.png");
    let replies = upload(
        &mut socket,
        "photo",
        "p1",
        "<img src=x onerror=alert(1)>.png",
        "image/png",
        png.bytes,
        20,
    )
    .await;
    let offsets: Vec<u64> = replies
        .iter()
        .filter(|r| r["type"] == "upload_ack")
        .map(|r| r["offset"].as_u64().unwrap_or_default())
        .collect();
    let expected: Vec<u64> = std::iter::once(0)
        .chain((1..=png.bytes.len().div_ceil(20)).map(|n| (n * 20).min(png.bytes.len()) as u64))
        .collect();
    assert_eq!(offsets, expected, "{replies:?}");
    assert_eq!(
        replies.last().map(|r| r["type"].clone()),
        Some(json!("upload_done"))
    );
    assert_eq!(files_in(&running.uploads).len(), 1, "waiting for a handler");
    let frames = send_event(&mut socket, "save", json!({}), 1).await;
    let patch = frames[0].to_string();
    assert!(
        patch.contains("&lt;img src=x onerror=alert(1)&gt;.png") && !patch.contains("<img"),
        "escaped: {patch}"
    );
    send_json(&mut socket, &json!({"type": "request_html"})).await;
    let html = recv(&mut socket).await.expect("html");
    let html = html["html"].as_str().unwrap_or_default();
    let shown = format!(
        "&lt;img src=x onerror=alert(1)&gt;.png {} image/png",
        png.bytes.len()
    );
    assert!(
        html.contains(&shown),
        "the client name is escaped metadata: {html}"
    );
    assert_eq!(
        files_in(&running.uploads),
        Vec::<String>::new(),
        "consumed: deleted"
    );
    assert_eq!(
        files_in(&running.storage),
        ["0.png"],
        "stored under the app's name"
    );
}

#[tokio::test]
async fn every_hostile_file_of_the_corpus_is_refused_and_leaves_nothing() {
    // Many frames at once: this test is about the upload checks.
    let running = start(
        "corpus",
        djust::Config {
            rate_per_second: 10_000.0,
            rate_burst: 10_000,
            ..test_config()
        },
    )
    .await;
    let (mut socket, _) = mount_page(running.server.local_addr(), "/", "profile").await;
    for (index, payload) in upload_corpus().iter().enumerate() {
        let reference = format!("c{index}");
        let replies = upload(
            &mut socket,
            "photo",
            &reference,
            payload.name,
            payload.mime,
            payload.bytes,
            4096,
        )
        .await;
        let accepted = replies.last().is_some_and(|r| r["type"] == "upload_done");
        let is_image = payload.mime.starts_with("image/") && !payload.mime.contains("svg");
        if payload.hostile || !is_image {
            assert!(!accepted, "{}: {replies:?}", payload.what);
            assert!(
                !error_of(&replies).is_empty(),
                "{}: a reason: {replies:?}",
                payload.what
            );
        } else {
            assert!(accepted, "{} should pass: {replies:?}", payload.what);
            // Make room in the one-entry slot.
            send_json(
                &mut socket,
                &json!({"type": "upload_cancel", "ref": reference}),
            )
            .await;
        }
        assert_eq!(
            until_pong(&mut socket).await,
            Vec::<Value>::new(),
            "{}",
            payload.what
        );
    }
    // Finished uploads wait for a handler; nothing else is on disk.
    assert!(
        files_in(&running.uploads).len() <= 1,
        "{:?}",
        files_in(&running.uploads)
    );
    send_event(&mut socket, "save", json!({}), 1).await;
    assert_eq!(files_in(&running.uploads), Vec::<String>::new());
}

#[tokio::test]
async fn refusals_before_any_byte_is_kept() {
    // Many frames at once: this test is about the upload checks.
    let running = start(
        "refusals",
        djust::Config {
            rate_per_second: 10_000.0,
            rate_burst: 10_000,
            ..test_config()
        },
    )
    .await;
    let addr = running.server.local_addr();
    let png = corpus("valid.png").bytes;

    // Not mounted.
    let mut socket = connect(addr).await;
    let reply = announce(&mut socket, "photo", "a", "x.png", 10, "image/png").await;
    assert_eq!(reply["type"], "error", "{reply}");

    let (mut socket, _) = mount_page(addr, "/", "profile").await;
    let cases: [(&str, &str, &str, usize, &str, &str); 8] = [
        (
            "undeclared slot",
            "avatar",
            "x.png",
            10,
            "image/png",
            "no upload here",
        ),
        (
            "too large",
            "photo",
            "x.png",
            64 * 1024 + 1,
            "image/png",
            "at most 64 KB",
        ),
        ("empty", "photo", "x.png", 0, "image/png", "empty"),
        (
            "type not accepted",
            "photo",
            "x.pdf",
            10,
            "application/pdf",
            "accepted: .png",
        ),
        (
            "active content",
            "photo",
            "x.svg",
            10,
            "image/svg+xml",
            "not accepted",
        ),
        (
            "name and type disagree",
            "photo",
            "x.png",
            10,
            "image/gif",
            "could not be recognised",
        ),
        (
            "unknown extension",
            "photo",
            "x.exe",
            10,
            "application/octet-stream",
            "could not be recognised",
        ),
        (
            "permission",
            "docs",
            "x.pdf",
            10,
            "application/pdf",
            "not allowed",
        ),
    ];
    for (what, slot, name, size, mime, says) in cases {
        let reply = announce(&mut socket, slot, "r1", name, size, mime).await;
        assert_eq!(reply["type"], "upload_error", "{what}: {reply}");
        assert!(
            reply["error"].as_str().unwrap_or_default().contains(says),
            "{what}: {reply}"
        );
    }
    for bad in ["", "has space", "x".repeat(33).as_str(), "../x", "é"] {
        let reply = announce(&mut socket, "photo", bad, "x.png", 10, "image/png").await;
        assert_eq!(reply["type"], "upload_error", "ref {bad:?}: {reply}");
    }
    // A chunk for nothing announced.
    let reply = send_chunk(&mut socket, "ghost", b"data").await;
    assert_eq!(reply["type"], "upload_error", "{reply}");
    assert_eq!(reply["error"], "Unknown upload.");
    // One byte over the announced size aborts the entry.
    assert_eq!(
        announce(&mut socket, "photo", "o1", "x.png", png.len(), "image/png").await["type"],
        "upload_ack"
    );
    let mut over = png.to_vec();
    over.push(0);
    let reply = send_chunk(&mut socket, "o1", &over).await;
    assert_eq!(reply["type"], "upload_error", "{reply}");
    assert!(reply["error"]
        .as_str()
        .unwrap_or_default()
        .contains("too large"));
    assert_eq!(files_in(&running.uploads), Vec::<String>::new());
    // A chunk larger than 64 KiB aborts the entry.
    assert_eq!(
        announce(&mut socket, "photo", "o2", "x.png", 60 * 1024, "image/png").await["type"],
        "upload_ack"
    );
    let reply = send_chunk(&mut socket, "o2", &vec![0u8; 64 * 1024]).await;
    assert_eq!(reply["type"], "upload_error", "{reply}");
    // The limit is the whole frame, reference included: exactly 64 KiB
    // (one length byte, "o3", 65533 bytes of the file) is taken.
    assert_eq!(
        announce(&mut socket, "notes", "o3", "n.txt", 70_000, "text/plain").await["type"],
        "upload_ack"
    );
    let reply = send_chunk(&mut socket, "o3", &vec![b'a'; 64 * 1024 - 3]).await;
    assert_eq!(reply["type"], "upload_ack", "{reply}");
    assert_eq!(reply["offset"], 65_533, "{reply}");
    send_json(&mut socket, &json!({"type": "upload_cancel", "ref": "o3"})).await;
    // Too many files in the slot.
    assert_eq!(
        announce(&mut socket, "photo", "m1", "a.png", png.len(), "image/png").await["type"],
        "upload_ack"
    );
    let reply = announce(&mut socket, "photo", "m2", "b.png", png.len(), "image/png").await;
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Too many files"),
        "{reply}"
    );
    // Cancel deletes the temp file.
    assert_eq!(files_in(&running.uploads).len(), 1);
    send_json(&mut socket, &json!({"type": "upload_cancel", "ref": "m1"})).await;
    assert!(until_pong(&mut socket).await.is_empty());
    assert_eq!(files_in(&running.uploads), Vec::<String>::new());
    // The socket stayed open through all of it.
    assert!(until_pong(&mut socket).await.is_empty());
}

#[tokio::test]
async fn a_user_with_the_slot_permission_may_upload_there() {
    let running = start("permission", test_config()).await;
    let addr = running.server.local_addr();
    let cookie = log_in(addr, "dora", "dora-password", "/").await;
    let (mut socket, _) = mount_page_as(addr, "/", "profile", &cookie).await;
    let pdf = corpus("valid.pdf");
    let replies = upload(
        &mut socket,
        "docs",
        "d1",
        "a.pdf",
        "application/pdf",
        pdf.bytes,
        1024,
    )
    .await;
    assert_eq!(kinds(&replies).last(), Some(&"upload_done"), "{replies:?}");
}

#[tokio::test]
async fn an_interrupted_upload_leaves_no_temp_file() {
    let running = start("interrupted", test_config()).await;
    let (mut socket, _) = mount_page(running.server.local_addr(), "/", "profile").await;
    let png = corpus("valid.png").bytes;
    assert_eq!(
        announce(&mut socket, "photo", "i1", "x.png", png.len(), "image/png").await["type"],
        "upload_ack"
    );
    assert_eq!(
        send_chunk(&mut socket, "i1", &png[..30]).await["type"],
        "upload_ack"
    );
    assert_eq!(files_in(&running.uploads).len(), 1);
    drop(socket);
    for _ in 0..100 {
        if files_in(&running.uploads).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The connection's view may wait for a resume, its partial upload does not.
    assert!(
        files_in(&running.uploads).len() <= 1,
        "{:?}",
        files_in(&running.uploads)
    );
    running.server.shutdown().await;
    for _ in 0..100 {
        if files_in(&running.uploads).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(files_in(&running.uploads), Vec::<String>::new());
}

#[tokio::test]
async fn the_byte_rate_and_the_quotas_hold() {
    let running = start(
        "limits",
        djust::Config {
            upload_bytes_per_second: 1024,
            upload_connection_quota_bytes: 300 * 1024,
            ..test_config()
        },
    )
    .await;
    let (mut socket, _) = mount_page(running.server.local_addr(), "/", "profile").await;
    // Over the connection's quota.
    let reply = announce(
        &mut socket,
        "notes",
        "q1",
        "x.txt",
        301 * 1024,
        "text/plain",
    )
    .await;
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or_default()
            .contains("No room"),
        "{reply}"
    );
    // At 1 KiB/s: one chunk's worth may come at once, the next must wait.
    let text = vec![b'a'; 200 * 1024];
    assert_eq!(
        announce(
            &mut socket,
            "notes",
            "f1",
            "x.txt",
            text.len(),
            "text/plain"
        )
        .await["type"],
        "upload_ack"
    );
    let reply = send_chunk(&mut socket, "f1", &text[..60 * 1024]).await;
    assert_eq!(reply["type"], "upload_ack", "{reply}");
    assert!(
        reply["wait_ms"].as_u64().unwrap_or_default() > 1000,
        "the ack says how long to wait: {reply}"
    );
    let reply = send_chunk(&mut socket, "f1", &text[60 * 1024..120 * 1024]).await;
    assert_eq!(
        reply["type"], "upload_error",
        "a client ignoring wait_ms is cut off: {reply}"
    );
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or_default()
            .contains("too fast"),
        "{reply}"
    );
    assert_eq!(files_in(&running.uploads), Vec::<String>::new());
}

#[tokio::test]
async fn a_view_without_upload_slots_refuses_binary_frames() {
    let running = start("plain", test_config()).await;
    let (mut socket, _) = mount_page(running.server.local_addr(), "/plain", "plain").await;
    socket
        .send(Message::Binary(chunk("x", b"data").into()))
        .await
        .expect("send");
    let (code, _) = until_close(&mut socket).await;
    assert_eq!(code, Some(1003));
}
