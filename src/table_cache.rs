//! The table cache: at most `max_open_files` tables keep their file open;
//! the least recently used is closed when another opens, and reopened on
//! its next use (RocksDB's table cache). A database with many tables stays
//! openable under a low descriptor limit.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::table::TableHandle;

pub(crate) struct OpenTables {
    capacity: usize,
    state: Mutex<Recency>,
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
        }
    }

    /// Records a use of `handle`'s open table and closes the least recently
    /// used others past the capacity.
    pub(crate) fn touch(&self, handle: &Arc<TableHandle>) {
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
                    evicted.push(table);
                }
            }
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
    }
}
