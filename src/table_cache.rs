//! The table cache: at most `max_open_files` tables keep their file open;
//! the least recently used is closed when another opens, and reopened on
//! its next use (RocksDB's table cache). A database with many tables stays
//! openable under a low descriptor limit.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::table::TableHandle;

pub(crate) struct OpenTables {
    capacity: usize,
    state: Mutex<Recency>,
    /// How many tables `state` holds, readable without its lock.
    held: AtomicUsize,
}

#[derive(Default)]
struct Recency {
    tick: u64,
    /// Table number → (last use, the handle).
    by_number: HashMap<u64, (u64, Weak<TableHandle>)>,
    /// Last use → table number, oldest first.
    by_use: BTreeMap<u64, u64>,
}

impl OpenTables {
    pub(crate) fn new(capacity: usize) -> Self {
        OpenTables {
            capacity: capacity.max(1),
            state: Mutex::new(Recency::default()),
            held: AtomicUsize::new(0),
        }
    }

    /// Records a use of `handle`'s open table and closes the least recently
    /// used others past the capacity. While fewer tables are open than the
    /// capacity, a use of a table already held records nothing, without
    /// the lock: recency decides only what to close, and nothing is closed
    /// until the capacity is reached (from then on every use is recorded;
    /// the first table closed may have been used more recently than its
    /// place says, and is reopened on its next use). A point read touches
    /// a table in each level it looks in, so this takes a lock, a hash-map
    /// update and two B-tree updates off every one of them.
    pub(crate) fn touch(&self, handle: &Arc<TableHandle>) {
        if handle.held_open.load(Ordering::Relaxed)
            && self.held.load(Ordering::Relaxed) < self.capacity
        {
            return;
        }
        let number = handle.meta().number;
        let evicted: Vec<Arc<TableHandle>> = {
            let mut state = self.state.lock();
            state.tick += 1;
            let tick = state.tick;
            if let Some((old, _)) = state
                .by_number
                .insert(number, (tick, Arc::downgrade(handle)))
            {
                state.by_use.remove(&old);
            }
            state.by_use.insert(tick, number);
            let mut evicted = Vec::new();
            while state.by_number.len() > self.capacity {
                let Some((_, oldest)) = state.by_use.pop_first() else {
                    break;
                };
                if let Some((_, weak)) = state.by_number.remove(&oldest)
                    && let Some(table) = weak.upgrade()
                {
                    table.held_open.store(false, Ordering::Relaxed);
                    evicted.push(table);
                }
            }
            handle.held_open.store(true, Ordering::Relaxed);
            self.held.store(state.by_number.len(), Ordering::Relaxed);
            evicted
        };
        // Closed outside the lock: a handle's own lock is taken after ours
        // elsewhere, never before.
        for table in evicted {
            table.close();
        }
    }

    /// Forgets the handle at `address` for table `number` (it is dropped).
    pub(crate) fn forget(&self, number: u64, address: *const TableHandle) {
        let mut state = self.state.lock();
        let same = state
            .by_number
            .get(&number)
            .is_some_and(|(_, weak)| std::ptr::eq(weak.as_ptr(), address));
        if same && let Some((tick, _)) = state.by_number.remove(&number) {
            state.by_use.remove(&tick);
        }
        self.held.store(state.by_number.len(), Ordering::Relaxed);
    }
}
