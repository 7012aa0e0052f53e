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

mod connection;
mod endpoint;
mod frames;
mod gates;
mod guard;
mod persist;
mod resume;
mod session;

pub use connection::{
    Close, Connection, Peer, ResumeRefusal, ResumeRequest, Step, MAX_MISSED_BYTES,
    MAX_MISSED_FRAMES,
};
pub use endpoint::Endpoint;
pub use frames::update_frames;
pub use gates::json_depth_exceeds;
pub use persist::{
    open as open_snapshot, seal as seal_snapshot, MemoryViewStateStore, Snapshot, ViewStateStore,
    MAX_SNAPSHOT_BYTES,
};
pub use resume::ResumeToken;
pub use session::{render_page, LiveSession, MountRefusal, Outcome};
