//! `session`: (in progress).
