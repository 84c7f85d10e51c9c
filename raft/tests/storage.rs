//! raft-rs's own `MemStorage` test expectations, held against
//! `RaftStorage` (the cases of raft-rs 0.7's `storage.rs` tests), each also
//! after a reopen; plus what the adapter adds: errors where `MemStorage`
//! panics, corrupt values named by key, and the recovery mode's effect on a
//! torn log.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use protobuf::Message as _;
use raft::prelude::{ConfState, Entry, HardState, Snapshot};
use raft::{Error as RaftError, GetEntriesContext, Storage, StorageError};
use strata::{Options, RecoveryMode, WriteOptions};
use strata_raft::{OpenError, RaftStorage};
use tempfile::TempDir;

fn new_entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        ..Entry::default()
    }
}

fn new_snapshot(index: u64, term: u64, voters: Vec<u64>) -> Snapshot {
    let mut snapshot = Snapshot::default();
    snapshot.mut_metadata().index = index;
    snapshot.mut_metadata().term = term;
    snapshot.mut_metadata().mut_conf_state().voters = voters;
    snapshot
}

fn open(path: &Path) -> RaftStorage {
    RaftStorage::open(path, Options::default()).unwrap()
}

/// A storage whose log holds `entries` (contiguous): the log is first
/// truncated at the entry before them by a snapshot (`MemStorage`'s tests
/// set its entry vector directly, which a durable store cannot).
fn storage_with(entries: &[Entry]) -> (TempDir, RaftStorage) {
    let directory = tempfile::tempdir().unwrap();
    let storage = open(&directory.path().join("raft"));
    if let Some(first) = entries.first()
        && first.index > 1
    {
        let before = first.index - 1;
        storage
            .apply_snapshot(new_snapshot(before, before, vec![]))
            .unwrap();
    }
    storage.append(entries).unwrap();
    (directory, storage)
}

fn reopen(directory: &TempDir, storage: RaftStorage) -> RaftStorage {
    storage.close().unwrap();
    open(&directory.path().join("raft"))
}

fn three_to_five() -> Vec<Entry> {
    vec![new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)]
}

#[test]
fn term_of_each_index() {
    let (directory, storage) = storage_with(&three_to_five());
    let check = |storage: &RaftStorage| {
        // `MemStorage` answers Compacted for 2 here only because its test
        // never records the term before the first entry; the trait keeps
        // that term "for matching purpose", and so does this storage.
        assert_eq!(storage.term(2), Ok(2));
        assert_eq!(
            storage.term(1),
            Err(RaftError::Store(StorageError::Compacted))
        );
        assert_eq!(storage.term(3), Ok(3));
        assert_eq!(storage.term(4), Ok(4));
        assert_eq!(storage.term(5), Ok(5));
        assert_eq!(
            storage.term(6),
            Err(RaftError::Store(StorageError::Unavailable))
        );
    };
    check(&storage);
    check(&reopen(&directory, storage));
}

#[test]
fn entries_in_a_range_limited_by_size() {
    let ents = vec![
        new_entry(3, 3),
        new_entry(4, 4),
        new_entry(5, 5),
        new_entry(6, 6),
    ];
    let size = |entry: &Entry| u64::from(entry.compute_size());
    let max = u64::MAX;
    type Case = (u64, u64, u64, Result<Vec<Entry>, RaftError>);
    let cases: Vec<Case> = vec![
        (2, 6, max, Err(RaftError::Store(StorageError::Compacted))),
        (3, 4, max, Ok(vec![new_entry(3, 3)])),
        (4, 5, max, Ok(vec![new_entry(4, 4)])),
        (4, 6, max, Ok(vec![new_entry(4, 4), new_entry(5, 5)])),
        (
            4,
            7,
            max,
            Ok(vec![new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]),
        ),
        // Even with a zero limit the first entry comes back.
        (4, 7, 0, Ok(vec![new_entry(4, 4)])),
        (
            4,
            7,
            size(&ents[1]) + size(&ents[2]),
            Ok(vec![new_entry(4, 4), new_entry(5, 5)]),
        ),
        (
            4,
            7,
            size(&ents[1]) + size(&ents[2]) + size(&ents[3]) / 2,
            Ok(vec![new_entry(4, 4), new_entry(5, 5)]),
        ),
        (
            4,
            7,
            size(&ents[1]) + size(&ents[2]) + size(&ents[3]) - 1,
            Ok(vec![new_entry(4, 4), new_entry(5, 5)]),
        ),
        (
            4,
            7,
            size(&ents[1]) + size(&ents[2]) + size(&ents[3]),
            Ok(vec![new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]),
        ),
        // Past the last index: an error where `MemStorage` panics.
        (4, 8, max, Err(RaftError::Store(StorageError::Unavailable))),
    ];
    let (directory, storage) = storage_with(&ents);
    let reopened = reopen(&directory, storage);
    for (case, (low, high, max_size, expected)) in cases.into_iter().enumerate() {
        let got = reopened.entries(low, high, max_size, GetEntriesContext::empty(false));
        assert_eq!(
            got, expected,
            "case {case}: entries({low}, {high}, {max_size})"
        );
    }
}

