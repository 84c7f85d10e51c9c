//! The power-loss test as a user runs it: on the FUSE file system that
//! forgets unsynced data, every acknowledged synced write survives each
//! power cut, and the negative control (a writer whose syncs do nothing)
//! is caught losing acknowledged writes. Each skips, saying why, where
//! FUSE cannot be mounted.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::Command;

fn strata(arguments: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(arguments)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

fn fuse_available() -> bool {
    match strata_powercut::unavailable_reason() {
        Some(reason) => {
            // Straight to the stream, not through the test harness's
            // capture, so that the skip shows in a passing run.
            let _ = writeln!(std::io::stderr(), "skipped: FUSE is unavailable: {reason}");
            false
        }
        None => true,
    }
}

#[test]
fn power_loss_rounds_keep_every_acknowledged_synced_write() {
    if !fuse_available() {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let (ok, text) = strata(&[
        "crash-test",
        "--power-loss",
        "--rounds",
        "5",
        "--seconds",
        "60",
        "--seed",
        "3",
        "--dir",
        directory.path().to_str().unwrap(),
    ]);
    println!("{text}");
    assert!(ok, "{text}");
    assert!(
        text.contains("power-loss test passed: 5 power cuts"),
        "{text}"
    );
    assert!(text.contains("0 acknowledged writes lost"), "{text}");
}

#[test]
fn power_loss_test_catches_a_writer_whose_syncs_do_nothing() {
    if !fuse_available() {
        return;
    }
    // A failed run keeps its files: in a temporary directory of the test's.
    let directory = tempfile::tempdir().unwrap();
    let (ok, text) = strata(&[
        "crash-test",
        "--power-loss",
        "--no-sync-control",
        "--rounds",
        "10",
        "--seconds",
        "60",
        "--dir",
        directory.path().to_str().unwrap(),
    ]);
    println!("{text}");
    assert!(!ok, "the negative control passed:\n{text}");
    assert!(text.contains("lost acknowledged write"), "{text}");
    let round: u64 = text
        .split("round ")
        .filter_map(|rest| rest.split(':').next()?.parse().ok())
        .last()
        .unwrap();
    println!("the negative control was caught in round {round}");
    assert!(round <= 10, "{text}");
}

#[test]
fn power_loss_test_catches_a_writer_that_skips_only_file_syncs_or_only_directory_syncs() {
    if !fuse_available() {
        return;
    }
    for skipped in ["files", "directories"] {
        let directory = tempfile::tempdir().unwrap();
        let (ok, text) = strata(&[
            "crash-test",
            "--power-loss",
            &format!("--no-sync-control={skipped}"),
            "--rounds",
            "10",
            "--seconds",
            "60",
            "--dir",
            directory.path().to_str().unwrap(),
        ]);
        println!("{text}");
        assert!(
            !ok,
            "the negative control without {skipped} syncs passed:\n{text}"
        );
        assert!(text.contains("lost acknowledged write"), "{text}");
    }
}

/// `Db::open` used to create a missing database directory without syncing
/// its parent: a power cut took the whole new database away.
#[test]
fn a_new_database_directory_survives_a_power_cut() {
    if !fuse_available() {
        return;
    }
    let backing = tempfile::tempdir().unwrap();
    let mountpoint = tempfile::tempdir().unwrap();
    let mut fs = strata_powercut::PowerCutFs::mount(backing.path(), mountpoint.path()).unwrap();
    let path = fs.mountpoint().join("db");
    {
        let db = strata::Db::open(&path, strata::Options::default()).unwrap();
        let mut batch = strata::WriteBatch::new();
        batch.put(b"raft/term", b"7");
        db.write(batch, &strata::WriteOptions::SYNC).unwrap();
    }
    fs.cut(&strata_powercut::CutOptions::strict()).unwrap();
    let db = strata::Db::open(&path, strata::Options::default()).unwrap();
    assert_eq!(db.get(b"raft/term").unwrap(), Some(b"7".to_vec()));
}
