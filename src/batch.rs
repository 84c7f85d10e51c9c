//! Write batches: several updates applied atomically.

use strata_wal::batch::{BatchBuilder, DecodedBatch, Operation};

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

/// Why Strata cannot apply an (intact) encoded batch, if it cannot: a column
/// family other than the default, or an operation other than Put, Delete,
/// SingleDelete and LogData (RocksDB writes these; Strata does not).
pub(crate) fn unsupported(payload: &[u8]) -> Option<String> {
    let batch = match DecodedBatch::decode(payload) {
        Ok(batch) => batch,
        Err(error) => return Some(error.to_string()),
    };
    batch.entries.iter().find_map(|entry| {
        if entry.column_family != 0 {
            return Some(format!("column family {}", entry.column_family));
        }
        match entry.operation {
            Operation::Put { .. }
            | Operation::Delete { .. }
            | Operation::SingleDelete { .. }
            | Operation::LogData { .. } => None,
            other => Some(format!("the operation {other:?}")),
        }
    })
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
