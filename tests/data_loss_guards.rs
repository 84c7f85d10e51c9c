//! Guards against the data-loss paths and misuse found by probing the public
//! API as a new user would: a lost CURRENT, a database directory whose entry
//! was never synced, snapshots used with the wrong database, oversized keys
//! and values, and huge or sparse metadata files. Each test fails without
//! the guard it names.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use strata::fs::{CrashOptions, SimFs};
use strata::{Db, Error, ErrorKind, MAX_FIELD_BYTES, Options, WriteBatch, WriteOptions};

/// Every file under `directory` (recursively) with its bytes.
fn contents(directory: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            for (inner, bytes) in contents(&path) {
                files.insert(format!("{name}/{inner}"), bytes);
            }
        } else {
            files.insert(name, std::fs::read(&path).unwrap());
        }
    }
    files
}

fn small_tables() -> Options {
    Options {
        write_buffer_size: 4 << 10,
        ..Options::default()
    }
}

/// Before the guard, `Db::open` with `create_if_missing` took a directory
/// without CURRENT for a new database and deleted every table as obsolete:
/// the open succeeded with no keys.
#[test]
fn an_open_refuses_a_database_whose_current_is_missing_and_changes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    {
        let db = Db::open(directory.path(), small_tables()).unwrap();
        for index in 0..200u32 {
            db.put(format!("key{index:04}").as_bytes(), [7; 64])
                .unwrap();
        }
        db.flush().unwrap();
        db.put(b"in-the-log", b"yes").unwrap();
    }
    std::fs::remove_file(directory.path().join("CURRENT")).unwrap();
    let before = contents(directory.path());
    assert!(
        before.keys().any(|name| name.ends_with(".sst")),
        "{before:?}"
    );

    let error = Db::open(directory.path(), small_tables()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingCurrent, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("no CURRENT") && text.contains(".sst"),
        "{text}"
    );
    let dry_run = Db::inspect_recovery(directory.path(), &small_tables()).unwrap_err();
    assert_eq!(dry_run.kind(), ErrorKind::MissingCurrent, "{dry_run}");

    let mut after = contents(directory.path());
    after.remove("LOCK");
    let mut expected = before.clone();
    expected.remove("LOCK");
    assert_eq!(after, expected, "a refused open must change nothing");

    // Restoring CURRENT brings the database back whole.
    let manifest = before
        .keys()
        .find(|name| name.starts_with("MANIFEST-"))
        .unwrap();
    std::fs::write(directory.path().join("CURRENT"), format!("{manifest}\n")).unwrap();
    let db = Db::open(directory.path(), small_tables()).unwrap();
    assert_eq!(db.get(b"key0123").unwrap(), Some(vec![7; 64]));
    assert_eq!(db.get(b"in-the-log").unwrap(), Some(b"yes".to_vec()));
}

/// Before the guard, the database directory was created without a sync of
/// its parent: a power cut could take the directory, with the synced log in
/// it, away.
#[test]
fn a_new_database_directory_survives_a_power_cut_after_the_first_synced_write() {
    let fs = SimFs::new();
    let directory = Path::new("/data/db");
    let db = Db::open_with_fs(Arc::new(fs.clone()), directory, Options::default()).unwrap();
    let mut batch = WriteBatch::new();
    batch.put(b"first", b"durable");
    db.write(batch, &WriteOptions::SYNC).unwrap();
    let image = fs.fork();
    drop(db);
    image.crash(CrashOptions::default());
    let db = Db::open_with_fs(Arc::new(image), directory, Options::default()).unwrap();
    assert_eq!(db.get(b"first").unwrap(), Some(b"durable".to_vec()));
}