#[test]
fn last_index_follows_appends_across_reopens() {
    let (directory, storage) = storage_with(&three_to_five());
    assert_eq!(storage.last_index(), Ok(5));
    storage.append(&[new_entry(6, 5)]).unwrap();
    assert_eq!(storage.last_index(), Ok(6));
    let storage = reopen(&directory, storage);
    assert_eq!(storage.last_index(), Ok(6));
    assert_eq!(storage.first_index(), Ok(3));
}

#[test]
fn first_index_after_compaction() {
    let (directory, storage) = storage_with(&three_to_five());
    assert_eq!(storage.first_index(), Ok(3));
    storage.compact(4).unwrap();
    assert_eq!(storage.first_index(), Ok(4));
    let storage = reopen(&directory, storage);
    assert_eq!(storage.first_index(), Ok(4));
    assert_eq!(storage.term(3), Ok(3), "the term before the first is kept");
}

#[test]
fn compaction_cases() {
    // (compact to, first index, its term, entries left)
    for (case, (index, want_first, want_term, want_len)) in
        [(2, 3, 3, 3), (3, 3, 3, 3), (4, 4, 4, 2), (5, 5, 5, 1)]
            .into_iter()
            .enumerate()
    {
        let (directory, storage) = storage_with(&three_to_five());
        storage.compact(index).unwrap();
        let storage = reopen(&directory, storage);
        let first = storage.first_index().unwrap();
        assert_eq!(first, want_first, "case {case}");
        let term = storage
            .entries(first, first + 1, 1, GetEntriesContext::empty(false))
            .unwrap()[0]
            .term;
        assert_eq!(term, want_term, "case {case}");
        let last = storage.last_index().unwrap();
        let len = storage
            .entries(first, last + 1, 100, GetEntriesContext::empty(false))
            .unwrap()
            .len();
        assert_eq!(len, want_len, "case {case}");
    }
    // The whole log: the first index moves past it and the last entry's
    // term is kept (`MemStorage` falls back to its snapshot's index here).
    let (directory, storage) = storage_with(&three_to_five());
    storage.compact(6).unwrap();
    let storage = reopen(&directory, storage);
    assert_eq!(storage.first_index(), Ok(6));
    assert_eq!(storage.last_index(), Ok(5));
    assert_eq!(storage.term(5), Ok(5));
    storage.append(&[new_entry(6, 6)]).unwrap();
    assert_eq!(storage.last_index(), Ok(6));
    // Past the last index + 1: an error where `MemStorage` panics.
    let (_directory, storage) = storage_with(&three_to_five());
    assert!(storage.compact(7).is_err());
    assert_eq!(storage.first_index(), Ok(3));
}

