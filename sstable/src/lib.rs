//! Block-based sorted tables for Strata, in the spirit of LevelDB: data
//! blocks of prefix-compressed entries with restart points, one bloom filter
//! over the user keys, a meta-index, an index of shortened separator keys and
//! a fixed-size footer ending in a magic number. Every block carries a
//! trailer with a compression byte and a masked CRC-32.
//!
//! - [`TableBuilder`] writes a table from internal keys added in order.
//! - [`Table`] opens one from any [`ReadAt`] source (memory, or a read-only
//!   mapping via [`Table::open_path`]), answers [`Table::get`] through the
//!   filter, iterates with [`TableIterator`] and checks every byte with
//!   [`Table::verify`].
//! - [`key`] holds the internal-key encoding and order the engine shares.
//!
//! Bad bytes are [`Error::Corruption`] naming the file and offset, never a
//! panic and never wrong data. The byte layout is in `docs/sstable_format.md`.
//!
//! Limits: keys and values are each shorter than 4 GiB; the target block
//! size is at most [`MAX_BLOCK_SIZE_BYTES`]; bloom bits per key are at most
//! [`MAX_BLOOM_BITS_PER_KEY`].
//!
//! ```
//! use strata_sstable::key::{InternalKey, ValueKind};
//! use strata_sstable::{Table, TableBuilder, TableOptions};
//!
//! let mut builder = TableBuilder::new(Vec::new(), TableOptions::default());
//! builder.add(InternalKey::new(b"k", 7, ValueKind::Value).as_bytes(), b"new")?;
//! builder.add(InternalKey::new(b"k", 3, ValueKind::Value).as_bytes(), b"old")?;
//! let (bytes, _summary) = builder.finish()?;
//!
//! let table = Table::open(bytes, "000001.sst")?;
//! assert_eq!(table.get(b"k", 9)?.map(|entry| entry.value), Some(b"new".to_vec()));
//! assert_eq!(table.get(b"k", 5)?.map(|entry| entry.value), Some(b"old".to_vec()));
//! assert_eq!(table.get(b"k", 2)?, None);
//! assert_eq!(table.verify()?.entry_count, 2);
//! # Ok::<(), strata_sstable::Error>(())
//! ```

mod block;
mod block_builder;
mod block_reader;
mod buffers;
mod builder;
mod cache;
mod compression;
mod error;
mod filter;
mod footer;
mod format;
mod index;
mod iterator;
pub mod key;
mod mmap;
mod readahead;
mod source;
mod table;
mod table_inner;
mod verify;

pub use block::{Block, BlockIterator, KeyOrder};
pub use block_builder::BlockBuilder;
pub use builder::{TableBuilder, TableOptions, TableSummary};
pub use cache::{BlockCache, MAX_CACHE_SHARDS, MIN_CACHE_SHARD_BYTES};
pub use compression::{COMPRESSION_LZ4, Compression, decompress};
pub use error::{Error, Result};
pub use filter::{BloomFilter, BloomFilterBuilder, FilterLayout, filter_hash};
pub use footer::{BlockHandle, Footer};
pub use format::{
    BLOCK_TRAILER_SIZE, COMPRESSION_NONE, DEFAULT_BLOCK_SIZE_BYTES, DEFAULT_BLOOM_BITS_PER_KEY,
    DEFAULT_RESTART_INTERVAL, FILTER_META_KEY, FOOTER_SIZE, FORMAT_VERSION, LOCAL_FILTER_META_KEY,
    MAX_BLOCK_SIZE_BYTES, MAX_BLOOM_BITS_PER_KEY, TABLE_MAGIC, mask_checksum, unmask_checksum,
};
pub use index::{short_successor, shortest_separator};
pub use iterator::TableIterator;
pub use mmap::MmapFile;
pub use source::ReadAt;
pub use table::{Entry, Table};
pub use verify::VerifyReport;
