//! Where recovery gathers the writes it replays before it writes them as a
//! level-0 table: appended in log order to an arena, sorted once.
//!
//! Recovery never reads what it replays until the table is written, so an
//! ordered map (the memtable) does work nobody uses: a 1 GiB log of
//! 116-byte entries spent two thirds of its open in the B-tree's inserts,
//! each comparison a cache miss through a boxed entry. Here each write is
//! copied into a large chunk; when the buffer is written, each gets a
//! 16-byte slot holding 8 bytes of its user key past the prefix all keys
//! share, and one sort of the slots orders them, comparing whole keys only
//! where those 8 bytes tie. The output is what a
//! [`MemTable`](crate::memtable::MemTable) given the same inserts would
//! hold: internal-key order, and of one internal key inserted twice (a
//! batch replayed again under SkipAnyCorruptedRecords) only the later.

use std::cmp::Ordering;

use strata_coding::{MAX_VARINT32_BYTES, get_varint32, put_varint32};
use strata_sstable::key::{TRAILER_SIZE, append_internal_key, user_key};

use crate::error::Result;
use crate::key::{self, Kind};
use crate::memtable::charged_bytes;
use crate::table::{SortedEntries, VisitEntry};

/// Bytes of each arena chunk; a larger entry gets a chunk of its own.
const CHUNK_BYTES: usize = 1 << 20;

/// Entries located ahead of the one being visited; see
/// [`Sorted::for_each_entry`].
const LOOKAHEAD: usize = 16;

/// Where an entry starts: chunk index in the high 32 bits, offset in the
/// low 32. Chunks are only appended, so locations grow in insertion order.
type Location = u64;

/// One write in the sort: 8 bytes of its user key, zero-padded and
/// big-endian so that they order as the bytes do, taken past the prefix
/// that every user key in the buffer shares; and where its entry starts.
#[derive(Clone, Copy, Debug)]
struct Slot {
    prefix: u64,
    location: Location,
}

/// Writes in insertion order, each entry in an arena chunk as
/// `varint32 user key length, varint32 value length, internal key, value`;
/// [`SortBuffer::sort`] orders them.
#[derive(Debug, Default)]
pub(crate) struct SortBuffer {
    chunks: Vec<Vec<u8>>,
    entries: usize,
    approximate_bytes: usize,
    largest_sequence: u64,
    /// Filled by [`SortBuffer::sort`]: the slots are built only then, once
    /// the shared prefix of all user keys is known.
    slots: Vec<Slot>,
}

impl SortBuffer {
    pub(crate) fn new() -> Self {
        SortBuffer::default()
    }

    /// Adds a write. A batch's lengths are varint32, so both fit in `u32`.
    pub(crate) fn insert(&mut self, user_key: &[u8], sequence: u64, kind: Kind, value: &[u8]) {
        let bytes = 2 * MAX_VARINT32_BYTES + user_key.len() + TRAILER_SIZE + value.len();
        let fits = self
            .chunks
            .last()
            .is_some_and(|chunk| chunk.capacity() - chunk.len() >= bytes);
        if !fits {
            self.chunks.push(Vec::with_capacity(bytes.max(CHUNK_BYTES)));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            put_varint32(chunk, user_key.len() as u32);
            put_varint32(chunk, value.len() as u32);
            append_internal_key(chunk, user_key, sequence, kind as u8);
            chunk.extend_from_slice(value);
        }
        self.entries += 1;
        self.approximate_bytes += charged_bytes(user_key.len(), value.len());
        self.largest_sequence = self.largest_sequence.max(sequence);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Bytes charged as the memtable charges them, so that recovery cuts
    /// its tables where a memtable of `write_buffer_size` would.
    pub(crate) fn approximate_bytes(&self) -> usize {
        self.approximate_bytes
    }

    /// Orders the writes and lends them in order.
    pub(crate) fn sort(&mut self) -> Sorted<'_> {
        let SortBuffer { chunks, slots, .. } = self;
        // The longest prefix every user key shares: keys often share one
        // ("user/", a table id), and the slots' 8 bytes are worth more after it.
        let mut shared: Option<&[u8]> = None;
        for (key, _, _) in walk(chunks) {
            let user_key = user_key(key);
            shared = Some(match shared {
                None => user_key,
                Some(shared) => &shared[..common_prefix(shared, user_key)],
            });
        }
        let skip = shared.map_or(0, <[u8]>::len);
        slots.clear();
        slots.reserve_exact(self.entries);
        for (key, _, location) in walk(chunks) {
            let mut prefix = [0u8; 8];
            let rest = &user_key(key)[skip..];
            let taken = rest.len().min(8);
            prefix[..taken].copy_from_slice(&rest[..taken]);
            slots.push(Slot {
                prefix: u64::from_be_bytes(prefix),
                location,
            });
        }
        slots.sort_unstable_by(|a, b| {
            a.prefix
                .cmp(&b.prefix)
                .then_with(|| {
                    key::compare(entry(chunks, a.location).0, entry(chunks, b.location).0)
                })
                .then(a.location.cmp(&b.location))
        });
        Sorted(self)
    }

