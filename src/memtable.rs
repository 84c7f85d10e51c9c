//! The memtable: an ordered map from internal key to value.
//!
//! A `BTreeMap` behind a reader-writer lock: only the write leader inserts
//! (taking the write lock once per write group, [`Inserter`]), readers
//! take the read lock briefly. It beat
//! `crossbeam-skiplist`'s `SkipMap` in `benches/benches/memtable.rs` by about
//! 2x for inserts and lookups on this machine (see the bench for the
//! figures). Keys are whole internal keys, so one user key's versions sit
//! together, newest first.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};

use std::collections::BTreeSet;
use std::ops::Bound;

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::{RwLock, RwLockWriteGuard};

use strata_sstable::key::{TRAILER_SIZE, pack_trailer};

use crate::error::Result;
use crate::key::{self, Kind, SEEK_KIND};
use crate::table::{SortedEntries, VisitEntry};

/// One entry: `key length: u64 LE`, the encoded internal key, then the
/// value, in a slice of one of the memtable's arena chunks ([`Arena`]);
/// beside it, in the B-tree's node, the first 16 bytes of the user key.
/// Ordered by the internal key as [`key::compare`] orders it. The inline
/// prefix settles most comparisons without following the slice (a cache
/// miss for random keys) or calling `memcmp`; only keys that share their
/// first 16 bytes, such as versions of one key, compare whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MemEntry {
    prefix: u128,
    bytes: Bytes,
}

/// The first 16 bytes of `user_key`, zero-padded, as a big-endian number:
/// numbers order as the keys do, though keys may tie.
fn prefix_of(user_key: &[u8]) -> u128 {
    let mut prefix = [0u8; 16];
    let taken = user_key.len().min(16);
    prefix[..taken].copy_from_slice(&user_key[..taken]);
    u128::from_be_bytes(prefix)
}

const LENGTH_PREFIX_BYTES: usize = 8;

/// The size of the chunks a memtable copies its entries into.
const ARENA_CHUNK_BYTES: usize = 1 << 20;

/// Entries larger than this get an allocation of their own rather than
/// leave most of a chunk unused.
const LARGE_ENTRY_BYTES: usize = ARENA_CHUNK_BYTES / 8;

/// Where a memtable's entries live: 1 MiB chunks, each entry a shared
/// slice of one (`bytes::Bytes`, reference counted per chunk). One
/// allocation per chunk instead of one per entry takes the allocator off
/// the write path, and a flushed memtable is freed a chunk at a time: the
/// flush thread no longer frees tens of thousands of entries into the
/// allocator arena that the writer thread is allocating from, each free
/// taking that arena's lock. A chunk lives as long as any of its entries.
#[derive(Debug, Default)]
struct Arena {
    chunk: BytesMut,
}

impl Arena {
    /// Copies the entry of (`user_key`, `sequence`, `kind`) and `value`
    /// into the current chunk, starting a new one when it does not fit.
    fn entry(&mut self, user_key: &[u8], sequence: u64, kind: u8, value: &[u8]) -> MemEntry {
        let key_length = user_key.len() + TRAILER_SIZE;
        let length = LENGTH_PREFIX_BYTES + key_length + value.len();
        if length > LARGE_ENTRY_BYTES {
            return MemEntry::of(user_key, sequence, kind, value);
        }
        if self.chunk.capacity() - self.chunk.len() < length {
            // The old chunk stays alive through the entries in it.
            self.chunk = BytesMut::with_capacity(ARENA_CHUNK_BYTES);
        }
        put_entry(&mut self.chunk, user_key, sequence, kind, value);
        MemEntry {
            prefix: prefix_of(user_key),
            bytes: self.chunk.split().freeze(),
        }
    }
}

/// Appends an entry's bytes (key length, internal key, value) to `out`: a
/// chunk of the arena or an allocation of its own.
fn put_entry(out: &mut impl BufMut, user_key: &[u8], sequence: u64, kind: u8, value: &[u8]) {
    out.put_u64_le((user_key.len() + TRAILER_SIZE) as u64);
    out.put_slice(user_key);
    out.put_u64_le(pack_trailer(sequence, kind));
    out.put_slice(value);
}

