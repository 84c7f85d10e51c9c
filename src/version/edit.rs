//! Version edits (one MANIFEST record each) and the state they add up to.
//! Format in `docs/manifest_format.md`.

use std::collections::BTreeSet;

/// A table and what the engine needs to know about it without opening it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableMeta {
    pub(crate) number: u64,
    pub(crate) size: u64,
    /// The largest sequence number of any entry in the table.
    pub(crate) largest_sequence: u64,
    /// Smallest and largest internal keys.
    pub(crate) smallest: Vec<u8>,
    pub(crate) largest: Vec<u8>,
    /// The level the table belongs to (0: flushed memtables, which may
    /// overlap; deeper levels hold tables with disjoint user-key ranges).
    pub(crate) level: u32,
}

/// One change to the database's set of files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionEdit {
    /// Logs below this number hold nothing that is not in tables.
    pub(crate) log_number: Option<u64>,
    pub(crate) next_file_number: Option<u64>,
    /// Every sequence up to this one is in tables.
    pub(crate) flushed_sequence: Option<u64>,
    pub(crate) new_tables: Vec<TableMeta>,
    pub(crate) deleted_tables: Vec<u64>,
    /// Logs whose names are durable, recorded before the first sync of each
    /// is acknowledged, so that a listed log that goes missing is noticed.
    pub(crate) new_logs: Vec<u64>,
}

const TAG_LOG_NUMBER: u8 = 1;
const TAG_NEXT_FILE_NUMBER: u8 = 2;
const TAG_FLUSHED_SEQUENCE: u8 = 3;
const TAG_NEW_TABLE: u8 = 4;
const TAG_DELETED_TABLE: u8 = 5;
const TAG_NEW_LOG: u8 = 6;
const TAG_NEW_TABLE_AT_LEVEL: u8 = 7;

/// Levels past this are not plausible: a corruption.
pub(crate) const MAX_LEVELS: u32 = crate::options::MAX_NUM_LEVELS as u32;

/// File numbers and sequences above this are not plausible: a corruption.
/// (Sequences have 56 bits; file numbers are held to the same bound so that
/// `number + 1` never overflows.)
pub(crate) const MAX_NUMBER: u64 = crate::key::MAX_SEQUENCE;

impl VersionEdit {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut put = |tag: u8, value: u64| {
            bytes.push(tag);
            bytes.extend_from_slice(&value.to_le_bytes());
        };
        if let Some(number) = self.log_number {
            put(TAG_LOG_NUMBER, number);
        }
        if let Some(number) = self.next_file_number {
            put(TAG_NEXT_FILE_NUMBER, number);
        }
        if let Some(sequence) = self.flushed_sequence {
            put(TAG_FLUSHED_SEQUENCE, sequence);
        }
        for number in &self.deleted_tables {
            put(TAG_DELETED_TABLE, *number);
        }
        for number in &self.new_logs {
            put(TAG_NEW_LOG, *number);
        }
        for table in &self.new_tables {
            bytes.push(TAG_NEW_TABLE_AT_LEVEL);
            bytes.extend_from_slice(&table.level.to_le_bytes());
            for value in [table.number, table.size, table.largest_sequence] {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
            for key in [&table.smallest, &table.largest] {
                let length = u32::try_from(key.len()).expect("keys are shorter than 4 GiB");
                bytes.extend_from_slice(&length.to_le_bytes());
                bytes.extend_from_slice(key);
            }
        }
        bytes
    }

    /// Decodes an edit; the error is a reason and the offset inside `bytes`.
    pub(crate) fn decode(bytes: &[u8]) -> std::result::Result<Self, (usize, String)> {
        let mut edit = VersionEdit::default();
        let mut at = 0;
        let u64_at = |at: &mut usize| -> std::result::Result<u64, (usize, String)> {
            let start = *at;
            let chunk = bytes
                .get(start..start + 8)
                .ok_or((start, "edit ends inside a number".to_owned()))?;
            *at += 8;
            let value =
                u64::from_le_bytes(chunk.try_into().map_err(|_| (start, "short".to_owned()))?);
            if value > MAX_NUMBER {
                return Err((start, format!("number {value} is out of range")));
            }
            Ok(value)
        };
        let key_at = |at: &mut usize| -> std::result::Result<Vec<u8>, (usize, String)> {
            let chunk = bytes
                .get(*at..*at + 4)
                .ok_or((*at, "edit ends inside a key length".to_owned()))?;
            let length = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as usize;
            let start = *at + 4;
            let key = bytes
                .get(start..start.saturating_add(length))
                .ok_or((*at, format!("a {length}-byte key runs past the edit")))?;
            *at = start + length;
            Ok(key.to_vec())
        };
        while at < bytes.len() {
            let tag = bytes[at];
            at += 1;
            match tag {
                TAG_LOG_NUMBER => edit.log_number = Some(u64_at(&mut at)?),
                TAG_NEXT_FILE_NUMBER => edit.next_file_number = Some(u64_at(&mut at)?),
                TAG_FLUSHED_SEQUENCE => edit.flushed_sequence = Some(u64_at(&mut at)?),
                TAG_DELETED_TABLE => edit.deleted_tables.push(u64_at(&mut at)?),
                TAG_NEW_LOG => edit.new_logs.push(u64_at(&mut at)?),
                TAG_NEW_TABLE | TAG_NEW_TABLE_AT_LEVEL => {
                    let level = if tag == TAG_NEW_TABLE_AT_LEVEL {
                        let start = at;
                        let chunk = bytes
                            .get(start..start + 4)
                            .ok_or((start, "edit ends inside a level".to_owned()))?;
                        at += 4;
                        let level = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                        if level >= MAX_LEVELS {
                            return Err((start, format!("level {level} is out of range")));
                        }
                        level
                    } else {
                        0
                    };
                    let number = u64_at(&mut at)?;
                    let size = u64_at(&mut at)?;
                    let largest_sequence = u64_at(&mut at)?;
                    let smallest = key_at(&mut at)?;
                    let largest = key_at(&mut at)?;
                    edit.new_tables.push(TableMeta {
                        number,
                        size,
                        largest_sequence,
                        smallest,
                        largest,
                        level,
                    });
                }
                other => return Err((at - 1, format!("unknown version edit tag {other}"))),
            }
        }
        Ok(edit)
    }
}

