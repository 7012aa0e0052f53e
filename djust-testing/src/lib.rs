//! Testing tools for djust: an in-process [`TestClient`], payload corpora,
//! and (with the facade) the `smoke_tests!` generator.
#![forbid(unsafe_code)]

pub mod client;
pub mod payloads;
pub mod smoke;
pub mod snapshot;
mod streams;
mod upload_corpus;

pub use client::{EventResult, TestClient, TestClientBuilder};
pub use djust_runtime::auth::User;
pub use djust_runtime::live::MountRefusal;
pub use djust_runtime::view::ViewFactory;
pub use smoke::{SmokeFailure, SmokeOptions, SmokeReport};
pub use streams::StreamItem;
