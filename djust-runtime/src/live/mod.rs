//! The live protocol without I/O.
//!
//! * [`Connection`]: one socket's protocol state machine (sans-IO, in the
//!   style of quinn-proto's `Connection`): text or binary frames, timeouts
//!   and subscription messages go in with the time they happened; the
//!   frames to send and what to do with the socket come out. It owns every
//!   gate a frame passes, in order: the per-connection token bucket and its
//!   warnings, the size and depth checks, the protocol parse, revocation,
//!   the mount token, then the mounted view. The warp server drives it from
//!   a WebSocket (`server/ws.rs`); `djust_testing::TestClient` drives the
//!   same machine in-process, so tests meet every gate a browser meets.
//! * [`Endpoint`]: what every connection of an app shares (the views by
//!   name, the mount-token signer, revocations, the `#[rate_limit]` store).
//! * [`LiveSession`]: one mounted view (mount, events, ticks, messages,
//!   render, diff) behind the connection.
//! * [`update_frames`]: the frames for a change of the tree.
//! * [`Snapshot`], [`ViewStateStore`]: the sealed state of `persist` views,
//!   kept for a resume on any process.
//! * [`Router`], [`LiveGroup`]: which view serves which path, and the live
//!   sessions that live navigation stays within.
//! * [`flash`]: flash messages carried across a full page load.

mod connection;
pub mod digest;
mod endpoint;
pub mod flash;
mod frames;
mod gates;
mod guard;
mod persist;
mod resume;
mod router;
mod session;

pub use connection::{
    Close, Connection, Peer, ResumeRefusal, ResumeRequest, Step, MAX_MISSED_BYTES,
    MAX_MISSED_FRAMES,
};
pub use endpoint::{page_title, Endpoint};
pub use frames::update_frames;
pub use gates::json_depth_exceeds;
pub(crate) use guard::{panic_text, ViewCodeScope};
pub(crate) use persist::{encode as encode_snapshot, seal_encoded as seal_encoded_snapshot};
pub use persist::{
    open as open_snapshot, seal as seal_snapshot, MemoryViewStateStore, Snapshot, Stored,
    ViewStateStore, MAX_SNAPSHOT_BYTES,
};
pub use resume::ResumeToken;
pub use router::{
    LiveGroup, LiveRoute, OnMount, Resolved, RouteError, RoutePattern, Router, MAX_URL_BYTES,
};
pub use session::{
    render_page, LiveSession, MountRefusal, MountRequest, Mounted, Outcome, RenderedPage,
};
