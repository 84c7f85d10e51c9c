//! A forward cursor over one level past 0: its tables hold disjoint key
//! ranges in order, so the level reads as one sorted run, opening each
//! table's cursor only when the previous one is exhausted.

use std::sync::Arc;

use crate::error::Result;
use crate::key;
use crate::table::{TableEntries, TableHandle};

pub(crate) struct LevelEntries {
    tables: Vec<Arc<TableHandle>>,
    /// The next table to open.
    next_table: usize,
    current: Option<TableEntries>,
    /// The internal key to seek the first opened table to.
    seek: Option<Vec<u8>>,
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
            let table = self.tables.get(self.next_table)?;
            self.next_table += 1;
            // Only the first table needs the seek; later ones start after it.
            let seek = if self.next_table == 1 {
                self.seek.as_deref()
            } else {
                None
            };
            self.current = Some(table.entries_from(seek));
        }
    }
}