impl MemEntry {
    /// The entry of `user_key` at `sequence` in an allocation of its own
    /// (lookup keys, and entries too large for a chunk).
    fn of(user_key: &[u8], sequence: u64, kind: u8, value: &[u8]) -> Self {
        let key_length = user_key.len() + TRAILER_SIZE;
        let mut bytes = Vec::with_capacity(LENGTH_PREFIX_BYTES + key_length + value.len());
        put_entry(&mut bytes, user_key, sequence, kind, value);
        MemEntry {
            prefix: prefix_of(user_key),
            bytes: Bytes::from(bytes),
        }
    }

    fn new(internal_key: &[u8], value: &[u8]) -> Self {
        let key_length = internal_key.len() as u64;
        let mut bytes = Vec::with_capacity(LENGTH_PREFIX_BYTES + internal_key.len() + value.len());
        bytes.extend_from_slice(&key_length.to_le_bytes());
        bytes.extend_from_slice(internal_key);
        bytes.extend_from_slice(value);
        MemEntry {
            prefix: prefix_of(strata_sstable::key::user_key(internal_key)),
            bytes: Bytes::from(bytes),
        }
    }

    fn key_end(&self) -> usize {
        let mut length = [0; LENGTH_PREFIX_BYTES];
        length.copy_from_slice(&self.bytes[..LENGTH_PREFIX_BYTES]);
        // Written from a `usize` by this process, so it fits one.
        LENGTH_PREFIX_BYTES + u64::from_le_bytes(length) as usize
    }

    /// The encoded internal key.
    pub(crate) fn key(&self) -> &[u8] {
        &self.bytes[LENGTH_PREFIX_BYTES..self.key_end()]
    }

    pub(crate) fn value(&self) -> &[u8] {
        &self.bytes[self.key_end()..]
    }
}

impl Ord for MemEntry {
    // Inlined into the B-tree's search, which calls it a few dozen times
    // per insert; the whole-key comparison stays out of line.
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        match self.prefix.cmp(&other.prefix) {
            Ordering::Equal => compare_whole(self, other),
            unequal => unequal,
        }
    }
}

/// Orders two entries whose user keys share their first 16 bytes.
#[inline(never)]
fn compare_whole(a: &MemEntry, b: &MemEntry) -> Ordering {
    key::compare(a.key(), b.key())
}

impl PartialOrd for MemEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The entries and the arena they are copied into. Readers take the
/// read lock and look only at `set`; the arena is the writer's.
#[derive(Debug, Default)]
struct Entries {
    set: BTreeSet<MemEntry>,
    arena: Arena,
}

/// How many updates an [`Inserter`] makes before it lets waiting readers
/// in (`RwLockWriteGuard::bump`, free when nobody waits).
const INSERTS_BETWEEN_YIELDS: u32 = 64;

/// Inserts into a memtable under its write lock ([`MemTable::inserter`]);
/// the counters are updated when it is dropped.
pub(crate) struct Inserter<'a> {
    table: &'a MemTable,
    entries: RwLockWriteGuard<'a, Entries>,
    added_bytes: usize,
    largest_sequence: u64,
    since_yield: u32,
}

impl Inserter<'_> {
    pub(crate) fn insert(&mut self, user_key: &[u8], sequence: u64, kind: Kind, value: &[u8]) {
        if self.since_yield == INSERTS_BETWEEN_YIELDS {
            self.since_yield = 0;
            RwLockWriteGuard::bump(&mut self.entries);
        }
        self.since_yield += 1;
        let entries = &mut *self.entries;
        let entry = entries.arena.entry(user_key, sequence, kind as u8, value);
        // The same internal key twice (a batch replayed again under
        // SkipAnyCorruptedRecords) keeps the later value, as a map would.
        entries.set.replace(entry);
        self.added_bytes += charged_bytes(user_key.len(), value.len());
        self.largest_sequence = self.largest_sequence.max(sequence);
    }
}

