//! `security`: (in progress).
