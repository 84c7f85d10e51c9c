//! The power-loss test: the kill -9 loop on the FUSE file system of
//! `strata-powercut`, with a power cut after each kill. A kill alone keeps
//! the page cache, so it passes even if the engine never syncs; after a
//! power cut only what the engine really synced is left.
//!
//! Each round: a writer child writes synced batches on the mount and
//! prints `ack N` after each; it is killed at a random moment; the power is
//! cut (a seeded random torn tail of unsynced appends and subset of
//! unsynced directory operations survive); then every recovery mode is
//! tried as a dry run, the database is opened in one of them (a different
//! one each round) and checked: every acknowledged write is present, and
//! so is every write an earlier recovery showed, the state is a prefix of
//! the history, every mode but AbsoluteConsistency recovers the same
//! state, and AbsoluteConsistency refuses exactly when PointInTimeRecovery
//! dropped part of a write-ahead log (a torn MANIFEST tail is dropped in
//! every mode, as `docs/recovery.md` says). Some rounds kill the writer
//! while it is still opening the database. Rounds continue the same
//! database.
//!
//! The cuts replay from the seed; the kill moments are times, so a failing
//! run does not replay exactly: the failure names the round and keeps the
//! files.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use strata::{Db, Options, RecoveryMode, RecoveryReport};
use strata_powercut::{CutOptions, PowerCutFs};

use crate::Failure;
use crate::crash_test::{check_killed, key, value};
use strata_powercut::SkippedSyncs;

/// The longest wait for a writer's first acknowledgement.
const FIRST_ACKNOWLEDGEMENT_TIMEOUT: Duration = Duration::from_secs(60);
/// The kill comes a random 0 to this many milliseconds after the first
/// acknowledgement (long enough for memtable flushes and compactions).
const MAX_KILL_DELAY_MILLISECONDS: u64 = 1500;
/// One round in this many kills the writer early instead, often while it
/// is still opening (recovering) the database, which takes milliseconds.
const EARLY_KILL_ONE_IN: u64 = 4;
/// An early kill comes a random 0 to this many microseconds after the
/// writer started.
const MAX_EARLY_KILL_DELAY_MICROSECONDS: u64 = 20_000;

/// What the `crash-test --power-loss` command asked for.
pub(crate) struct PowerLoss {
    pub(crate) rounds: u64,
    pub(crate) seconds: u64,
    /// Holds `backing/` (the real files) and `mount/`; a new temporary
    /// directory, removed after a pass, if absent.
    pub(crate) directory: Option<PathBuf>,
    pub(crate) seed: u64,
    /// Run the writer on a file system whose syncs (these ones) do
    /// nothing: the test must fail.
    pub(crate) no_sync_control: Option<SkippedSyncs>,
}

/// A seeded xorshift generator for the kill moments and the cuts.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Kills (and reaps) the writer if a round ends early, so that the mount
/// can be unmounted.
struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        // Already dead and reaped in a round that went to the end.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What one check after a power cut found.
struct Checked {
    present: u64,
    /// `None` if there was no database to open.
    opened_under: Option<RecoveryMode>,
    dropped_regions: usize,
}

fn options(mode: RecoveryMode) -> Options {
    Options {
        recovery_mode: mode,
        ..Options::default()
    }
}

