//! Testing tools for djust.
#![forbid(unsafe_code)]

pub mod payloads;
