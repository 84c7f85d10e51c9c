//! Write batches: several updates applied atomically.

use strata_wal::batch::{self, BatchBuilder, Entry, Operation};

use crate::error::{Error, Result};
use crate::key::Kind;
use crate::memtable::MemTable;

/// The largest key or value a batch holds: its length is a varint32 in the
/// log's batch encoding (RocksDB's limit too).
pub const MAX_FIELD_BYTES: usize = u32::MAX as usize;

/// The largest key a batch holds: tables store the key with its 8-byte
/// sequence-and-kind trailer under the same 32-bit length limit.
pub const MAX_KEY_BYTES: usize = MAX_FIELD_BYTES - 8;

/// Updates applied atomically by [`crate::Db::write`], encoded as RocksDB
/// encodes a write batch (the WAL payload, DESIGN.md §4).
///
/// A key longer than [`MAX_KEY_BYTES`] or a value longer than
/// [`MAX_FIELD_BYTES`] is not added; the batch
/// remembers it and [`crate::Db::write`] refuses the whole batch with
/// [`Error::InvalidArgument`].
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
    /// The first update that could not be added, and why.
    invalid: Option<String>,
}

/// Why Strata cannot apply an (intact) encoded batch, if it cannot: a column
/// family other than the default, or an operation other than Put, Delete,
/// SingleDelete and LogData (RocksDB writes these; Strata does not).
pub(crate) fn unsupported(payload: &[u8]) -> Option<String> {
    let mut refusal = None;
    let walked = batch::for_each_entry(payload, |entry| {
        if refusal.is_none() {
            refusal = refusal_of(&entry);
        }
    });
    match walked {
        Ok(_) => refusal,
        Err(error) => Some(error.to_string()),
    }
}

/// What of `entry` Strata cannot apply, if anything.
fn refusal_of(entry: &Entry<'_>) -> Option<String> {
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
}

impl WriteBatch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// An empty batch with room for about `bytes` bytes of keys and values
    /// before it grows (a few bytes per update go to tags and lengths).
    #[must_use]
    pub fn with_capacity(bytes: usize) -> Self {
        WriteBatch {
            builder: BatchBuilder::with_capacity(bytes),
            invalid: None,
        }
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        let (key, value) = (key.as_ref(), value.as_ref());
        if self.accepts(key, value) {
            self.builder.put(key, value);
        }
        self
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        let key = key.as_ref();
        if self.accepts(key, b"") {
            self.builder.delete(key);
        }
        self
    }

    /// Removes `key`, which must have been put at most once since it was last
    /// deleted (RocksDB's SingleDelete; here it behaves as a delete).
    pub fn single_delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        let key = key.as_ref();
        if self.accepts(key, b"") {
            self.builder.single_delete(key);
        }
        self
    }

    fn accepts(&mut self, key: &[u8], value: &[u8]) -> bool {
        if key.len() <= MAX_KEY_BYTES && value.len() <= MAX_FIELD_BYTES {
            return true;
        }
        self.invalid.get_or_insert_with(|| {
            format!(
                "a {}-byte key with a {}-byte value is larger than a batch holds \
                 (keys are at most {MAX_KEY_BYTES} bytes, values {MAX_FIELD_BYTES})",
                key.len(),
                value.len()
            )
        });
        false
    }

    /// `Err(InvalidArgument)` if an update could not be added.
    pub(crate) fn check_valid(&self) -> Result<()> {
        match &self.invalid {
            Some(reason) => Err(Error::InvalidArgument(reason.clone())),
            None => Ok(()),
        }
    }

    /// Number of updates.
    #[must_use]
    pub fn len(&self) -> usize {
        self.builder.count() as usize
    }

    /// Whether the batch holds no update (a refused oversized update
    /// counts as one: writing the batch reports it).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.builder.is_empty() && self.invalid.is_none()
    }
}

/// Inserts an encoded batch's updates into a memtable, numbering them from
/// the batch's sequence, under one lock ([`MemTable::inserter`]). The
/// batch comes from [`WriteBatch`]es, which hold only updates Strata
/// applies, so it is not checked for others first as a logged batch is
/// ([`for_each_write`]); a debug build checks anyway. An error (a batch
/// that does not decode) may come after some updates were inserted.
pub(crate) fn apply_to_memtable(mem: &MemTable, payload: &[u8]) -> Result<()> {
    debug_assert_eq!(unsupported(payload), None);
    let mut inserter = mem.inserter();
    each_write(payload, |key, sequence, kind, value| {
        inserter.insert(key, sequence, kind, value);
    })
}

