//! A measurement, not a claim checked by the default suite: the peak memory
//! (VmHWM) of reopening a database whose unflushed log holds 256 MiB
//! (`STRATA_RECOVERY_MEMORY_MIB` changes the size). The reopen runs in a
//! child process so that its peak is its own, not the writer's.
//!
//! ```text
//! cargo test -j 1 -p strata --release --test recovery_memory -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use strata::{Db, Options, WriteBatch, WriteOptions};

/// Set in the child process: the directory to reopen.
const CHILD_DIRECTORY: &str = "STRATA_RECOVERY_MEMORY_DIRECTORY";
const TEST_NAME: &str = "reopening_a_large_unflushed_log_has_a_peak_bounded_by_the_write_buffer";

/// The process's peak resident set (VmHWM) in KiB.
fn peak_resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn log_bytes(directory: &Path) -> u64 {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".log"))
        .map(|entry| entry.metadata().unwrap().len())
        .sum()
}

#[test]
#[ignore = "a measurement that writes a 256 MiB log; run with --ignored --nocapture"]
fn reopening_a_large_unflushed_log_has_a_peak_bounded_by_the_write_buffer() {
    if let Ok(directory) = std::env::var(CHILD_DIRECTORY) {
        let before = peak_resident_kib();
        let db = Db::open(&directory, Options::default()).unwrap();
        let tables = std::fs::read_dir(&directory)
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".sst")
            })
            .count();
        println!(
            "child: peak_before_open_kib={before} peak_kib={} tables={tables} batches={}",
            peak_resident_kib(),
            db.recovery_report().batches_applied
        );
        return;
    }

    let mib: u64 = std::env::var("STRATA_RECOVERY_MEMORY_MIB")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(256);
    let directory = tempfile::tempdir().unwrap();
    {
        // A write buffer larger than the log: nothing is flushed, and an
        // orderly close leaves the whole log to recover.
        let options = Options {
            write_buffer_size: usize::try_from(mib * 2 + 64).unwrap() << 20,
            ..Options::default()
        };
        let db = Db::open(directory.path(), options).unwrap();
        let value = vec![b'v'; 4000];
        let mut written = 0u64;
        let mut index = 0u64;
        while written < mib << 20 {
            let mut batch = WriteBatch::new();
            for _ in 0..16 {
                let key = format!("key{:012}", index.wrapping_mul(0x9e37_79b9) % 1_000_000_007);
                batch.put(key.as_bytes(), &value);
                written += (key.len() + value.len()) as u64;
                index += 1;
            }
            db.write(batch, &WriteOptions::default()).unwrap();
        }
    }
    let logged = log_bytes(directory.path());
    let output = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--ignored", "--nocapture"])
        .env(CHILD_DIRECTORY, directory.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|line| line.starts_with("child:"))
        .unwrap();
    let peak_kib: u64 = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("peak_kib="))
        .and_then(|value| value.parse().ok())
        .unwrap();
    println!(
        "reopen of {} MiB of unflushed log (default options, 4 MiB write buffer): peak resident {} MiB ({line})",
        logged >> 20,
        peak_kib >> 10
    );
    // Streaming recovery: the peak follows the write buffer and the read
    // buffers, not the log's size.
    assert!(
        peak_kib << 10 < logged / 2,
        "peak {peak_kib} KiB for a {logged}-byte log"
    );
}
