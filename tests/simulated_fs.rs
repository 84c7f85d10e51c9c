//! Protects the crash model of `SimFs`, which every crash test of the engine
//! relies on: only synced bytes and synced directory entries survive a crash
//! (plus, on request, a torn prefix of unsynced bytes and nothing else), the
//! same seed gives the same crash, and injected failures hit exactly the
//! operation they were aimed at.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use strata::fs::{CrashOptions, FileSystem, SimFs};

const DIRECTORY: &str = "/db";

fn database() -> SimFs {
    let fs = SimFs::new();
    fs.create_dir_all(Path::new(DIRECTORY)).unwrap();
    // A new directory is durable once its parent is synced, as the engine
    // does when it creates a database.
    fs.sync_dir(Path::new("/")).unwrap();
    fs
}

fn path(name: &str) -> PathBuf {
    Path::new(DIRECTORY).join(name)
}

/// Creates `name` with `synced` synced, then appends `unsynced` without sync,
/// and makes the directory entry durable.
fn file_with_unsynced_tail(fs: &SimFs, name: &str, synced: &[u8], unsynced: &[u8]) {
    let mut file = fs.create(&path(name)).unwrap();
    file.write_all(synced).unwrap();
    file.sync().unwrap();
    fs.sync_dir(Path::new(DIRECTORY)).unwrap();
    file.write_all(unsynced).unwrap();
}

fn torn(seed: u64) -> CrashOptions {
    CrashOptions {
        seed,
        keep_torn_prefix: true,
        ..CrashOptions::default()
    }
}

#[test]
fn unsynced_appends_vanish_on_crash() {
    let fs = database();
    file_with_unsynced_tail(&fs, "000001.log", b"synced", b" and not synced");
    assert_eq!(
        fs.read_file(&path("000001.log")).unwrap(),
        b"synced and not synced"
    );
    fs.crash(CrashOptions::default());
    assert_eq!(fs.read_file(&path("000001.log")).unwrap(), b"synced");
}

#[test]
fn synced_appends_survive_a_crash() {
    let fs = database();
    file_with_unsynced_tail(&fs, "000001.log", b"first", b"");
    let mut file = fs.open_append(&path("000001.log")).unwrap();
    file.write_all(b" second").unwrap();
    file.sync().unwrap();
    fs.crash(CrashOptions::default());
    assert_eq!(fs.read_file(&path("000001.log")).unwrap(), b"first second");
}

