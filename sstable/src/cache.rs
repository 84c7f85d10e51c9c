//! A block cache shared by the tables of one database: decoded, checksum-
//! verified data blocks, bounded in bytes, the least recently used evicted
//! first. The cache is split into shards by block key, each with its own
//! lock, capacity and recency order (as RocksDB's `LRUCache`), so that
//! concurrent readers of different blocks rarely wait for one another.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::block::Block;

/// (table id, block offset)
type BlockKey = (u64, u64);

/// The most shards a [`BlockCache`] is split into.
pub const MAX_CACHE_SHARDS: usize = 64;

/// A [`BlockCache`] has no more shards than leave each this many bytes.
pub const MIN_CACHE_SHARD_BYTES: usize = 512 << 10;

/// A cache of data blocks for any number of tables. Each table opened with
/// [`crate::Table::open_cached`] names itself with an id unique within the
/// cache (the engine uses the table's file number).
///
/// The capacity is divided evenly among up to [`MAX_CACHE_SHARDS`] shards
/// of at least [`MIN_CACHE_SHARD_BYTES`] each (RocksDB's default sharding:
/// 64 shards, none under 512 KiB), so a small cache has one shard and
/// exact LRU order. A block larger than its shard's capacity is not cached.
///
/// ```
/// use strata_sstable::BlockCache;
///
/// let cache = BlockCache::new(8 << 20);
/// assert_eq!(cache.size_bytes(), 0);
/// assert_eq!((cache.hits(), cache.misses()), (0, 0));
/// ```
#[derive(Debug)]
pub struct BlockCache {
    capacity_bytes: usize,
    shards: Box<[Mutex<Shard>]>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// One shard: its blocks and their recency, bounded by `capacity_bytes`.
/// The recency order is a doubly linked list threaded through `slots` by
/// index, so a hit, an insertion and an eviction each cost one hash-map
/// operation and a few index updates, and no allocation once the shard
/// has been full.
#[derive(Debug)]
struct Shard {
    capacity_bytes: usize,
    size_bytes: usize,
    /// Block key → its slot.
    index: HashMap<BlockKey, u32, BuildHasherDefault<KeyHasher>>,
    slots: Vec<Slot>,
    /// Slots of evicted blocks, for reuse.
    free: Vec<u32>,
    /// The most recently used slot, or [`NONE`].
    newest: u32,
    /// The least recently used slot, or [`NONE`].
    oldest: u32,
}

/// A block and its neighbours in the recency list.
#[derive(Debug)]
struct Slot {
    key: BlockKey,
    /// `None` while the slot is free.
    block: Option<Arc<Block>>,
    /// The next more recently used slot, or [`NONE`].
    newer: u32,
    /// The next less recently used slot, or [`NONE`].
    older: u32,
}

/// No slot.
const NONE: u32 = u32::MAX;

impl Shard {
    fn new(capacity_bytes: usize) -> Shard {
        Shard {
            capacity_bytes,
            size_bytes: 0,
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            newest: NONE,
            oldest: NONE,
        }
    }

    /// Takes `slot` out of the recency list.
    fn unlink(&mut self, slot: u32) {
        let Slot { newer, older, .. } = self.slots[slot as usize];
        match newer {
            NONE => self.newest = older,
            newer => self.slots[newer as usize].older = older,
        }
        match older {
            NONE => self.oldest = newer,
            older => self.slots[older as usize].newer = newer,
        }
    }

    /// Puts `slot` at the most recent end of the recency list.
    fn push_newest(&mut self, slot: u32) {
        let previous = self.newest;
        self.slots[slot as usize].newer = NONE;
        self.slots[slot as usize].older = previous;
        match previous {
            NONE => self.oldest = slot,
            previous => self.slots[previous as usize].newer = slot,
        }
        self.newest = slot;
    }

    fn get(&mut self, key: BlockKey) -> Option<Arc<Block>> {
        let slot = *self.index.get(&key)?;
        if self.newest != slot {
            self.unlink(slot);
            self.push_newest(slot);
        }
        self.slots[slot as usize].block.clone()
    }

