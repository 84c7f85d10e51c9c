//! Builds one block: sorted entries with shared-prefix compression and
//! restart points.
//!
//! ```text
//! block    := entry* restart: u32 LE * num_restarts: u32 LE
//! entry    := shared: varint32 | unshared: varint32 | value_length: varint32
//!             | key[shared..]: unshared bytes | value: value_length bytes
//! ```
//!
//! Every `restart_interval`-th entry is a restart point: it stores its whole
//! key (`shared` = 0) and its offset is listed in the restart array, so a
//! reader can binary-search the restarts and decode from any of them.

use strata_coding::put_varint32;

/// Accumulates the entries of one block. Keys must be added in increasing
/// order; the table builder checks that before calling [`BlockBuilder::add`].
#[derive(Debug)]
pub struct BlockBuilder {
    buffer: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    entries_since_restart: usize,
    last_key: Vec<u8>,
    entry_count: usize,
}

impl BlockBuilder {
    /// A builder that makes every `restart_interval`-th entry a restart point
    /// (an interval of 0 is treated as 1).
    #[must_use]
    pub fn new(restart_interval: usize) -> BlockBuilder {
        BlockBuilder {
            buffer: Vec::new(),
            restarts: vec![0],
            restart_interval: restart_interval.max(1),
            entries_since_restart: 0,
            last_key: Vec::new(),
            entry_count: 0,
        }
    }

    /// Appends an entry. The caller guarantees that `key` sorts after the
    /// previous key and that key and value are shorter than 4 GiB.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let mut shared = 0;
        if self.entries_since_restart < self.restart_interval {
            shared = self
                .last_key
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count();
        } else {
            self.restarts.push(self.offset_u32());
            self.entries_since_restart = 0;
        }
        let unshared = &key[shared..];
        put_varint32(&mut self.buffer, length_u32(shared));
        put_varint32(&mut self.buffer, length_u32(unshared.len()));
        put_varint32(&mut self.buffer, length_u32(value.len()));
        self.buffer.extend_from_slice(unshared);
        self.buffer.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(unshared);
        self.entries_since_restart += 1;
        self.entry_count += 1;
    }

    /// The size the block would have if finished now, in bytes.
    #[must_use]
    pub fn size_estimate_bytes(&self) -> usize {
        self.buffer.len() + 4 * self.restarts.len() + 4
    }

    /// Whether no entry was added since the last reset.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entry_count == 0
    }

    /// The last key added, or empty.
    #[must_use]
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Appends the restart array and returns the block contents; the builder
    /// is reset for the next block.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut contents = std::mem::take(&mut self.buffer);
        for restart in &self.restarts {
            contents.extend_from_slice(&restart.to_le_bytes());
        }
        contents.extend_from_slice(&length_u32(self.restarts.len()).to_le_bytes());
        self.restarts.clear();
        self.restarts.push(0);
        self.entries_since_restart = 0;
        self.last_key.clear();
        self.entry_count = 0;
        contents
    }

    fn offset_u32(&self) -> u32 {
        length_u32(self.buffer.len())
    }
}

/// Lengths and offsets inside a block are `u32`; the table builder refuses
/// entries that could overflow them and cuts blocks long before 4 GiB.
fn length_u32(length: usize) -> u32 {
    assert!(
        u32::try_from(length).is_ok(),
        "block length {length} overflows u32; the table builder must cut blocks earlier"
    );
    length as u32
}