#[test]
fn a_file_created_without_sync_dir_vanishes_on_crash_even_if_its_data_was_synced() {
    let fs = database();
    let mut file = fs.create(&path("000002.sst")).unwrap();
    file.write_all(b"table").unwrap();
    file.sync().unwrap();
    assert!(fs.exists(&path("000002.sst")));
    fs.crash(CrashOptions::default());
    assert!(!fs.exists(&path("000002.sst")));
    assert!(fs.list(Path::new(DIRECTORY)).unwrap().is_empty());
    assert_eq!(
        fs.open_read(&path("000002.sst")).err().unwrap().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn a_file_created_and_then_sync_dir_survives_a_crash() {
    let fs = database();
    let mut file = fs.create(&path("000002.sst")).unwrap();
    file.write_all(b"table").unwrap();
    file.sync().unwrap();
    fs.sync_dir(Path::new(DIRECTORY)).unwrap();
    fs.crash(CrashOptions::default());
    assert_eq!(fs.read_file(&path("000002.sst")).unwrap(), b"table");
}

#[test]
fn a_rename_without_sync_dir_reverts_on_crash() {
    let fs = database();
    fs.write_file_durably(&path("CURRENT"), b"MANIFEST-000001\n")
        .unwrap();
    file_with_unsynced_tail(&fs, "CURRENT.tmp", b"MANIFEST-000002\n", b"");
    fs.rename(&path("CURRENT.tmp"), &path("CURRENT")).unwrap();
    assert_eq!(
        fs.read_file(&path("CURRENT")).unwrap(),
        b"MANIFEST-000002\n"
    );
    assert_eq!(
        fs.file_names(Path::new(DIRECTORY)).unwrap(),
        vec!["CURRENT"]
    );

    fs.crash(CrashOptions::default());
    assert_eq!(
        fs.read_file(&path("CURRENT")).unwrap(),
        b"MANIFEST-000001\n"
    );
    assert_eq!(
        fs.read_file(&path("CURRENT.tmp")).unwrap(),
        b"MANIFEST-000002\n"
    );
}

#[test]
fn a_rename_followed_by_sync_dir_survives_a_crash() {
    let fs = database();
    fs.write_file_durably(&path("CURRENT"), b"MANIFEST-000001\n")
        .unwrap();
    file_with_unsynced_tail(&fs, "CURRENT.tmp", b"MANIFEST-000002\n", b"");
    fs.rename(&path("CURRENT.tmp"), &path("CURRENT")).unwrap();
    fs.sync_dir(Path::new(DIRECTORY)).unwrap();
    fs.crash(CrashOptions::default());
    assert_eq!(fs.list(Path::new(DIRECTORY)).unwrap(), vec!["CURRENT"]);
    assert_eq!(
        fs.read_file(&path("CURRENT")).unwrap(),
        b"MANIFEST-000002\n"
    );
}

#[test]
fn a_removal_without_sync_dir_is_undone_on_crash() {
    let fs = database();
    fs.write_file_durably(&path("000003.log"), b"old log")
        .unwrap();
    fs.remove(&path("000003.log")).unwrap();
    assert!(!fs.exists(&path("000003.log")));
    fs.crash(CrashOptions::default());
    assert_eq!(fs.read_file(&path("000003.log")).unwrap(), b"old log");

    fs.remove(&path("000003.log")).unwrap();
    fs.sync_dir(Path::new(DIRECTORY)).unwrap();
    fs.crash(CrashOptions::default());
    assert!(!fs.exists(&path("000003.log")));
}

#[test]
fn a_torn_prefix_keeps_a_prefix_of_the_unsynced_bytes_and_never_unwritten_bytes() {
    let synced = b"durable|";
    let unsynced: Vec<u8> = (1..=64).collect();
    let mut kept_lengths = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let fs = database();
        file_with_unsynced_tail(&fs, "000001.log", synced, &unsynced);
        fs.crash(torn(seed));
        let content = fs.read_file(&path("000001.log")).unwrap();
        assert!(content.starts_with(synced), "seed {seed} lost synced bytes");
        let tail = &content[synced.len()..];
        assert!(
            unsynced.starts_with(tail),
            "seed {seed} kept {tail:?}, which is not a prefix of the unsynced bytes"
        );
        kept_lengths.insert(tail.len());
    }
    assert!(
        kept_lengths.len() > 10,
        "torn prefixes should vary in length across seeds, saw {kept_lengths:?}"
    );
}

#[test]
fn damaged_torn_bytes_are_only_zeroed_or_garbage_within_the_unsynced_prefix() {
    let synced = b"durable|";
    let unsynced = [0xAA_u8; 64];
    let mut saw_zero = false;
    for seed in 0..200 {
        let fs = database();
        file_with_unsynced_tail(&fs, "000001.log", synced, &unsynced);
        fs.crash(CrashOptions {
            zero_torn_bytes: true,
            ..torn(seed)
        });
        let content = fs.read_file(&path("000001.log")).unwrap();
        assert!(
            content.starts_with(synced),
            "seed {seed} damaged synced bytes"
        );
        let tail = &content[synced.len()..];
        assert!(tail.len() <= unsynced.len(), "seed {seed} grew the file");
        assert!(tail.iter().all(|&byte| byte == 0xAA || byte == 0));
        saw_zero |= tail.contains(&0);
    }
    assert!(saw_zero, "zero_torn_bytes never zeroed a byte in 200 seeds");
}

#[test]
fn the_same_seed_gives_the_same_crash_result() {
    let run = |seed: u64| {
        let fs = database();
        for (index, name) in ["000001.log", "000002.log", "MANIFEST-000001"]
            .iter()
            .enumerate()
        {
            let unsynced = vec![u8::try_from(index).unwrap() + 1; 100];
            file_with_unsynced_tail(&fs, name, b"synced", &unsynced);
        }
        fs.crash(CrashOptions {
            garbage_torn_bytes: true,
            ..torn(seed)
        });
        fs.durable_snapshot()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8), "different seeds should tear differently");
}

#[test]
fn fail_after_n_fails_exactly_the_n_plus_first_mutating_operation() {
    for n in 0..5_u64 {
        let fs = database();
        fs.write_file_durably(&path("c"), b"planted").unwrap();
        fs.fail_after(n);
        let before = fs.operation_count();
        let mut outcomes = Vec::new();
        // Six mutating operations: create, write, sync, sync_dir, rename, remove;
        // each one valid even if an earlier one failed, once `a` exists.
        let created = fs.create(&path("a"));
        outcomes.push(created.as_ref().err().map(|error| error.kind()));
        if let Ok(mut file) = created {
            outcomes.push(file.write(b"x").err().map(|error| error.kind()));
            outcomes.push(file.sync().err().map(|error| error.kind()));
            outcomes.push(
                fs.sync_dir(Path::new(DIRECTORY))
                    .err()
                    .map(|error| error.kind()),
            );
            outcomes.push(
                fs.rename(&path("a"), &path("b"))
                    .err()
                    .map(|error| error.kind()),
            );
            outcomes.push(fs.remove(&path("c")).err().map(|error| error.kind()));
        }
        let expected_successes = usize::try_from(n).unwrap();
        assert!(
            outcomes[..expected_successes].iter().all(Option::is_none),
            "n = {n}: an operation before the (n+1)-th failed: {outcomes:?}"
        );
        assert!(
            outcomes[expected_successes..]
                .iter()
                .all(|kind| *kind == Some(ErrorKind::Other)),
            "n = {n}: the (n+1)-th operation and later ones must fail: {outcomes:?}"
        );
        assert_eq!(fs.operation_count() - before, outcomes.len() as u64);
    }
}