#[test]
fn snapshots_created_and_served() {
    let voters = vec![1, 2, 3];
    for (index, request) in [(4, 0), (5, 5)] {
        let (directory, storage) = storage_with(&three_to_five());
        storage
            .set_conf_state(ConfState::from((voters.clone(), vec![])))
            .unwrap();
        storage.create_snapshot(index, b"state".to_vec()).unwrap();
        let storage = reopen(&directory, storage);
        let mut expected = new_snapshot(index, index, voters.clone());
        expected.data = b"state".to_vec().into();
        assert_eq!(storage.snapshot(request, 0), Ok(expected));
    }
    // A request past the latest snapshot: temporarily unavailable (the
    // application makes a newer one; `MemStorage` relabels its snapshot).
    let directory = tempfile::tempdir().unwrap();
    let storage = open(&directory.path().join("raft"));
    storage.append(&[new_entry(1, 1), new_entry(2, 1)]).unwrap();
    assert_eq!(
        storage.snapshot(0, 0),
        Err(RaftError::Store(
            StorageError::SnapshotTemporarilyUnavailable
        ))
    );
    storage.create_snapshot(2, Vec::new()).unwrap();
    assert_eq!(storage.snapshot(2, 0).unwrap().get_metadata().index, 2);
    assert_eq!(
        storage.snapshot(3, 0),
        Err(RaftError::Store(
            StorageError::SnapshotTemporarilyUnavailable
        ))
    );
}

#[test]
fn append_cases() {
    let cases: Vec<(Vec<Entry>, Option<Vec<Entry>>)> = vec![
        (three_to_five(), Some(three_to_five())),
        (
            vec![new_entry(3, 3), new_entry(4, 6), new_entry(5, 6)],
            Some(vec![new_entry(3, 3), new_entry(4, 6), new_entry(5, 6)]),
        ),
        (
            vec![
                new_entry(3, 3),
                new_entry(4, 4),
                new_entry(5, 5),
                new_entry(6, 5),
            ],
            Some(vec![
                new_entry(3, 3),
                new_entry(4, 4),
                new_entry(5, 5),
                new_entry(6, 5),
            ]),
        ),
        // Overwriting compacted entries: an error (a panic in `MemStorage`).
        (
            vec![new_entry(2, 3), new_entry(3, 3), new_entry(4, 5)],
            None,
        ),
        // Truncate the existing entries and append.
        (
            vec![new_entry(4, 5)],
            Some(vec![new_entry(3, 3), new_entry(4, 5)]),
        ),
        // Direct append.
        (
            vec![new_entry(6, 6)],
            Some(vec![
                new_entry(3, 3),
                new_entry(4, 4),
                new_entry(5, 5),
                new_entry(6, 6),
            ]),
        ),
        // A gap: an error (a panic in `MemStorage`).
        (vec![new_entry(8, 6)], None),
    ];
    for (case, (appended, expected)) in cases.into_iter().enumerate() {
        let (directory, storage) = storage_with(&three_to_five());
        let result = storage.append(&appended);
        let storage = reopen(&directory, storage);
        let last = storage.last_index().unwrap();
        let stored = storage
            .entries(3, last + 1, None, GetEntriesContext::empty(false))
            .unwrap();
        match expected {
            Some(expected) => {
                result.unwrap();
                assert_eq!(stored, expected, "case {case}");
            }
            None => {
                assert!(result.is_err(), "case {case}");
                assert_eq!(stored, three_to_five(), "case {case}: nothing changed");
            }
        }
    }
}

#[test]
fn apply_snapshot_then_an_older_one_is_out_of_date() {
    let directory = tempfile::tempdir().unwrap();
    let storage = open(&directory.path().join("raft"));
    storage.append(&[new_entry(1, 1), new_entry(2, 1)]).unwrap();
    storage
        .apply_snapshot(new_snapshot(4, 4, vec![1, 2, 3]))
        .unwrap();
    let storage = reopen(&directory, storage);
    assert_eq!(storage.first_index(), Ok(5));
    assert_eq!(storage.last_index(), Ok(4));
    assert_eq!(storage.term(4), Ok(4));
    let state = storage.initial_state().unwrap();
    assert_eq!(state.hard_state.commit, 4);
    assert_eq!(state.hard_state.term, 4);
    assert_eq!(state.conf_state.voters, vec![1, 2, 3]);
    assert_eq!(
        storage.apply_snapshot(new_snapshot(3, 3, vec![1, 2, 3])),
        Err(RaftError::Store(StorageError::SnapshotOutOfDate))
    );
}

