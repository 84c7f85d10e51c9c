//! Internal keys: `user_key ++ (sequence << 8 | kind) as u64 LE`, ordered by
//! user key ascending, then sequence descending (DESIGN.md §6). Tables hold
//! only internal keys; the engine reuses this module for its memtable.
//!
//! ```
//! use strata_sstable::key::{InternalKey, ValueKind};
//!
//! let newer = InternalKey::new(b"apple", 9, ValueKind::Value);
//! let older = InternalKey::new(b"apple", 3, ValueKind::Deletion);
//! assert!(newer < older, "the newest version of a user key sorts first");
//! assert!(older < InternalKey::new(b"banana", 100, ValueKind::Value));
//! assert_eq!(newer.user_key(), b"apple");
//! ```

use std::cmp::Ordering;
use std::fmt;

/// Length of the trailer (sequence and kind) after the user key.
pub const TRAILER_SIZE: usize = 8;

/// The largest sequence number: sequences have 56 bits (shared with the log
/// format through `strata-coding`).
pub use strata_coding::MAX_SEQUENCE;

/// The kind byte of a lookup key. It is larger than every stored kind, so a
/// lookup key sorts before every entry of the same user key and sequence.
pub const SEEK_KIND: u8 = 0xff;

/// What an entry records. The byte values are RocksDB's value types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// The user key was deleted (RocksDB `kTypeDeletion`).
    Deletion = 0,
    /// The user key maps to a value (RocksDB `kTypeValue`).
    Value = 1,
    /// The user key was deleted by a single delete (RocksDB `kTypeSingleDeletion`).
    SingleDeletion = 7,
}

impl ValueKind {
    /// Decodes a kind byte; `None` for bytes that are not a stored kind.
    #[must_use]
    pub fn from_byte(byte: u8) -> Option<ValueKind> {
        match byte {
            0 => Some(ValueKind::Deletion),
            1 => Some(ValueKind::Value),
            7 => Some(ValueKind::SingleDeletion),
            _ => None,
        }
    }

    /// The byte stored in the key trailer.
    #[must_use]
    pub fn as_byte(self) -> u8 {
        self as u8
    }
}

/// Packs a sequence number and a kind byte into the trailer value.
#[must_use]
pub fn pack_trailer(sequence: u64, kind: u8) -> u64 {
    debug_assert!(
        sequence <= MAX_SEQUENCE,
        "sequence {sequence} exceeds 56 bits"
    );
    ((sequence & MAX_SEQUENCE) << 8) | u64::from(kind)
}

/// Appends the internal key of (`user_key`, `sequence`, `kind`) to `out`.
pub fn append_internal_key(out: &mut Vec<u8>, user_key: &[u8], sequence: u64, kind: u8) {
    out.extend_from_slice(user_key);
    out.extend_from_slice(&pack_trailer(sequence, kind).to_le_bytes());
}

/// Encodes the internal key of (`user_key`, `sequence`, `kind`).
#[must_use]
pub fn encode_internal_key(user_key: &[u8], sequence: u64, kind: u8) -> Vec<u8> {
    let mut key = Vec::with_capacity(user_key.len() + TRAILER_SIZE);
    append_internal_key(&mut key, user_key, sequence, kind);
    key
}

/// The key that positions a seek at the newest entry of `user_key` whose
/// sequence is at most `sequence`.
#[must_use]
pub fn lookup_key(user_key: &[u8], sequence: u64) -> Vec<u8> {
    encode_internal_key(user_key, sequence.min(MAX_SEQUENCE), SEEK_KIND)
}

/// The parts of an encoded internal key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedInternalKey<'a> {
    /// The user's key.
    pub user_key: &'a [u8],
    /// The sequence number (56 bits).
    pub sequence: u64,
    /// The raw kind byte; see [`ValueKind::from_byte`].
    pub kind: u8,
}

/// Splits an internal key; `None` if it is shorter than the trailer.
#[must_use]
pub fn parse_internal_key(key: &[u8]) -> Option<ParsedInternalKey<'_>> {
    let split = key.len().checked_sub(TRAILER_SIZE)?;
    let (user_key, trailer) = key.split_at(split);
    let trailer = u64::from_le_bytes(trailer.try_into().ok()?);
    Some(ParsedInternalKey {
        user_key,
        sequence: trailer >> 8,
        kind: (trailer & 0xff) as u8,
    })
}

