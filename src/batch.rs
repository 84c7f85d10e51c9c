//! Write batches: several updates applied atomically.

use strata_wal::batch::BatchBuilder;

/// Updates applied atomically by [`crate::Db::write`], encoded as RocksDB
/// encodes a write batch (the WAL payload, DESIGN.md §4).
///
/// ```
/// use strata::WriteBatch;
///
/// let mut batch = WriteBatch::new();
/// batch.put(b"a", b"1").delete(b"b");
/// assert_eq!(batch.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    pub(crate) builder: BatchBuilder,
}

impl WriteBatch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.builder.put(key, value);
        self
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.builder.delete(key);
        self
    }

    /// Removes `key`, which must have been put at most once since it was last
    /// deleted (RocksDB's SingleDelete; here it behaves as a delete).
    pub fn single_delete(&mut self, key: &[u8]) -> &mut Self {
        self.builder.single_delete(key);
        self
    }

    /// Number of updates.
    #[must_use]
    pub fn len(&self) -> usize {
        self.builder.count() as usize
    }

    /// Whether the batch holds no update.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.builder.is_empty()
    }
}
