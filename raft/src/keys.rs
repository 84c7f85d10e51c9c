//! The storage's keys: a one-byte discriminator, then (for log entries) the
//! index in big-endian so that keys sort by index.
//!
//! Every key whose first byte is below [`FIRST_APPLICATION_BYTE`] belongs to
//! the storage; an application keeping its own state in the same database
//! uses keys that start at or above it.

/// `ENTRY` + big-endian index: one log entry (an `eraftpb::Entry`).
pub(crate) const ENTRY: u8 = 0x01;
/// The hard state (an `eraftpb::HardState`).
pub(crate) const HARD_STATE: [u8; 1] = [0x02];
/// The configuration (an `eraftpb::ConfState`).
pub(crate) const CONF_STATE: [u8; 1] = [0x03];
/// The latest snapshot, data included (an `eraftpb::Snapshot`).
pub(crate) const SNAPSHOT: [u8; 1] = [0x04];
/// The index and term of the entry just before the first one kept: 16
/// bytes, both big-endian.
pub(crate) const TRUNCATED: [u8; 1] = [0x05];

/// The first key byte free for the application's own keys.
pub const FIRST_APPLICATION_BYTE: u8 = 0x10;

/// The key of the entry at `index`.
pub(crate) fn entry(index: u64) -> [u8; 9] {
    let mut key = [0; 9];
    key[0] = ENTRY;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The index an entry key names, or `None` if `key` is not an entry key.
pub(crate) fn entry_index(key: &[u8]) -> Option<u64> {
    match key {
        [ENTRY, rest @ ..] => Some(u64::from_be_bytes(rest.try_into().ok()?)),
        _ => None,
    }
}

/// A key in a form fit for an error message: the discriminator's name and,
/// for entries, the index; otherwise hex.
pub(crate) fn describe(key: &[u8]) -> String {
    if let Some(index) = entry_index(key) {
        return format!("entry {index} (key 01{index:016x})");
    }
    let name = match key {
        [0x02] => "hard state",
        [0x03] => "conf state",
        [0x04] => "snapshot",
        [0x05] => "truncated state",
        _ => "key",
    };
    let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{name} (key {hex})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_keys_sort_by_index_and_round_trip() {
        assert!(entry(255) < entry(256));
        assert!(entry(u64::MAX - 1) < entry(u64::MAX));
        assert_eq!(entry_index(&entry(42)), Some(42));
        assert_eq!(entry_index(&HARD_STATE), None);
        assert_eq!(entry_index(&[ENTRY, 1, 2]), None);
        assert_eq!(describe(&entry(5)), "entry 5 (key 010000000000000005)");
    }
}