    /// Empties the buffer, giving its memory back.
    pub(crate) fn clear(&mut self) {
        *self = SortBuffer::new();
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A varint this buffer wrote at `chunk[at..]`: its value and its end.
fn read_length(chunk: &[u8], at: usize) -> (usize, usize) {
    // Written by `insert` from a `u32`, so it decodes.
    let (value, used) = get_varint32(&chunk[at..]).unwrap_or_default();
    (value as usize, at + used)
}

/// The internal key and value of the entry at `location`, and where the
/// next entry of its chunk starts.
fn entry(chunks: &[Vec<u8>], location: Location) -> (&[u8], &[u8], usize) {
    let chunk = &chunks[(location >> 32) as usize];
    let start = (location & u64::from(u32::MAX)) as usize;
    let (user_key_bytes, at) = read_length(chunk, start);
    let (value_bytes, key_start) = read_length(chunk, at);
    let key_end = key_start + user_key_bytes + TRAILER_SIZE;
    let value_end = key_end + value_bytes;
    (
        &chunk[key_start..key_end],
        &chunk[key_end..value_end],
        value_end,
    )
}

/// Every entry in insertion order: internal key, value, location.
fn walk(chunks: &[Vec<u8>]) -> impl Iterator<Item = (&[u8], &[u8], Location)> {
    chunks.iter().enumerate().flat_map(move |(index, chunk)| {
        let mut offset = 0;
        std::iter::from_fn(move || {
            (offset < chunk.len()).then(|| {
                let location = (index as u64) << 32 | offset as u64;
                let (key, value, next) = entry(chunks, location);
                offset = next;
                (key, value, location)
            })
        })
    })
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
                let (key, value, _) = entry(chunks, slot.location);
                *place = (key, value);
                touched ^= value.last().copied().unwrap_or_default();
            }
            std::hint::black_box(touched);
            for (index, (slot, &(key, value))) in (first..).zip(group.iter().zip(&located)) {
                // Of one internal key inserted twice only the later is
                // kept; the sort put it right after the earlier.
                let superseded = slots.get(index + 1).is_some_and(|next| {
                    next.prefix == slot.prefix
                        && key::compare(entry(chunks, next.location).0, key) == Ordering::Equal
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

    /// Keys that share a long prefix, tie on the 8 bytes after it, are
    /// prefixes of each other, end in zero bytes, are empty; the same
    /// internal key twice; values larger than a chunk.
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
                // Half the seeds give every key one long shared prefix.
                let mut user_key = if seed % 2 == 0 {
                    b"tenant/0001/".to_vec()
                } else {
                    Vec::new()
                };
                user_key.extend_from_slice(stems[rng.below(stems.len() as u64) as usize]);
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
