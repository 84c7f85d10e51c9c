//! Flush: the background thread writes each full memtable as a level-0
//! table, records the table and the new minimum live log in the MANIFEST
//! (synced), and only then deletes the log the memtable came from.

use std::sync::Arc;

use crate::directory::remove_files;
use crate::engine::Engine;
use crate::error::Result;
use crate::memtable::MemTable;
use crate::stats::Counters;
use crate::table::{self, TableHandle};
use crate::trace::event;
use crate::version::VersionEdit;
use crate::version::filename;

impl Engine {
    /// Switches out the current memtable (if it holds anything) and waits
    /// until every full memtable is flushed and the compactions that made
    /// necessary are done.
    pub(crate) fn flush(&self) -> Result<()> {
        self.exclusively(|| {
            let empty = {
                let state = self.state.lock();
                state.check_healthy()?;
                state.mem.is_empty()
            };
            if !empty {
                self.switch_memtable()?;
            }
            Ok(())
        })?;
        self.wait_for_background_idle()
    }

    /// The flush thread's loop: flush the oldest full memtable; stop at
    /// shutdown or on failure (which poisons the database). Compaction runs
    /// on its own thread, so a flush never waits behind it.
    pub(crate) fn flush_loop(&self) {
        loop {
            let (full, number) = {
                let mut state = self.state.lock();
                while state.immutable.is_empty() && !state.shutting_down {
                    self.state_changed.wait(&mut state);
                }
                if state.immutable.is_empty() || state.poisoned.is_some() {
                    return;
                }
                let number = state.version.next_file_number;
                state.version.next_file_number += 1;
                (Arc::clone(&state.immutable[0]), number)
            };
            if let Err(error) = self.flush_one(&full, number) {
                self.poison(&error);
                return;
            }
        }
    }

    fn flush_one(&self, full: &MemTable, number: u64) -> Result<()> {
        let fs = self.fs.as_ref();
        let meta = table::build(fs, &self.directory, number, full, &self.options)?;
        Counters::add(&self.counters.flushes, 1);
        Counters::add(&self.counters.flush_bytes, meta.size);
        event!(
            info,
            target: "strata::flush",
            table = %self.directory.join(filename::table(number)).display(),
            bytes = meta.size,
            log = full.log_number,
            "flushed a memtable to a level-0 table (the MANIFEST records it next)"
        );
        let handle = TableHandle::open(&self.tables, &meta)?;
        let mut manifest = self.manifest.lock();
        let edit = {
            let state = self.state.lock();
            state.check_healthy()?;
            // A memtable switch may come in before the edit is applied,
            // but it only appends a memtable: the one after `full`, whose
            // log becomes the oldest live one, stays the same.
            let live_log = state
                .immutable
                .get(1)
                .map_or(state.mem.log_number, |next| next.log_number);
            let flushed = full.largest_sequence().max(state.version.flushed_sequence);
            VersionEdit {
                log_number: Some(live_log),
                next_file_number: Some(state.version.next_file_number.max(number + 1)),
                flushed_sequence: Some(flushed),
                new_tables: vec![meta],
                ..VersionEdit::default()
            }
        };
        self.log_edit(&mut manifest, &edit)?;
        let mut state = self.state.lock();
        self.apply_logged(&mut manifest, &mut state, &edit)?;
        state.install_flushed(handle, self.options.num_levels);
        // Wakes the compaction thread and stalled writers.
        self.state_changed.notify_all();
        drop(state);
        drop(manifest);
        // The flushed log is obsolete now that the MANIFEST says so.
        remove_files(fs, &self.directory, &[filename::log(full.log_number)])
    }
}
