//! Every subcommand of `strata` on healthy, damaged, missing and garbage
//! inputs: the text, the JSON shape and the exit code (0 clean, 1 damage or
//! key not found, 2 usage, 3 refusal, 4 operational); garbage is a clear
//! error, never a panic; and the read-only commands leave the directory
//! byte for byte as it was.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use predicates::prelude::*;
use serde_json::Value;
use strata::{Db, Options, WriteBatch, WriteOptions};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.stdout))
    }
}

fn strata(arguments: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(arguments)
        .output()
        .unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "strata {arguments:?} panicked: {}",
        run.stderr
    );
    run
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file under `directory` (recursively) with its bytes, and every
/// directory.
fn snapshot(directory: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.insert(path.clone(), None);
            files.extend(snapshot(&path));
        } else {
            files.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
        }
    }
    files
}

fn files_ending(directory: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

fn only(directory: &Path, suffix: &str) -> PathBuf {
    let found = files_ending(directory, suffix);
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

/// A closed database: `table/0..50` flushed into a table, then
/// `log/0..20` (one synced batch each) in the log, which ends with the
/// last of them (no zeros prefilled after it), so that cutting its last
/// bytes tears that record.
fn healthy() -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let options = Options::default().with_wal_prefill_bytes(0);
    let db = Db::open(directory.path(), options).unwrap();
    for index in 0..50 {
        db.put(format!("table/{index:03}"), format!("value {index}"))
            .unwrap();
    }
    db.flush().unwrap();
    db.wait_for_background_idle().unwrap();
    for index in 0..20 {
        let mut batch = WriteBatch::new();
        batch.put(format!("log/{index:03}"), vec![b'x'; 40]);
        db.write(batch, &WriteOptions::SYNC).unwrap();
    }
    db.close().unwrap();
    directory
}

/// `healthy()` with the log's last 5 bytes cut off: a torn tail.
fn torn() -> tempfile::TempDir {
    let directory = healthy();
    let log = only(directory.path(), ".log");
    let length = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(length - 5)
        .unwrap();
    directory
}

/// Flips one byte in the middle of `path`.
fn flip_middle(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

/// Deterministic bytes that are no file format.
fn garbage(length: usize) -> Vec<u8> {
    let mut state = 0x1234_5678_9abc_def0u64;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn garbage_file(directory: &Path, name: &str) -> PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, garbage(70_000)).unwrap();
    path
}

// ----- help and usage -----

#[test]
fn help_documents_the_exit_codes_and_lists_the_commands() {
    let run = strata(&["--help"]);
    assert_eq!(run.code, 0);
    for needle in [
        "Exit codes",
        "3  recovery would refuse",
        "4  operational error",
        "recover",
        "verify",
        "bench",
        "manifest",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
    // The old names still work but are not advertised.
    assert!(!run.stdout.contains("dump-log"));
    assert!(!run.stdout.contains("inspect"));
}

#[test]
fn recover_without_a_mode_or_dry_run_is_a_usage_error() {
    let database = healthy();
    let before = snapshot(database.path());
    let run = strata(&["recover", text(database.path())]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--mode"), "{}", run.stderr);
    assert!(run.stderr.contains("--dry-run"), "{}", run.stderr);
    assert_eq!(snapshot(database.path()), before);
    let run = strata(&["recover", text(database.path()), "--mode", "yolo"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("point-in-time-recovery"),
        "{}",
        run.stderr
    );
    // rust-rocksdb's and RocksDB's names for a mode are accepted.
    for name in [
        "PointInTime",
        "kPointInTimeRecovery",
        "point-in-time-recovery",
    ] {
        let run = strata(&[
            "recover",
            text(database.path()),
            "--dry-run",
            "--mode",
            name,
        ]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert!(
            run.stdout.contains("point-in-time-recovery"),
            "{name}: {}",
            run.stdout
        );
    }
    assert_eq!(snapshot(database.path()), before);
}

// ----- recover -----

#[test]
fn recover_dry_run_of_a_healthy_database_opens_in_every_mode_and_changes_nothing() {
    let database = healthy();
    let before = snapshot(database.path());
    let run = strata(&["recover", text(database.path()), "--dry-run"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for mode in strata::RecoveryMode::ALL {
        let row = run
            .stdout
            .lines()
            .find(|line| line.starts_with(mode.name()))
            .unwrap();
        // mode, outcome, batches (the 20 in the log), dropped bytes, first drop
        let columns: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(columns, [mode.name(), "opens", "20", "0", "-"], "{row}");
    }
    let run = strata(&["recover", text(database.path()), "--dry-run", "--json"]);
    assert_eq!(run.code, 0);
    let json = run.json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["exit_code"], 0);
    let modes = json["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 4);
    for outcome in modes {
        assert_eq!(outcome["outcome"], "open");
        assert_eq!(outcome["report"]["batches_applied"], 20);
        assert_eq!(outcome["report"]["dropped"], serde_json::json!([]));
    }
    assert_eq!(snapshot(database.path()), before);
}

#[test]
fn recover_dry_run_of_a_torn_log_shows_each_mode_and_changes_nothing() {
    let database = torn();
    let log = only(database.path(), ".log");
    let before = snapshot(database.path());
    let run = strata(&["recover", text(database.path()), "--dry-run"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let row = |mode: &str| -> Vec<String> {
        run.stdout
            .lines()
            .find(|line| line.starts_with(mode))
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("absolute-consistency")[1], "REFUSES");
    let point_in_time = row("point-in-time-recovery");
    assert_eq!(point_in_time[1], "opens");
    assert_eq!(point_in_time[2], "19");
    assert!(
        point_in_time[4].starts_with(text(&log)),
        "{point_in_time:?}"
    );

    let json = strata(&["recover", text(database.path()), "--dry-run", "--json"]).json();
    assert_eq!(json["exit_code"], 1);
    let modes = json["modes"].as_array().unwrap();
    assert_eq!(modes[0]["mode"], "absolute-consistency");
    assert_eq!(modes[0]["outcome"], "refuse");
    assert!(
        modes[0]["error"]
            .as_str()
            .unwrap()
            .contains("the log ends inside a record")
    );
    let report = &modes[2]["report"];
    assert_eq!(modes[2]["mode"], "point-in-time-recovery");
    assert_eq!(report["mode"], "point-in-time-recovery");
    assert_eq!(report["dry_run"], true);
    let region = &report["dropped"][0];
    assert_eq!(region["file"], text(&log));
    assert_eq!(region["truncation"], true);
    assert_eq!(region["reason"]["kind"], "truncated-body");
    let length = std::fs::metadata(&log).unwrap().len();
    assert_eq!(
        region["offset"].as_u64().unwrap() + region["length"].as_u64().unwrap(),
        length
    );
    assert_eq!(modes[2]["dropped_bytes"], region["length"]);

    // One mode: its own exit code.
    let run = strata(&[
        "recover",
        text(database.path()),
        "--dry-run",
        "--mode",
        "absolute-consistency",
    ]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(run.stdout.contains("refuses"), "{}", run.stdout);
    let run = strata(&[
        "recover",
        text(database.path()),
        "--dry-run",
        "--mode",
        "kTolerateCorruptedTailRecords",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(snapshot(database.path()), before, "a dry run changed files");
}

#[test]
fn recover_under_a_mode_opens_quarantines_and_reports() {
    let database = torn();
    let run = strata(&[
        "recover",
        text(database.path()),
        "--mode",
        "absolute-consistency",
    ]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(!database.path().join("quarantine").exists());

    let run = strata(&[
        "recover",
        text(database.path()),
        "--mode",
        "point-in-time-recovery",
        "--json",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let json = run.json();
    assert_eq!(json["dry_run"], false);
    let report = &json["modes"][0]["report"];
    assert_eq!(report["dry_run"], false);
    let quarantined = report["quarantined"].as_array().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(Path::new(quarantined[0].as_str().unwrap()).exists());

    // Recovered: every mode now opens without dropping anything.
    let run = strata(&["recover", text(database.path()), "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let run = strata(&["get", text(database.path()), "log/018"]);
    assert_eq!(run.code, 0);
    let run = strata(&["get", text(database.path()), "log/019"]);
    assert_eq!(run.code, 1, "the torn batch is gone");
}

#[test]
fn recover_of_a_missing_or_empty_path_is_not_found_and_creates_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("no-such-db");
    for arguments in [
        vec!["recover", text(&missing), "--dry-run"],
        vec![
            "recover",
            text(&missing),
            "--mode",
            "point-in-time-recovery",
        ],
        vec!["verify", text(&missing)],
        vec!["manifest", "dump", text(&missing)],
        vec!["get", text(&missing), "k"],
        vec!["put", text(&missing), "k", "v"],
        vec!["delete", text(&missing), "k"],
        vec!["scan", text(&missing)],
    ] {
        let run = strata(&arguments);
        assert_eq!(run.code, 4, "{arguments:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "no database at {}: the directory does not exist",
                missing.display()
            )),
            "{arguments:?}: {}",
            run.stderr
        );
        assert!(!missing.exists(), "{arguments:?} created the directory");
    }
    let empty = directory.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for arguments in [
        vec!["recover", text(&empty), "--dry-run"],
        vec!["recover", text(&empty), "--mode", "point-in-time-recovery"],
        vec!["verify", text(&empty)],
        vec!["get", text(&empty), "k"],
    ] {
        let run = strata(&arguments);
        assert_eq!(run.code, 4, "{arguments:?}: {}", run.stderr);
        assert!(run.stderr.contains("holds no CURRENT"), "{}", run.stderr);
    }
    assert_eq!(
        std::fs::read_dir(&empty).unwrap().count(),
        0,
        "LOCK created"
    );
}

#[test]
fn a_database_open_elsewhere_is_an_operational_error_naming_the_lock() {
    let database = healthy();
    let db = Db::open(database.path(), Options::default()).unwrap();
    for arguments in [
        vec!["recover", text(database.path()), "--dry-run"],
        vec!["get", text(database.path()), "k"],
    ] {
        let run = strata(&arguments);
        assert_eq!(run.code, 4, "{arguments:?}: {}", run.stderr);
        assert!(run.stderr.contains("locked"), "{}", run.stderr);
        assert!(run.stderr.contains("close the program"), "{}", run.stderr);
    }
    drop(db);
}

// ----- wal dump -----

#[test]
fn wal_dump_lists_records_and_problems() {
    let database = torn();
    let log = only(database.path(), ".log");
    let before = snapshot(database.path());
    let run = strata(&["wal", "dump", text(&log)]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("batch sequence 51 count 1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("the log ends inside a record body (truncation)"),
        "{}",
        run.stdout
    );
    let json = strata(&["wal", "dump", text(&log), "--json"]).json();
    assert_eq!(json["checksum"], "crc32");
    let records = json["records"].as_array().unwrap();
    // The flush started this log: 19 intact batches of one update each.
    assert_eq!(records.len(), 19);
    assert!(records.iter().all(|record| record["count"] == 1));
    assert_eq!(records[0]["sequence"], 51);
    assert_eq!(json["problems"][0]["kind"]["kind"], "truncated-body");
    // The hidden old name still works.
    let run = strata(&["dump-log", text(&log)]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("batch sequence"));
    // The wrong checksum: every record fails, clearly.
    let run = strata(&["wal", "dump", text(&log), "--checksum", "crc32c"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("checksum mismatch"), "{}", run.stdout);
    assert_eq!(snapshot(database.path()), before);

    let healthy = healthy();
    let run = strata(&["wal", "dump", text(&only(healthy.path(), ".log"))]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.ends_with("20 records, 0 problems\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn wal_dump_of_garbage_or_a_missing_file_is_a_clear_error() {
    let directory = tempfile::tempdir().unwrap();
    let file = garbage_file(directory.path(), "000009.log");
    let run = strata(&["wal", "dump", text(&file)]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("no intact record"), "{}", run.stdout);
    let json = strata(&["wal", "dump", text(&file), "--json"]).json();
    assert_eq!(json["records"], serde_json::json!([]));
    assert!(!json["problems"].as_array().unwrap().is_empty());
    let run = strata(&["wal", "dump", text(&directory.path().join("nope.log"))]);
    assert_eq!(run.code, 4);
    assert!(run.stderr.contains("no log at"), "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    let run = strata(&["wal", "dump", text(directory.path())]);
    assert_eq!(run.code, 4);
    assert!(run.stderr.contains("is a directory"), "{}", run.stderr);
}

// ----- sst dump / verify -----

#[test]
fn sst_dump_and_verify_read_a_table_and_find_damage() {
    let database = healthy();
    let table = only(database.path(), ".sst");
    let before = snapshot(database.path());
    let run = strata(&["sst", "dump", text(&table)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("'table/007' @ 8 : value (7 bytes) 'value 7'"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with("50 entries\n"));
    let json = strata(&["sst", "dump", text(&table), "--json"]).json();
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 50);
    assert_eq!(entries[0]["key"], "table/000");
    assert_eq!(entries[0]["sequence"], 1);
    assert_eq!(entries[0]["kind"], "value");
    assert_eq!(entries[0]["value_length"], 7);
    assert_eq!(entries[0]["value_preview"], "value 0");
    assert_eq!(json["error"], Value::Null);

    let run = strata(&["sst", "verify", text(&table)]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("ok "), "{}", run.stdout);
    let json = strata(&["sst", "verify", text(&table), "--json"]).json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["entries"], 50);
    assert_eq!(snapshot(database.path()), before);

    flip_middle(&table);
    let run = strata(&["sst", "verify", text(&table)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.starts_with("DAMAGED "), "{}", run.stdout);
    let json = strata(&["sst", "verify", text(&table), "--json"]).json();
    assert_eq!(json["ok"], false);
    assert!(json["error"].as_str().unwrap().contains("corruption"));
    let run = strata(&["sst", "dump", text(&table)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("corruption"), "{}", run.stderr);
}

#[test]
fn sst_commands_on_garbage_and_missing_files_are_clear_errors() {
    let directory = tempfile::tempdir().unwrap();
    let file = garbage_file(directory.path(), "000009.sst");
    let run = strata(&["sst", "dump", text(&file)]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not a Strata table"), "{}", run.stderr);
    let json = strata(&["sst", "dump", text(&file), "--json"]).json();
    assert!(json["error"].is_string());
    let run = strata(&["sst", "verify", text(&file)]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("DAMAGED"));
    let empty = directory.path().join("000010.sst");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(strata(&["sst", "verify", text(&empty)]).code, 1);
    let run = strata(&["sst", "verify", text(&directory.path().join("x.sst"))]);
    assert_eq!(run.code, 4);
    assert!(run.stderr.contains("no table at"), "{}", run.stderr);
}

// ----- manifest dump -----

#[test]
fn manifest_dump_shows_current_edits_and_state() {
    let database = healthy();
    let before = snapshot(database.path());
    let run = strata(&["manifest", "dump", text(database.path())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("CURRENT -> MANIFEST-"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("level 0:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("keys 'table/000'..'table/049'"),
        "{}",
        run.stdout
    );
    let json = strata(&["manifest", "dump", text(database.path()), "--json"]).json();
    assert!(json["current"].as_str().unwrap().starts_with("MANIFEST-"));
    assert!(!json["edits"].as_array().unwrap().is_empty());
    assert_eq!(json["problems"], serde_json::json!([]));
    assert_eq!(json["last_sequence"], 50);
    assert_eq!(json["tables"][0]["level"], 0);
    assert_eq!(json["tables"][0]["smallest_key"], "table/000");
    assert_eq!(json["logs"].as_array().unwrap().len(), 1);
    assert!(json["next_file_number"].as_u64().unwrap() > 0);
    assert_eq!(snapshot(database.path()), before);

    // A garbage MANIFEST: a clear error, exit 1.
    let manifest = database.path().join(json["current"].as_str().unwrap());
    std::fs::write(&manifest, garbage(5000)).unwrap();
    let run = strata(&["manifest", "dump", text(database.path())]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("holds no intact edit"),
        "{}",
        run.stderr
    );
    let run = strata(&["manifest", "dump", text(&manifest), "--json"]);
    assert_eq!(run.code, 1);
    assert!(!run.json()["problems"].as_array().unwrap().is_empty());
    // CURRENT naming nothing sensible.
    std::fs::write(database.path().join("CURRENT"), garbage(100)).unwrap();
    let run = strata(&["manifest", "dump", text(database.path())]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("CURRENT does not name a MANIFEST"),
        "{}",
        run.stderr
    );
}

// ----- verify -----

#[test]
fn verify_checks_every_table_and_log_read_only() {
    let database = healthy();
    let before = snapshot(database.path());
    let run = strata(&["verify", text(database.path())]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("no damage found: 1 tables and 1 logs checked")
    );
    let json = strata(&["verify", text(database.path()), "--json"]).json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["tables"][0]["ok"], true);
    assert_eq!(json["logs"][0]["problems"], serde_json::json!([]));
    assert_eq!(snapshot(database.path()), before);

    // A flipped byte in the table.
    flip_middle(&only(database.path(), ".sst"));
    let before = snapshot(database.path());
    let run = strata(&["verify", text(database.path())]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("DAMAGED"), "{}", run.stdout);
    assert!(run.stdout.contains("DAMAGE FOUND"), "{}", run.stdout);
    assert_eq!(snapshot(database.path()), before);

    // A torn log.
    let database = torn();
    let before = snapshot(database.path());
    let json = strata(&["verify", text(database.path()), "--json"]).json();
    assert_eq!(json["ok"], false);
    assert_eq!(
        json["logs"][0]["problems"][0]["kind"]["kind"],
        "truncated-body"
    );
    assert_eq!(strata(&["verify", text(database.path())]).code, 1);
    assert_eq!(snapshot(database.path()), before);

    // A garbage log in the middle of a database.
    let database = healthy();
    let log = only(database.path(), ".log");
    flip_middle(&log);
    let run = strata(&["verify", text(database.path())]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("checksum mismatch"), "{}", run.stdout);
}

// ----- get / put / delete / scan -----

#[test]
fn get_put_delete_and_scan() {
    let database = healthy();
    let path = text(database.path());
    let run = strata(&["get", path, "table/003"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "value 3\n"));
    let run = strata(&["get", path, "nope"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
    assert_eq!(run.stdout, "");

    assert_eq!(strata(&["put", path, "new/key", "a\tb"]).code, 0);
    let run = strata(&["get", path, "new/key", "--json"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.json(),
        serde_json::json!({"key": "new/key", "value": "a\\tb"})
    );
    assert_eq!(strata(&["delete", path, "new/key"]).code, 0);
    assert_eq!(strata(&["get", path, "new/key"]).code, 1);

    let run = strata(&["scan", path, "--prefix", "table/", "--limit", "3"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        "table/000 = value 0\ntable/001 = value 1\ntable/002 = value 2\n"
    );
    let run = strata(&[
        "scan",
        path,
        "--prefix",
        "table/",
        "--reverse",
        "--limit",
        "2",
    ]);
    assert_eq!(run.stdout, "table/049 = value 49\ntable/048 = value 48\n");
    let json = strata(&[
        "scan",
        path,
        "--from",
        "table/010",
        "--to",
        "table/013",
        "--json",
    ])
    .json();
    let keys: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["table/010", "table/011", "table/012"]);
    let run = strata(&["scan", path, "--prefix", "log/", "--from", "log/018"]);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    let json = strata(&["scan", path, "--json"]).json();
    assert_eq!(json.as_array().unwrap().len(), 70);

    // put --create makes a new database; plain put does not.
    let directory = tempfile::tempdir().unwrap();
    let fresh = directory.path().join("fresh");
    assert_eq!(strata(&["put", text(&fresh), "k", "v"]).code, 4);
    assert!(!fresh.exists());
    assert_eq!(strata(&["put", text(&fresh), "k", "v", "--create"]).code, 0);
    assert_eq!(strata(&["get", text(&fresh), "k"]).stdout, "v\n");
}

#[test]
fn a_read_under_a_refusing_mode_exits_3() {
    let database = torn();
    let run = strata(&[
        "get",
        text(database.path()),
        "table/001",
        "--mode",
        "absolute-consistency",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("strata recover"), "{}", run.stderr);
}

// ----- bench -----

#[test]
fn bench_runs_each_workload_and_reports_figures() {
    for workload in ["fillseq", "fillrandom", "readrandom", "fillsync"] {
        let run = strata(&[
            "bench",
            "--workload",
            workload,
            "--num",
            "300",
            "--threads",
            "2",
            "--value-size",
            "50",
            "--json",
        ]);
        assert_eq!(run.code, 0, "{workload}: {}", run.stderr);
        let json = run.json();
        assert_eq!(json["workload"], workload);
        assert_eq!(json["operations"], 300);
        assert_eq!(json["threads"], 2);
        assert!(json["ops_per_second"].as_f64().unwrap() > 0.0);
        assert!(json["megabytes_per_second"].as_f64().unwrap() > 0.0);
        assert!(json["p99_micros"].as_f64().unwrap() >= json["p50_micros"].as_f64().unwrap());
        if workload == "readrandom" {
            assert_eq!(json["found"], 300);
        }
        // Not a terminal: no progress bar.
        assert_eq!(run.stderr, "");
        assert!(!Path::new(json["directory"].as_str().unwrap()).exists());
    }
    let directory = tempfile::tempdir().unwrap();
    let target = directory.path().join("bench-db");
    let run = strata(&["bench", "--num", "100", "--dir", text(&target)]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("workload"), "{}", run.stdout);
    assert!(run.stdout.contains("ops/s"));
    assert!(target.join("CURRENT").exists());
    // Not into a directory that holds something.
    let run = strata(&["bench", "--num", "100", "--dir", text(&target)]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not empty"), "{}", run.stderr);
}

#[test]
fn assert_cmd_sees_the_documented_codes() {
    let directory = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["recover", text(&directory.path().join("x")), "--dry-run"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("the directory does not exist"));
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["wal"])
        .assert()
        .code(2);
}
