//! `limits`: (in progress).