impl Drop for Inserter<'_> {
    fn drop(&mut self) {
        // Plain loads and stores: the write lock, still held, keeps any
        // other writer out.
        let table = self.table;
        let bytes = table.approximate_bytes.load(AtomicOrdering::Relaxed);
        table
            .approximate_bytes
            .store(bytes + self.added_bytes, AtomicOrdering::Relaxed);
        let largest = table.largest_sequence.load(AtomicOrdering::Relaxed);
        table
            .largest_sequence
            .store(largest.max(self.largest_sequence), AtomicOrdering::Relaxed);
    }
}

/// What a lookup found for a user key at a sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Value(Vec<u8>),
    Deleted,
}

/// Per-entry overhead counted towards the memtable's size besides the
/// entry's own bytes: its share of the B-tree's slots and nodes. Measured
/// when each entry had an allocation of its own: a million random 16-byte
/// keys with 100-byte values (132-byte entries) grew the resident set by
/// 173 bytes per entry. Entries now sit in arena chunks (no allocation
/// header or size-class rounding each) but their B-tree slot is larger (a
/// 16-byte key prefix and a 32-byte `Bytes`); the figure is left as it was
/// so that tables keep their size. Counting more than the memory really
/// used flushes smaller tables than RocksDB does for the same
/// `write_buffer_size` (its arena counts what it allocates), so level 0
/// fills with more, smaller tables and compacts smaller batches.
const ENTRY_OVERHEAD_BYTES: usize = 40;

/// What an entry of `user_key_bytes` and `value_bytes` counts towards a
/// memtable's size.
pub(crate) fn charged_bytes(user_key_bytes: usize, value_bytes: usize) -> usize {
    LENGTH_PREFIX_BYTES + user_key_bytes + TRAILER_SIZE + value_bytes + ENTRY_OVERHEAD_BYTES
}

#[derive(Debug)]
pub(crate) struct MemTable {
    map: RwLock<Entries>,
    /// Written only with the map's write lock held (one writer at a time),
    /// read without it.
    approximate_bytes: AtomicUsize,
    /// The largest sequence inserted (0 if none); written as
    /// `approximate_bytes` is.
    largest_sequence: AtomicU64,
    /// The log that holds this memtable's writes.
    pub(crate) log_number: u64,
}

impl MemTable {
    pub(crate) fn new(log_number: u64) -> Self {
        MemTable {
            map: RwLock::new(Entries::default()),
            approximate_bytes: AtomicUsize::new(0),
            largest_sequence: AtomicU64::new(0),
            log_number,
        }
    }

    /// Inserts one update; [`MemTable::inserter`] inserts several under
    /// one lock.
    #[cfg(test)]
    pub(crate) fn insert(&self, user_key: &[u8], sequence: u64, kind: Kind, value: &[u8]) {
        self.inserter().insert(user_key, sequence, kind, value);
    }

    /// Holds the write lock for a write group's updates: one lock and one
    /// update of the size and sequence counters per group instead of per
    /// update. Readers wait meanwhile, at most [`INSERTS_BETWEEN_YIELDS`]
    /// updates' time.
    pub(crate) fn inserter(&self) -> Inserter<'_> {
        Inserter {
            table: self,
            entries: self.map.write(),
            added_bytes: 0,
            largest_sequence: 0,
            since_yield: 0,
        }
    }

    /// The newest version of `user_key` with sequence at most `sequence`.
    pub(crate) fn get(&self, user_key: &[u8], sequence: u64) -> Option<Lookup> {
        let lookup = MemEntry::of(user_key, sequence, SEEK_KIND, b"");
        let map = self.map.read();
        let found = map
            .set
            .range((Bound::Included(&lookup), Bound::Unbounded))
            .next()?;
        let value = found.value();
        let (found_user_key, _, kind) = key::decode(found.key())?;
        if found_user_key != user_key {
            return None;
        }
        Some(match Kind::from_byte(kind) {
            Some(Kind::Value) => Lookup::Value(value.to_vec()),
            _ => Lookup::Deleted,
        })
    }

    pub(crate) fn approximate_bytes(&self) -> usize {
        self.approximate_bytes.load(AtomicOrdering::Relaxed)
    }

    pub(crate) fn largest_sequence(&self) -> u64 {
        self.largest_sequence.load(AtomicOrdering::Relaxed)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.read().set.is_empty()
    }

    /// Up to `limit` entries (internal key, value) in order from `from`.
    pub(crate) fn chunk(
        &self,
        from: std::ops::Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let from = from.map(|key| MemEntry::new(key, b""));
        self.map
            .read()
            .set
            .range((from, Bound::Unbounded))
            .take(limit)
            .map(|entry| (entry.key().to_vec(), entry.value().to_vec()))
            .collect()
    }

    /// Up to `limit` entries (internal key, value) in descending order from
    /// `to` down.
    pub(crate) fn chunk_before(&self, to: Bound<&[u8]>, limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let to = to.map(|key| MemEntry::new(key, b""));
        self.map
            .read()
            .set
            .range((Bound::Unbounded, to))
            .rev()
            .take(limit)
            .map(|entry| (entry.key().to_vec(), entry.value().to_vec()))
            .collect()
    }
}