/// The user key of an internal key (the whole key if it has no trailer).
#[must_use]
pub fn user_key(key: &[u8]) -> &[u8] {
    key.get(..key.len().saturating_sub(TRAILER_SIZE))
        .unwrap_or_default()
}

fn trailer(key: &[u8]) -> u64 {
    let start = key.len().saturating_sub(TRAILER_SIZE);
    key.get(start..)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// The order of internal keys: user key ascending (byte-wise), then trailer
/// (sequence, then kind) descending. A key shorter than the trailer (never
/// written by this crate; readers report it as corruption) compares as a
/// user key with trailer 0, so the order stays total.
#[must_use]
pub fn compare_internal_keys(a: &[u8], b: &[u8]) -> Ordering {
    user_key(a)
        .cmp(user_key(b))
        .then_with(|| trailer(b).cmp(&trailer(a)))
}

/// Whether `a` sorts strictly before `b` in internal-key order.
#[must_use]
pub(crate) fn is_before(a: &[u8], b: &[u8]) -> bool {
    compare_internal_keys(a, b) == Ordering::Less
}

/// An owned internal key, ordered by [`compare_internal_keys`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InternalKey(Vec<u8>);

impl InternalKey {
    /// The internal key of (`user_key`, `sequence`, `kind`).
    #[must_use]
    pub fn new(user_key: &[u8], sequence: u64, kind: ValueKind) -> InternalKey {
        InternalKey(encode_internal_key(user_key, sequence, kind.as_byte()))
    }

    /// Wraps an encoded key; `None` if it is shorter than the trailer.
    #[must_use]
    pub fn from_encoded(encoded: Vec<u8>) -> Option<InternalKey> {
        (encoded.len() >= TRAILER_SIZE).then_some(InternalKey(encoded))
    }

    /// The encoded bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The encoded bytes, owned.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The user key.
    #[must_use]
    pub fn user_key(&self) -> &[u8] {
        user_key(&self.0)
    }

    /// The sequence number.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        trailer(&self.0) >> 8
    }

    /// The raw kind byte.
    #[must_use]
    pub fn kind_byte(&self) -> u8 {
        (trailer(&self.0) & 0xff) as u8
    }
}

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal_keys(&self.0, &other.0)
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for InternalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}@{}:{}",
            String::from_utf8_lossy(self.user_key()),
            self.sequence(),
            self.kind_byte()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse_round_trips() {
        let key = encode_internal_key(b"user", 42, ValueKind::SingleDeletion.as_byte());
        assert_eq!(key.len(), 4 + TRAILER_SIZE);
        assert_eq!(&key[4..], &((42u64 << 8) | 7).to_le_bytes());
        let parsed = parse_internal_key(&key).expect("has a trailer");
        assert_eq!(parsed.user_key, b"user");
        assert_eq!(parsed.sequence, 42);
        assert_eq!(
            ValueKind::from_byte(parsed.kind),
            Some(ValueKind::SingleDeletion)
        );
    }

    #[test]
    fn keys_order_by_user_key_then_newest_first() {
        let a9 = encode_internal_key(b"a", 9, 1);
        let a3 = encode_internal_key(b"a", 3, 1);
        let ab1 = encode_internal_key(b"ab", 1, 1);
        assert_eq!(compare_internal_keys(&a9, &a3), Ordering::Less);
        assert_eq!(compare_internal_keys(&a3, &ab1), Ordering::Less);
        assert_eq!(compare_internal_keys(&a3, &a3), Ordering::Equal);
    }

    #[test]
    fn lookup_key_sorts_before_entries_of_its_sequence_and_after_newer_ones() {
        let lookup = lookup_key(b"k", 5);
        assert_eq!(
            compare_internal_keys(&lookup, &encode_internal_key(b"k", 5, 7)),
            Ordering::Less
        );
        assert_eq!(
            compare_internal_keys(&lookup, &encode_internal_key(b"k", 6, 0)),
            Ordering::Greater
        );
    }

    #[test]
    fn short_keys_are_rejected_by_parse() {
        assert!(parse_internal_key(b"1234567").is_none());
        assert!(InternalKey::from_encoded(b"short".to_vec()).is_none());
    }
}
