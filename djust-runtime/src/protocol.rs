//! Wire protocol: the JSON text frames exchanged over `/ws/live/` and the DOM patch format.
//!
//! Plain data with serde; no I/O. Incoming
//! frames ignore unknown fields and reject unknown `type`s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One DOM change. Patches are applied IN ORDER and every path or index
/// refers to the DOM as left by the previous patch.
///
/// `path` is the child-index path from the view root: `""` is the root itself
/// (only for child operations on top-level nodes), `"/1/3"` is
/// `root.childNodes[1].childNodes[3]`; text nodes count. `id`, when present,
/// is the static `dj-id` of the target element (for child operations: of the
/// parent) so the client can anchor on it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Patch {
    /// Replace the node at `path` with `value`, the HTML of exactly one node.
    Replace {
        /// Path of the node to replace.
        path: String,
        /// HTML of exactly one node.
        value: String,
        /// `dj-id` of the replaced element.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// Set the data of the text node at `path`.
    SetText {
        /// Path of the text node.
        path: String,
        /// New text, RAW.
        value: String,
        /// Unused for text nodes; always absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// Set attribute `key` of the element at `path` to `value` (RAW).
    SetAttr {
        /// Path of the element.
        path: String,
        /// Attribute name.
        key: String,
        /// Attribute value, RAW.
        value: String,
        /// `dj-id` of the element.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// Remove attribute `key` of the element at `path`.
    RemoveAttr {
        /// Path of the element.
        path: String,
        /// Attribute name.
        key: String,
        /// `dj-id` of the element.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// Insert `node` (HTML of exactly one node) so that it ends at `index` among the children of `path`.
    InsertChild {
        /// Path of the parent (`""` = view root).
        path: String,
        /// Index the new child ends at.
        index: usize,
        /// HTML of exactly one node.
        node: String,
        /// `dj-id` of the parent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// Remove the child at `index` of `path`.
    RemoveChild {
        /// Path of the parent (`""` = view root).
        path: String,
        /// Index of the child to remove.
        index: usize,
        /// `dj-id` of the parent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// Remove the child at `from`, then insert it so that it ends at index `to`.
    MoveChild {
        /// Path of the parent (`""` = view root).
        path: String,
        /// Current index of the child.
        from: usize,
        /// Index the child ends at.
        to: usize,
        /// `dj-id` of the parent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

/// One change to a stream container (`ctx.stream_insert` and friends).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StreamOp {
    /// Inserts the item (or replaces the one with the same id in place).
    Insert {
        /// The item's id (its `data-djust-stream-id`).
        id: String,
        /// The item's markup: one element, rendered by `html!`.
        html: String,
        /// Where: 0 first, -1 last (a replaced item stays where it is).
        at: i64,
    },
    /// Removes the item with this id.
    Delete {
        /// The item's id.
        id: String,
    },
    /// Removes every item.
    Reset,
}

/// How a navigation is recorded in the browser's history.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// A new entry (Back returns to the page before).
    #[default]
    Push,
    /// The current entry is replaced.
    Replace,
    /// The browser already moved (Back or Forward): nothing to record.
    Pop,
}

/// A flash message as sent to the browser (see `view::flash`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FlashFrame {
    /// `info`, `success`, `warning` or `error`.
    pub kind: String,
    /// Plain text.
    pub message: String,
}

/// A frame from the browser.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Mount a view the page was served with.
    Mount {
        /// View name (from `data-djust-view`).
        view: String,
        /// Mount parameters.
        #[serde(default)]
        params: Map<String, Value>,
        /// Current page URL.
        #[serde(default)]
        url: Option<String>,
        /// Signed mount token (from `data-djust-token`).
        mount_token: String,
        /// The digest of the HTML the page already shows (from
        /// `data-djust-digest`): when the socket's first render is the
        /// same, the `mount` frame leaves the HTML out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// A user event for a handler.
    Event {
        /// Handler name.
        event: String,
        /// Handler parameters.
        #[serde(default)]
        params: Map<String, Value>,
        /// The id of the component the event is for (`dj-target`, or the
        /// nearest `data-djust-component`); absent: the view itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// Client reference echoed in the reply.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<u64>,
    },
    /// A queued offline action, replayed (`#[event_handler(offline)]`
    /// handlers only; see `crate::offline`). Answered with the event's
    /// frames, then `replayed`.
    Replay {
        /// Handler name.
        event: String,
        /// Handler parameters.
        #[serde(default)]
        params: Map<String, Value>,
        /// Idempotency key.
        key: String,
        /// When the user did it (ms since the Unix epoch, client clock).
        at: u64,
        /// The owner tag the page carried when the action was queued.
        owner: String,
        /// Client reference echoed in the reply.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<u64>,
    },
    /// Take back the view this client had before its socket dropped.
    Resume {
        /// View name (`data-djust-view`).
        view: String,
        /// The last `resume_token` the server sent.
        token: String,
        /// The last version the client applied.
        #[serde(default)]
        version: u64,
    },
    /// Announces a file for an upload slot, before any byte of it.
    Upload {
        /// The slot (`dj-upload="photo"`).
        slot: String,
        /// The client's reference for the entry (`[A-Za-z0-9_-]{1,32}`),
        /// at the start of each of its binary chunks.
        #[serde(rename = "ref")]
        reference: String,
        /// The file's name.
        name: String,
        /// Its size in bytes.
        size: u64,
        /// The browser's MIME type.
        #[serde(default)]
        mime: String,
    },
    /// Cancels an upload (its bytes are deleted).
    UploadCancel {
        /// The entry.
        #[serde(rename = "ref")]
        reference: String,
    },
    /// The URL changed within the mounted view (a `dj-patch` link, or
    /// Back/Forward between two URLs of the view): its `handle_params` runs.
    LivePatch {
        /// The new same-origin URL (path and query).
        url: String,
        /// How the client records it (`pop`: the browser already did).
        #[serde(default)]
        kind: HistoryKind,
    },
    /// Go to another live view of the same live session over this socket
    /// (a `dj-navigate` link, or Back/Forward to a page of another view).
    LiveNavigate {
        /// The same-origin URL of the target view.
        url: String,
        /// How the client records it (`pop`: the browser already did).
        #[serde(default)]
        kind: HistoryKind,
    },
    /// Keep-alive.
    Ping,
    /// The client lost sync and wants the full HTML.
    RequestHtml,
}

impl ClientMessage {
    /// Parses one text frame.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A frame to the browser.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once the socket is accepted.
    Connect {
        /// Session id.
        session_id: String,
    },
    /// The view mounted; its full HTML.
    Mount {
        /// View name.
        view: String,
        /// Version of the rendered tree (starts at 1).
        version: u64,
        /// Full HTML of the view's children (left out when `unchanged`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        html: String,
        /// The render is the one the page already shows (the client's
        /// `digest` matched): keep the DOM.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unchanged: bool,
        /// The token to present in `resume` if the socket drops (absent
        /// when the server keeps no view for reconnects). Each `resumed`
        /// carries the next one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_token: Option<String>,
    },
    /// Patches bringing the DOM from `version - 1` to `version`.
    Patch {
        /// Patches, applied in order.
        patches: Vec<Patch>,
        /// Version after the patches.
        version: u64,
        /// The `ref` of the event that caused them.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<u64>,
    },
    /// Full HTML (fallback when patches are not possible or the client lost sync).
    HtmlUpdate {
        /// Full HTML of the view's children.
        html: String,
        /// Version of this HTML.
        version: u64,
    },
    /// The event changed nothing.
    Noop {
        /// The `ref` of the event.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<u64>,
    },
    /// The event failed; `error` is safe to show.
    Error {
        /// Message (generic in production).
        error: String,
        /// The `ref` of the event.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<u64>,
    },
    /// The client is sending too fast.
    RateLimitExceeded {
        /// Message to show.
        message: String,
    },
    /// Load another page (a full page load: the login page, a route of
    /// another live session, `redirect`).
    Navigate {
        /// Target URL.
        to: String,
        /// Replace the current history entry instead of adding one.
        #[serde(default, skip_serializing_if = "is_false")]
        replace: bool,
    },
    /// The view's URL changed without a remount (after `handle_params`):
    /// record it in the history (never sent for `pop`).
    LivePatch {
        /// The new URL.
        to: String,
        /// `push` or `replace`.
        kind: HistoryKind,
    },
    /// Another view of the live session was mounted on this socket: it
    /// replaces the page's view.
    LiveNavigate {
        /// The URL now shown.
        to: String,
        /// How to record it in the history.
        kind: HistoryKind,
        /// The new view's name.
        view: String,
        /// The page title.
        title: String,
        /// Full HTML of the new view.
        html: String,
        /// Version of the rendered tree.
        version: u64,
        /// A mount token for the new view (for a later fresh mount).
        mount_token: String,
        /// The token for the next resume, as in `mount`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_token: Option<String>,
        /// Flash messages for the new page (the old ones are cleared).
        #[serde(default)]
        flash: Vec<FlashFrame>,
    },
    /// The page title changed.
    Title {
        /// The new title (the app's name already appended).
        title: String,
    },
    /// Flash messages to show now.
    Flash {
        /// The messages, oldest first.
        flash: Vec<FlashFrame>,
    },
    /// Changes to the items of the stream container `name`
    /// (`dj-stream="name"`); the server keeps none of them.
    Stream {
        /// The stream's name.
        name: String,
        /// The changes, in order.
        ops: Vec<StreamOp>,
    },
    /// An event pushed from the server to client hooks.
    PushEvent {
        /// Event name.
        event: String,
        /// Event payload.
        payload: Value,
    },
    /// Reply to `ping`.
    Pong,
    /// `resume` succeeded: the view is the one the client had. What it
    /// missed follows (patches in order, or one `html_update`).
    Resumed {
        /// The view's current version, once the frames that follow are applied.
        version: u64,
        /// The token for the next resume.
        resume_token: String,
    },
    /// `resume` was refused (unknown, expired, used or foreign token): the
    /// client mounts afresh on the same socket.
    ResumeRefused,
    /// An upload's bytes up to `offset` are stored: send the next chunk
    /// (after `wait_ms`, to stay within the byte rate).
    UploadAck {
        /// The entry.
        #[serde(rename = "ref")]
        reference: String,
        /// Bytes received so far.
        offset: u64,
        /// Milliseconds to wait before the next chunk.
        #[serde(default, skip_serializing_if = "is_zero")]
        wait_ms: u64,
    },
    /// An upload arrived whole and passed every check.
    UploadDone {
        /// The entry.
        #[serde(rename = "ref")]
        reference: String,
    },
    /// What became of a replayed offline action.
    Replayed {
        /// The result (key, status, code, message).
        #[serde(flatten)]
        result: ActionResult,
        /// The `replay` frame's reference.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<u64>,
    },
    /// An upload was refused or aborted; its bytes are deleted.
    UploadError {
        /// The entry, when the frame named one.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// Why (safe to show).
        error: String,
    },
}

/// What became of one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// The handler ran and accepted it.
    Applied,
    /// Its key was seen before for this session: not applied again
    /// (`code` says what became of it the first time).
    Duplicate,
    /// The handler refused it as stale (`message` is for the user).
    Conflict,
    /// Refused before or by the handler (`code` says why); retrying will
    /// not help.
    Refused,
    /// Older than the age limit.
    Expired,
    /// Rate-limited: not applied, keep it queued and try later.
    Retry,
}

impl ActionStatus {
    /// The wire name (`"applied"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Applied => "applied",
            ActionStatus::Duplicate => "duplicate",
            ActionStatus::Conflict => "conflict",
            ActionStatus::Refused => "refused",
            ActionStatus::Expired => "expired",
            ActionStatus::Retry => "retry",
        }
    }

    /// The status whose wire name is `name` ([`ActionStatus::as_str`]).
    pub fn from_wire(name: &str) -> Option<ActionStatus> {
        [
            ActionStatus::Applied,
            ActionStatus::Duplicate,
            ActionStatus::Conflict,
            ActionStatus::Refused,
            ActionStatus::Expired,
            ActionStatus::Retry,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
    }

    /// Whether the client may drop the action from its queue.
    pub fn is_final(self) -> bool {
        self != ActionStatus::Retry
    }
}

/// The result of one action, as sent back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    /// The action's idempotency key (echoed when well formed, else empty).
    pub key: String,
    /// What became of it.
    pub status: ActionStatus,
    /// Why, as a stable code (`"not_offline"`, `"foreign_session"`, a
    /// `SafeError::code`, ...), when not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A message for the user (a conflict's, or the generic one of a refusal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ActionResult {
    /// Applied.
    pub fn applied(key: &str) -> Self {
        ActionResult {
            key: key.to_owned(),
            status: ActionStatus::Applied,
            code: None,
            message: None,
        }
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// WebSocket close codes the server uses (1000-1013 are RFC 6455's; 44xx
/// mirror the HTTP statuses of the same meaning).
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Binary or otherwise unsupported data.
    pub const UNSUPPORTED: u16 = 1003;
    /// Frame larger than the message size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server failed (a handler panicked).
    pub const INTERNAL: u16 = 1011;
    /// The server is restarting (a deploy): reconnect, to this process or
    /// another, and resume.
    pub const SERVICE_RESTART: u16 = 1012;
    /// Too many connections on this server.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Not allowed: mount token, login, permission, logout.
    pub const FORBIDDEN: u16 = 4403;
    /// The view named in `mount` is not served here.
    pub const UNKNOWN_VIEW: u16 = 4404;
    /// No frame within the heartbeat timeout.
    pub const TIMEOUT: u16 = 4408;
    /// The view was resumed on another connection (another process took
    /// it over from the view-state store): this copy ended, and the change
    /// it could not save was not acknowledged.
    pub const MOVED: u16 = 4409;
    /// Rate limited, too many connections from the IP, or cooling down.
    pub const RATE_LIMITED: u16 = 4429;
}

/// Sent if serialization ever failed (it cannot for these types).
const FALLBACK_FRAME: &str = r#"{"type":"error","error":"internal error"}"#;

impl ServerMessage {
    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| FALLBACK_FRAME.to_owned())
    }

    /// Parses one text frame (for test clients).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