#[test]
fn hard_state_and_conf_state_survive_a_reopen() {
    let directory = tempfile::tempdir().unwrap();
    let storage = open(&directory.path().join("raft"));
    assert!(!storage.initial_state().unwrap().initialized());
    storage
        .initialize_with_conf_state(ConfState::from((vec![1, 2, 3], vec![])))
        .unwrap();
    assert!(
        storage
            .initialize_with_conf_state(ConfState::from((vec![1], vec![])))
            .is_err(),
        "a second initialization is refused"
    );
    let hard_state = HardState {
        term: 7,
        vote: 2,
        commit: 0,
        ..HardState::default()
    };
    storage.set_hard_state(&hard_state).unwrap();
    let storage = reopen(&directory, storage);
    let state = storage.initial_state().unwrap();
    assert_eq!(state.hard_state, hard_state);
    assert_eq!(state.conf_state.voters, vec![1, 2, 3]);
}

#[test]
fn corrupt_values_and_holes_are_errors_naming_the_key() {
    let (directory, storage) = storage_with(&three_to_five());
    let db_key = |index: u64| {
        let mut key = vec![0x01];
        key.extend_from_slice(&index.to_be_bytes());
        key
    };
    // Bytes that do not decode as an entry (a field tag with a truncated
    // length).
    storage
        .db()
        .write(
            {
                let mut batch = strata::WriteBatch::new();
                batch.put(db_key(4), [0x22, 0x7f, 0x01]);
                batch
            },
            &WriteOptions::SYNC,
        )
        .unwrap();
    let error = storage.term(4).unwrap_err().to_string();
    assert!(error.contains("entry 4"), "{error}");
    let error = storage
        .entries(3, 6, None, GetEntriesContext::empty(false))
        .unwrap_err()
        .to_string();
    assert!(error.contains("entry 4"), "{error}");

    // A hole inside the log.
    storage.db().delete(db_key(4)).unwrap();
    let error = storage
        .entries(3, 6, None, GetEntriesContext::empty(false))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("entry 4") && error.contains("hole"),
        "{error}"
    );

    // A log whose first entry does not follow the truncation point.
    storage.db().delete(db_key(3)).unwrap();
    storage.close().unwrap();
    let Err(OpenError::Raft(error)) =
        RaftStorage::open(directory.path().join("raft"), Options::default())
    else {
        panic!("a log starting after a hole opened");
    };
    assert!(error.to_string().contains("entry 5"), "{error}");
}

/// The scenario behind the project: a crash tears the last record of the
/// log. AbsoluteConsistency refuses naming the file and offset; the dry run
/// says what PointInTimeRecovery keeps; PointInTimeRecovery opens with
/// every complete entry.
#[test]
fn a_torn_log_tail_is_refused_under_absolute_and_recovered_under_point_in_time() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("raft");
    // No zeros prefilled after the last entry's record, so that cutting
    // the log's last bytes tears it.
    let storage = RaftStorage::open(&path, Options::default().with_wal_prefill_bytes(0)).unwrap();
    for index in 1..=20 {
        storage.append(&[new_entry(index, 1)]).unwrap();
    }
    storage.close().unwrap();
    let log = std::fs::read_dir(&path)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .max()
        .unwrap();
    let length = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(length - 3)
        .unwrap();

    let absolute = Options::default().with_recovery_mode(RecoveryMode::AbsoluteConsistency);
    let Err(OpenError::Database(error)) = RaftStorage::open(&path, absolute) else {
        panic!("absolute-consistency opened a torn log");
    };
    let text = error.to_string();
    let name = log.file_name().unwrap().to_string_lossy().into_owned();
    assert!(text.contains(&name) && text.contains("offset"), "{text}");

    let point_in_time = Options::default().with_recovery_mode(RecoveryMode::PointInTimeRecovery);
    let dry_run = strata::Db::inspect_recovery(&path, &point_in_time).unwrap();
    assert_eq!(dry_run.dropped.len(), 1, "{dry_run}");
    let storage = RaftStorage::open(&path, point_in_time).unwrap();
    assert_eq!(storage.recovery_report().dropped, dry_run.dropped);
    assert_eq!(storage.last_index(), Ok(19), "the torn entry 20 is gone");
    assert_eq!(storage.term(19), Ok(1));
}
