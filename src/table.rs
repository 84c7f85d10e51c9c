//! The engine's side of `strata-sstable`: writing a memtable (or a merge)
//! as a table through the file-system seam, and reading tables through it.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use parking_lot::Mutex;

use strata_sstable::key::ValueKind;
use strata_sstable::{BlockCache, ReadAt, Table, TableBuilder, TableIterator, TableOptions};

use crate::error::{Error, Result};
use crate::fs::{FileSystem, ReadableFile, WritableFile};
use crate::key;
use crate::memtable::Lookup;
use crate::options::Options;
use crate::table_cache::OpenTables;
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

/// What every table handle of a database shares: where tables live, the
/// caches, and the bound on open tables.
pub(crate) struct TableContext {
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) directory: PathBuf,
    pub(crate) block_cache: Arc<BlockCache>,
    pub(crate) open_tables: OpenTables,
}

/// A live table: what the MANIFEST records of it, and its file, opened on
/// first use and closed again when the table cache (`OpenTables`, bounded
/// by `max_open_files`) evicts it. A compaction marks its inputs obsolete;
/// the file is removed when the last handle goes, so a reader that still
/// holds the table (an iterator, a read in flight) can always reopen it.
pub(crate) struct TableHandle {
    context: Arc<TableContext>,
    meta: TableMeta,
    path: PathBuf,
    opened: Mutex<Option<Table>>,
    /// Whether the table cache holds this table (set and cleared by
    /// [`OpenTables`] only).
    pub(crate) held_open: AtomicBool,
    obsolete: AtomicBool,
    /// User keys of the first and last entry.
    smallest_user_key: Vec<u8>,
    largest_user_key: Vec<u8>,
}

impl TableHandle {
    /// A handle for the table `meta` describes, opened once to check it.
    pub(crate) fn open(context: &Arc<TableContext>, meta: &TableMeta) -> Result<Arc<Self>> {
        let user_key = |internal: &[u8]| {
            key::decode(internal)
                .map(|(user_key, _, _)| user_key.to_vec())
                .unwrap_or_default()
        };
        let handle = Arc::new(TableHandle {
            context: Arc::clone(context),
            path: context.directory.join(filename::table(meta.number)),
            opened: Mutex::new(None),
            held_open: AtomicBool::new(false),
            obsolete: AtomicBool::new(false),
            smallest_user_key: user_key(&meta.smallest),
            largest_user_key: user_key(&meta.largest),
            meta: meta.clone(),
        });
        handle.table()?;
        Ok(handle)
    }

    /// The open table, opening the file if the cache closed it.
    fn table(self: &Arc<Self>) -> Result<Table> {
        let table = {
            let mut opened = self.opened.lock();
            match &*opened {
                Some(table) => table.clone(),
                None => {
                    let table = self.open_file()?;
                    *opened = Some(table.clone());
                    table
                }
            }
        };
        self.context.open_tables.touch(self);
        Ok(table)
    }

    fn open_file(&self) -> Result<Table> {
        let path = &self.path;
        let file = self
            .context
            .fs
            .open_read(path)
            .map_err(|source| Error::io(path, "open", source))?;
        // File numbers are never reused while the database is open, so
        // they identify a table's blocks in the shared cache.
        let table = Table::open_cached(
            FileSource(file),
            path,
            Arc::clone(&self.context.block_cache),
            self.meta.number,
        )?;
        if table.file_size_bytes() != self.meta.size {
            return Err(Error::Corruption {
                path: path.clone(),
                offset: table.file_size_bytes(),
                reason: format!(
                    "the MANIFEST records {} bytes but the table has {}",
                    self.meta.size,
                    table.file_size_bytes()
                ),
            });
        }
        Ok(table)
    }

    /// Closes the file (the table cache evicted it); the next use reopens.
    pub(crate) fn close(&self) {
        *self.opened.lock() = None;
    }

    /// The same table recorded at another level (a trivial move).
    pub(crate) fn at_level(&self, level: u32) -> Arc<TableHandle> {
        Arc::new(TableHandle {
            context: Arc::clone(&self.context),
            meta: TableMeta {
                level,
                ..self.meta.clone()
            },
            path: self.path.clone(),
            opened: Mutex::new(self.opened.lock().clone()),
            held_open: AtomicBool::new(false),
            obsolete: AtomicBool::new(false),
            smallest_user_key: self.smallest_user_key.clone(),
            largest_user_key: self.largest_user_key.clone(),
        })
    }

