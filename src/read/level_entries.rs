//! Cursors over one level past 0, forward and backward: its tables hold
//! disjoint key ranges in order, so the level reads as one sorted run,
//! opening each table's cursor only when the previous one is exhausted (a
//! scan keeps one table of the level open, whatever the level's size).

use std::sync::Arc;

use crate::error::Result;
use crate::key;
use crate::table::{TableEntries, TableEntriesBackward, TableHandle};

pub(crate) struct LevelEntries {
    tables: Vec<Arc<TableHandle>>,
    /// The next table to open.
    next_table: usize,
    current: Option<TableEntries>,
    /// The internal key to seek the first opened table to.
    seek: Option<Vec<u8>>,
    /// Whether tables are read through the block cache.
    use_cache: bool,
}

impl LevelEntries {
    /// A cursor over `tables` (one level, in key order) from the first entry
    /// not less than the internal key `seek`.
    pub(crate) fn new(tables: &[Arc<TableHandle>], seek: Option<&[u8]>) -> Self {
        // Tables that end before the seek key hold nothing to read.
        let first = seek.and_then(key::decode).map_or(0, |(user_key, _, _)| {
            tables.partition_point(|table| table.largest_user_key() < user_key)
        });
        LevelEntries {
            tables: tables[first..].to_vec(),
            next_table: 0,
            current: None,
            seek: seek.map(<[u8]>::to_vec),
            use_cache: true,
        }
    }

    /// A cursor over all of `tables` that reads them without the block
    /// cache: a compaction's input.
    pub(crate) fn uncached(tables: &[Arc<TableHandle>]) -> Self {
        LevelEntries {
            use_cache: false,
            ..LevelEntries::new(tables, None)
        }
    }

    /// The next entry into `key` and `value`, whose allocations are
    /// reused (their old contents are replaced).
    pub(crate) fn next_into(
        &mut self,
        key: &mut Vec<u8>,
        value: &mut Vec<u8>,
    ) -> Option<Result<()>> {
        loop {
            if let Some(current) = &mut self.current {
                if let Some(moved) = current.next_into(key, value) {
                    return Some(moved);
                }
                self.current = None;
            }
            let table = self.tables.get(self.next_table)?;
            self.next_table += 1;
            // Only the first table needs the seek; later ones start after it.
            let seek = if self.next_table == 1 {
                self.seek.as_deref()
            } else {
                None
            };
            self.current = Some(if self.use_cache {
                table.entries_from(seek)
            } else {
                table.entries_uncached()
            });
        }
    }
}

/// A backward cursor over one level past 0: its tables from the last down,
/// opening each table's cursor only when the one after it is exhausted.
pub(crate) struct LevelEntriesBackward {
    /// The tables still to read, in key order; read from the back.
    tables: Vec<Arc<TableHandle>>,
    current: Option<TableEntriesBackward>,
    /// The internal key to position the first opened table at or before.
    seek: Option<Vec<u8>>,
    started: bool,
}

impl LevelEntriesBackward {
    /// A cursor over `tables` (one level, in key order) from the last entry
    /// not greater than the internal key `seek`.
    pub(crate) fn new(tables: &[Arc<TableHandle>], seek: Option<&[u8]>) -> Self {
        // Tables that start after the seek key hold nothing to read.
        let end = seek
            .and_then(key::decode)
            .map_or(tables.len(), |(user_key, _, _)| {
                tables.partition_point(|table| table.smallest_user_key() <= user_key)
            });
        LevelEntriesBackward {
            tables: tables[..end].to_vec(),
            current: None,
            seek: seek.map(<[u8]>::to_vec),
            started: false,
        }
    }

    pub(crate) fn next(&mut self) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        loop {
            if let Some(current) = &mut self.current {
                if let Some(entry) = current.next() {
                    return Some(entry);
                }
                self.current = None;
            }
            let table = self.tables.pop()?;
            // Only the first table needs the seek; earlier ones start at
            // their last entry.
            let seek = if self.started {
                None
            } else {
                self.seek.as_deref()
            };
            self.started = true;
            self.current = Some(table.entries_before(seek));
        }
    }
}
