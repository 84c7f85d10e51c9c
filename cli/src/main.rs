//! The `strata` command-line tool.
//!
//! - `strata inspect DIR [--mode MODE]`: what recovery would do, as a dry run
//!   that changes nothing (all four modes unless one is named).
//! - `strata dump-log FILE [--crc32c]`: every record and problem of one log.
//! - `strata crash-test [--rounds N] [--seconds S] [--dir DIR]`: the kill -9
//!   loop: a child writes synced batches and reports acknowledgements, the
//!   parent kills it at random moments, reopens and checks that every
//!   acknowledged write survived and that the state is a prefix.
//! - `strata crash-test --power-loss ...`: the same loop on a FUSE file
//!   system that cuts the power after each kill, so that only synced data
//!   survives (needs `/dev/fuse` and `fusermount3`).

mod crash_test;
mod no_sync;
mod power_loss;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use strata::{Db, Options, RecoveryMode};
use strata_wal::{Checksum, Event, Reader, ReaderOptions};

#[derive(Parser)]
#[command(name = "strata", version, about = "Inspect and test Strata databases")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what recovery would do to a database, changing nothing.
    Inspect {
        /// The database directory.
        directory: PathBuf,
        /// One recovery mode (kebab-case or RocksDB's name); all four if absent.
        #[arg(long)]
        mode: Option<RecoveryMode>,
    },
    /// List every record and problem of one log file.
    DumpLog {
        /// The log file.
        file: PathBuf,
        /// The log was written by RocksDB or LevelDB (CRC-32C checksums).
        #[arg(long)]
        crc32c: bool,
    },
    /// Kill a writer with SIGKILL again and again and check what survives.
    CrashTest {
        /// Number of kill rounds (at least 1).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
        rounds: u64,
        /// Stop after this many seconds even if rounds remain.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Database directory (a new temporary one if absent).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Seed of the kill schedule (and of the power cuts).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Cut the power after each kill: run the database on a FUSE file
        /// system that then forgets everything not synced (DIR, if given,
        /// holds `backing/` and `mount/`).
        #[arg(long)]
        power_loss: bool,
        /// Negative control: the writer's syncs (all, or only those of files
        /// or of directories) do nothing; the test must fail.
        #[arg(
            long,
            hide = true,
            requires = "power_loss",
            num_args = 0..=1,
            default_missing_value = "all"
        )]
        no_sync_control: Option<no_sync::SkippedSyncs>,
    },
    /// The writer half of `crash-test` (run by it, not by hand).
    #[command(hide = true)]
    CrashTestWriter {
        directory: PathBuf,
        start: u64,
        /// Open the database on a file system whose syncs do nothing.
        #[arg(long)]
        no_sync_control: Option<no_sync::SkippedSyncs>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { directory, mode } => inspect(&directory, mode),
        Command::DumpLog { file, crc32c } => dump_log(&file, crc32c),
        Command::CrashTest {
            rounds,
            seconds,
            dir,
            seed,
            power_loss: true,
            no_sync_control,
        } => power_loss::run(&power_loss::PowerLoss {
            rounds,
            seconds,
            directory: dir,
            seed,
            no_sync_control,
        }),
        Command::CrashTest {
            rounds,
            seconds,
            dir,
            seed,
            power_loss: false,
            ..
        } => crash_test::run(rounds, seconds, dir, seed),
        Command::CrashTestWriter {
            directory,
            start,
            no_sync_control,
        } => crash_test::writer(&directory, start, no_sync_control),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("strata: {error}");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

fn inspect(directory: &std::path::Path, mode: Option<RecoveryMode>) -> Result<(), Failure> {
    let modes = match mode {
        Some(mode) => vec![mode],
        None => RecoveryMode::ALL.to_vec(),
    };
    let mut refused = 0;
    for mode in modes {
        let options = Options {
            recovery_mode: mode,
            ..Options::default()
        };
        match Db::inspect_recovery(directory, &options) {
            Ok(report) => print!("{report}"),
            Err(error) => {
                refused += 1;
                println!("recovery under {mode} would refuse: {error}");
            }
        }
    }
    if refused > 0 && mode.is_some() {
        return Err(format!(
            "recovery under the given mode would refuse to open {}",
            directory.display()
        )
        .into());
    }
    Ok(())
}

fn dump_log(file: &std::path::Path, crc32c: bool) -> Result<(), Failure> {
    let options = ReaderOptions {
        checksum: if crc32c {
            Checksum::Crc32c
        } else {
            Checksum::Crc32
        },
        ..ReaderOptions::default()
    };
    let reader = Reader::new(std::fs::File::open(file)?, options);
    let (mut records, mut problems) = (0u64, 0u64);
    for event in reader {
        match event? {
            Event::Record(record) => {
                records += 1;
                let summary = match strata_wal::batch::decode_header(&record.payload) {
                    Ok((sequence, count)) => format!("batch sequence {sequence} count {count}"),
                    Err(error) => format!("not a batch: {error}"),
                };
                println!(
                    "record at {}..{} ({} bytes): {summary}",
                    record.offset,
                    record.end_offset,
                    record.payload.len()
                );
            }
            Event::Problem(problem) => {
                problems += 1;
                println!("PROBLEM {problem}");
            }
        }
    }
    println!("{records} records, {problems} problems");
    Ok(())
}
