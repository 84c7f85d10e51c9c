//! What survives a power cut of the FUSE file system: synced bytes and
//! synced directory entries, and nothing else (unless a torn tail or a
//! subset of directory operations is asked for). Each test skips, saying
//! why, where FUSE cannot be mounted.
#![allow(clippy::unwrap_used)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use strata_powercut::{CutOptions, PowerCutFs, unavailable_reason};

/// A mounted file system over a fresh backing directory (pre-filled by
/// `prepare`, which counts as durable), or `None` (with a message) where
/// FUSE is unavailable.
struct Fixture {
    fs: PowerCutFs,
    _backing: tempfile::TempDir,
    _mountpoint: tempfile::TempDir,
}

impl Fixture {
    fn new(prepare: impl FnOnce(&Path)) -> Option<Fixture> {
        if let Some(reason) = unavailable_reason() {
            // Straight to the stream, not through the test harness's
            // capture, so that the skip shows in a passing run.
            let _ = writeln!(std::io::stderr(), "skipped: FUSE is unavailable: {reason}");
            return None;
        }
        let backing = tempfile::tempdir().unwrap();
        let mountpoint = tempfile::tempdir().unwrap();
        prepare(backing.path());
        let fs = PowerCutFs::mount(backing.path(), mountpoint.path()).unwrap();
        Some(Fixture {
            fs,
            _backing: backing,
            _mountpoint: mountpoint,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.fs.mountpoint().join(name)
    }

    fn sync_directory(&self, name: &str) {
        File::open(self.path(name)).unwrap().sync_all().unwrap();
    }

    fn names(&self, directory: &str) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(self.path(directory))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

fn append(path: &Path, bytes: &[u8]) -> File {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
    file
}

#[test]
fn written_and_synced_bytes_survive_a_cut_and_later_unsynced_bytes_do_not() {
    let Some(mut fixture) = Fixture::new(|_| {}) else {
        return;
    };
    let path = fixture.path("log");
    let mut file = File::create(&path).unwrap();
    file.write_all(b"first ").unwrap();
    file.sync_data().unwrap();
    fixture.sync_directory("");
    file.write_all(b"second").unwrap();
    drop(file);
    assert_eq!(fs::read(&path).unwrap(), b"first second");

    let report = fixture.fs.cut(&CutOptions::strict()).unwrap();

    assert_eq!(fs::read(&path).unwrap(), b"first ");
    assert_eq!((report.files, report.discarded_bytes), (1, 6), "{report}");
}

#[test]
fn bytes_appended_without_fsync_are_lost() {
    let Some(mut fixture) = Fixture::new(|backing| {
        fs::write(backing.join("log"), b"durable").unwrap();
    }) else {
        return;
    };
    drop(append(&fixture.path("log"), b" volatile"));
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert_eq!(fs::read(fixture.path("log")).unwrap(), b"durable");
}

#[test]
fn overwritten_synced_bytes_come_back_when_the_overwrite_was_not_synced() {
    let Some(mut fixture) = Fixture::new(|backing| {
        fs::write(backing.join("CURRENT"), b"MANIFEST-000001\n").unwrap();
    }) else {
        return;
    };
    fs::write(fixture.path("CURRENT"), b"MANIFEST-000002\n").unwrap();
    fixture.fs.cut(&CutOptions::random(7)).unwrap();
    assert_eq!(
        fs::read(fixture.path("CURRENT")).unwrap(),
        b"MANIFEST-000001\n"
    );
}

#[test]
fn synced_pages_overwritten_or_truncated_come_back_whole_and_synced_overwrites_stay() {
    // Five pages of durable bytes and a bit, each byte telling its place.
    let durable: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let Some(mut fixture) = Fixture::new(|backing| {
        fs::write(backing.join("log"), &durable).unwrap();
        fs::write(backing.join("other"), &durable).unwrap();
    }) else {
        return;
    };
    let log = OpenOptions::new()
        .write(true)
        .open(fixture.path("log"))
        .unwrap();
    // Inside the third page, then a cut through it, then a write across
    // the cut and past the durable length.
    log.write_all_at(&[0xEE; 100], 9_000).unwrap();
    log.set_len(12_000).unwrap();
    log.write_all_at(&[0xDD; 9_000], 11_000).unwrap();
    drop(log);
    let other = OpenOptions::new()
        .write(true)
        .open(fixture.path("other"))
        .unwrap();
    other.write_all_at(b"synced", 5_000).unwrap();
    other.sync_data().unwrap();
    other.write_all_at(b"lost", 15_000).unwrap();
    drop(other);
    fixture.fs.cut(&CutOptions::random(3)).unwrap();
    assert!(fs::read(fixture.path("log")).unwrap() == durable);
    let mut expected = durable.clone();
    expected[5_000..5_006].copy_from_slice(b"synced");
    assert!(fs::read(fixture.path("other")).unwrap() == expected);
}

#[test]
fn a_file_created_and_synced_without_a_directory_fsync_is_lost() {
    let Some(mut fixture) = Fixture::new(|_| {}) else {
        return;
    };
    let mut file = File::create(fixture.path("000001.log")).unwrap();
    file.write_all(b"synced, but its name is not").unwrap();
    file.sync_all().unwrap();
    drop(file);
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert!(fixture.names("").is_empty());
}

#[test]
fn a_created_file_survives_once_its_directory_is_synced_but_its_unsynced_bytes_do_not() {
    let Some(mut fixture) = Fixture::new(|_| {}) else {
        return;
    };
    let mut file = File::create(fixture.path("000001.log")).unwrap();
    fixture.sync_directory("");
    file.write_all(b"never synced").unwrap();
    drop(file);
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert_eq!(fixture.names(""), ["000001.log"]);
    assert_eq!(fs::read(fixture.path("000001.log")).unwrap(), b"");
}

#[test]
fn a_rename_without_a_directory_fsync_reverts_and_the_replaced_file_returns() {
    let Some(mut fixture) = Fixture::new(|backing| {
        fs::write(backing.join("CURRENT"), b"old").unwrap();
        fs::write(backing.join("CURRENT.tmp"), b"new").unwrap();
    }) else {
        return;
    };
    fs::rename(fixture.path("CURRENT.tmp"), fixture.path("CURRENT")).unwrap();
    assert_eq!(fixture.names(""), ["CURRENT"]);
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert_eq!(fixture.names(""), ["CURRENT", "CURRENT.tmp"]);
    assert_eq!(fs::read(fixture.path("CURRENT")).unwrap(), b"old");

    fs::rename(fixture.path("CURRENT.tmp"), fixture.path("CURRENT")).unwrap();
    fixture.sync_directory("");
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert_eq!(fixture.names(""), ["CURRENT"]);
    assert_eq!(fs::read(fixture.path("CURRENT")).unwrap(), b"new");
}

#[test]
fn an_unlink_without_a_directory_fsync_reverts_with_the_files_durable_bytes() {
    let Some(mut fixture) = Fixture::new(|backing| {
        fs::write(backing.join("000003.log"), b"old log").unwrap();
    }) else {
        return;
    };
    drop(append(&fixture.path("000003.log"), b" and more"));
    fs::remove_file(fixture.path("000003.log")).unwrap();
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert_eq!(fs::read(fixture.path("000003.log")).unwrap(), b"old log");

    fs::remove_file(fixture.path("000003.log")).unwrap();
    fixture.sync_directory("");
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert!(fixture.names("").is_empty());
}

#[test]
fn a_new_directory_needs_its_parent_synced_and_its_entries_need_it_synced() {
    let Some(mut fixture) = Fixture::new(|_| {}) else {
        return;
    };
    fs::create_dir(fixture.path("db")).unwrap();
    fs::write(fixture.path("db/LOCK"), b"").unwrap();
    fixture.sync_directory("db");
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert!(fixture.names("").is_empty(), "the parent was not synced");

    fs::create_dir(fixture.path("db")).unwrap();
    fixture.sync_directory("");
    fs::write(fixture.path("db/LOCK"), b"").unwrap();
    fixture.fs.cut(&CutOptions::strict()).unwrap();
    assert_eq!(fixture.names(""), ["db"]);
    assert!(fixture.names("db").is_empty(), "db was not synced");
}

#[test]
fn a_torn_cut_keeps_a_seeded_prefix_of_the_unsynced_appends() {
    let mut kept_lengths = Vec::new();
    for seed in 1..=8 {
        let Some(mut fixture) = Fixture::new(|backing| {
            fs::write(backing.join("log"), b"durable|").unwrap();
        }) else {
            return;
        };
        drop(append(&fixture.path("log"), b"0123456789abcdef"));
        let report = fixture.fs.cut(&CutOptions::random(seed)).unwrap();
        let bytes = fs::read(fixture.path("log")).unwrap();
        assert!(
            b"durable|0123456789abcdef".starts_with(&bytes) && bytes.len() >= 8,
            "seed {seed}: {bytes:?}"
        );
        assert_eq!(report.torn_bytes, bytes.len() as u64 - 8, "{report}");
        kept_lengths.push(bytes.len());
    }
    assert!(
        kept_lengths.iter().any(|&length| length != kept_lengths[0]),
        "eight seeds all kept {} bytes",
        kept_lengths[0]
    );
}

#[test]
fn a_cut_replays_exactly_from_its_seed() {
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let Some(mut fixture) = Fixture::new(|backing| {
            fs::write(backing.join("a"), b"a").unwrap();
        }) else {
            return;
        };
        for index in 0..6 {
            fs::write(fixture.path(&format!("new-{index}")), b"0123456789").unwrap();
        }
        fs::remove_file(fixture.path("a")).unwrap();
        let report = fixture.fs.cut(&CutOptions::random(42)).unwrap();
        let contents: Vec<_> = fixture
            .names("")
            .into_iter()
            .map(|name| (fs::read(fixture.path(&name)).unwrap(), name))
            .collect();
        outcomes.push((report, contents));
    }
    assert_eq!(outcomes[0], outcomes[1]);
}

#[test]
fn an_advisory_lock_on_the_mount_conflicts_between_open_files() {
    let Some(fixture) = Fixture::new(|_| {}) else {
        return;
    };
    let path = fixture.path("LOCK");
    let first = File::create(&path).unwrap();
    first.try_lock().unwrap();
    let second = File::open(&path).unwrap();
    assert!(matches!(
        second.try_lock(),
        Err(std::fs::TryLockError::WouldBlock)
    ));
    drop(first);
    // Under load the kernel may release the first lock a moment after the
    // close returns; what matters is that it is released, so allow 5 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match second.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the lock was not released within 5 s of closing its file"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::Error(error)) => panic!("{error}"),
        }
    }
}
