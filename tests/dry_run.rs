//! A dry run (`Db::inspect_recovery`) creates and changes no file, `LOCK`
//! included; a missing directory is "not found", not a lock error; a
//! database open elsewhere is still refused as locked; and the report counts
//! the user's batches, not the empty marker batch each new log starts with.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use strata::{Db, ErrorKind, Options, RecoveryMode, WriteBatch, WriteOptions};

fn contents(directory: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = if path.is_dir() {
                Vec::new()
            } else {
                std::fs::read(&path).unwrap()
            };
            (name, bytes)
        })
        .collect()
}

#[test]
fn a_dry_run_of_a_missing_directory_is_not_found_and_creates_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("no-such-db");
    let error = Db::inspect_recovery(&missing, &Options::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(!missing.exists());
}

/// Before the fix, a dry run took the lock by creating `LOCK`.
#[test]
fn a_dry_run_of_a_directory_without_lock_creates_no_lock() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("notes.txt"), b"not a database").unwrap();
    let before = contents(directory.path());
    for mode in RecoveryMode::ALL {
        let options = Options::default().with_recovery_mode(mode);
        let error = Db::inspect_recovery(directory.path(), &options).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    }
    assert_eq!(
        contents(directory.path()),
        before,
        "the dry run wrote a file"
    );
    assert!(!directory.path().join("LOCK").exists());

    // A database whose LOCK was removed (copied without it) is read
    // without a lock, and still gets none.
    let db_path = directory.path().join("db");
    Db::open(&db_path, Options::default())
        .unwrap()
        .close()
        .unwrap();
    std::fs::remove_file(db_path.join("LOCK")).unwrap();
    let before = contents(&db_path);
    Db::inspect_recovery(&db_path, &Options::default()).unwrap();
    assert_eq!(contents(&db_path), before);
}

#[test]
fn a_dry_run_of_a_closed_database_changes_nothing_and_an_open_one_is_locked() {
    let directory = tempfile::tempdir().unwrap();
    let db = Db::open(directory.path(), Options::default()).unwrap();
    db.put("k", "v").unwrap();
    let error = Db::inspect_recovery(directory.path(), &Options::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Locked, "{error}");
    db.close().unwrap();

    let before = contents(directory.path());
    let report = Db::inspect_recovery(directory.path(), &Options::default()).unwrap();
    assert_eq!(report.updates_applied, 1);
    assert_eq!(contents(directory.path()), before);
}

/// Every new log starts with an empty marker batch; before the fix it was
/// reported as one more applied batch than the user wrote.
#[test]
fn the_report_counts_user_batches_not_the_marker() {
    let directory = tempfile::tempdir().unwrap();
    {
        let db = Db::open(directory.path(), Options::default()).unwrap();
        db.put("a", "1").unwrap();
        let mut batch = WriteBatch::new();
        batch.put("b", "2").put("c", "3");
        db.write(batch, &WriteOptions::SYNC).unwrap();
        db.close().unwrap();
    }
    let report = Db::inspect_recovery(directory.path(), &Options::default()).unwrap();
    assert_eq!(report.batches_applied, 2, "{report}");
    assert_eq!(report.updates_applied, 3, "{report}");
    assert_eq!(
        report.logs.iter().map(|log| log.batches).sum::<u64>(),
        2,
        "{report}"
    );

    // Reopened without writes: only the marker of the new log is replayed.
    drop(Db::open(directory.path(), Options::default()).unwrap());
    let db = Db::open(directory.path(), Options::default()).unwrap();
    assert_eq!(db.recovery_report().batches_applied, 0);
    assert_eq!(db.get("c").unwrap(), Some(b"3".to_vec()));
}
