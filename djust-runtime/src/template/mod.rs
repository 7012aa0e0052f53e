//! `template`: (in progress).
