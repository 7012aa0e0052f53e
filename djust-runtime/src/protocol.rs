//! Wire protocol message types (in progress).
