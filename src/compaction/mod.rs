//! Compaction (leveled, LevelDB/RocksDB style) on its own background
//! thread, so memtable flushes never wait behind it: `pick.rs` chooses what
//! to compact, `merge.rs` writes the merged tables, and this file installs
//! the result with one MANIFEST edit and removes the inputs.
//!
//! Crash safety: output tables are durable before the MANIFEST names them;
//! inputs are removed only after. A crash in between leaves orphans that the
//! next open removes as obsolete.

mod cut;
mod merge;
pub(crate) mod pick;
pub(crate) mod score;
mod targets;

use std::sync::Arc;
use std::time::Instant;

use merge::{MergeContext, merge};
use pick::Compaction;

use crate::engine::Engine;
use crate::error::Result;
use crate::levels::Levels;
use crate::stats::{CompactionDone, Counters};
use crate::table::TableHandle;
use crate::trace::event;
use crate::version::VersionEdit;

impl Engine {
    /// The compaction thread: waits until some level needs compacting, runs
    /// one compaction at a time, stops at shutdown or on failure (which
    /// poisons the database).
    pub(crate) fn compaction_loop(&self) {
        loop {
            let (compaction, levels) = {
                let mut state = self.state.lock();
                loop {
                    // At shutdown, work is left for the next open, except a
                    // pile of level-0 tables: a process that is opened and
                    // closed often must not collect them without bound.
                    let piled =
                        state.tables.level(0).len() >= self.options.level0_slowdown_writes_trigger;
                    if state.poisoned.is_some() || (state.shutting_down && !piled) {
                        return;
                    }
                    if !state.manual_compaction
                        && let Some(compaction) = pick::pick(&state.tables, &self.options)
                    {
                        state.compacting = true;
                        break (compaction, Arc::clone(&state.tables));
                    }
                    if state.shutting_down {
                        return;
                    }
                    self.state_changed.wait(&mut state);
                }
            };
            let result = self.run_compaction(&compaction, &levels);
            // Let the inputs go (and their files with them, unless a reader
            // holds them) before anyone waiting for idle looks.
            drop(compaction);
            drop(levels);
            let mut state = self.state.lock();
            state.compacting = false;
            if let Err(error) = &result {
                state.poison(error);
            }
            self.state_changed.notify_all();
            if result.is_err() {
                return;
            }
        }
    }

    /// Runs one compaction and installs its result.
    pub(crate) fn run_compaction(&self, compaction: &Compaction, levels: &Levels) -> Result<()> {
        let output_level = u32::try_from(compaction.output_level).unwrap_or(u32::MAX);
        let removed = compaction.input_numbers();
        if compaction.is_trivial_move(pick::small_table_bytes(&self.options)) {
            let moved: Vec<Arc<TableHandle>> = compaction
                .inputs
                .iter()
                .map(|table| table.at_level(output_level))
                .collect();
            let edit = VersionEdit {
                deleted_tables: removed.clone(),
                new_tables: moved.iter().map(|table| table.meta().clone()).collect(),
                ..VersionEdit::default()
            };
            let mut manifest = self.manifest.lock();
            self.state.lock().check_healthy()?;
            self.log_edit(&mut manifest, &edit)?;
            let mut state = self.state.lock();
            self.apply_logged(&mut manifest, &mut state, &edit)?;
            Counters::add(&self.counters.trivial_moves, 1);
            event!(
                info,
                target: "strata::compaction",
                level = compaction.level,
                output_level,
                tables = ?removed,
                "moved tables to the output level unchanged"
            );
            state.replace_tables(&removed, moved, self.options.num_levels);
            self.state_changed.notify_all();
            return Ok(());
        }

        let started = Instant::now();
        let fs = self.fs.as_ref();
        let smallest_snapshot = self.snapshots.smallest(|| self.visible());
        let mut new_file_number = || {
            let mut state = self.state.lock();
            let number = state.version.next_file_number;
            state.version.next_file_number += 1;
            number
        };
        let outputs = merge(
            compaction,
            MergeContext {
                fs,
                directory: &self.directory,
                options: &self.options,
                levels,
                smallest_snapshot,
                new_file_number: &mut new_file_number,
            },
        )?;
        let read: u64 = compaction
            .inputs
            .iter()
            .chain(&compaction.next_inputs)
            .map(|table| table.meta().size)
            .sum();
        let read_above: u64 = compaction
            .inputs
            .iter()
            .map(|table| table.meta().size)
            .sum();
        let written: u64 = outputs.iter().map(|meta| meta.size).sum();
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.counters.add_compaction(
            compaction.output_level,
            &CompactionDone {
                read,
                read_above,
                written,
                micros,
            },
        );
        event!(
            info,
            target: "strata::compaction",
            level = compaction.level,
            output_level,
            inputs = ?removed,
            outputs = ?outputs.iter().map(|meta| meta.number).collect::<Vec<_>>(),
            bytes_read = read,
            bytes_written = written,
            "compacted tables"
        );
        let handles = outputs
            .iter()
            .map(|meta| TableHandle::open(&self.tables, meta))
            .collect::<Result<Vec<_>>>()?;
        {
            let mut manifest = self.manifest.lock();
            let edit = {
                let state = self.state.lock();
                state.check_healthy()?;
                VersionEdit {
                    next_file_number: Some(state.version.next_file_number),
                    new_tables: outputs,
                    deleted_tables: removed.clone(),
                    ..VersionEdit::default()
                }
            };
            self.log_edit(&mut manifest, &edit)?;
            let mut state = self.state.lock();
            self.apply_logged(&mut manifest, &mut state, &edit)?;
            state.replace_tables(&removed, handles, self.options.num_levels);
            self.state_changed.notify_all();
        }
        // The inputs' files go when their last reader does (an iterator, a
        // read in flight, this compaction's own view).
        for table in compaction.inputs.iter().chain(&compaction.next_inputs) {
            table.mark_obsolete();
        }
        Ok(())
    }

