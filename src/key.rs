//! Internal keys, shared with the table crate so that memtables and tables
//! order keys in exactly one way (DESIGN.md §6).

pub(crate) use strata_sstable::key::{
    MAX_SEQUENCE, SEEK_KIND, ValueKind as Kind, compare_internal_keys as compare,
    encode_internal_key as encode,
};

/// Splits an internal key into user key, sequence and kind byte.
pub(crate) fn decode(key: &[u8]) -> Option<(&[u8], u64, u8)> {
    strata_sstable::key::parse_internal_key(key)
        .map(|parsed| (parsed.user_key, parsed.sequence, parsed.kind))
}