#[test]
fn an_injected_failure_says_so_and_clear_faults_ends_it() {
    let fs = database();
    fs.fail_after(0);
    let error = fs.create(&path("a")).err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Other);
    assert_eq!(error.to_string(), "injected failure");
    assert!(!fs.exists(&path("a")), "a failed create must not create");
    fs.clear_faults();
    assert!(fs.create(&path("a")).is_ok());
}

#[test]
fn a_failed_sync_leaves_the_durable_bytes_unchanged() {
    let fs = database();
    file_with_unsynced_tail(&fs, "000001.log", b"synced", b" pending");
    let mut file = fs.open_append(&path("000001.log")).unwrap();
    fs.fail_after(0);
    assert!(file.sync().is_err());
    fs.clear_faults();
    fs.crash(CrashOptions::default());
    assert_eq!(fs.read_file(&path("000001.log")).unwrap(), b"synced");
}

#[test]
fn a_space_limit_gives_storage_full_and_appends_nothing() {
    let fs = database();
    fs.write_file_durably(&path("000001.sst"), &[1; 60])
        .unwrap();
    fs.set_space_limit(Some(100));
    let mut file = fs.create(&path("000002.log")).unwrap();
    file.write_all(&[2; 30]).unwrap();
    let error = file.write(&[3; 11]).err().unwrap();
    assert_eq!(error.kind(), ErrorKind::StorageFull);
    assert_eq!(fs.read_file(&path("000002.log")).unwrap(), vec![2; 30]);
    assert_eq!(
        file.write(&[3; 10]).unwrap(),
        10,
        "exactly filling the limit is allowed"
    );
    fs.set_space_limit(None);
    assert_eq!(file.write(&[4; 1000]).unwrap(), 1000);
}

#[test]
fn handles_from_before_a_crash_fail_afterwards() {
    let fs = database();
    file_with_unsynced_tail(&fs, "000001.log", b"synced", b"");
    let mut writer = fs.open_append(&path("000001.log")).unwrap();
    let reader = fs.open_read(&path("000001.log")).unwrap();
    fs.crash(CrashOptions::default());
    assert!(writer.write(b"late").is_err());
    assert!(writer.sync().is_err());
    assert!(reader.len().is_err());
    assert!(reader.read_at(0, &mut [0; 4]).is_err());
    assert_eq!(fs.read_file(&path("000001.log")).unwrap(), b"synced");

    let mut fresh = fs.open_append(&path("000001.log")).unwrap();
    fresh.write_all(b" again").unwrap();
    assert_eq!(fs.read_file(&path("000001.log")).unwrap(), b"synced again");
}

#[test]
fn create_of_an_existing_name_starts_empty_and_crash_brings_back_the_old_file() {
    let fs = database();
    fs.write_file_durably(&path("LOG"), b"old").unwrap();
    let mut file = fs.create(&path("LOG")).unwrap();
    assert!(fs.read_file(&path("LOG")).unwrap().is_empty());
    file.write_all(b"new").unwrap();
    file.sync().unwrap();
    fs.crash(CrashOptions::default());
    assert_eq!(fs.read_file(&path("LOG")).unwrap(), b"old");
}

#[test]
fn the_sim_lock_refuses_a_second_holder_until_the_first_guard_drops() {
    let fs = database();
    let first = fs.lock(&path("LOCK")).unwrap();
    assert!(fs.exists(&path("LOCK")), "lock creates the lock file");
    assert_eq!(
        fs.clone().lock(&path("LOCK")).err().unwrap().kind(),
        ErrorKind::WouldBlock
    );
    fs.crash(CrashOptions::default());
    assert_eq!(
        fs.lock(&path("LOCK")).err().unwrap().kind(),
        ErrorKind::WouldBlock,
        "a crash does not release locks held by the caller"
    );
    drop(first);
    assert!(fs.lock(&path("LOCK")).is_ok());
}

#[test]
fn byte_surgery_changes_current_and_durable_content() {
    let fs = database();
    fs.write_file_durably(&path("000004.sst"), b"good bytes")
        .unwrap();
    fs.set_file_bytes(&path("000004.sst"), b"bad bytes")
        .unwrap();
    assert_eq!(fs.read_file(&path("000004.sst")).unwrap(), b"bad bytes");
    fs.crash(CrashOptions::default());
    assert_eq!(fs.read_file(&path("000004.sst")).unwrap(), b"bad bytes");
    assert_eq!(
        fs.set_file_bytes(&path("missing"), b"x")
            .err()
            .unwrap()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn list_shows_current_files_and_subdirectories_and_durable_names_lag_behind() {
    let fs = database();
    fs.create_dir_all(&path("quarantine")).unwrap();
    fs.write_file_durably(&path("CURRENT"), b"x").unwrap();
    drop(fs.create(&path("000005.log")).unwrap());
    assert_eq!(
        fs.list(Path::new(DIRECTORY)).unwrap(),
        vec!["000005.log", "CURRENT", "quarantine"]
    );
    assert_eq!(
        fs.durable_file_names(Path::new(DIRECTORY)).unwrap(),
        vec!["CURRENT"]
    );
    assert_eq!(
        fs.list(Path::new("/missing")).err().unwrap().kind(),
        ErrorKind::NotFound
    );
}
