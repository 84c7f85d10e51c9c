//! Compaction: once `level0_compaction_trigger` tables exist, the flush
//! thread merges them all into one, dropping the versions no reader can see
//! any more, and installs the result with one MANIFEST edit.

use std::path::Path;
use std::sync::Arc;

use crate::directory::remove_files;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::key;
use crate::options::Options;
use crate::table::{TableEntries, TableHandle, write_table};
use crate::version::filename;
use crate::version::{TableMeta, VersionEdit};

impl Engine {
    /// Merges all level-0 tables into one once there are
    /// `level0_compaction_trigger` of them, so reads consult few tables, and
    /// drops the versions no reader can see any more (older than a newer
    /// version that the oldest live snapshot already sees; deletions with
    /// nothing left beneath). The merged table is durable before the
    /// MANIFEST names it, and the inputs are removed only after; a crash in
    /// between leaves an orphan that the next open removes.
    pub(crate) fn maybe_compact(&self) -> Result<()> {
        let (inputs, metas, number) = {
            let mut state = self.state.lock();
            if !state.compacting {
                return Ok(());
            }
            let number = state.version.next_file_number;
            state.version.next_file_number += 1;
            (
                Arc::clone(&state.tables),
                state.version.tables.clone(),
                number,
            )
        };
        let fs = self.fs.as_ref();
        let largest_sequence = metas
            .iter()
            .map(|meta| meta.largest_sequence)
            .max()
            .unwrap_or(0);
        let smallest_snapshot = self.snapshots.smallest(|| self.visible());
        let merged = merge(
            fs,
            &self.directory,
            number,
            &inputs,
            largest_sequence,
            smallest_snapshot,
            &self.options,
        )?;
        let handle = match &merged {
            Some(meta) => Some(Arc::new(TableHandle::open(
                fs,
                &self.directory,
                meta,
                &self.block_cache,
            )?)),
            None => None,
        };
        let mut state = self.state.lock();
        // Only this thread changes the set of tables, so it is still `inputs`.
        debug_assert_eq!(state.tables.len(), inputs.len());
        let edit = VersionEdit {
            next_file_number: Some(state.version.next_file_number.max(number + 1)),
            new_tables: merged.into_iter().collect(),
            deleted_tables: metas.iter().map(|meta| meta.number).collect(),
            ..VersionEdit::default()
        };
        self.append_edit(&mut state, &edit)?;
        state.tables = Arc::new(handle.into_iter().collect());
        drop(state);
        let names: Vec<String> = metas
            .iter()
            .map(|meta| filename::table(meta.number))
            .collect();
        let removed = remove_files(fs, &self.directory, &names);
        self.state.lock().compacting = false;
        self.state_changed.notify_all();
        removed
    }
}

/// Merges all tables into one new table `number`, dropping what no reader
/// can see: a version is dropped when a newer version of its key is visible
/// at `smallest_snapshot` (the oldest sequence any reader may use), and a
/// deletion visible there is dropped with everything beneath it — these are
/// all the tables, so nothing older can reappear (LevelDB's rules for a
/// compaction into the base level). `None` if nothing is left.
fn merge(
    fs: &dyn FileSystem,
    directory: &Path,
    number: u64,
    inputs: &[Arc<TableHandle>],
    largest_sequence: u64,
    smallest_snapshot: u64,
    options: &Options,
) -> Result<Option<TableMeta>> {
    let meta = write_table(
        fs,
        directory,
        number,
        options,
        largest_sequence,
        |builder| {
            let mut cursors: Vec<TableEntries> = inputs
                .iter()
                .map(|table| table.entries_from(None))
                .collect();
            let mut heads: Vec<Option<(Vec<u8>, Vec<u8>)>> = Vec::with_capacity(cursors.len());
            for cursor in &mut cursors {
                heads.push(cursor.next().transpose()?);
            }
            let mut previous: Option<Vec<u8>> = None;
            let mut current_user_key: Option<Vec<u8>> = None;
            let mut newer_sequence = u64::MAX;
            loop {
                // Few inputs: a linear scan for the smallest head is enough.
                let smallest = heads
                    .iter()
                    .enumerate()
                    .filter_map(|(index, head)| head.as_ref().map(|(key, _)| (index, key)))
                    .min_by(|(_, a), (_, b)| key::compare(a, b))
                    .map(|(index, _)| index);
                let Some(index) = smallest else {
                    return Ok(());
                };
                let (key, value) = heads[index].take().expect("chosen head exists");
                heads[index] = cursors[index].next().transpose()?;
                // The same internal key twice (a batch replayed again by
                // SkipAnyCorruptedRecords) is written once.
                if previous.as_deref() == Some(&key[..]) {
                    continue;
                }
                let (user_key, sequence, kind) =
                    key::decode(&key).ok_or_else(|| Error::Corruption {
                        path: directory.join(filename::table(number)),
                        offset: 0,
                        reason: "a merged entry has no internal-key trailer".to_owned(),
                    })?;
                if current_user_key.as_deref() != Some(user_key) {
                    current_user_key = Some(user_key.to_vec());
                    newer_sequence = u64::MAX;
                }
                let shadowed = newer_sequence <= smallest_snapshot;
                let dead_deletion = kind != key::Kind::Value as u8 && sequence <= smallest_snapshot;
                newer_sequence = sequence;
                if !shadowed && !dead_deletion {
                    builder.add(&key, &value)?;
                }
                previous = Some(key);
            }
        },
    )?;
    if meta.smallest.is_empty() && meta.largest.is_empty() {
        let path = directory.join(filename::table(number));
        fs.remove(&path)
            .map_err(|source| Error::io(&path, "remove", source))?;
        return Ok(None);
    }
    Ok(Some(meta))
}
