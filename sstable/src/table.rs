//! Opens a table and answers point lookups; `verify` checks every byte.

use std::path::Path;
use std::sync::Arc;

use crate::block::{Block, KeyOrder};
use crate::block_reader::BlockReader;
use crate::cache::BlockCache;
use crate::error::{Error, Result};
use crate::filter::{BloomFilter, FilterLayout};
use crate::footer::{BlockHandle, Footer};
use crate::format::{BLOCK_TRAILER_SIZE, FOOTER_SIZE};
use crate::iterator::TableIterator;
use crate::key::{ValueKind, lookup_key, parse_internal_key};
use crate::mmap::MmapFile;
use crate::source::ReadAt;
use crate::table_inner::TableInner;
use crate::verify::{VerifyReport, verify};

/// What [`Table::get`] found: the newest entry of the user key at or below
/// the requested sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The entry's sequence number.
    pub sequence: u64,
    /// A value, or a deletion marker.
    pub kind: ValueKind,
    /// The value (empty for deletions).
    pub value: Vec<u8>,
}

/// An open table. Cloning is cheap; clones share the source.
#[derive(Clone)]
pub struct Table {
    inner: Arc<TableInner>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("file", &self.inner.file)
            .field("file_size", &self.inner.file_size)
            .field("footer", &self.inner.footer)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// Maps the file at `path` read-only and opens it.
    ///
    /// # Errors
    /// `Io` if the file cannot be mapped; see [`Table::open`].
    pub fn open_path(path: impl AsRef<Path>) -> Result<Table> {
        let path = path.as_ref();
        let map = MmapFile::open(path).map_err(|source| Error::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Table::open(map, path)
    }

    /// Opens the table in `source`; `file` names it in errors. Reads and
    /// checks the footer, the meta-index, the filter and the index.
    ///
    /// # Errors
    /// `Corruption` for a truncated file or bad bytes in what it reads;
    /// `Io` if the source fails.
    pub fn open<R: ReadAt + 'static>(source: R, file: impl AsRef<Path>) -> Result<Table> {
        Table::open_inner(source, file.as_ref(), None)
    }