/// Calls `insert` with each write of an encoded batch (user key, sequence,
/// kind, value), in the batch's order. A batch that is malformed or holds
/// what Strata cannot apply is an error before anything is inserted. The
/// batch is walked twice rather than decoded into a list: this runs once
/// per write group, and the list was an allocation each time.
pub(crate) fn for_each_write(
    payload: &[u8],
    insert: impl FnMut(&[u8], u64, Kind, &[u8]),
) -> Result<()> {
    if let Some(reason) = unsupported(payload) {
        return Err(Error::InvalidArgument(format!(
            "Strata cannot apply this batch: {reason}"
        )));
    }
    each_write(payload, insert)
}

/// [`for_each_write`] without the check for what Strata cannot apply, for
/// batches known to hold nothing else.
fn each_write(payload: &[u8], mut insert: impl FnMut(&[u8], u64, Kind, &[u8])) -> Result<()> {
    let mut sequence = batch::decode_header(payload)
        .map_err(|error| Error::InvalidArgument(error.to_string()))?
        .0;
    batch::for_each_entry(payload, |entry| {
        let (key, kind, value) = match entry.operation {
            Operation::Put { key, value } => (key, Kind::Value, value),
            Operation::Delete { key } => (key, Kind::Deletion, &b""[..]),
            Operation::SingleDelete { key } => (key, Kind::SingleDeletion, &b""[..]),
            // LogData takes no sequence; nothing else passed the check.
            _ => return,
        };
        insert(key, sequence, kind, value);
        sequence += 1;
    })
    .map_err(|error| Error::InvalidArgument(error.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A batch at sequence 5 holding `entries` (encoded by hand), counting
    /// `count` of them.
    fn payload(count: u32, entries: &[u8]) -> Vec<u8> {
        let mut bytes = 5u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes.extend_from_slice(entries);
        bytes
    }

    /// A write as `for_each_write` hands it over: key, sequence, kind, value.
    type Write = (Vec<u8>, u64, Kind, Vec<u8>);

    fn writes(payload: &[u8]) -> (Result<()>, Vec<Write>) {
        let mut seen = Vec::new();
        let result = for_each_write(payload, |key, sequence, kind, value| {
            seen.push((key.to_vec(), sequence, kind, value.to_vec()));
        });
        (result, seen)
    }

    #[test]
    fn writes_are_numbered_from_the_batch_sequence_and_log_data_takes_none() {
        // Put a=x, LogData "n", Delete b, SingleDelete c.
        let (result, seen) = writes(&payload(3, b"\x01\x01a\x01x\x03\x01n\x00\x01b\x07\x01c"));
        result.unwrap();
        assert_eq!(
            seen,
            vec![
                (b"a".to_vec(), 5, Kind::Value, b"x".to_vec()),
                (b"b".to_vec(), 6, Kind::Deletion, Vec::new()),
                (b"c".to_vec(), 7, Kind::SingleDeletion, Vec::new()),
            ]
        );
    }

    /// What Strata cannot apply, or a malformed tail, refuses the whole
    /// batch: not even the writes before it are inserted.
    #[test]
    fn a_batch_with_anything_unapplicable_inserts_nothing() {
        let refused: [(u32, &[u8]); 4] = [
            // Put a=x, then a Merge.
            (2, b"\x01\x01a\x01x\x02\x01b\x01y"),
            // Put a=x, then a Put to column family 3.
            (2, b"\x01\x01a\x01x\x05\x03\x01b\x01y"),
            // Put a=x, then a truncated Put.
            (2, b"\x01\x01a\x01x\x01\x05b"),
            // Put a=x, but the header counts two.
            (2, b"\x01\x01a\x01x"),
        ];
        for (count, entries) in refused {
            let (result, seen) = writes(&payload(count, entries));
            assert!(
                matches!(result, Err(Error::InvalidArgument(_))),
                "{entries:?}: {result:?}"
            );
            assert!(seen.is_empty(), "{entries:?}: inserted {seen:?}");
        }
    }

    /// A key or value of 4 GiB or more used to panic inside the batch
    /// encoder; now the batch refuses it and writing it is an error.
    #[test]
    fn an_oversized_value_is_an_invalid_argument_not_a_panic() {
        // Zeroed pages are mapped lazily: this costs no real memory.
        let huge = vec![0_u8; MAX_FIELD_BYTES + 1];
        let mut batch = WriteBatch::new();
        batch.put(b"small", b"ok").put(b"big", &huge);
        assert_eq!(batch.len(), 1);
        assert!(!batch.is_empty());
        let error = batch.check_valid().unwrap_err();
        assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
        assert!(
            error.to_string().contains("4294967296-byte value"),
            "{error}"
        );
        // A key just past its limit (which is below the value limit).
        let long_key = vec![0_u8; MAX_KEY_BYTES + 1];
        let mut long = WriteBatch::new();
        long.put(&long_key, b"v");
        assert!(long.check_valid().is_err());
        let mut only_huge = WriteBatch::new();
        only_huge.delete(&huge);
        assert!(!only_huge.is_empty());
        assert!(only_huge.check_valid().is_err());
    }
}