    fn insert(&mut self, key: BlockKey, block: Arc<Block>) {
        let size = block.size_bytes();
        if let Some(&slot) = self.index.get(&key) {
            let old = self.slots[slot as usize].block.replace(block);
            self.size_bytes -= old.map_or(0, |old| old.size_bytes());
            self.unlink(slot);
            self.push_newest(slot);
        } else {
            let entry = Slot {
                key,
                block: Some(block),
                newer: NONE,
                older: NONE,
            };
            let slot = match self.free.pop() {
                Some(slot) => {
                    self.slots[slot as usize] = entry;
                    slot
                }
                None => {
                    self.slots.push(entry);
                    u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 blocks in a shard")
                }
            };
            self.index.insert(key, slot);
            self.push_newest(slot);
        }
        self.size_bytes += size;
        while self.size_bytes > self.capacity_bytes && self.oldest != NONE {
            let oldest = self.oldest;
            self.unlink(oldest);
            let evicted = &mut self.slots[oldest as usize];
            self.index.remove(&evicted.key);
            self.size_bytes -= evicted.block.take().map_or(0, |block| block.size_bytes());
            self.free.push(oldest);
        }
    }
}

/// A hasher for block keys (two integers the cache itself chooses, so no
/// protection against crafted collisions is needed): the multiply-rotate
/// step of rustc's FxHasher, then the high half folded into the low bits
/// the hash table's buckets come from.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

impl BlockCache {
    /// A cache holding at most about `capacity_bytes` of blocks.
    #[must_use]
    pub fn new(capacity_bytes: usize) -> Arc<BlockCache> {
        let count = (capacity_bytes / MIN_CACHE_SHARD_BYTES).clamp(1, MAX_CACHE_SHARDS);
        // A power of two, so a key's shard is a mask of its hash.
        let count = if count.is_power_of_two() {
            count
        } else {
            count.next_power_of_two() / 2
        };
        let shards = (0..count)
            .map(|_| Mutex::new(Shard::new(capacity_bytes / count)))
            .collect();
        Arc::new(BlockCache {
            capacity_bytes,
            shards,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// The capacity this cache was made with, in bytes.
    #[must_use]
    pub fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
    }

    /// How many shards the capacity is split into.
    #[must_use]
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Lookups that found their block in the cache, since it was made.
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that had to read their block from the table file.
    #[must_use]
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Bytes of blocks held now.
    #[must_use]
    pub fn size_bytes(&self) -> usize {
        (0..self.shards.len())
            .map(|shard| lock(&self.shards[shard]).size_bytes)
            .sum()
    }

    fn shard(&self, key: BlockKey) -> MutexGuard<'_, Shard> {
        // Blocks of one table sit at offsets a few KiB apart, and table ids
        // count up: mix both so that neighbours spread over the shards.
        let hash = (key.0 ^ key.1.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // The top bits are the best mixed; `len` is a power of two.
        let index = (hash >> 32) as usize & (self.shards.len() - 1);
        lock(&self.shards[index])
    }

    pub(crate) fn get(&self, key: BlockKey) -> Option<Arc<Block>> {
        let block = self.shard(key).get(key);
        let counter = if block.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        block
    }

    pub(crate) fn insert(&self, key: BlockKey, block: Arc<Block>) {
        let mut shard = self.shard(key);
        if block.size_bytes() <= shard.capacity_bytes {
            shard.insert(key, block);
        }
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::block::KeyOrder;
    use crate::block_builder::BlockBuilder;

    /// A block whose contents are `value_bytes` plus a few bytes.
    fn block(value_bytes: usize) -> Arc<Block> {
        let mut builder = BlockBuilder::new(16);
        builder.add(b"key00000", &vec![7; value_bytes]);
        let contents = builder.finish();
        Arc::new(
            Block::new(contents, KeyOrder::Bytewise, Path::new("c").into(), 0)
                .expect("a well-formed block"),
        )
    }

    #[test]
    fn the_least_recently_used_blocks_go_first_as_in_a_model() {
        let sizes = [100, 300, 700];
        let blocks = sizes.map(block);
        let capacity = 1_500;
        let cache = BlockCache::new(capacity);
        assert_eq!(cache.shard_count(), 1, "one shard: exact LRU order");
        // The model: (key, size) from the least recently used on.
        let mut model: Vec<(BlockKey, usize)> = Vec::new();
        let mut state = 0x1234_5678_u64;
        for step in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let key = (state >> 60, (state >> 40) % 3);
            let found = model.iter().position(|&(other, _)| other == key);
            if state >> 33 & 1 == 0 {
                let got = cache.get(key);
                assert_eq!(got.is_some(), found.is_some(), "step {step}: get {key:?}");
                if let Some(position) = found {
                    let used = model.remove(position);
                    model.push(used);
                }
            } else {
                let which = (state >> 20) as usize % sizes.len();
                let block = Arc::clone(&blocks[which]);
                let size = block.size_bytes();
                cache.insert(key, block);
                if let Some(position) = found {
                    model.remove(position);
                }
                model.push((key, size));
                while model.iter().map(|&(_, size)| size).sum::<usize>() > capacity {
                    model.remove(0);
                }
            }
            let held: usize = model.iter().map(|&(_, size)| size).sum();
            assert_eq!(cache.size_bytes(), held, "step {step}");
        }
        for (key, _) in model {
            assert!(cache.get(key).is_some(), "{key:?} was evicted early");
        }
    }

    #[test]
    fn a_block_larger_than_its_shard_is_not_cached() {
        let cache = BlockCache::new(200);
        cache.insert((1, 0), block(50));
        cache.insert((1, 100), block(500));
        assert!(cache.get((1, 0)).is_some());
        assert!(cache.get((1, 100)).is_none());
        assert_eq!((cache.hits(), cache.misses()), (1, 1));
    }
}
