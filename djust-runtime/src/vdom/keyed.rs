//! Plans the structural changes of a keyed child list with the fewest moves (LIS).
//!
//! Given the old and new key sequences, [`plan`] returns the operations that
//! turn the old list into the new one, applied IN ORDER, each index referring
//! to the list as left by the previous operation:
//!
//! 1. `Remove` for every child whose key is gone, in descending old index
//!    order (so each index is still the old one). The list is now the
//!    survivors in old order.
//! 2. In ascending new index order, for every child that is not part of a
//!    longest increasing subsequence of the survivors' old positions:
//!    `Move{from, to}` (remove at `from`, insert so it ends at `to`) for a
//!    survivor, `Insert{index}` for a new child. Survivors in the LIS never
//!    move, so the number of moves is `survivors - LIS length` at most (one
//!    item moved in a list of 1000: one move; a reversal of n: n − 1).
//!
//! After the last operation the list is exactly the new order, so children
//! are then addressed by their new index. Every child's final position is
//! known up front (a fixed coordinate per child), and a Fenwick tree counts
//! the children currently before a coordinate: O(n log n) overall.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// A fast, non-cryptographic hasher for keys (FxHash-like). Keys come from
/// the application's own data; a flooding attacker would only slow down
/// their own view's diff, which the duplicate-key check bounds anyway.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHash;

/// The [`Hasher`] of [`FastHash`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// One structural operation on a child list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedOp {
    /// Remove the child at `index`.
    Remove {
        /// Current index.
        index: usize,
    },
    /// Insert new child number `new` (its index in the new list) so it ends at `index`.
    Insert {
        /// Index the child ends at.
        index: usize,
        /// Index of the child in the new list.
        new: usize,
    },
    /// Remove the child at `from`, then insert it so it ends at `to`.
    Move {
        /// Current index.
        from: usize,
        /// Index the child ends at.
        to: usize,
    },
}

/// The result of [`plan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyedPlan {
    /// Operations, in application order.
    pub ops: Vec<KeyedOp>,
    /// For each new child, the index of the old child with the same key (`None` = inserted).
    pub sources: Vec<Option<usize>>,
}

/// A key that appears twice in one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey(pub String);

/// Plans the operations turning the `old` key sequence into `new` (see the module docs).
pub fn plan(old: &[&str], new: &[&str]) -> Result<KeyedPlan, DuplicateKey> {
    let mut old_index: HashMap<&str, usize, FastHash> =
        HashMap::with_capacity_and_hasher(old.len(), FastHash);
    for (index, key) in old.iter().enumerate() {
        if old_index.insert(key, index).is_some() {
            return Err(DuplicateKey((*key).to_owned()));
        }
    }
    let mut seen: HashMap<&str, (), FastHash> =
        HashMap::with_capacity_and_hasher(new.len(), FastHash);
    let mut survives = vec![false; old.len()];
    let mut sources = Vec::with_capacity(new.len());
    for key in new {
        if seen.insert(key, ()).is_some() {
            return Err(DuplicateKey((*key).to_owned()));
        }
        let source = old_index.get(key).copied();
        if let Some(old) = source {
            if let Some(flag) = survives.get_mut(old) {
                *flag = true;
            }
        }
        sources.push(source);
    }

    let mut ops = Vec::new();
    for index in (0..old.len()).rev() {
        if !survives.get(index).copied().unwrap_or(false) {
            ops.push(KeyedOp::Remove { index });
        }
    }

    // Rank of each surviving old child among the survivors, in old order.
    let mut rank = vec![usize::MAX; old.len()];
    let mut survivors = 0usize;
    for (index, flag) in survives.iter().enumerate() {
        if *flag {
            if let Some(slot) = rank.get_mut(index) {
                *slot = survivors;
            }
            survivors += 1;
        }
    }
    let survivor_rank = |new: usize| -> Option<usize> {
        sources
            .get(new)
            .copied()
            .flatten()
            .and_then(|old| rank.get(old).copied())
    };

    // LIS over the survivors' ranks in new order: those stay put.
    let sequence: Vec<usize> = (0..new.len()).filter_map(survivor_rank).collect();
    let in_lis_sequence = longest_increasing_subsequence(&sequence);
    let mut stays = vec![false; new.len()];
    {
        let mut position = 0usize;
        for (new_index, stay) in stays.iter_mut().enumerate() {
            if survivor_rank(new_index).is_some() {
                *stay = in_lis_sequence.get(position).copied().unwrap_or(false);
                position += 1;
            }
        }
    }

    // Coordinates: for each staying survivor x (by rank) and the end (x =
    // survivors), the children placed right before it (its "chain", in new
    // order), then x itself. Survivors that do not stay keep a coordinate for
    // their starting place too.
    let mut base = vec![survivors; new.len()];
    let mut next_stay = survivors;
    for new_index in (0..new.len()).rev() {
        if stays.get(new_index).copied().unwrap_or(false) {
            next_stay = survivor_rank(new_index).unwrap_or(survivors);
        } else if let Some(slot) = base.get_mut(new_index) {
            *slot = next_stay;
        }
    }
    let mut chain_len = vec![0usize; survivors + 1];
    for (new_index, stay) in stays.iter().enumerate() {
        if !stay {
            if let Some(count) = base.get(new_index).and_then(|b| chain_len.get_mut(*b)) {
                *count += 1;
            }
        }
    }
    let mut block_start = Vec::with_capacity(survivors + 1);
    let mut total = 0usize;
    for (x, len) in chain_len.iter().enumerate() {
        block_start.push(total);
        total += len + usize::from(x < survivors);
    }
    let original = |x: usize| -> usize {
        block_start.get(x).copied().unwrap_or(0) + chain_len.get(x).copied().unwrap_or(0)
    };

    let mut present = Fenwick::new(total);
    for x in 0..survivors {
        present.add(original(x), 1);
    }
    let mut chain_fill = vec![0usize; survivors + 1];
    for (new_index, stay) in stays.iter().enumerate() {
        if *stay {
            continue;
        }
        let b = base.get(new_index).copied().unwrap_or(survivors);
        let Some(fill) = chain_fill.get_mut(b) else {
            continue;
        };
        let target = block_start.get(b).copied().unwrap_or(0) + *fill;
        *fill += 1;
        match survivor_rank(new_index) {
            Some(x) => {
                let from = present.prefix(original(x));
                present.add(original(x), -1);
                let to = present.prefix(target);
                present.add(target, 1);
                if from != to {
                    ops.push(KeyedOp::Move { from, to });
                }
            }
            None => {
                let index = present.prefix(target);
                present.add(target, 1);
                ops.push(KeyedOp::Insert {
                    index,
                    new: new_index,
                });
            }
        }
    }
    Ok(KeyedPlan { ops, sources })
}

