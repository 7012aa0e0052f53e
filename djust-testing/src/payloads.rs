//! Payload corpora (in progress).
