//! `auth`: (in progress).
