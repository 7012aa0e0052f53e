//! `vdom`: (in progress).
