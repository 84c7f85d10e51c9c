//! A block cache shared by the tables of one database: decoded, checksum-
//! verified data blocks, bounded in bytes, the least recently used evicted
//! first. The cache is split into shards by block key, each with its own
//! lock, capacity and recency order (as RocksDB's `LRUCache`), so that
//! concurrent readers of different blocks rarely wait for one another.

use std::collections::{BTreeMap, HashMap};
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
#[derive(Debug, Default)]
struct Shard {
    capacity_bytes: usize,
    blocks: HashMap<BlockKey, (Arc<Block>, u64)>,
    /// Last-use tick → key, oldest first.
    recency: BTreeMap<u64, BlockKey>,
    tick: u64,
    size_bytes: usize,
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
            .map(|_| {
                Mutex::new(Shard {
                    capacity_bytes: capacity_bytes / count,
                    ..Shard::default()
                })
            })
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
        let mut shard = self.shard(key);
        shard.tick += 1;
        let tick = shard.tick;
        let Some((block, last_use)) = shard.blocks.get_mut(&key) else {
            drop(shard);
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let block = Arc::clone(block);
        let previous = std::mem::replace(last_use, tick);
        shard.recency.remove(&previous);
        shard.recency.insert(tick, key);
        drop(shard);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(block)
    }

    pub(crate) fn insert(&self, key: BlockKey, block: Arc<Block>) {
        let size = block.size_bytes();
        let mut shard = self.shard(key);
        if size > shard.capacity_bytes {
            return;
        }
        shard.tick += 1;
        let tick = shard.tick;
        if let Some((old, last_use)) = shard.blocks.insert(key, (block, tick)) {
            shard.recency.remove(&last_use);
            shard.size_bytes -= old.size_bytes();
        }
        shard.recency.insert(tick, key);
        shard.size_bytes += size;
        while shard.size_bytes > shard.capacity_bytes {
            let Some((_, oldest)) = shard.recency.pop_first() else {
                break;
            };
            if let Some((evicted, _)) = shard.blocks.remove(&oldest) {
                shard.size_bytes -= evicted.size_bytes();
            }
        }
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
