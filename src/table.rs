//! The engine's side of `strata-sstable`: writing a memtable (or a merge)
//! as a table through the file-system seam, and reading tables through it.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use strata_sstable::key::ValueKind;
use strata_sstable::{BlockCache, ReadAt, Table, TableBuilder, TableIterator, TableOptions};

use crate::error::{Error, Result};
use crate::fs::{FileSystem, ReadableFile, WritableFile};
use crate::key;
use crate::memtable::{Lookup, MemTable};
use crate::options::Options;
use crate::version::TableMeta;
use crate::version::filename;

/// Serves a table's bytes through the file-system seam.
struct FileSource(Arc<dyn ReadableFile>);

impl ReadAt for FileSource {
    fn size_bytes(&self) -> io::Result<u64> {
        self.0.len()
    }

    fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
        self.0.read_exact_at(offset, buffer)
    }
}

/// An open table.
pub(crate) struct TableHandle {
    table: Table,
    meta: TableMeta,
    /// User keys of the first and last entry.
    smallest_user_key: Vec<u8>,
    largest_user_key: Vec<u8>,
}

impl TableHandle {
    pub(crate) fn open(
        fs: &dyn FileSystem,
        directory: &Path,
        meta: &TableMeta,
        cache: &Arc<BlockCache>,
    ) -> Result<Self> {
        let path = directory.join(filename::table(meta.number));
        let file = fs
            .open_read(&path)
            .map_err(|source| Error::io(&path, "open", source))?;
        // File numbers are never reused while the database is open, so
        // they identify a table's blocks in the shared cache.
        let table = Table::open_cached(FileSource(file), &path, Arc::clone(cache), meta.number)?;
        if table.file_size_bytes() != meta.size {
            return Err(Error::Corruption {
                path,
                offset: table.file_size_bytes(),
                reason: format!(
                    "the MANIFEST records {} bytes but the table has {}",
                    meta.size,
                    table.file_size_bytes()
                ),
            });
        }
        let user_key = |internal: &[u8]| {
            key::decode(internal)
                .map(|(user_key, _, _)| user_key.to_vec())
                .unwrap_or_default()
        };
        Ok(TableHandle {
            table,
            smallest_user_key: user_key(&meta.smallest),
            largest_user_key: user_key(&meta.largest),
            meta: meta.clone(),
        })
    }

    /// The same open table recorded at another level (a trivial move).
    pub(crate) fn at_level(&self, level: u32) -> TableHandle {
        TableHandle {
            table: self.table.clone(),
            meta: TableMeta {
                level,
                ..self.meta.clone()
            },
            smallest_user_key: self.smallest_user_key.clone(),
            largest_user_key: self.largest_user_key.clone(),
        }
    }

    /// What the MANIFEST records of the table.
    pub(crate) fn meta(&self) -> &TableMeta {
        &self.meta
    }

    /// The smallest user key in the table.
    pub(crate) fn smallest_user_key(&self) -> &[u8] {
        &self.smallest_user_key
    }

    /// The largest user key in the table.
    pub(crate) fn largest_user_key(&self) -> &[u8] {
        &self.largest_user_key
    }

    /// Whether the table's user keys overlap `smallest..=largest`.
    pub(crate) fn overlaps(&self, smallest: &[u8], largest: &[u8]) -> bool {
        self.smallest_user_key.as_slice() <= largest && smallest <= self.largest_user_key.as_slice()
    }

    /// The newest version of `user_key` at or below `sequence`, if any,
    /// with its sequence number.
    pub(crate) fn get(&self, user_key: &[u8], sequence: u64) -> Result<Option<(u64, Lookup)>> {
        Ok(self.table.get(user_key, sequence)?.map(|entry| {
            let lookup = match entry.kind {
                ValueKind::Value => Lookup::Value(entry.value),
                ValueKind::Deletion | ValueKind::SingleDeletion => Lookup::Deleted,
            };
            (entry.sequence, lookup)
        }))
    }

    /// Entries in internal-key order from the first key not less than `from`.
    pub(crate) fn entries_from(&self, from: Option<&[u8]>) -> TableEntries {
        TableEntries {
            iterator: self.table.iter(),
            seek: Some(from.map(<[u8]>::to_vec)),
            failed: false,
        }
    }
}

/// A forward cursor over a table's entries that positions itself lazily.
pub(crate) struct TableEntries {
    iterator: TableIterator,
    /// Where to position before the first entry (`Some(None)`: the start).
    seek: Option<Option<Vec<u8>>>,
    failed: bool,
}

