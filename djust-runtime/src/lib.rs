//! Runtime for djust. Use it through the `djust` facade crate.
//!
//! Layering (dependencies point one way): [`template`] and [`vdom`] know
//! nothing of views or the network; [`protocol`] is plain data; [`security`],
//! [`limits`], [`session`] and [`auth`] are used by the server, never the reverse.
#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod __private;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod forms;
pub mod limits;
pub mod live;
pub mod offline;
pub mod protocol;
pub mod queries;
#[cfg(feature = "redis")]
pub mod redis;
pub mod security;
pub mod server;
pub mod session;
pub mod template;
pub mod tenant;
pub mod upload;
pub mod vdom;
pub mod view;