/// The dry run of every mode, then an open under `preferred` (or, if its
/// dry run refused, PointInTimeRecovery) and the checks of the module
/// documentation.
/// `acknowledged` is the writer's last acknowledgement, `recovered_before`
/// how many writes the previous check found: what a completed recovery
/// showed is on disk and must stay.
fn check(
    directory: &Path,
    acknowledged: Option<u64>,
    recovered_before: u64,
    preferred: RecoveryMode,
) -> Result<Checked, Failure> {
    let dry_runs: Vec<(RecoveryMode, strata::Result<RecoveryReport>)> = RecoveryMode::ALL
        .into_iter()
        .map(|mode| (mode, Db::inspect_recovery(directory, &options(mode))))
        .collect();
    let dry_run = |wanted: RecoveryMode| {
        dry_runs
            .iter()
            .find(|(mode, _)| *mode == wanted)
            .map(|(_, result)| result)
            .ok_or("a recovery mode is missing from RecoveryMode::ALL")
    };
    // First the writes: open (under PointInTimeRecovery if `preferred`
    // refuses) and look for every acknowledged one.
    // Without a database, every acknowledged write is lost.
    let lost = match acknowledged {
        Some(acknowledged) => format!("lost acknowledged write {acknowledged}: "),
        None => String::new(),
    };
    let point_in_time = match dry_run(RecoveryMode::PointInTimeRecovery)? {
        Ok(report) => report,
        // A writer killed before it created the database, with nothing to
        // keep: the next one creates it.
        Err(strata::Error::NotFound { .. }) if acknowledged.is_none() && recovered_before == 0 => {
            return Ok(Checked {
                present: 0,
                opened_under: None,
                dropped_regions: 0,
            });
        }
        Err(error) => {
            return Err(
                format!("{lost}point-in-time-recovery refuses after a power cut: {error}").into(),
            );
        }
    };
    let mode = match dry_run(preferred)? {
        Ok(_) => preferred,
        Err(_) => RecoveryMode::PointInTimeRecovery,
    };
    let db = Db::open(directory, options(mode)).map_err(|error| {
        format!("{lost}opening under {mode} fails after its dry run succeeded: {error}")
    })?;
    let mut present = 0;
    for entry in db.iter() {
        let (k, v) = entry?;
        if k != key(present) || v != value(present) {
            return Err(format!(
                "not a prefix of the writes (opened under {mode}): entry {present} is wrong or missing"
            )
            .into());
        }
        present += 1;
    }
    if let Some(acknowledged) = acknowledged
        && present <= acknowledged
    {
        return Err(format!(
            "lost acknowledged write {acknowledged}: only writes 0..{present} are present \
             (opened under {mode})"
        )
        .into());
    }
    if present < recovered_before {
        return Err(format!(
            "lost write {}, present after the previous recovery: only writes 0..{present} are \
             present (opened under {mode})",
            recovered_before - 1
        )
        .into());
    }
    // Then the modes (after the writes, so that a loss is reported as
    // such). A power cut leaves torn tails, never damage in the middle:
    // every mode but AbsoluteConsistency must recover, all to the same
    // sequence, and AbsoluteConsistency must refuse exactly when there was
    // a torn tail to drop.
    if db.recovery_report().last_sequence != point_in_time.last_sequence {
        return Err(format!(
            "opening under {mode} recovered sequence {} but the dry runs said {}",
            db.recovery_report().last_sequence,
            point_in_time.last_sequence
        )
        .into());
    }
    for (mode, result) in &dry_runs {
        match result {
            Ok(report) if report.last_sequence != point_in_time.last_sequence => {
                return Err(format!(
                    "{mode} recovers to sequence {} but point-in-time-recovery to {}",
                    report.last_sequence, point_in_time.last_sequence
                )
                .into());
            }
            Err(error) if *mode != RecoveryMode::AbsoluteConsistency => {
                return Err(format!("{mode} refuses after a power cut: {error}").into());
            }
            _ => {}
        }
    }
    // A torn MANIFEST tail is dropped in every mode (docs/recovery.md,
    // "Opening"); the modes differ only on the write-ahead logs.
    let dropped_from_logs = point_in_time
        .dropped
        .iter()
        .filter(|region| !is_manifest(&region.file))
        .count();
    let absolute = dry_run(RecoveryMode::AbsoluteConsistency)?;
    if absolute.is_err() != (dropped_from_logs > 0) {
        return Err(format!(
            "absolute-consistency {} but point-in-time-recovery dropped {dropped_from_logs} \
             regions of logs:\n{point_in_time}",
            match absolute {
                Ok(_) => "opens".to_owned(),
                Err(error) => format!("refuses ({error})"),
            },
        )
        .into());
    }
    if let Ok(report) = absolute
        && report
            .dropped
            .iter()
            .any(|region| !is_manifest(&region.file))
    {
        return Err(
            format!("absolute-consistency opens but drops part of a log:\n{report}").into(),
        );
    }
    Ok(Checked {
        present,
        opened_under: Some(mode),
        dropped_regions: point_in_time.dropped.len(),
    })
}

/// Whether a dropped region is a MANIFEST's (torn) tail rather than part
/// of a write-ahead log.
fn is_manifest(file: &Path) -> bool {
    file.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("MANIFEST-"))
}

/// Reads the writer's acknowledgements to the end (everything it printed
/// before it died counts), signalling the first one; returns how many
/// there were and the last.
fn read_acknowledgements(
    stdout: ChildStdout,
    start: u64,
    first: mpsc::Sender<()>,
) -> io::Result<(u64, Option<u64>)> {
    let mut count = 0;
    let mut last = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let Some(index) = line.strip_prefix("ack ") else {
            continue;
        };
        let index: u64 = index
            .parse()
            .map_err(|_| io::Error::other(format!("the writer printed {line:?}")))?;
        if index != start + count {
            return Err(io::Error::other(format!(
                "the writer acknowledged {index} where {} was next",
                start + count
            )));
        }
        if count == 0 {
            // The receiver may have given up waiting; nothing to do then.
            let _ = first.send(());
        }
        count += 1;
        last = Some(index);
    }
    Ok((count, last))
}

