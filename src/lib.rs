//! djust: server-rendered reactive views for Rust.
#![forbid(unsafe_code)]
pub use djust_runtime as runtime;