impl TableEntries {
    pub(crate) fn next(&mut self) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if self.failed {
            return None;
        }
        let moved = match self.seek.take() {
            Some(Some(target)) => self.iterator.seek(&target),
            Some(None) => self.iterator.seek_to_first(),
            None => self.iterator.next(),
        };
        if let Err(error) = moved {
            self.failed = true;
            return Some(Err(error.into()));
        }
        if !self.iterator.valid() {
            return None;
        }
        Some(Ok((
            self.iterator.key().to_vec(),
            self.iterator.value().to_vec(),
        )))
    }
}

impl TableHandle {
    /// Entries in descending internal-key order from the last key not
    /// greater than `to` (`None`: the table's last entry).
    pub(crate) fn entries_before(&self, to: Option<&[u8]>) -> TableEntriesBackward {
        TableEntriesBackward {
            iterator: self.table.iter(),
            seek: Some(to.map(<[u8]>::to_vec)),
            failed: false,
        }
    }
}

/// A backward cursor over a table's entries that positions itself lazily.
pub(crate) struct TableEntriesBackward {
    iterator: TableIterator,
    /// Where to position before the first entry (`Some(None)`: the end).
    seek: Option<Option<Vec<u8>>>,
    failed: bool,
}

impl TableEntriesBackward {
    pub(crate) fn next(&mut self) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if self.failed {
            return None;
        }
        let moved = match self.seek.take() {
            Some(Some(target)) => self.iterator.seek_for_prev(&target),
            Some(None) => self.iterator.seek_to_last(),
            None => self.iterator.prev(),
        };
        if let Err(error) = moved {
            self.failed = true;
            return Some(Err(error.into()));
        }
        if !self.iterator.valid() {
            return None;
        }
        Some(Ok((
            self.iterator.key().to_vec(),
            self.iterator.value().to_vec(),
        )))
    }
}

type Builder = TableBuilder<BufWriter<Box<dyn WritableFile>>>;

/// A table being written: entries in internal-key order, then `finish`
/// makes it durable (file synced, directory synced) and describes it.
pub(crate) struct TableWriter {
    builder: Builder,
    path: std::path::PathBuf,
    number: u64,
    level: u32,
}

impl TableWriter {
    pub(crate) fn create(
        fs: &dyn FileSystem,
        directory: &Path,
        number: u64,
        level: u32,
        options: &Options,
    ) -> Result<Self> {
        let path = directory.join(filename::table(number));
        let file = fs
            .create(&path)
            .map_err(|source| Error::io(&path, "create", source))?;
        let table_options = TableOptions {
            block_size_bytes: options.table_block_size,
            bloom_bits_per_key: options.bloom_bits_per_key,
            ..TableOptions::default()
        };
        Ok(TableWriter {
            builder: TableBuilder::new(BufWriter::with_capacity(64 << 10, file), table_options),
            path,
            number,
            level,
        })
    }

    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.builder.add(key, value)?)
    }

    /// About how large the table would be if finished now.
    pub(crate) fn size_estimate_bytes(&self) -> u64 {
        self.builder.size_estimate_bytes()
    }

    /// Whether nothing was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.builder.entry_count() == 0
    }

    /// Finishes the table durably; `largest_sequence` is the largest
    /// sequence of any entry added.
    pub(crate) fn finish(
        self,
        fs: &dyn FileSystem,
        directory: &Path,
        largest_sequence: u64,
    ) -> Result<TableMeta> {
        let path = self.path;
        let (writer, summary) = self.builder.finish()?;
        let mut file = writer
            .into_inner()
            .map_err(|error| Error::io(&path, "write", error.into_error()))?;
        file.flush()
            .and_then(|()| file.sync())
            .map_err(|source| Error::io(&path, "sync", source))?;
        fs.sync_dir(directory)
            .map_err(|source| Error::io(directory, "sync directory", source))?;
        Ok(TableMeta {
            number: self.number,
            size: summary.file_size_bytes,
            largest_sequence,
            smallest: summary.smallest_key.unwrap_or_default(),
            largest: summary.largest_key.unwrap_or_default(),
            level: self.level,
        })
    }
}

/// Writes a memtable as level-0 table `number`, durably, and describes it
/// for the MANIFEST.
pub(crate) fn build(
    fs: &dyn FileSystem,
    directory: &Path,
    number: u64,
    mem: &MemTable,
    options: &Options,
) -> Result<TableMeta> {
    let mut writer = TableWriter::create(fs, directory, number, 0, options)?;
    mem.for_each_entry(|key, value| writer.builder.add(key, value))?;
    writer.finish(fs, directory, mem.largest_sequence())
}
