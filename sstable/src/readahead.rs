//! Readahead for a table iterator that reads data blocks one after the
//! other (a scan, a compaction's input): RocksDB's automatic iterator
//! readahead (`BlockPrefetcher` in `table/block_based/block_prefetcher.cc`).
//! After two blocks read from the file back to back, blocks come from a
//! window read in one call, which doubles from 8 KiB up to 256 KiB as the
//! run goes on; a jump elsewhere starts over. A scan of a 4 KiB-block table
//! then makes one read call per 64 blocks instead of one per block.

use crate::block::{Block, KeyOrder};
use crate::block_reader::BlockReader;
use crate::error::Result;
use crate::footer::BlockHandle;

/// Blocks read back to back before reads go through the window.
const SEQUENTIAL_READS_BEFORE_READAHEAD: u32 = 2;
/// The first window.
const INITIAL_WINDOW_BYTES: usize = 8 << 10;
/// The largest window (RocksDB's `max_auto_readahead_size`).
const MAX_WINDOW_BYTES: usize = 256 << 10;

/// One iterator's readahead state.
#[derive(Debug, Default)]
pub(crate) struct Readahead {
    /// Where a block read next would continue the run.
    next_offset: u64,
    /// Blocks read back to back so far.
    sequential: u32,
    /// The last window's size (0: none yet in this run).
    window: usize,
    /// The file offset of `buffer`'s first byte.
    buffer_offset: u64,
    /// The bytes of the last window.
    buffer: Vec<u8>,
}

impl Readahead {
    /// Notes that the block at `handle` is being read (from the cache or
    /// the file), to tell a run of blocks from jumps.
    pub(crate) fn note(&mut self, handle: BlockHandle) {
        if handle.offset == self.next_offset {
            self.sequential = self.sequential.saturating_add(1);
        } else {
            self.sequential = 0;
            self.window = 0;
        }
        self.next_offset = handle
            .offset
            .saturating_add(handle.size)
            .saturating_add(crate::format::BLOCK_TRAILER_SIZE as u64);
    }

    /// Reads the data block at `handle` (already [`noted`](Self::note)):
    /// from the window when the run is long enough, refilling it when it
    /// does not hold the block; otherwise with a read of its own.
    pub(crate) fn read_block(
        &mut self,
        reader: &BlockReader<'_>,
        handle: BlockHandle,
    ) -> Result<Block> {
        if self.sequential < SEQUENTIAL_READS_BEFORE_READAHEAD {
            return reader.read_block(handle, KeyOrder::Internal);
        }
        let length = reader.stored_length(handle)?;
        let start = handle.offset.checked_sub(self.buffer_offset);
        let held = start
            .and_then(|start| usize::try_from(start).ok())
            .filter(|&start| start.saturating_add(length) <= self.buffer.len());
        let start = match held {
            Some(start) => start,
            None => {
                self.window = (self.window * 2).clamp(INITIAL_WINDOW_BYTES, MAX_WINDOW_BYTES);
                // Never past the footer: `stored_length` checked that the
                // block itself ends before it.
                let to_footer =
                    usize::try_from(reader.footer_offset - handle.offset).unwrap_or(usize::MAX);
                let size = self.window.min(to_footer).max(length);
                self.buffer.resize(size, 0);
                self.buffer_offset = handle.offset;
                if let Err(error) = reader.read(handle.offset, &mut self.buffer) {
                    self.buffer.clear();
                    return Err(error);
                }
                0
            }
        };
        let mut stored = crate::buffers::take(length);
        stored.copy_from_slice(&self.buffer[start..start + length]);
        reader.block_from_stored(handle, stored, KeyOrder::Internal)
    }
}
