//! The MANIFEST is rolled over while the database runs: once it passes
//! `max_manifest_file_size`, a new one holding a snapshot of the live state
//! replaces it (CURRENT switched, the old one removed), so it never grows
//! without bound and a reopen sees everything.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use strata::fs::SimFs;
use strata::{Db, Error, Options};
use strata_wal::{Reader, ReaderOptions};

const DIRECTORY: &str = "/db";
const LIMIT: u64 = 1024;

fn manifests(fs: &SimFs) -> Vec<String> {
    fs.file_names(Path::new(DIRECTORY))
        .unwrap()
        .into_iter()
        .filter(|name| name.starts_with("MANIFEST-"))
        .collect()
}

/// The next file number the MANIFEST's first record (a snapshot) holds:
/// tag 1 (log number) and its u64, then tag 2 and the next file number
/// (`docs/manifest_format.md`).
fn next_file_number(fs: &SimFs, name: &str) -> u64 {
    let bytes = fs.read_file(&Path::new(DIRECTORY).join(name)).unwrap();
    let first = Reader::new(&bytes[..], ReaderOptions::default())
        .records()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!((first[0], first[9]), (1, 2), "{name}: {first:?}");
    u64::from_le_bytes(first[10..18].try_into().unwrap())
}

fn options() -> Options {
    Options {
        write_buffer_size: 4 << 10,
        max_manifest_file_size: LIMIT,
        ..Options::default()
    }
}

#[test]
fn many_flushes_with_a_1_kib_limit_roll_the_manifest_and_leave_only_the_live_one() {
    let fs = SimFs::new();
    let directory = Path::new(DIRECTORY);
    let db = Db::open_with_fs(Arc::new(fs.clone()), directory, options()).unwrap();
    let mut model = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for index in 0..300u32 {
        let key = format!("key{:04}", index % 97).into_bytes();
        let value = vec![b'a' + (index % 26) as u8; 80 + (index % 40) as usize];
        db.put(&key, &value).unwrap();
        model.insert(key, value);
        if index % 5 == 4 {
            db.flush().unwrap();
            let live = manifests(&fs);
            assert_eq!(live.len(), 1, "after write {index}: {live:?}");
            let current = fs.read_file(&directory.join("CURRENT")).unwrap();
            assert_eq!(current, format!("{}\n", live[0]).into_bytes());
            // Past the limit by at most the edit that crossed it.
            let size = fs.read_file(&directory.join(&live[0])).unwrap().len() as u64;
            assert!(size <= LIMIT + 512, "{} is {size} bytes", live[0]);
            // The snapshot records a next file number past its own.
            let number: u64 = live[0]["MANIFEST-".len()..].parse().unwrap();
            assert!(next_file_number(&fs, &live[0]) > number, "{}", live[0]);
            seen.insert(live[0].clone());
        }
    }
    assert!(
        seen.len() >= 5,
        "the MANIFEST rolled over only {} times: {seen:?}",
        seen.len() - 1
    );
    let contents: BTreeMap<Vec<u8>, Vec<u8>> = db.iter().collect::<Result<_, _>>().unwrap();
    assert!(contents == model);
    drop(db);

    let db = Db::open_with_fs(Arc::new(fs.clone()), directory, options()).unwrap();
    let reopened: BTreeMap<Vec<u8>, Vec<u8>> = db.iter().collect::<Result<_, _>>().unwrap();
    assert!(reopened == model, "the reopen lost data");
    assert_eq!(manifests(&fs).len(), 1);
}

#[test]
fn the_default_limit_is_64_mib() {
    assert_eq!(Options::default().max_manifest_file_size, 64 << 20);
}

#[test]
fn a_failure_at_any_step_of_a_rollover_poisons_the_database() {
    // A 1-byte limit: every MANIFEST edit is followed by a rollover.
    let options = Options {
        max_manifest_file_size: 1,
        ..options()
    };
    let directory = Path::new(DIRECTORY);
    let prepare = || {
        let fs = SimFs::new();
        let db = Db::open_with_fs(Arc::new(fs.clone()), directory, options.clone()).unwrap();
        db.put(b"key", b"value").unwrap();
        (fs, db)
    };
    // The operations of an undisturbed flush: a log switch (which makes no
    // MANIFEST edit: its log is listed at its first sync) and a table,
    // recorded by an edit and a rollover (21 operations in all).
    let (counting, db) = prepare();
    let before = counting.operation_count();
    db.flush().unwrap();
    let operations = counting.operation_count() - before;
    assert!(operations >= 18, "{operations} operations");
    drop(db);

    for fail_after in 0..operations {
        let (fs, db) = prepare();
        fs.fail_after(fail_after);
        let flushed = db.flush();
        fs.clear_faults();
        if flushed.is_ok() {
            // Only the removal of the flushed log (and its directory sync)
            // comes after what `flush` waits for.
            assert!(fail_after >= operations - 2, "failure after {fail_after}");
        } else {
            let later = db.put(b"other", b"value").unwrap_err();
            assert!(
                matches!(later, Error::Poisoned { .. }),
                "failure after {fail_after}: {later}"
            );
        }
        drop(db);
        // Whatever failed, a reopen sees the acknowledged write and one
        // MANIFEST.
        let db = Db::open_with_fs(Arc::new(fs.clone()), directory, options.clone()).unwrap();
        assert_eq!(db.get(b"key").unwrap(), Some(b"value".to_vec()));
        assert_eq!(manifests(&fs).len(), 1, "failure after {fail_after}");
    }
}
