//! Where recovery gathers the writes it replays before it writes them as a
//! level-0 table: appended in log order to an arena, sorted once.
//!
//! Recovery never reads what it replays until the table is written, so an
//! ordered map (the memtable) does work nobody uses: a 1 GiB log of
//! 116-byte entries spent two thirds of its open in the B-tree's inserts,
//! each comparison a cache miss through a boxed entry. Here each write is
//! copied into a large chunk and gets a 24-byte slot holding the first 16
//! bytes of its user key; one sort of the slots orders them, comparing
//! whole keys only where those 16 bytes tie. The output is what a
//! [`MemTable`](crate::memtable::MemTable) given the same inserts would
//! hold: internal-key order, and of one internal key inserted twice (a
//! batch replayed again under SkipAnyCorruptedRecords) only the later.

use std::cmp::Ordering;

use strata_sstable::key::{TRAILER_SIZE, append_internal_key};

use crate::error::Result;
use crate::key::{self, Kind};
use crate::memtable::charged_bytes;
use crate::table::{SortedEntries, VisitEntry};

/// Bytes of each arena chunk; a larger entry gets a chunk of its own.
const CHUNK_BYTES: usize = 1 << 20;

/// Entries located ahead of the one being visited; see
/// [`Sorted::for_each_entry`].
const LOOKAHEAD: usize = 16;

/// Bytes before an entry's internal key: user key length and value length,
/// `u32` LE each (a batch's lengths are varint32, so both fit).
const HEADER_BYTES: usize = 8;

/// One write: its user key's first 16 bytes (zero-padded, big-endian, so
/// they order as the bytes do) and where its entry starts.
#[derive(Clone, Copy, Debug)]
struct Slot {
    high: u64,
    low: u64,
    /// Chunk index in the high 32 bits, offset in the low 32. Chunks are
    /// only appended, so locations grow in insertion order.
    location: u64,
}

/// Writes in insertion order; [`SortBuffer::sort`] orders them.
#[derive(Debug, Default)]
pub(crate) struct SortBuffer {
    chunks: Vec<Vec<u8>>,
    slots: Vec<Slot>,
    approximate_bytes: usize,
    largest_sequence: u64,
}

impl SortBuffer {
    pub(crate) fn new() -> Self {
        SortBuffer::default()
    }

    /// Adds a write. Lengths above `u32::MAX` cannot come from a batch;
    /// the caller's decoder has already refused them.
    pub(crate) fn insert(&mut self, user_key: &[u8], sequence: u64, kind: Kind, value: &[u8]) {
        let bytes = HEADER_BYTES + user_key.len() + TRAILER_SIZE + value.len();
        let fits = self
            .chunks
            .last()
            .is_some_and(|chunk| chunk.capacity() - chunk.len() >= bytes);
        if !fits {
            self.chunks.push(Vec::with_capacity(bytes.max(CHUNK_BYTES)));
        }
        let index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[index];
        let offset = chunk.len();
        chunk.extend_from_slice(&(user_key.len() as u32).to_le_bytes());
        chunk.extend_from_slice(&(value.len() as u32).to_le_bytes());
        append_internal_key(chunk, user_key, sequence, kind as u8);
        chunk.extend_from_slice(value);
        let mut prefix = [0u8; 16];
        let shared = user_key.len().min(16);
        prefix[..shared].copy_from_slice(&user_key[..shared]);
        let prefix = u128::from_be_bytes(prefix);
        self.slots.push(Slot {
            high: (prefix >> 64) as u64,
            low: prefix as u64,
            location: (index as u64) << 32 | offset as u64,
        });
        self.approximate_bytes += charged_bytes(user_key.len(), value.len());
        self.largest_sequence = self.largest_sequence.max(sequence);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes charged as the memtable charges them, so that recovery cuts
    /// its tables where a memtable of `write_buffer_size` would.
    pub(crate) fn approximate_bytes(&self) -> usize {
        self.approximate_bytes
    }

    /// Orders the writes and lends them in order.
    pub(crate) fn sort(&mut self) -> Sorted<'_> {
        let SortBuffer { chunks, slots, .. } = self;
        slots.sort_unstable_by(|a, b| {
            (a.high, a.low)
                .cmp(&(b.high, b.low))
                .then_with(|| key::compare(internal_key(chunks, a), internal_key(chunks, b)))
                .then(a.location.cmp(&b.location))
        });
        Sorted(self)
    }

    /// Empties the buffer, giving its memory back.
    pub(crate) fn clear(&mut self) {
        *self = SortBuffer::new();
    }
}