/// Marks the members of one longest strictly increasing subsequence of `sequence`.
pub fn longest_increasing_subsequence(sequence: &[usize]) -> Vec<bool> {
    // tails[l] = index in `sequence` of the smallest tail of an increasing run of length l + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous = vec![usize::MAX; sequence.len()];
    for (index, &value) in sequence.iter().enumerate() {
        let length = tails.partition_point(|&tail| sequence.get(tail).is_some_and(|&t| t < value));
        if length > 0 {
            if let (Some(slot), Some(&prev)) = (previous.get_mut(index), tails.get(length - 1)) {
                *slot = prev;
            }
        }
        if length == tails.len() {
            tails.push(index);
        } else if let Some(slot) = tails.get_mut(length) {
            *slot = index;
        }
    }
    let mut member = vec![false; sequence.len()];
    let mut cursor = tails.last().copied().unwrap_or(usize::MAX);
    while let Some(flag) = member.get_mut(cursor) {
        *flag = true;
        cursor = previous.get(cursor).copied().unwrap_or(usize::MAX);
    }
    member
}

/// Counts present children per coordinate and answers "how many before".
struct Fenwick {
    tree: Vec<isize>,
}

impl Fenwick {
    fn new(size: usize) -> Self {
        Fenwick {
            tree: vec![0; size + 1],
        }
    }

    fn add(&mut self, position: usize, delta: isize) {
        let mut i = position + 1;
        while let Some(cell) = self.tree.get_mut(i) {
            *cell += delta;
            i += i & i.wrapping_neg();
        }
    }

    /// Number of present children at coordinates `< position`.
    fn prefix(&self, position: usize) -> usize {
        let mut sum = 0isize;
        let mut i = position.min(self.tree.len().saturating_sub(1));
        while i > 0 {
            sum += self.tree.get(i).copied().unwrap_or(0);
            i -= i & i.wrapping_neg();
        }
        usize::try_from(sum).unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn apply(old: &[&str], new: &[&str]) -> Vec<String> {
        let plan = plan(old, new).unwrap();
        let mut list: Vec<String> = old.iter().map(|s| s.to_string()).collect();
        for op in &plan.ops {
            match *op {
                KeyedOp::Remove { index } => {
                    list.remove(index);
                }
                KeyedOp::Insert { index, new: n } => list.insert(index, new[n].to_string()),
                KeyedOp::Move { from, to } => {
                    let item = list.remove(from);
                    list.insert(to, item);
                }
            }
        }
        list
    }

    #[test]
    fn lis_basic() {
        let mask = longest_increasing_subsequence(&[3, 0, 1, 4, 2]);
        assert_eq!(mask.iter().filter(|m| **m).count(), 3);
        assert!(longest_increasing_subsequence(&[]).is_empty());
    }

    #[test]
    fn plans_reach_the_new_order() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["a", "b", "c", "d"], &["d", "c", "b", "a"]),
            (&["a", "b", "c", "d"], &["b", "c", "d", "a"]),
            (&["a", "b", "c"], &["x", "c", "y", "a"]),
            (&[], &["a", "b"]),
            (&["a", "b"], &[]),
            (&["a", "b", "c", "d", "e"], &["e", "b", "z", "d", "a"]),
        ];
        for (old, new) in cases {
            assert_eq!(
                apply(old, new),
                new.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn duplicates_are_errors() {
        assert_eq!(plan(&["a", "a"], &["a"]), Err(DuplicateKey("a".into())));
        assert_eq!(plan(&["a"], &["b", "b"]), Err(DuplicateKey("b".into())));
    }
}
