//! Reads one block (the layout is in `block_builder.rs`): the restart array
//! is validated when the block is opened, entries when they are decoded. Bad
//! bytes give a `Corruption` error naming the file offset of the entry.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use strata_coding::get_varint32;

use crate::error::{Error, Result};
use crate::key::{TRAILER_SIZE, compare_internal_keys};

/// How the keys of a block are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOrder {
    /// Internal keys (data and index blocks); every key must have a trailer.
    Internal,
    /// Plain byte-wise order (the meta-index block).
    Bytewise,
}

impl KeyOrder {
    /// Compares two keys in this order.
    #[must_use]
    pub fn compare(self, a: &[u8], b: &[u8]) -> Ordering {
        match self {
            KeyOrder::Internal => compare_internal_keys(a, b),
            KeyOrder::Bytewise => a.cmp(b),
        }
    }
}

/// The contents of one block (without its trailer), with a validated
/// restart array.
#[derive(Debug)]
pub struct Block {
    data: Vec<u8>,
    restarts: Vec<u32>,
    /// Where the entries end and the restart array begins.
    entries_end: usize,
    order: KeyOrder,
    file: Arc<Path>,
    file_offset: u64,
    /// The contents were stored compressed: positions inside them are not
    /// file offsets, so errors name the block's offset and the position.
    decompressed: bool,
}

impl Block {
    /// Opens block `contents` that start at `file_offset` in `file` (both used
    /// only in error reports).
    ///
    /// # Errors
    /// `Corruption` if the restart array is malformed.
    pub fn new(
        contents: Vec<u8>,
        order: KeyOrder,
        file: Arc<Path>,
        file_offset: u64,
    ) -> Result<Block> {
        let corruption = |reason: String| Error::Corruption {
            file: file.to_path_buf(),
            offset: file_offset,
            reason,
        };
        let length = contents.len();
        let count_start = length
            .checked_sub(4)
            .ok_or_else(|| corruption(format!("a block of {length} bytes has no restart count")))?;
        let num_restarts = read_u32(&contents, count_start) as usize;
        let entries_end = num_restarts
            .checked_mul(4)
            .and_then(|restart_bytes| count_start.checked_sub(restart_bytes))
            .ok_or_else(|| {
                corruption(format!(
                    "a block of {length} bytes cannot hold {num_restarts} restart points"
                ))
            })?;
        let mut restarts = Vec::with_capacity(num_restarts);
        for index in 0..num_restarts {
            let restart = read_u32(&contents, entries_end + 4 * index);
            let in_order = restarts.last().is_none_or(|&last| restart > last);
            let first_is_zero = index > 0 || restart == 0;
            // An empty block (no entries) still lists restart point 0.
            let in_range = (restart as usize) < entries_end || (entries_end == 0 && index == 0);
            if !in_order || !first_is_zero || !in_range {
                return Err(corruption(format!(
                    "restart point {index} at block offset {restart} is out of order or out \
                     of range (entries end at {entries_end})"
                )));
            }
            restarts.push(restart);
        }
        if entries_end == 0 {
            restarts.clear();
        } else if restarts.is_empty() {
            return Err(corruption(
                "a block with entries has no restart points".to_string(),
            ));
        }
        Ok(Block {
            data: contents,
            restarts,
            entries_end,
            order,
            file,
            file_offset,
            decompressed: false,
        })
    }

    /// The same block, known to come from compressed bytes at its file
    /// offset: errors and entry offsets then name the block's offset (a
    /// position inside decompressed contents is no file offset), and an
    /// error's reason says where in the decompressed block it is. (A
    /// malformed restart array is already reported at the block's offset.)
    #[must_use]
    pub(crate) fn decompressed(mut self) -> Block {
        self.decompressed = true;
        self
    }

    /// The size of the contents in bytes.
    #[must_use]
    pub fn size_bytes(&self) -> usize {
        self.data.len()
    }

    /// The file offset this block was read from.
    #[must_use]
    pub fn file_offset(&self) -> u64 {
        self.file_offset
    }

    /// An iterator over the entries, not yet positioned.
    #[must_use]
    pub fn iter(self: &Arc<Self>) -> BlockIterator {
        BlockIterator {
            block: Arc::clone(self),
            current: self.entries_end,
            next_entry: self.entries_end,
            restart_index: 0,
            key: Vec::new(),
            value_start: 0,
        }
    }