/// The simulated file system itself: a directory whose parent was never
/// synced is gone after a crash, with what was in it.
#[test]
fn the_simulated_file_system_loses_a_directory_whose_parent_was_not_synced() {
    use strata::fs::FileSystem;
    let fs = SimFs::new();
    fs.create_dir_all(Path::new("/data/lost")).unwrap();
    fs.create_dir_all(Path::new("/data/kept")).unwrap();
    fs.sync_dir(Path::new("/")).unwrap();
    let mut file = fs.create(Path::new("/data/lost/file")).unwrap();
    std::io::Write::write_all(&mut file, b"synced").unwrap();
    file.sync().unwrap();
    fs.sync_dir(Path::new("/data/lost")).unwrap();
    let kept = fs.fork();
    kept.sync_dir(Path::new("/data")).unwrap();
    fs.crash(CrashOptions::default());
    assert!(!fs.exists(Path::new("/data/lost")));
    assert!(fs.exists(Path::new("/data")));
    kept.crash(CrashOptions::default());
    assert!(kept.exists(Path::new("/data/lost/file")));
    assert!(kept.exists(Path::new("/data/kept")));
}

/// Before the guard, a snapshot of one database read another database at
/// the first one's sequence number, silently.
#[test]
fn a_snapshot_used_with_another_database_is_an_invalid_argument() {
    let first_directory = tempfile::tempdir().unwrap();
    let second_directory = tempfile::tempdir().unwrap();
    let first = Db::open(first_directory.path(), Options::default()).unwrap();
    let second = Db::open(second_directory.path(), Options::default()).unwrap();
    first.put(b"k", b"first").unwrap();
    second.put(b"k", b"second").unwrap();
    let snapshot = first.snapshot();
    assert_eq!(
        first.get_at(b"k", &snapshot).unwrap(),
        Some(b"first".to_vec())
    );

    let error = second.get_at(b"k", &snapshot).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    let mut iterator = second.range_at::<&[u8], _>(.., &snapshot);
    assert!(matches!(
        iterator.next(),
        Some(Err(Error::InvalidArgument(_)))
    ));
    assert!(iterator.next().is_none());

    // A snapshot that outlives its handle does not fit the reopened one.
    drop(first);
    let reopened = Db::open(first_directory.path(), Options::default()).unwrap();
    assert!(reopened.get_at(b"k", &snapshot).is_err());
}

/// Before the guard, a key or value of 4 GiB or more panicked inside the
/// batch encoder.
#[test]
fn an_oversized_value_is_refused_and_the_database_goes_on() {
    let directory = tempfile::tempdir().unwrap();
    let db = Db::open(directory.path(), Options::default()).unwrap();
    // Zeroed pages are mapped lazily: this costs no real memory.
    let huge = vec![0_u8; MAX_FIELD_BYTES + 1];
    let mut batch = WriteBatch::new();
    batch.put(b"fine", b"1").put(b"huge", &huge);
    let error = db.write(batch, &WriteOptions::SYNC).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert_eq!(db.get(b"fine").unwrap(), None, "the batch is refused whole");
    db.put(b"after", b"2").unwrap();
    assert_eq!(db.get(b"after").unwrap(), Some(b"2".to_vec()));
}

/// Before the guard, a 6 GiB sparse CURRENT was read whole (32 s, 6.3 GB of
/// memory) before being rejected. Now its length alone refuses it; the
/// same holds for a MANIFEST past its limit.
#[test]
fn a_huge_current_or_manifest_is_refused_by_its_length_without_being_read() {
    let directory = tempfile::tempdir().unwrap();
    drop(Db::open(directory.path(), Options::default()).unwrap());
    let current = directory.path().join("CURRENT");
    let name = std::fs::read_to_string(&current).unwrap();
    let manifest = directory.path().join(name.trim_end());

    let sparse = std::fs::OpenOptions::new()
        .write(true)
        .open(&current)
        .unwrap();
    sparse.set_len(6 << 30).unwrap();
    let error = Db::open(directory.path(), Options::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corruption, "{error}");
    assert!(error.to_string().contains("CURRENT"), "{error}");
    sparse.set_len(name.len() as u64).unwrap();
    drop(sparse);

    let original = std::fs::read(&manifest).unwrap();
    let sparse = std::fs::OpenOptions::new()
        .write(true)
        .open(&manifest)
        .unwrap();
    sparse.set_len(2 << 30).unwrap();
    let error = Db::open(directory.path(), Options::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corruption, "{error}");
    assert!(error.to_string().contains("MANIFEST-"), "{error}");
    sparse.set_len(original.len() as u64).unwrap();
    drop(sparse);
    Db::open(directory.path(), Options::default()).unwrap();
}

