//! Reads one block (the layout is in `block_builder.rs`): the restart array
//! is validated when the block is opened, entries when they are decoded. Bad
//! bytes give a `Corruption` error naming the file offset of the entry.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use strata_coding::get_varint32;

use crate::error::{Error, Result};
use crate::key::{TRAILER_SIZE, compare_internal_keys, user_key};

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
    /// Restart points in the array at `entries_end` (none for a block
    /// without entries); read from there, not copied.
    num_restarts: usize,
    /// Where the entries end and the restart array begins.
    entries_end: usize,
    order: KeyOrder,
    file: Arc<Path>,
    file_offset: u64,
    /// The contents were stored compressed: positions inside them are not
    /// file offsets, so errors name the block's offset and the position.
    decompressed: bool,
    /// A compact copy of the restart keys for seeks (index blocks only).
    search: Option<SearchKeys>,
}

/// Eight bytes of every restart key's user key, taken after the prefix
/// most of them share and read as a big-endian number (zero-padded past
/// the key's end); a key without the prefix gets 0 if it sorts before
/// every key with it, `u64::MAX` if after (an index block's last entry is
/// usually such a key: the short successor of the table's last key, `l`
/// for keys that start with `k`). For an index block's binary search:
/// comparing two words orders their keys whenever the words differ (a
/// shorter key padded with zeros never sorts after a longer one it agrees
/// with), so a seek narrows its search to the restarts whose word equals
/// the target's by searching an array of numbers, and decodes whole keys
/// only there. An index block of a 64 MiB table has some 16,000 entries:
/// the plain search decodes and compares about 14 of them, each a cache
/// miss in a few hundred KiB.
#[derive(Debug)]
struct SearchKeys {
    /// The user-key prefix the restart keys but the first and last share.
    common: Vec<u8>,
    /// One word per restart point, in restart order (never decreasing).
    words: Vec<u64>,
    /// Every [`CHUNK`]th word, from the first: searched first, so that a
    /// seek touches this small array (which stays in cache across seeks)
    /// and then two cache lines of `words`, instead of the dozen lines a
    /// binary search over all of `words` misses on.
    chunk_firsts: Vec<u64>,
}

/// Words per chunk of [`SearchKeys::words`]: two cache lines.
const CHUNK: usize = 16;

impl SearchKeys {
    /// The word of `user_key`.
    fn word(&self, user_key: &[u8]) -> u64 {
        let Some(rest) = user_key.strip_prefix(self.common.as_slice()) else {
            // Before or after every key that starts with `common`.
            return if user_key < self.common.as_slice() {
                0
            } else {
                u64::MAX
            };
        };
        let mut bytes = [0; 8];
        let length = rest.len().min(8);
        bytes[..length].copy_from_slice(&rest[..length]);
        u64::from_be_bytes(bytes)
    }

    /// The restart points that can be the last one before `user_key`'s
    /// entries, as an inclusive range: every restart before it holds a
    /// smaller user key, every one after it a larger one.
    fn narrow(&self, user_key: &[u8]) -> (usize, usize) {
        let word = self.word(user_key);
        // The first restart whose word is not below the target's: in the
        // chunk after the last one that starts below it.
        let chunk = self.chunk_firsts.partition_point(|&first| first < word);
        let below = match chunk.checked_sub(1) {
            None => 0,
            Some(previous) => {
                let start = previous * CHUNK;
                let end = (start + CHUNK).min(self.words.len());
                start + self.words[start..end].partition_point(|&other| other < word)
            }
        };
        // The restarts with the target's word: usually none or a few, so
        // they are galloped over from `below` rather than searched for.
        let rest = &self.words[below..];
        let mut end = 1;
        while end < rest.len() && rest[end - 1] <= word {
            end *= 2;
        }
        let end = end.min(rest.len());
        let up_to = below + rest[..end].partition_point(|&other| other <= word);
        let left = below.saturating_sub(1);
        (left, up_to.saturating_sub(1).max(left))
    }

    /// How many restarts share the most common word (for tests: how well
    /// the words tell keys apart).
    #[cfg(test)]
    fn widest_tie(&self) -> usize {
        self.words
            .chunk_by(|a, b| a == b)
            .map(<[u64]>::len)
            .max()
            .unwrap_or(0)
    }
}

