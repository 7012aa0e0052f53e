//! Procedural macros for djust. Use them through the `djust` facade crate.
#![forbid(unsafe_code)]