pub(crate) fn run(test: &PowerLoss) -> Result<(), Failure> {
    if let Some(reason) = strata_powercut::unavailable_reason() {
        return Err(format!("the power-loss test needs FUSE: {reason}").into());
    }
    if let Some(skipped) = test.no_sync_control {
        let which = match skipped {
            SkippedSyncs::All => "file and directory syncs",
            SkippedSyncs::Files => "file syncs",
            SkippedSyncs::Directories => "directory syncs",
        };
        println!("negative control: the writer's {which} do nothing, so this test must fail");
    }
    let work = match &test.directory {
        Some(directory) => directory.clone(),
        None => std::env::temp_dir().join(format!("strata-power-loss-{}", std::process::id())),
    };
    run_rounds(test, &work).map_err(|error| {
        format!(
            "{error}\n(the backing files are kept in {} for inspection)",
            work.join("backing").display()
        )
    })?;
    if test.directory.is_none() {
        fs::remove_dir_all(&work)?;
    }
    Ok(())
}

fn run_rounds(test: &PowerLoss, work: &Path) -> Result<(), Failure> {
    let backing = work.join("backing");
    let mountpoint = work.join("mount");
    fs::create_dir_all(&backing)?;
    fs::create_dir_all(&mountpoint)?;
    let mut fs = PowerCutFs::mount(&backing, &mountpoint)?;
    let database = mountpoint.join("db");
    let mut next = if database.exists() {
        check(&database, None, 0, RecoveryMode::PointInTimeRecovery)?.present
    } else {
        // The engine creates a missing database directory but does not sync
        // its parent, so a power cut could take the whole database away;
        // the test creates the directory durably itself.
        fs::create_dir(&database)?;
        File::open(&mountpoint)?.sync_all()?;
        0
    };

    let deadline = Instant::now() + Duration::from_secs(test.seconds);
    let executable = std::env::current_exe()?;
    let mut random = Random(test.seed.max(1));
    let (mut completed, mut acknowledged_total) = (0u64, 0u64);
    while completed < test.rounds && Instant::now() < deadline {
        let round = completed + 1;
        let mut command = Command::new(&executable);
        command
            .arg("crash-test-writer")
            .arg(&database)
            .arg(next.to_string());
        if let Some(skipped) = test.no_sync_control {
            command.arg(format!("--no-sync-control={}", skipped.name()));
        }
        let mut writer = Writer(command.stdout(Stdio::piped()).spawn()?);
        let stdout = writer.0.stdout.take().ok_or("no writer stdout")?;
        let (first_sender, first_receiver) = mpsc::channel();
        let start = next;
        let reader = thread::spawn(move || read_acknowledgements(stdout, start, first_sender));
        let early = random.next().is_multiple_of(EARLY_KILL_ONE_IN);
        let moment = if early {
            let delay = random.next() % (MAX_EARLY_KILL_DELAY_MICROSECONDS + 1);
            thread::sleep(Duration::from_micros(delay));
            format!("{delay} µs after the writer started")
        } else {
            let delay = random.next() % (MAX_KILL_DELAY_MILLISECONDS + 1);
            match first_receiver.recv_timeout(FIRST_ACKNOWLEDGEMENT_TIMEOUT) {
                // Acknowledging: let it run on, then kill it.
                Ok(()) => thread::sleep(Duration::from_millis(delay)),
                // Its output ended: it exited (the status says how).
                Err(RecvTimeoutError::Disconnected) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "round {round}: no acknowledgement within {} s",
                        FIRST_ACKNOWLEDGEMENT_TIMEOUT.as_secs()
                    )
                    .into());
                }
            }
            format!("{delay} ms after the first acknowledgement")
        };
        writer.0.kill()?;
        let status = writer.0.wait()?;
        let (acknowledgements, last) = reader
            .join()
            .map_err(|_| "the thread reading the writer's output panicked")??;
        check_killed(status, completed, acknowledgements)?;
        drop(writer);

        let cut = fs.cut(&CutOptions::random(random.next()))?;
        let preferred = RecoveryMode::ALL[(completed % 4) as usize];
        let checked = check(&database, last, next, preferred)
            .map_err(|error| format!("round {round}: {error}"))?;
        next = checked.present;
        acknowledged_total += acknowledgements;
        completed += 1;
        println!(
            "round {round}: killed and power cut {moment}, {acknowledgements} acknowledged; \
             {cut}; point-in-time-recovery dropped {} regions; {}: {next} writes present, none \
             lost",
            checked.dropped_regions,
            match checked.opened_under {
                Some(mode) => format!("opened under {mode}"),
                None => "no database yet".to_owned(),
            },
        );
    }
    fs.unmount()?;
    println!(
        "power-loss test passed: {completed} power cuts, {acknowledged_total} acknowledged \
         synced writes, {next} writes present, 0 acknowledged writes lost"
    );
    Ok(())
}