/// The entry bytes of `slot`: lengths, internal key, value.
fn entry<'a>(chunks: &'a [Vec<u8>], slot: &Slot) -> (&'a [u8], &'a [u8]) {
    let chunk = &chunks[(slot.location >> 32) as usize];
    let start = (slot.location & u64::from(u32::MAX)) as usize;
    let mut length = [0u8; 4];
    length.copy_from_slice(&chunk[start..start + 4]);
    let key_end = start + HEADER_BYTES + u32::from_le_bytes(length) as usize + TRAILER_SIZE;
    length.copy_from_slice(&chunk[start + 4..start + 8]);
    let value_end = key_end + u32::from_le_bytes(length) as usize;
    (
        &chunk[start + HEADER_BYTES..key_end],
        &chunk[key_end..value_end],
    )
}

fn internal_key<'a>(chunks: &'a [Vec<u8>], slot: &Slot) -> &'a [u8] {
    entry(chunks, slot).0
}

/// A sorted [`SortBuffer`], as a table is written from.
pub(crate) struct Sorted<'a>(&'a SortBuffer);

impl SortedEntries for Sorted<'_> {
    fn for_each_entry(&self, visit: &mut VisitEntry<'_>) -> Result<()> {
        let SortBuffer { chunks, slots, .. } = self.0;
        let mut located = [(&[][..], &[][..]); LOOKAHEAD];
        for (first, group) in (0..).step_by(LOOKAHEAD).zip(slots.chunks(LOOKAHEAD)) {
            // In sorted order the entries sit at random places in the
            // arena, each a cache miss. Locating a group's entries before
            // visiting any makes their loads independent of each other and
            // of the table building, so the misses overlap.
            let mut touched = 0u8;
            for (place, slot) in located.iter_mut().zip(group) {
                *place = entry(chunks, slot);
                touched ^= place.1.last().copied().unwrap_or_default();
            }
            std::hint::black_box(touched);
            for (index, (slot, &(key, value))) in (first..).zip(group.iter().zip(&located)) {
                // Of one internal key inserted twice only the later is
                // kept; the sort put it right after the earlier.
                let superseded = slots.get(index + 1).is_some_and(|next| {
                    (next.high, next.low) == (slot.high, slot.low)
                        && key::compare(internal_key(chunks, next), key) == Ordering::Equal
                });
                if !superseded {
                    visit(key, value)?;
                }
            }
        }
        Ok(())
    }

    fn largest_sequence(&self) -> u64 {
        self.0.largest_sequence
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::memtable::MemTable;

    fn collect(entries: &impl SortedEntries) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        entries
            .for_each_entry(&mut |key, value| {
                out.push((key.to_vec(), value.to_vec()));
                Ok(())
            })
            .unwrap();
        out
    }

    /// A small deterministic generator (xorshift), so a failure repeats.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Keys that tie on the 16-byte prefix, are prefixes of each other,
    /// end in zero bytes, are empty; the same internal key twice; values
    /// larger than a chunk.
    #[test]
    fn lends_what_a_memtable_given_the_same_inserts_holds() {
        let stems: [&[u8]; 7] = [
            b"",
            b"a",
            b"a\0",
            b"key00000",
            b"key00000key00000",
            b"key00000key00000\0",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        ];
        for seed in 1..=20u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mem = MemTable::new(0);
            let mut buffer = SortBuffer::new();
            for _ in 0..2_000 {
                let mut user_key = stems[rng.below(stems.len() as u64) as usize].to_vec();
                for _ in 0..rng.below(3) {
                    user_key.push(rng.below(4) as u8);
                }
                let sequence = rng.below(50);
                let kind = match rng.below(3) {
                    0 => Kind::Value,
                    1 => Kind::Deletion,
                    _ => Kind::SingleDeletion,
                };
                let value_bytes = if rng.below(500) == 0 {
                    CHUNK_BYTES + 3
                } else {
                    rng.below(20) as usize
                };
                let value = vec![rng.next() as u8; value_bytes];
                mem.insert(&user_key, sequence, kind, &value);
                buffer.insert(&user_key, sequence, kind, &value);
            }
            assert_eq!(buffer.approximate_bytes(), mem.approximate_bytes());
            let sorted = buffer.sort();
            assert_eq!(sorted.largest_sequence(), mem.largest_sequence());
            assert_eq!(collect(&sorted), collect(&mem), "seed {seed}");
        }
    }

    #[test]
    fn cleared_buffer_is_empty_and_reusable() {
        let mut buffer = SortBuffer::new();
        buffer.insert(b"b", 2, Kind::Value, b"x");
        buffer.clear();
        assert!(buffer.is_empty());
        assert_eq!(buffer.approximate_bytes(), 0);
        buffer.insert(b"a", 1, Kind::Value, b"y");
        let sorted = buffer.sort();
        assert_eq!(sorted.largest_sequence(), 1);
        assert_eq!(collect(&sorted).len(), 1);
    }
}