/// Before the guard, a dry run did not look at the tables, so it predicted
/// an open that then failed on a table the MANIFEST lists but the directory
/// lacks (found by the power-loss harness's negative control).
#[test]
fn a_dry_run_fails_like_the_open_when_a_listed_table_is_missing() {
    let directory = tempfile::tempdir().unwrap();
    {
        let db = Db::open(directory.path(), small_tables()).unwrap();
        for index in 0..100u32 {
            db.put(format!("key{index:04}"), [7; 64]).unwrap();
        }
        db.flush().unwrap();
    }
    let table = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|extension| extension == "sst"))
        .unwrap();
    std::fs::remove_file(&table).unwrap();
    let dry_run = Db::inspect_recovery(directory.path(), &small_tables()).unwrap_err();
    let open = Db::open(directory.path(), small_tables()).unwrap_err();
    assert_eq!(dry_run.kind(), open.kind(), "{dry_run} / {open}");
    let name = table.file_name().unwrap().to_string_lossy().into_owned();
    assert!(dry_run.to_string().contains(&name), "{dry_run}");
}

/// Under SkipAnyCorruptedRecords a stale batch (an old sequence found late
/// in a log) can land in a newer level-0 table than the key's newest
/// version. Before the guard, `get` returned the stale value while the
/// iterator returned the newest.
#[test]
fn a_stale_batch_recovered_under_skip_any_does_not_shadow_a_newer_version() {
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let options = Options {
        recovery_mode: strata::RecoveryMode::SkipAnyCorruptedRecords,
        write_buffer_size: 512,
        level0_compaction_trigger: 64,
        level0_slowdown_writes_trigger: 64,
        level0_stop_writes_trigger: 64,
        ..Options::default()
    };
    {
        let db = Db::open_with_fs(Arc::new(fs.clone()), directory, options.clone()).unwrap();
        db.put("k", "v1").unwrap();
        for index in 0..38u32 {
            db.put(format!("x{index:02}"), [1; 40]).unwrap();
        }
        db.put("k", "newest").unwrap();
    }
    // Append a batch at sequence 2 (an old one) putting `k` to the log.
    let log = fs
        .file_names(directory)
        .unwrap()
        .into_iter()
        .find(|name| name.ends_with(".log"))
        .unwrap();
    let path = directory.join(log);
    let mut bytes = fs.read_file(&path).unwrap();
    let mut writer = strata_wal::Writer::with_offset(
        Vec::new(),
        strata_wal::WriterOptions::default(),
        bytes.len() as u64,
    );
    let stale = strata_wal::batch::BatchBuilder::new()
        .put(b"k", b"stale")
        .finish(2);
    writer.add_record(&stale).unwrap();
    bytes.extend_from_slice(&writer.into_inner());
    fs.set_file_bytes(&path, &bytes).unwrap();

    let db = Db::open_with_fs(Arc::new(fs.clone()), directory, options).unwrap();
    assert!(db.levels()[0].tables >= 2, "{:?}", db.levels());
    let from_iterator = db
        .iter()
        .map(Result::unwrap)
        .find(|(key, _)| key == b"k")
        .map(|(_, value)| value);
    assert_eq!(from_iterator, Some(b"newest".to_vec()));
    assert_eq!(db.get("k").unwrap(), Some(b"newest".to_vec()));
}