/// The state the edits add up to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionState {
    pub(crate) log_number: u64,
    pub(crate) next_file_number: u64,
    pub(crate) flushed_sequence: u64,
    /// Level-0 tables, oldest first.
    pub(crate) tables: Vec<TableMeta>,
    /// Listed logs at or above `log_number` (a log not listed yet is
    /// replayed too, if it is on disk).
    pub(crate) logs: BTreeSet<u64>,
}

impl VersionState {
    pub(crate) fn apply(&mut self, edit: &VersionEdit) {
        if let Some(number) = edit.log_number {
            self.log_number = self.log_number.max(number);
        }
        if let Some(number) = edit.next_file_number {
            self.next_file_number = self.next_file_number.max(number);
        }
        if let Some(sequence) = edit.flushed_sequence {
            self.flushed_sequence = self.flushed_sequence.max(sequence);
        }
        self.tables
            .retain(|table| !edit.deleted_tables.contains(&table.number));
        self.tables.extend(edit.new_tables.iter().cloned());
        self.tables.sort_by_key(|table| table.number);
        self.logs.extend(edit.new_logs.iter().copied());
        let live = self.log_number;
        self.logs.retain(|&number| number >= live);
        for table in &edit.new_tables {
            self.next_file_number = self.next_file_number.max(table.number.saturating_add(1));
        }
        for &log in &edit.new_logs {
            self.next_file_number = self.next_file_number.max(log.saturating_add(1));
        }
    }

    /// One edit that recreates this state (the first record of a new MANIFEST).
    pub(crate) fn snapshot(&self) -> VersionEdit {
        VersionEdit {
            log_number: Some(self.log_number),
            next_file_number: Some(self.next_file_number),
            flushed_sequence: Some(self.flushed_sequence),
            new_tables: self.tables.clone(),
            deleted_tables: Vec::new(),
            new_logs: self.logs.iter().copied().collect(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An edit with every kind of field, for the tests of this module and
    /// of the MANIFEST.
    pub(crate) fn sample() -> VersionEdit {
        VersionEdit {
            log_number: Some(4),
            next_file_number: Some(9),
            flushed_sequence: Some(120),
            new_tables: vec![TableMeta {
                number: 5,
                size: 4096,
                largest_sequence: 120,
                smallest: b"a\0\0\0\0\0\0\0\0".to_vec(),
                largest: b"z\0\0\0\0\0\0\0\0".to_vec(),
                level: 2,
            }],
            deleted_tables: vec![2],
            new_logs: vec![6],
        }
    }

    #[test]
    fn edits_round_trip() {
        let edit = sample();
        assert_eq!(VersionEdit::decode(&edit.encode()).unwrap(), edit);
        assert_eq!(VersionEdit::decode(&[]).unwrap(), VersionEdit::default());
    }

    #[test]
    fn every_cut_of_an_edit_is_an_error_not_a_panic() {
        let bytes = sample().encode();
        for cut in 1..bytes.len() {
            let result = VersionEdit::decode(&bytes[..cut]);
            // A cut exactly between fields decodes to a shorter edit.
            if let Ok(edit) = result {
                assert_ne!(edit, sample());
            }
        }
        assert!(VersionEdit::decode(&[99]).is_err());
    }

    #[test]
    fn state_follows_edits_and_snapshot_recreates_it() {
        let mut state = VersionState::default();
        state.apply(&sample());
        state.apply(&VersionEdit {
            log_number: Some(6),
            new_logs: vec![7],
            ..VersionEdit::default()
        });
        assert_eq!(state.log_number, 6);
        assert_eq!(state.logs.iter().copied().collect::<Vec<_>>(), vec![6, 7]);
        assert_eq!(state.next_file_number, 9);
        let mut again = VersionState::default();
        again.apply(&state.snapshot());
        assert_eq!(again, state);
    }
}