impl SortedEntries for MemTable {
    fn for_each_entry(&self, visit: &mut VisitEntry<'_>) -> Result<()> {
        for entry in self.map.read().set.iter() {
            visit(entry.key(), entry.value())?;
        }
        Ok(())
    }

    fn largest_sequence(&self) -> u64 {
        MemTable::largest_sequence(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_visible_version_wins_and_deletions_hide() {
        let table = MemTable::new(1);
        table.insert(b"a", 1, Kind::Value, b"one");
        table.insert(b"a", 3, Kind::Value, b"three");
        table.insert(b"a", 5, Kind::Deletion, b"");
        table.insert(b"ab", 2, Kind::Value, b"other");
        assert_eq!(table.get(b"a", 0), None);
        assert_eq!(table.get(b"a", 2), Some(Lookup::Value(b"one".to_vec())));
        assert_eq!(table.get(b"a", 4), Some(Lookup::Value(b"three".to_vec())));
        assert_eq!(table.get(b"a", 9), Some(Lookup::Deleted));
        assert_eq!(table.get(b"b", 9), None);
        assert_eq!(table.largest_sequence(), 5);
        let keys: Vec<(Vec<u8>, u64)> = table
            .chunk(std::ops::Bound::Unbounded, usize::MAX)
            .into_iter()
            .map(|(k, _)| {
                let (user, sequence, _) = key::decode(&k).expect("valid");
                (user.to_vec(), sequence)
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                (b"a".to_vec(), 5),
                (b"a".to_vec(), 3),
                (b"a".to_vec(), 1),
                (b"ab".to_vec(), 2)
            ]
        );
    }

    #[test]
    fn entries_across_arena_chunks_read_back_whole() {
        let table = MemTable::new(1);
        let mut expected = std::collections::BTreeMap::new();
        // Sizes that end chunks at every alignment, and a few larger than
        // a chunk's share, which get allocations of their own.
        for i in 0..20_000u64 {
            let key = format!("key{:07}", (i * 7_919) % 20_000).into_bytes();
            let length = match i % 1_000 {
                0 => LARGE_ENTRY_BYTES + 1,
                1 => ARENA_CHUNK_BYTES,
                _ => (i as usize * 31) % 700,
            };
            let value: Vec<u8> = (0..length).map(|j| (i as usize + j) as u8).collect();
            table.insert(&key, i + 1, Kind::Value, &value);
            expected.insert(key, value);
        }
        for (key, value) in &expected {
            assert_eq!(
                table.get(key, 1 << 40),
                Some(Lookup::Value(value.clone())),
                "{}",
                String::from_utf8_lossy(key)
            );
        }
        let mut seen = 0;
        table
            .for_each_entry(&mut |internal_key, value| {
                let (user_key, _, _) = key::decode(internal_key).expect("valid key");
                assert_eq!(expected.get(user_key).map(Vec::as_slice), Some(value));
                seen += 1;
                Ok(())
            })
            .expect("visits");
        assert_eq!(seen, expected.len());
    }
}
