//! The `strata` command as a user runs it: the kill -9 crash test passes and
//! says so (and refuses zero rounds, and tells a writer that exited on its
//! own from a kill), `inspect` changes nothing, and `dump-log` lists records.
#![allow(clippy::unwrap_used)]

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

#[test]
fn crash_test_kills_the_writer_and_finds_every_acknowledged_write() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("db");
    let (ok, text) = strata(&[
        "crash-test",
        "--rounds",
        "3",
        "--dir",
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("crash test passed: 3 kill -9 rounds"),
        "{text}"
    );
}

#[test]
fn crash_test_refuses_zero_rounds_with_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["crash-test", "--rounds", "0"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("--rounds"), "{text}");
}

#[test]
fn crash_test_reports_a_writer_that_exits_on_its_own_as_no_kill() {
    // The writer cannot create a database under a regular file, so it
    // exits with an error before anything is killed.
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let path = file.join("db");
    let (ok, text) = strata(&[
        "crash-test",
        "--rounds",
        "1",
        "--dir",
        path.to_str().unwrap(),
    ]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("round 1: the writer exited on its own (exit status: 1)"),
        "{text}"
    );
    assert!(text.contains("before it was killed"), "{text}");
}

#[test]
fn inspect_reports_every_mode_and_changes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    {
        let db = strata::Db::open(directory.path(), strata::Options::default()).unwrap();
        db.put(b"k", b"v").unwrap();
    }
    let snapshot = |path: &std::path::Path| -> Vec<(std::ffi::OsString, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (entry.file_name(), std::fs::read(entry.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(directory.path());
    let (ok, text) = strata(&["inspect", directory.path().to_str().unwrap()]);
    assert!(ok, "{text}");
    for mode in strata::RecoveryMode::ALL {
        assert!(
            text.contains(&format!("recovery under {mode} (dry run)")),
            "{text}"
        );
    }
    let after = snapshot(directory.path());
    assert!(before == after, "inspect changed the directory's files");
    let log = after
        .iter()
        .map(|(name, _)| name)
        .find(|name| name.to_string_lossy().ends_with(".log"))
        .unwrap();
    let (ok, text) = strata(&["dump-log", directory.path().join(log).to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.contains("batch sequence"), "{text}");
}

#[test]
fn an_unknown_recovery_mode_is_rejected_with_the_choices() {
    let (ok, text) = strata(&["inspect", "/nonexistent", "--mode", "yolo"]);
    assert!(!ok);
    assert!(text.contains("point-in-time-recovery"), "{text}");
}