    /// Compacts every table overlapping `smallest..=largest` (user keys;
    /// `None`: no upper bound)
    /// down, level by level, to the last level that holds data, so that
    /// what no reader can see any more is dropped there. Waits for a
    /// running background compaction first and holds the background thread
    /// off meanwhile.
    pub(crate) fn compact_range(&self, smallest: &[u8], largest: Option<&[u8]>) -> Result<()> {
        {
            let mut state = self.state.lock();
            while state.compacting || state.manual_compaction {
                state.check_healthy()?;
                self.state_changed.wait(&mut state);
            }
            state.check_healthy()?;
            state.manual_compaction = true;
        }
        let result = (|| {
            let deepest = {
                let state = self.state.lock();
                (0..state.tables.count())
                    .rev()
                    .find(|&level| !state.tables.level(level).is_empty())
                    .unwrap_or(0)
            };
            // Level by level along the path compaction takes: level 0 into
            // the base level, then each level into the next.
            let mut level = 0;
            loop {
                let levels = Arc::clone(&self.state.lock().tables);
                let output_level = levels.targets(&self.options).output_level(level);
                if output_level >= levels.count() || (level > 0 && level >= deepest) {
                    break;
                }
                let largest = match largest {
                    Some(largest) => largest.to_vec(),
                    None => levels
                        .all()
                        .map(|table| table.largest_user_key())
                        .max()
                        .unwrap_or_default()
                        .to_vec(),
                };
                if let Some(compaction) =
                    pick::for_range(&levels, level, output_level, smallest, &largest)
                {
                    self.run_compaction(&compaction, &levels)?;
                }
                level = output_level;
            }
            Ok(())
        })();
        let mut state = self.state.lock();
        state.manual_compaction = false;
        if let Err(error) = &result {
            state.poison(error);
        }
        self.state_changed.notify_all();
        result
    }

    /// Waits until no memtable waits for its flush, no compaction runs and
    /// no level needs one.
    pub(crate) fn wait_for_background_idle(&self) -> Result<()> {
        let mut state = self.state.lock();
        loop {
            state.check_healthy()?;
            let busy = !state.immutable.is_empty()
                || state.compacting
                || state.manual_compaction
                || pick::pick(&state.tables, &self.options).is_some();
            if !busy {
                return Ok(());
            }
            self.state_changed.wait(&mut state);
        }
    }
}
