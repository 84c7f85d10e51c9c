//! A block cache shared by the tables of one database: decoded, checksum-
//! verified data blocks, bounded in bytes, the least recently used evicted
//! first.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::block::Block;

/// (table id, block offset)
type BlockKey = (u64, u64);

/// A cache of data blocks for any number of tables. Each table opened with
/// [`crate::Table::open_cached`] names itself with an id unique within the
/// cache (the engine uses the table's file number).
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
    state: Mutex<CacheState>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct CacheState {
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
        Arc::new(BlockCache {
            capacity_bytes,
            state: Mutex::new(CacheState::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
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
        self.lock().size_bytes
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn get(&self, key: BlockKey) -> Option<Arc<Block>> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let Some((block, last_use)) = state.blocks.get_mut(&key) else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.hits.fetch_add(1, Ordering::Relaxed);
        let block = Arc::clone(block);
        let previous = std::mem::replace(last_use, tick);
        state.recency.remove(&previous);
        state.recency.insert(tick, key);
        Some(block)
    }

    pub(crate) fn insert(&self, key: BlockKey, block: Arc<Block>) {
        let size = block.size_bytes();
        if size > self.capacity_bytes {
            return;
        }
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        if let Some((old, last_use)) = state.blocks.insert(key, (block, tick)) {
            state.recency.remove(&last_use);
            state.size_bytes -= old.size_bytes();
        }
        state.recency.insert(tick, key);
        state.size_bytes += size;
        while state.size_bytes > self.capacity_bytes {
            let Some((_, oldest)) = state.recency.pop_first() else {
                break;
            };
            if let Some((evicted, _)) = state.blocks.remove(&oldest) {
                state.size_bytes -= evicted.size_bytes();
            }
        }
    }
}