    /// Marks the file for removal once the last handle goes.
    pub(crate) fn mark_obsolete(&self) {
        self.obsolete.store(true, AtomicOrdering::Release);
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
    pub(crate) fn get(
        self: &Arc<Self>,
        user_key: &[u8],
        sequence: u64,
    ) -> Result<Option<(u64, Lookup)>> {
        Ok(self.table()?.get(user_key, sequence)?.map(|entry| {
            let lookup = match entry.kind {
                ValueKind::Value => Lookup::Value(entry.value),
                ValueKind::Deletion | ValueKind::SingleDeletion => Lookup::Deleted,
            };
            (entry.sequence, lookup)
        }))
    }

    /// Entries in internal-key order from the first key not less than `from`.
    pub(crate) fn entries_from(self: &Arc<Self>, from: Option<&[u8]>) -> TableEntries {
        self.entries(from, true)
    }

    /// Every entry in internal-key order, read from the file without the
    /// block cache ([`strata_sstable::Table::iter_uncached`]): a
    /// compaction's input.
    pub(crate) fn entries_uncached(self: &Arc<Self>) -> TableEntries {
        self.entries(None, false)
    }

    fn entries(self: &Arc<Self>, from: Option<&[u8]>, use_cache: bool) -> TableEntries {
        let (iterator, error) = match self.table() {
            Ok(table) if use_cache => (Some(table.iter()), None),
            Ok(table) => (Some(table.iter_uncached()), None),
            Err(error) => (None, Some(error)),
        };
        TableEntries {
            iterator,
            error,
            seek: Some(from.map(<[u8]>::to_vec)),
        }
    }
}

impl Drop for TableHandle {
    fn drop(&mut self) {
        self.context
            .open_tables
            .forget(self.meta.number, std::ptr::from_ref(self));
        if self.obsolete.load(AtomicOrdering::Acquire) {
            // The last reader is gone. A failure leaves a file no MANIFEST
            // lists, which the next open removes.
            let fs = self.context.fs.as_ref();
            if fs.remove(&self.path).is_ok() {
                let _ = fs.sync_dir(&self.context.directory);
            }
        }
    }
}

/// A forward cursor over a table's entries that positions itself lazily.
pub(crate) struct TableEntries {
    /// `None` once failed (or if the table could not be opened).
    iterator: Option<TableIterator>,
    /// An error to yield first: the table could not be opened.
    error: Option<Error>,
    /// Where to position before the first entry (`Some(None)`: the start).
    seek: Option<Option<Vec<u8>>>,
}

impl TableEntries {
    /// The next entry into `key` and `value`, whose allocations are
    /// reused (their old contents are replaced).
    pub(crate) fn next_into(
        &mut self,
        key: &mut Vec<u8>,
        value: &mut Vec<u8>,
    ) -> Option<Result<()>> {
        if let Some(error) = self.error.take() {
            return Some(Err(error));
        }
        let iterator = self.iterator.as_mut()?;
        let moved = match self.seek.take() {
            Some(Some(target)) => iterator.seek(&target),
            Some(None) => iterator.seek_to_first(),
            None => iterator.next(),
        };
        if let Err(error) = moved {
            self.iterator = None;
            return Some(Err(error.into()));
        }
        if !iterator.valid() {
            return None;
        }
        key.clear();
        key.extend_from_slice(iterator.key());
        value.clear();
        value.extend_from_slice(iterator.value());
        Some(Ok(()))
    }
}

impl TableHandle {
    /// Entries in descending internal-key order from the last key not
    /// greater than `to` (`None`: the table's last entry).
    pub(crate) fn entries_before(self: &Arc<Self>, to: Option<&[u8]>) -> TableEntriesBackward {
        let (iterator, error) = match self.table() {
            Ok(table) => (Some(table.iter()), None),
            Err(error) => (None, Some(error)),
        };
        TableEntriesBackward {
            iterator,
            error,
            seek: Some(to.map(<[u8]>::to_vec)),
        }
    }
}

/// A backward cursor over a table's entries that positions itself lazily.
pub(crate) struct TableEntriesBackward {
    /// `None` once failed (or if the table could not be opened).
    iterator: Option<TableIterator>,
    /// An error to yield first: the table could not be opened.
    error: Option<Error>,
    /// Where to position before the first entry (`Some(None)`: the end).
    seek: Option<Option<Vec<u8>>>,
}

impl TableEntriesBackward {
    pub(crate) fn next(&mut self) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if let Some(error) = self.error.take() {
            return Some(Err(error));
        }
        let iterator = self.iterator.as_mut()?;
        let moved = match self.seek.take() {
            Some(Some(target)) => iterator.seek_for_prev(&target),
            Some(None) => iterator.seek_to_last(),
            None => iterator.prev(),
        };
        if let Err(error) = moved {
            self.iterator = None;
            return Some(Err(error.into()));
        }
        if !iterator.valid() {
            return None;
        }
        Some(Ok((iterator.key().to_vec(), iterator.value().to_vec())))
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
            compression: options.compression,
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

/// Called with each entry (internal key, value) of [`SortedEntries`].
pub(crate) type VisitEntry<'a> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'a;

/// Entries in internal-key order, each internal key once: what a level-0
/// table is written from (a memtable, or recovery's sorted writes).
pub(crate) trait SortedEntries {
    /// Calls `visit` with every entry (internal key, value) in order,
    /// stopping at the first error.
    fn for_each_entry(&self, visit: &mut VisitEntry<'_>) -> Result<()>;

    /// The largest sequence among the entries (0 if none).
    fn largest_sequence(&self) -> u64;
}

/// Writes `entries` as level-0 table `number`, durably, and describes it
/// for the MANIFEST.
pub(crate) fn build(
    fs: &dyn FileSystem,
    directory: &Path,
    number: u64,
    entries: &impl SortedEntries,
    options: &Options,
) -> Result<TableMeta> {
    let mut writer = TableWriter::create(fs, directory, number, 0, options)?;
    entries.for_each_entry(&mut |key, value| writer.builder.add(key, value).map_err(Into::into))?;
    writer.finish(fs, directory, entries.largest_sequence())
}