    /// Like [`Table::open`], keeping the data blocks it reads in `cache`
    /// under `id`, which must be unique among the cache's tables.
    ///
    /// # Errors
    /// As [`Table::open`].
    pub fn open_cached<R: ReadAt + 'static>(
        source: R,
        file: impl AsRef<Path>,
        cache: Arc<BlockCache>,
        id: u64,
    ) -> Result<Table> {
        Table::open_inner(source, file.as_ref(), Some((cache, id)))
    }

    fn open_inner<R: ReadAt + 'static>(
        source: R,
        file: &Path,
        cache: Option<(Arc<BlockCache>, u64)>,
    ) -> Result<Table> {
        let file: Arc<Path> = Arc::from(file);
        let file_size = source.size_bytes().map_err(|source| Error::Io {
            file: file.to_path_buf(),
            source,
        })?;
        let mut reader = BlockReader {
            source: &source,
            file: &file,
            footer_offset: 0,
        };
        let footer_offset = file_size.checked_sub(FOOTER_SIZE as u64).ok_or_else(|| {
            reader.corruption(
                0,
                format!(
                    "the file is {file_size} bytes, shorter than the {FOOTER_SIZE}-byte \
                         footer: it is truncated or is not a table"
                ),
            )
        })?;
        reader.footer_offset = footer_offset;
        let mut footer_bytes = [0; FOOTER_SIZE];
        reader.read(footer_offset, &mut footer_bytes)?;
        let footer = Footer::decode(&footer_bytes)
            .map_err(|reason| reader.corruption(footer_offset, reason))?;

        let meta_index = Arc::new(reader.read_block(footer.meta_index, KeyOrder::Bytewise)?);
        let mut filter_handle = None;
        let mut meta = meta_index.iter();
        meta.seek_to_first()?;
        while meta.valid() {
            // A builder records one filter. Of a table naming both, the
            // entry later in the (sorted) meta-index, the local one, is used.
            if let Some(layout) = [FilterLayout::Local, FilterLayout::Spread]
                .into_iter()
                .find(|layout| meta.key() == layout.meta_key())
            {
                let handle = BlockHandle::decode(meta.value()).ok_or_else(|| {
                    reader.corruption(
                        meta.entry_file_offset(),
                        "the filter's block handle is malformed".into(),
                    )
                })?;
                filter_handle = Some((handle, layout));
            }
            meta.next()?;
        }
        let filter = match filter_handle {
            Some((handle, layout)) => {
                let contents = reader.read_contents(handle)?;
                Some(BloomFilter::new(contents, layout).ok_or_else(|| {
                    reader.corruption(
                        handle.offset,
                        "the filter block is empty, has a reserved probe count, \
                         or (cache-local) is not whole 64-byte lines"
                            .into(),
                    )
                })?)
            }
            None => None,
        };
        let index = reader
            .read_block(footer.index, KeyOrder::Internal)?
            .with_search_keys();
        let index = Arc::new(index);
        check_data_handles(&reader, &index)?;
        Ok(Table {
            inner: Arc::new(TableInner {
                source: Box::new(source),
                file,
                file_size,
                footer,
                filter_handle: filter_handle.map(|(handle, _)| handle),
                filter,
                index,
                cache,
            }),
        })
    }

    /// The name given at open.
    #[must_use]
    pub fn file(&self) -> &Path {
        &self.inner.file
    }

    /// The size of the table in bytes.
    #[must_use]
    pub fn file_size_bytes(&self) -> u64 {
        self.inner.file_size
    }

    /// Whether the table has a bloom filter.
    #[must_use]
    pub fn has_filter(&self) -> bool {
        self.inner.filter.is_some()
    }

    /// Whether the filter says `user_key` may be in the table (always `true`
    /// without a filter).
    #[must_use]
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.inner.may_contain(user_key)
    }

    /// The newest entry of `user_key` whose sequence is at most `sequence`:
    /// a value or a deletion marker, or `None`. The filter is consulted before
    /// any data block is read.
    ///
    /// # Errors
    /// `Corruption` if a block on the way is damaged; `Io` if the source fails.
    pub fn get(&self, user_key: &[u8], sequence: u64) -> Result<Option<Entry>> {
        if !self.may_contain(user_key) {
            return Ok(None);
        }
        let mut iterator = self.iter();
        iterator.seek(&lookup_key(user_key, sequence))?;
        if !iterator.valid() {
            return Ok(None);
        }
        let offset = iterator.entry_file_offset();
        let parsed = parse_internal_key(iterator.key()).ok_or_else(|| {
            self.inner
                .corruption(offset, "an entry key has no trailer".into())
        })?;
        if parsed.user_key != user_key {
            return Ok(None);
        }
        let kind = ValueKind::from_byte(parsed.kind).ok_or_else(|| {
            self.inner
                .corruption(offset, format!("kind byte {} is unknown", parsed.kind))
        })?;
        Ok(Some(Entry {
            sequence: parsed.sequence,
            kind,
            value: iterator.value().to_vec(),
        }))
    }

    /// An iterator over every entry, not yet positioned.
    #[must_use]
    pub fn iter(&self) -> TableIterator {
        TableIterator::new(Arc::clone(&self.inner), true)
    }

    /// An iterator, not yet positioned, that reads every data block from
    /// the file and leaves the block cache alone (neither looked up nor
    /// filled): for a compaction, which reads each block once and should
    /// not evict the blocks readers use (RocksDB's compactions read with
    /// `fill_cache` off). The same as [`Table::iter`] for a table without
    /// a cache.
    #[must_use]
    pub fn iter_uncached(&self) -> TableIterator {
        TableIterator::new(Arc::clone(&self.inner), false)
    }

    /// Reads every block and checks checksums, that the blocks tile the file
    /// without gaps, that keys are in strictly increasing order and inside
    /// their index separators, that every kind is known, and that the filter
    /// holds every user key.
    ///
    /// # Errors
    /// The first `Corruption` found; `Io` if the source fails.
    pub fn verify(&self) -> Result<VerifyReport> {
        verify(&self.inner)
    }
}

/// The index's data-block handles must move strictly forward, each block
/// starting at or after the end of the one before: an index that points twice
/// at one block, or backwards, would make scans repeat or reorder entries.
fn check_data_handles(reader: &BlockReader<'_>, index: &Arc<Block>) -> Result<()> {
    let mut iterator = index.iter();
    iterator.seek_to_first()?;
    let mut next_free: u64 = 0;
    while iterator.valid() {
        let offset = iterator.entry_file_offset();
        let handle = BlockHandle::decode(iterator.value()).ok_or_else(|| {
            reader.corruption(offset, "an index entry's block handle is malformed".into())
        })?;
        if handle.offset < next_free {
            return Err(reader.corruption(
                offset,
                format!(
                    "an index entry points at offset {}, before the end ({next_free}) of the \
                     previous data block",
                    handle.offset
                ),
            ));
        }
        next_free = handle
            .offset
            .checked_add(handle.size)
            .and_then(|end| end.checked_add(BLOCK_TRAILER_SIZE as u64))
            .ok_or_else(|| {
                reader.corruption(offset, format!("a block size of {} overflows", handle.size))
            })?;
        iterator.next()?;
    }
    Ok(())
}
