//! The `strata` command-line tool: recovery dry runs and reports, dumps and
//! checks of logs, tables and MANIFESTs, reads and writes, a small
//! benchmark, and the kill -9 / power-loss crash tests. `strata --help`
//! lists the commands and the exit codes.

#[macro_use]
mod common;
mod bench;
mod crash_test;
mod files;
mod kv;
mod power_loss;
mod recover;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use strata::RecoveryMode;

use crate::common::Fail;

const LONG_ABOUT: &str = "\
Inspect, check, read, write, benchmark and crash-test Strata databases.

Exit codes:
  0  clean: nothing wrong
  1  recovery would drop (or dropped) data, verification or a dump found
     damage, or `get` did not find the key
  2  usage: the command line is wrong
  3  recovery would refuse (or refused) to open the database
  4  operational error: I/O, the database is locked by another process,
     or the path does not exist or holds no database

Read-only commands (recover --dry-run, verify, wal/sst/manifest dump,
sst verify) never create or change a file, not even LOCK. With --dry-run
and no --mode, recover exits 0 only if every mode opens without dropping
anything, 3 if every mode refuses, 1 otherwise.";

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "Inspect, check and test Strata databases",
    long_about = LONG_ABOUT
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// What recovery would do (--dry-run, all four modes unless --mode), or
    /// recover for real under --mode (quarantining what it drops).
    Recover {
        /// The database directory.
        directory: PathBuf,
        /// The recovery mode (kebab-case, rust-rocksdb's PointInTime or RocksDB's kName); without
        /// --dry-run it is required.
        #[arg(long)]
        mode: Option<RecoveryMode>,
        /// Change nothing: compute the recovery report only.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write-ahead log files.
    #[command(subcommand)]
    Wal(WalCommand),
    /// Table files.
    #[command(subcommand)]
    Sst(SstCommand),
    /// The MANIFEST.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Check the MANIFEST, every table (every block's checksum) and every
    /// log of a database, read-only.
    Verify {
        /// The database directory.
        directory: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the value of KEY (non-printable bytes as \xNN); exit 1 if it
    /// is not there.
    Get {
        /// The database directory.
        directory: PathBuf,
        /// The key.
        key: String,
        /// The recovery mode of the open.
        #[arg(long, default_value_t = RecoveryMode::default())]
        mode: RecoveryMode,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set KEY to VALUE (synced).
    Put {
        /// The database directory.
        directory: PathBuf,
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The recovery mode of the open.
        #[arg(long, default_value_t = RecoveryMode::default())]
        mode: RecoveryMode,
        /// Create the database if the directory does not exist.
        #[arg(long)]
        create: bool,
    },
    /// Delete KEY (synced).
    Delete {
        /// The database directory.
        directory: PathBuf,
        /// The key.
        key: String,
        /// The recovery mode of the open.
        #[arg(long, default_value_t = RecoveryMode::default())]
        mode: RecoveryMode,
    },
    /// List keys and values in key order.
    Scan {
        /// The database directory.
        directory: PathBuf,
        /// Only keys starting with P.
        #[arg(long, value_name = "P")]
        prefix: Option<String>,
        /// From key A (inclusive).
        #[arg(long, value_name = "A")]
        from: Option<String>,
        /// Up to key B (exclusive).
        #[arg(long, value_name = "B")]
        to: Option<String>,
        /// At most N entries.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Newest key first (descending order).
        #[arg(long)]
        reverse: bool,
        /// The recovery mode of the open.
        #[arg(long, default_value_t = RecoveryMode::default())]
        mode: RecoveryMode,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A small benchmark: throughput and per-call latency of one workload.
    Bench {
        /// What to run.
        #[arg(long, value_enum, default_value_t = bench::Workload::Fillseq)]
        workload: bench::Workload,
        /// Number of operations (split over the threads).
        #[arg(long, default_value_t = 100_000)]
        num: u64,
        /// Number of threads.
        #[arg(long, default_value_t = 1)]
        threads: u64,
        /// Value size in bytes (keys are 16 bytes).
        #[arg(long, default_value_t = 100)]
        value_size: usize,
        /// A new or empty directory for the database (a temporary one,
        /// removed afterwards, if absent).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
        no_sync_control: Option<strata_powercut::SkippedSyncs>,
    },
    /// The writer half of `crash-test` (run by it, not by hand).
    #[command(hide = true)]
    CrashTestWriter {
        directory: PathBuf,
        start: u64,
        /// Open the database on a file system whose syncs do nothing.
        #[arg(long)]
        no_sync_control: Option<strata_powercut::SkippedSyncs>,
        /// The recovery mode the writer opens the database under.
        #[arg(long, default_value_t = RecoveryMode::default())]
        mode: RecoveryMode,
    },
    /// Old name of `recover DIR --dry-run`.
    #[command(hide = true)]
    Inspect {
        directory: PathBuf,
        #[arg(long)]
        mode: Option<RecoveryMode>,
    },
    /// Old name of `wal dump`.
    #[command(hide = true)]
    DumpLog {
        file: PathBuf,
        #[arg(long)]
        crc32c: bool,
    },
}

#[derive(Subcommand)]
enum WalCommand {
    /// Every record (with its batch's sequence and count) and every
    /// problem of one log; exit 1 if it has a problem.
    Dump {
        /// The log file.
        file: PathBuf,
        /// The checksum algorithm: crc32 (Strata) or crc32c (RocksDB, LevelDB).
        #[arg(long, value_enum, default_value_t = files::ChecksumArg::Crc32)]
        checksum: files::ChecksumArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SstCommand {
    /// Every entry of one table: key, sequence, kind, value length and a
    /// preview of the value.
    Dump {
        /// The table file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Read every block of one table and check checksums, order and filter.
    Verify {
        /// The table file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ManifestCommand {
    /// CURRENT, every edit of the MANIFEST, and the state they add up to:
    /// tables by level, listed logs, next file number, last sequence.
    Dump {
        /// The database directory (or a MANIFEST file).
        directory: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Recover {
            directory,
            mode,
            dry_run,
            json,
        } => recover::run(&directory, mode, dry_run, json),
        Command::Inspect { directory, mode } => recover::inspect(&directory, mode),
        Command::Wal(WalCommand::Dump {
            file,
            checksum,
            json,
        }) => files::wal_dump(&file, checksum, json),
        Command::DumpLog { file, crc32c } => files::wal_dump(
            &file,
            if crc32c {
                files::ChecksumArg::Crc32c
            } else {
                files::ChecksumArg::Crc32
            },
            false,
        ),
        Command::Sst(SstCommand::Dump { file, json }) => files::sst_dump(&file, json),
        Command::Sst(SstCommand::Verify { file, json }) => files::sst_verify(&file, json),
        Command::Manifest(ManifestCommand::Dump { directory, json }) => {
            files::manifest_dump(&directory, json)
        }
        Command::Verify { directory, json } => files::verify(&directory, json),
        Command::Get {
            directory,
            key,
            mode,
            json,
        } => kv::get(&directory, &key, mode, json),
        Command::Put {
            directory,
            key,
            value,
            mode,
            create,
        } => kv::put(&directory, &key, &value, mode, create),
        Command::Delete {
            directory,
            key,
            mode,
        } => kv::delete(&directory, &key, mode),
        Command::Scan {
            directory,
            prefix,
            from,
            to,
            limit,
            reverse,
            mode,
            json,
        } => kv::scan(
            &directory,
            &kv::Scan {
                prefix: prefix.as_deref(),
                from: from.as_deref(),
                to: to.as_deref(),
                limit,
                reverse,
            },
            mode,
            json,
        ),
        Command::Bench {
            workload,
            num,
            threads,
            value_size,
            dir,
            json,
        } => bench::run(
            &bench::Bench {
                workload,
                num,
                threads,
                value_size,
                directory: dir,
            },
            json,
        ),
        Command::CrashTest {
            rounds,
            seconds,
            dir,
            seed,
            power_loss: true,
            no_sync_control,
        } => legacy(power_loss::run(&power_loss::PowerLoss {
            rounds,
            seconds,
            directory: dir,
            seed,
            no_sync_control,
        })),
        Command::CrashTest {
            rounds,
            seconds,
            dir,
            seed,
            power_loss: false,
            ..
        } => legacy(crash_test::run(rounds, seconds, dir, seed)),
        Command::CrashTestWriter {
            directory,
            start,
            no_sync_control,
            mode,
        } => legacy(crash_test::writer(&directory, start, no_sync_control, mode)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(fail) => fail.report(),
    }
}

/// The error type of the crash tests.
type Failure = Box<dyn std::error::Error>;

/// The crash tests fail with exit code 1, as they always did.
fn legacy(result: Result<(), Failure>) -> common::Outcome {
    result
        .map(|()| common::CLEAN)
        .map_err(|error| Fail::new(1, error.to_string()))
}