    fn corruption(&self, block_offset: usize, reason: String) -> Error {
        if self.decompressed {
            return Error::Corruption {
                file: self.file.to_path_buf(),
                offset: self.file_offset,
                reason: format!("{reason} (at byte {block_offset} of the decompressed block)"),
            };
        }
        Error::Corruption {
            file: self.file.to_path_buf(),
            offset: self.file_offset.saturating_add(block_offset as u64),
            reason,
        }
    }

    fn restart_offset(&self, index: usize) -> usize {
        self.restarts[index] as usize
    }
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    if let Some(slice) = bytes.get(at..at + 4) {
        word.copy_from_slice(slice);
    }
    u32::from_le_bytes(word)
}

/// One decoded entry header.
struct EntryHeader {
    shared: usize,
    unshared: usize,
    value_length: usize,
    /// Offset of the unshared key bytes.
    key_start: usize,
}

/// A cursor over the entries of a block. Movement methods return an error
/// for bad bytes and leave the iterator invalid; calling `next` or `prev`
/// on an invalid iterator does nothing.
#[derive(Debug)]
pub struct BlockIterator {
    block: Arc<Block>,
    /// Offset of the current entry; `entries_end` when invalid.
    current: usize,
    /// Offset of the entry after the current one.
    next_entry: usize,
    /// The restart region holding the current entry.
    restart_index: usize,
    key: Vec<u8>,
    value_start: usize,
}

impl BlockIterator {
    /// Whether the iterator is at an entry.
    #[must_use]
    pub fn valid(&self) -> bool {
        self.current < self.block.entries_end
    }

    /// The key of the current entry (empty when invalid).
    #[must_use]
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The value of the current entry (empty when invalid).
    #[must_use]
    pub fn value(&self) -> &[u8] {
        if self.valid() {
            &self.block.data[self.value_start..self.next_entry]
        } else {
            &[]
        }
    }

    /// The file offset of the current entry (for error reports); for a
    /// block stored compressed, the offset of the block.
    #[must_use]
    pub fn entry_file_offset(&self) -> u64 {
        if self.block.decompressed {
            return self.block.file_offset;
        }
        self.block.file_offset.saturating_add(self.current as u64)
    }

    /// Moves to the first entry.
    ///
    /// # Errors
    /// `Corruption` if the entry cannot be decoded.
    pub fn seek_to_first(&mut self) -> Result<()> {
        if self.block.restarts.is_empty() {
            self.invalidate();
            return Ok(());
        }
        self.seek_to_restart_point(0);
        self.parse_next_entry()
    }

    /// Moves to the last entry.
    ///
    /// # Errors
    /// `Corruption` if an entry cannot be decoded.
    pub fn seek_to_last(&mut self) -> Result<()> {
        let Some(last) = self.block.restarts.len().checked_sub(1) else {
            self.invalidate();
            return Ok(());
        };
        self.seek_to_restart_point(last);
        self.parse_next_entry()?;
        while self.valid() && self.next_entry < self.block.entries_end {
            self.parse_next_entry()?;
        }
        Ok(())
    }

    /// Moves to the first entry whose key is at or after `target`.
    ///
    /// # Errors
    /// `Corruption` if an entry cannot be decoded.
    pub fn seek(&mut self, target: &[u8]) -> Result<()> {
        if self.block.restarts.is_empty() {
            self.invalidate();
            return Ok(());
        }
        // The last restart point whose key is before the target.
        let (mut left, mut right) = (0, self.block.restarts.len() - 1);
        while left < right {
            let middle = left + (right - left).div_ceil(2);
            let key = self.restart_key(middle)?;
            if self.block.order.compare(key, target) == Ordering::Less {
                left = middle;
            } else {
                right = middle - 1;
            }
        }
        self.seek_to_restart_point(left);
        loop {
            self.parse_next_entry()?;
            if !self.valid() || self.block.order.compare(&self.key, target) != Ordering::Less {
                return Ok(());
            }
        }
    }

