//! Reused argon2 working memory: every password hash of the process runs in
//! one of a fixed number of buffers (one per core), which are kept and
//! reused rather than allocated per hash.
//!
//! Why: argon2id at the default cost needs 19 MiB per hash. Allocated per
//! hash on many threads, glibc serves those blocks from per-thread arenas
//! after the first one and keeps them when they are freed, so concurrent
//! failed logins grew a process to gigabytes that stayed after the load
//! (measured in the repository's BENCHMARKS.md, "Resource exhaustion"). With a
//! fixed set of buffers the memory for hashing is at most
//! `slots × the largest cost hashed`, whatever the callers do: a hash that
//! finds every buffer in use waits for one (hashing is CPU-bound, so
//! running more at once than there are cores gains nothing).
//!
//! A buffer is zeroed after each hash, so no password-derived state stays
//! in memory between logins. Buffers above [`MAX_POOLED_BLOCKS`] (a hash
//! with an unusually high cost) are freed after use instead of kept.

use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

use argon2::Block;

/// Largest buffer kept for reuse, in 1 KiB blocks (64 MiB).
pub const MAX_POOLED_BLOCKS: usize = 64 * 1024;

/// The process's hashing buffers.
pub(crate) fn hash_memory() -> &'static HashMemory {
    static MEMORY: OnceLock<HashMemory> = OnceLock::new();
    MEMORY.get_or_init(|| HashMemory::new(crate::limits::default_login_concurrency()))
}

/// A fixed number of reusable argon2 buffers.
#[derive(Debug)]
pub(crate) struct HashMemory {
    slots: usize,
    state: Mutex<Slots>,
    returned: Condvar,
}

#[derive(Debug, Default)]
struct Slots {
    idle: Vec<Vec<Block>>,
    lent: usize,
}

impl HashMemory {
    /// `slots` buffers (at least 1), allocated on first use.
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            slots: slots.max(1),
            state: Mutex::new(Slots::default()),
            returned: Condvar::new(),
        }
    }

    /// Runs `hash` with `blocks` blocks of working memory from a buffer,
    /// waiting (blocking the thread) while every buffer is in use.
    pub(crate) fn with<R>(&self, blocks: usize, hash: impl FnOnce(&mut [Block]) -> R) -> R {
        let mut lease = self.lease();
        let buffer = lease.buffer.get_or_insert_with(Vec::new);
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::new());
        }
        hash(&mut buffer[..blocks])
    }

    /// Buffers currently kept for reuse (not lent).
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.lock().idle.len()
    }

    fn lease(&self) -> Lease<'_> {
        let mut state = self.lock();
        loop {
            if let Some(buffer) = state.idle.pop() {
                state.lent += 1;
                return Lease {
                    memory: self,
                    buffer: Some(buffer),
                };
            }
            if state.lent + state.idle.len() < self.slots {
                state.lent += 1;
                return Lease {
                    memory: self,
                    buffer: None,
                };
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One buffer on loan; returned (zeroed) when dropped, even after a panic.
struct Lease<'a> {
    memory: &'a HashMemory,
    buffer: Option<Vec<Block>>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let kept = self
            .buffer
            .take()
            .filter(|buffer| buffer.len() <= MAX_POOLED_BLOCKS && !std::thread::panicking());
        let kept = kept.map(|mut buffer| {
            buffer.fill(Block::new());
            buffer
        });
        let mut state = self.memory.lock();
        state.lent = state.lent.saturating_sub(1);
        if let Some(buffer) = kept {
            state.idle.push(buffer);
        }
        drop(state);
        self.memory.returned.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn buffers_are_reused_and_zeroed() {
        let memory = HashMemory::new(2);
        memory.with(8, |blocks| {
            assert_eq!(blocks.len(), 8);
            blocks[3] = {
                let mut block = Block::new();
                block.as_mut()[0] = 0xdead_beef;
                block
            };
        });
        assert_eq!(memory.idle(), 1);
        memory.with(4, |blocks| {
            assert_eq!(blocks.len(), 4);
            assert!(blocks
                .iter()
                .all(|block| block.as_ref().iter().all(|&w| w == 0)));
        });
        assert_eq!(memory.idle(), 1, "the same buffer came back");
    }

    #[test]
    fn never_more_buffers_in_use_than_slots() {
        let memory = Arc::new(HashMemory::new(2));
        let in_use = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (memory, in_use, most) = (memory.clone(), in_use.clone(), most.clone());
                std::thread::spawn(move || {
                    memory.with(16, |_| {
                        let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        in_use.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert!(memory.idle() <= 2);
    }

    #[test]
    fn oversize_buffers_are_not_kept_and_a_panic_frees_the_slot() {
        let memory = HashMemory::new(1);
        memory.with(MAX_POOLED_BLOCKS + 1, |_| {});
        assert_eq!(memory.idle(), 0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            memory.with(4, |_| panic!("argon2 failed"));
        }));
        assert!(caught.is_err());
        // The single slot is free again (this would wait forever otherwise).
        memory.with(4, |blocks| assert_eq!(blocks.len(), 4));
    }
}
