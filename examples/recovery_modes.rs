//! The main demonstration of Strata: a writer process is killed with
//! SIGKILL in the middle of a stream of synced writes, and the database it
//! leaves is then damaged the two ways the world damages logs. Each copy is
//! reopened under all four recovery modes, and each mode's recovery report
//! (or refusal) is printed.
//!
//! 1. As the kill left it.
//! 2. A torn tail: the last record cut short, as a power loss in the middle
//!    of an append leaves it (in a log not prefilled with zeros, as under
//!    TolerateCorruptedTailRecords).
//! 3. A write torn over prefilled zeros: the writer ran under the default
//!    PointInTimeRecovery, which keeps zeros written ahead of the log so
//!    that synced writes overwrite them (`Options::wal_prefill_bytes`); a
//!    power loss in the middle of such a write leaves the record's first
//!    bytes followed by zeros.
//! 4. A corruption: one byte flipped in the middle of the log (bad media or a
//!    bug), with intact records after it.
//!
//! Run with `cargo run --example recovery_modes`.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use strata::{Db, Options, RecoveryMode, WriteBatch, WriteOptions};
use strata_wal::{Event, Reader, ReaderOptions};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let arguments: Vec<String> = std::env::args().collect();
    if arguments.get(1).map(String::as_str) == Some("writer") {
        return writer(Path::new(&arguments[2]));
    }
    let workspace = std::env::temp_dir().join(format!("strata-demo-{}", std::process::id()));
    fs::create_dir_all(&workspace)?;
    let original = workspace.join("killed");
    let acknowledged = run_and_kill_writer(&original, 300)?;
    println!("a writer acknowledged {acknowledged} synced batches and was killed with SIGKILL\n");

    let log = newest_log(&original)?;
    let records = record_spans(&log)?;

    let torn = copy_database(&original, &workspace.join("torn"))?;
    let (last_start, _) = records[records.len() - 1];
    fs::OpenOptions::new()
        .write(true)
        .open(torn.join(log.file_name().ok_or("log name")?))?
        .set_len(last_start + 5)?;

    let overwritten = copy_database(&original, &workspace.join("overwritten"))?;
    let (last_start, last_end) = records[records.len() - 1];
    let overwritten_log = overwritten.join(log.file_name().ok_or("log name")?);
    let mut bytes = fs::read(&overwritten_log)?;
    let half = (last_start + (last_end - last_start) / 2) as usize;
    bytes[half..last_end as usize].fill(0);
    fs::write(&overwritten_log, &bytes)?;

    let rotten = copy_database(&original, &workspace.join("rotten"))?;
    let (middle_start, _) = records[records.len() / 2];
    let rotten_log = rotten.join(log.file_name().ok_or("log name")?);
    let mut bytes = fs::read(&rotten_log)?;
    bytes[middle_start as usize + 20] ^= 0x10;
    fs::write(&rotten_log, &bytes)?;

    for (title, directory) in [
        ("as the kill left it", &original),
        (
            "torn tail: the last record cut short (power loss mid-append, no prefill)",
            &torn,
        ),
        (
            "a write torn over prefilled zeros: the last record's second half zeros",
            &overwritten,
        ),
        (
            "corruption: one byte flipped in the middle of the log",
            &rotten,
        ),
    ] {
        println!("== {title}");
        for mode in RecoveryMode::ALL {
            let copy = copy_database(directory, &workspace.join(format!("open-{mode}")))?;
            let options = Options {
                recovery_mode: mode,
                create_if_missing: false,
                ..Options::default()
            };
            match Db::open(&copy, options) {
                Ok(db) => {
                    let count = db.iter().count();
                    print!(
                        "{mode}: opens with {count} keys\n{}",
                        indent(&db.recovery_report().to_string())
                    );
                }
                Err(error) => println!("{mode}: refuses to open\n    {error}"),
            }
            fs::remove_dir_all(&copy)?;
        }
        println!();
    }
    fs::remove_dir_all(&workspace)?;
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

/// The child: writes synced batches forever, printing each acknowledgement.
fn writer(directory: &Path) -> Result<(), Failure> {
    let db = Db::open(directory, Options::default())?;
    let mut stdout = std::io::stdout().lock();
    for index in 0u64.. {
        let mut batch = WriteBatch::new();
        batch
            .put(
                format!("raft/log/{index:06}").as_bytes(),
                format!("entry {index}").repeat(8).as_bytes(),
            )
            .put(b"raft/last-index", index.to_string().as_bytes());
        db.write(batch, &WriteOptions::SYNC)?;
        writeln!(stdout, "ack {index}")?;
        stdout.flush()?;
    }
    Ok(())
}

fn run_and_kill_writer(directory: &Path, kill_after: u64) -> Result<u64, Failure> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("writer")
        .arg(directory)
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = BufReader::new(child.stdout.take().ok_or("child stdout")?);
    let mut acknowledged = 0;
    for line in stdout.lines() {
        if line?.starts_with("ack ") {
            acknowledged += 1;
            if acknowledged == kill_after {
                break;
            }
        }
    }
    child.kill()?;
    child.wait()?;
    Ok(acknowledged)
}

fn newest_log(directory: &Path) -> Result<PathBuf, Failure> {
    let mut logs: Vec<PathBuf> = fs::read_dir(directory)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    logs.retain(|path| path.extension().is_some_and(|e| e == "log"));
    logs.sort();
    logs.pop().ok_or_else(|| "no log".into())
}

/// Start and end offsets of every intact record of a log.
fn record_spans(log: &Path) -> Result<Vec<(u64, u64)>, Failure> {
    let reader = Reader::new(fs::File::open(log)?, ReaderOptions::default());
    let mut spans = Vec::new();
    for event in reader {
        if let Event::Record(record) = event? {
            spans.push((record.offset, record.end_offset));
        }
    }
    Ok(spans)
}

fn copy_database(from: &Path, to: &Path) -> Result<PathBuf, Failure> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() && entry.file_name() != "LOCK" {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(to.to_path_buf())
}