    /// Moves to the last entry whose key is at or before `target`.
    ///
    /// # Errors
    /// `Corruption` if an entry cannot be decoded.
    pub fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.seek(target)?;
        if !self.valid() {
            return self.seek_to_last();
        }
        if self.block.order.compare(&self.key, target) == Ordering::Greater {
            self.prev()?;
        }
        Ok(())
    }

    /// Moves to the next entry.
    ///
    /// # Errors
    /// `Corruption` if the entry cannot be decoded.
    #[expect(
        clippy::should_implement_trait,
        reason = "a cursor that moves both ways and can fail is not an Iterator"
    )]
    pub fn next(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        self.parse_next_entry()
    }

    /// Moves to the previous entry.
    ///
    /// # Errors
    /// `Corruption` if an entry cannot be decoded.
    pub fn prev(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        let original = self.current;
        while self.block.restart_offset(self.restart_index) >= original {
            if self.restart_index == 0 {
                self.invalidate();
                return Ok(());
            }
            self.restart_index -= 1;
        }
        self.seek_to_restart_point(self.restart_index);
        loop {
            self.parse_next_entry()?;
            if !self.valid() || self.next_entry >= original {
                return Ok(());
            }
        }
    }

    fn invalidate(&mut self) {
        self.current = self.block.entries_end;
        self.next_entry = self.block.entries_end;
        self.restart_index = 0;
        self.key.clear();
    }

    fn seek_to_restart_point(&mut self, index: usize) {
        self.key.clear();
        self.restart_index = index;
        self.next_entry = self.block.restart_offset(index);
    }

    /// The key stored whole at restart point `index`.
    fn restart_key(&self, index: usize) -> Result<&[u8]> {
        let offset = self.block.restart_offset(index);
        let header = self.decode_header(offset)?;
        if header.shared != 0 {
            return Err(self.block.corruption(
                offset,
                format!(
                    "the entry at restart point {index} shares {} key bytes",
                    header.shared
                ),
            ));
        }
        let key = &self.block.data[header.key_start..header.key_start + header.unshared];
        self.check_key(offset, key.len())?;
        Ok(key)
    }

    fn decode_header(&self, offset: usize) -> Result<EntryHeader> {
        let entries = &self.block.data[..self.block.entries_end];
        let mut position = offset;
        let mut fields = [0usize; 3];
        for field in &mut fields {
            let (value, length) = entries
                .get(position..)
                .and_then(|input| get_varint32(input).ok())
                .ok_or_else(|| {
                    self.block
                        .corruption(offset, "an entry header is truncated or malformed".into())
                })?;
            *field = value as usize;
            position += length;
        }
        let [shared, unshared, value_length] = fields;
        let end = position
            .checked_add(unshared)
            .and_then(|end| end.checked_add(value_length));
        if end.is_none_or(|end| end > self.block.entries_end) {
            return Err(self.block.corruption(
                offset,
                format!(
                    "an entry with a {unshared}-byte key suffix and a {value_length}-byte value \
                     runs past the end of the entries"
                ),
            ));
        }
        Ok(EntryHeader {
            shared,
            unshared,
            value_length,
            key_start: position,
        })
    }

    fn check_key(&self, offset: usize, key_length: usize) -> Result<()> {
        if self.block.order == KeyOrder::Internal && key_length < TRAILER_SIZE {
            return Err(self.block.corruption(
                offset,
                format!("a {key_length}-byte key is too short for an internal key"),
            ));
        }
        Ok(())
    }

    fn parse_next_entry(&mut self) -> Result<()> {
        let offset = self.next_entry;
        if offset >= self.block.entries_end {
            self.invalidate();
            return Ok(());
        }
        match self.decode_entry(offset) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.invalidate();
                Err(error)
            }
        }
    }

    fn decode_entry(&mut self, offset: usize) -> Result<()> {
        let header = self.decode_header(offset)?;
        let mut restart_index = self.restart_index;
        while restart_index + 1 < self.block.restarts.len()
            && self.block.restart_offset(restart_index + 1) <= offset
        {
            restart_index += 1;
        }
        let at_restart = self.block.restart_offset(restart_index) == offset;
        if header.shared > self.key.len() || (at_restart && header.shared != 0) {
            return Err(self.block.corruption(
                offset,
                format!(
                    "an entry shares {} bytes with a {}-byte previous key",
                    header.shared,
                    if at_restart { 0 } else { self.key.len() }
                ),
            ));
        }
        let entry_end = header.key_start + header.unshared + header.value_length;
        let next_restart = self.block.restarts.get(restart_index + 1).copied();
        if let Some(next_restart) = next_restart.filter(|&next| (next as usize) < entry_end) {
            // Decoding from that restart point would read a different chain
            // of entries than decoding from this one.
            return Err(self.block.corruption(
                offset,
                format!("restart point {next_restart} lies inside the entry at {offset}"),
            ));
        }
        self.check_key(offset, header.shared + header.unshared)?;
        self.key.truncate(header.shared);
        self.key.extend_from_slice(
            &self.block.data[header.key_start..header.key_start + header.unshared],
        );
        self.current = offset;
        self.restart_index = restart_index;
        self.value_start = header.key_start + header.unshared;
        self.next_entry = self.value_start + header.value_length;
        Ok(())
    }
}