impl Drop for Block {
    /// The block's buffer goes to this thread's spares, for the next
    /// block read (`buffers.rs`; buffers over 64 KiB are just freed).
    fn drop(&mut self) {
        crate::buffers::give_back(std::mem::take(&mut self.data));
    }
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
        let mut last = None;
        for index in 0..num_restarts {
            let restart = read_u32(&contents, entries_end + 4 * index);
            let in_order = last.is_none_or(|last| restart > last);
            let first_is_zero = index > 0 || restart == 0;
            // An empty block (no entries) still lists restart point 0.
            let in_range = (restart as usize) < entries_end || (entries_end == 0 && index == 0);
            if !in_order || !first_is_zero || !in_range {
                return Err(corruption(format!(
                    "restart point {index} at block offset {restart} is out of order or out \
                     of range (entries end at {entries_end})"
                )));
            }
            last = Some(restart);
        }
        let num_restarts = if entries_end == 0 { 0 } else { num_restarts };
        if entries_end > 0 && num_restarts == 0 {
            return Err(corruption(
                "a block with entries has no restart points".to_string(),
            ));
        }
        Ok(Block {
            data: contents,
            num_restarts,
            entries_end,
            order,
            file,
            file_offset,
            decompressed: false,
            search: None,
        })
    }

    /// The same block with a compact copy of its restart keys, which makes
    /// seeks cheaper (see [`SearchKeys`]): for an index block, kept for
    /// the table's lifetime. A block of internal keys whose restart keys
    /// cannot be decoded or are not in ascending order is left without
    /// one, and its seeks report what they find as before.
    #[must_use]
    pub(crate) fn with_search_keys(mut self) -> Block {
        self.search = self.build_search_keys();
        self
    }

    fn build_search_keys(&self) -> Option<SearchKeys> {
        let count = self.num_restarts;
        if self.order != KeyOrder::Internal || count < 2 {
            return None;
        }
        // The prefix of the first key and the one before the last: the
        // last (and the first) may be a separator shorter than the rest.
        let first = user_key(self.restart_key(0).ok()?);
        let other = user_key(self.restart_key(count.saturating_sub(2).max(1)).ok()?);
        let common = first.iter().zip(other).take_while(|(a, b)| a == b).count();
        let mut search = SearchKeys {
            common: first[..common].to_vec(),
            words: Vec::with_capacity(count),
            chunk_firsts: Vec::new(),
        };
        let mut previous: Option<&[u8]> = None;
        for index in 0..count {
            let key = self.restart_key(index).ok()?;
            if previous.is_some_and(|previous| compare_internal_keys(previous, key).is_ge()) {
                return None;
            }
            let word = search.word(user_key(key));
            if search.words.last().is_some_and(|&last| last > word) {
                return None;
            }
            search.words.push(word);
            previous = Some(key);
        }
        search.chunk_firsts = search.words.iter().step_by(CHUNK).copied().collect();
        Some(search)
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

    /// The key stored whole at restart point `index`.
    fn restart_key(&self, index: usize) -> Result<&[u8]> {
        let offset = self.restart_offset(index);
        let header = self.decode_header(offset)?;
        if header.shared != 0 {
            return Err(self.corruption(
                offset,
                format!(
                    "the entry at restart point {index} shares {} key bytes",
                    header.shared
                ),
            ));
        }
        let key = &self.data[header.key_start..header.key_start + header.unshared];
        self.check_key(offset, key.len())?;
        Ok(key)
    }

    fn decode_header(&self, offset: usize) -> Result<EntryHeader> {
        let entries = &self.data[..self.entries_end];
        // Three one-byte varints, the usual case for small keys and values
        // (LevelDB's `DecodeEntry` fast path).
        let (fields, position) = match entries.get(offset..offset.saturating_add(3)) {
            Some(&[shared, unshared, value_length])
                if (shared | unshared | value_length) < 0x80 =>
            {
                (
                    [shared, unshared, value_length].map(usize::from),
                    offset + 3,
                )
            }
            _ => self.decode_header_fields(offset)?,
        };
        let [shared, unshared, value_length] = fields;
        let end = position
            .checked_add(unshared)
            .and_then(|end| end.checked_add(value_length));
        if end.is_none_or(|end| end > self.entries_end) {
            return Err(self.corruption(
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

    /// The three varints of the entry header at `offset`, and where they end.
    fn decode_header_fields(&self, offset: usize) -> Result<([usize; 3], usize)> {
        let entries = &self.data[..self.entries_end];
        let mut position = offset;
        let mut fields = [0usize; 3];
        for field in &mut fields {
            let (value, length) = entries
                .get(position..)
                .and_then(|input| get_varint32(input).ok())
                .ok_or_else(|| {
                    self.corruption(offset, "an entry header is truncated or malformed".into())
                })?;
            *field = value as usize;
            position += length;
        }
        Ok((fields, position))
    }

    fn check_key(&self, offset: usize, key_length: usize) -> Result<()> {
        if self.order == KeyOrder::Internal && key_length < TRAILER_SIZE {
            return Err(self.corruption(
                offset,
                format!("a {key_length}-byte key is too short for an internal key"),
            ));
        }
        Ok(())
    }

    fn restart_offset(&self, index: usize) -> usize {
        read_u32(&self.data, self.entries_end + 4 * index) as usize
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
        if self.block.num_restarts == 0 {
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
        let Some(last) = self.block.num_restarts.checked_sub(1) else {
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
        if self.block.num_restarts == 0 {
            self.invalidate();
            return Ok(());
        }
        // The last restart point whose key is before the target.
        let (mut left, mut right) = match &self.block.search {
            Some(search) => search.narrow(user_key(target)),
            None => (0, self.block.num_restarts - 1),
        };
        while left < right {
            let middle = left + (right - left).div_ceil(2);
            let key = self.block.restart_key(middle)?;
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
        let header = self.block.decode_header(offset)?;
        let mut restart_index = self.restart_index;
        while restart_index + 1 < self.block.num_restarts
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
        let next_restart = (restart_index + 1 < self.block.num_restarts)
            .then(|| self.block.restart_offset(restart_index + 1));
        if let Some(next_restart) = next_restart.filter(|&next| next < entry_end) {
            // Decoding from that restart point would read a different chain
            // of entries than decoding from this one.
            return Err(self.block.corruption(
                offset,
                format!("restart point {next_restart} lies inside the entry at {offset}"),
            ));
        }
        self.block
            .check_key(offset, header.shared + header.unshared)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_builder::BlockBuilder;
    use crate::key::{encode_internal_key, lookup_key};

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
        }

        /// `prefix` and then up to `tail` random bytes from a small
        /// alphabet (so that keys often agree for a while and differ in
        /// length).
        fn key(&mut self, prefix: &[u8], tail: u64) -> Vec<u8> {
            let mut key = prefix.to_vec();
            for _ in 0..self.below(tail + 1) {
                key.push([0, 1, b'a', b'b', 0xff][self.below(5) as usize]);
            }
            key
        }
    }

    fn block(entries: &[Vec<u8>], search: bool) -> Arc<Block> {
        let mut builder = BlockBuilder::new(1);
        for key in entries {
            builder.add(key, b"handle");
        }
        let block = Block::new(
            builder.finish(),
            KeyOrder::Internal,
            Path::new("t").into(),
            0,
        )
        .expect("a well-formed block");
        Arc::new(if search {
            block.with_search_keys()
        } else {
            block
        })
    }

    fn seek(block: &Arc<Block>, target: &[u8]) -> Option<Vec<u8>> {
        let mut iterator = block.iter();
        iterator.seek(target).expect("a well-formed block");
        iterator.valid().then(|| iterator.key().to_vec())
    }

    #[test]
    fn seeks_with_search_keys_find_what_the_plain_search_finds() {
        let mut rng = Rng(0x5eed);
        for round in 0..200 {
            // Keys sharing a prefix of 0 to 12 bytes, tails of up to 12
            // bytes, some user keys at several sequence numbers.
            let prefix = rng.key(b"", rng.0 % 13);
            let mut user_keys: Vec<Vec<u8>> = (0..1 + rng.below(300))
                .map(|_| rng.key(&prefix, 12))
                .collect();
            // An index block's first and last keys can be short separators
            // outside the shared prefix: sometimes add such keys at either end.
            if rng.below(2) == 0 {
                user_keys.push(rng.key(b"", 2));
            }
            if rng.below(2) == 0 {
                user_keys.push(vec![0xff; 1 + rng.below(2) as usize]);
            }
            user_keys.sort();
            user_keys.dedup();
            let mut entries = Vec::new();
            for user_key in &user_keys {
                for sequence in (1..=1 + rng.below(3)).rev() {
                    entries.push(encode_internal_key(user_key, sequence * 10, 1));
                }
            }
            let plain = block(&entries, false);
            let searched = block(&entries, true);
            assert_eq!(
                searched.search.is_some(),
                entries.len() >= 2,
                "round {round}: search keys built for every block of two or more entries"
            );
            let mut targets: Vec<Vec<u8>> = Vec::new();
            for user_key in &user_keys {
                for sequence in [0, 15, 20, MAX_TEST_SEQUENCE] {
                    targets.push(lookup_key(user_key, sequence));
                }
                let mut longer = user_key.clone();
                longer.push(0);
                targets.push(lookup_key(&longer, 0));
                if let Some(shorter) = user_key.get(..user_key.len().saturating_sub(1)) {
                    targets.push(lookup_key(shorter, 0));
                }
            }
            for _ in 0..100 {
                targets.push(lookup_key(&rng.key(b"", 20), rng.below(50)));
                let shared = rng.below(prefix.len() as u64 + 1) as usize;
                targets.push(lookup_key(&rng.key(&prefix[..shared], 14), rng.below(50)));
            }
            targets.push(Vec::new());
            for target in &targets {
                assert_eq!(
                    seek(&searched, target),
                    seek(&plain, target),
                    "round {round}: seek to {target:?} among {} keys with prefix {prefix:?}",
                    entries.len()
                );
            }
        }
    }

    #[test]
    fn an_index_block_with_a_short_last_separator_narrows_to_single_entries() {
        // Keys as the benchmarks write them, and the last separator of a
        // table: the short successor of its last key, "l".
        let mut entries: Vec<Vec<u8>> = (0..16_000u64)
            .map(|slot| {
                let mut user_key = b"key00000".to_vec();
                user_key.extend_from_slice(&(slot * 1_250 + 7).to_be_bytes());
                encode_internal_key(&user_key, 9, 1)
            })
            .collect();
        entries.push(encode_internal_key(b"l", MAX_TEST_SEQUENCE, 1));
        let searched = block(&entries, true);
        let search = searched.search.as_ref().expect("search keys");
        assert_eq!(search.widest_tie(), 1, "every word tells its key apart");
        let plain = block(&entries, false);
        for entry in entries.iter().step_by(7) {
            assert_eq!(seek(&searched, entry), seek(&plain, entry));
        }
    }

    #[test]
    fn narrowing_through_chunks_matches_a_scan_of_every_word() {
        let mut rng = Rng(0xc4a1);
        for round in 0..2_000 {
            // Lengths around chunk boundaries, words with long ties.
            let length = 1 + rng.below(5 * CHUNK as u64) as usize;
            let spread = 1 + rng.below(40);
            let mut words: Vec<u64> = (0..length).map(|_| rng.below(spread) * 3).collect();
            words.sort_unstable();
            let search = SearchKeys {
                common: Vec::new(),
                chunk_firsts: words.iter().step_by(CHUNK).copied().collect(),
                words: words.clone(),
            };
            for target in 0..spread * 3 + 2 {
                let below = words.iter().filter(|&&word| word < target).count();
                let up_to = words.iter().filter(|&&word| word <= target).count();
                let left = below.saturating_sub(1);
                let expected = (left, up_to.saturating_sub(1).max(left));
                assert_eq!(
                    search.narrow(&target.to_be_bytes()),
                    expected,
                    "round {round}: word {target} in {words:?}"
                );
            }
        }
    }

    #[test]
    fn keys_out_of_order_get_no_search_keys() {
        let keys = [b"b".as_slice(), b"a", b"c"].map(|key| encode_internal_key(key, 1, 1));
        assert!(block(&keys, true).search.is_none());
        let sorted = [b"a".as_slice(), b"b", b"c"].map(|key| encode_internal_key(key, 1, 1));
        assert!(block(&sorted, true).search.is_some());
    }

    const MAX_TEST_SEQUENCE: u64 = (1 << 56) - 1;
}
