//! `strata bench`: a small, honest micro-benchmark of one workload on a
//! real directory. Each operation is timed on its own; the figures are
//! throughput over the whole run and latency percentiles of single calls.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use strata::{Db, Options, WriteBatch, WriteOptions};

use crate::common::{self, CLEAN, Fail, Outcome, engine_failure};

/// The workloads, named as in LevelDB's and RocksDB's `db_bench`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Workload {
    /// Puts in key order, not synced.
    Fillseq,
    /// Puts in random order, not synced.
    Fillrandom,
    /// Gets of random keys after an (untimed) sequential fill.
    Readrandom,
    /// Puts in random order, each synced before it returns.
    Fillsync,
}

/// What to run.
pub(crate) struct Bench {
    pub(crate) workload: Workload,
    pub(crate) num: u64,
    pub(crate) threads: u64,
    pub(crate) value_size: usize,
    pub(crate) directory: Option<PathBuf>,
}

#[derive(Serialize)]
struct BenchResult {
    workload: Workload,
    operations: u64,
    threads: u64,
    key_size: usize,
    value_size: usize,
    seconds: f64,
    ops_per_second: f64,
    megabytes_per_second: f64,
    p50_micros: f64,
    p99_micros: f64,
    max_micros: f64,
    /// For readrandom: how many keys were found (all should be).
    found: Option<u64>,
    directory: String,
}

const KEY_SIZE: usize = 16;

fn key(index: u64) -> Vec<u8> {
    format!("{index:016}").into_bytes()
}

/// SplitMix64: a small, seeded generator (no dependency).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn progress(total: u64) -> ProgressBar {
    if !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs `num` operations split over `threads`; returns each call's latency
/// in nanoseconds and how many reads found their key.
fn run_threads(
    db: &Arc<Db>,
    bench: &Bench,
    bar: &ProgressBar,
) -> Result<(Vec<u64>, u64), strata::Error> {
    let per_thread = bench.num / bench.threads;
    let extra = bench.num % bench.threads;
    let value = vec![b'v'; bench.value_size];
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        let mut start = 0;
        for thread in 0..bench.threads {
            let count = per_thread + u64::from(thread < extra);
            let first = start;
            start += count;
            let db = Arc::clone(db);
            let value = &value;
            handles.push(
                scope.spawn(move || -> Result<(Vec<u64>, u64), strata::Error> {
                    let mut random = Random(0x5eed ^ thread);
                    let mut latencies = Vec::with_capacity(count as usize);
                    let mut found = 0;
                    for index in first..first + count {
                        let target = match bench.workload {
                            Workload::Fillseq => index,
                            _ => random.next() % bench.num,
                        };
                        let began = Instant::now();
                        match bench.workload {
                            Workload::Readrandom => {
                                found += u64::from(db.get(key(target))?.is_some());
                            }
                            Workload::Fillsync => {
                                let mut batch = WriteBatch::new();
                                batch.put(key(target), value);
                                db.write(batch, &WriteOptions::SYNC)?;
                            }
                            Workload::Fillseq | Workload::Fillrandom => {
                                db.put(key(target), value)?;
                            }
                        }
                        latencies
                            .push(u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX));
                        if latencies.len() % 1024 == 0 {
                            bar.inc(1024);
                        }
                    }
                    Ok((latencies, found))
                }),
            );
        }
        let mut all = Vec::with_capacity(bench.num as usize);
        let mut found = 0;
        for handle in handles {
            let (latencies, hits) = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            all.extend(latencies);
            found += hits;
        }
        Ok((all, found))
    })
}

fn percentile(sorted: &[u64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)] as f64 / 1000.0
}

/// `strata bench`.
pub(crate) fn run(bench: &Bench, json: bool) -> Outcome {
    if bench.num == 0 || bench.threads == 0 {
        return Err(Fail::usage("--num and --threads must be at least 1"));
    }
    let temporary;
    let directory: &Path = match &bench.directory {
        Some(directory) => {
            if directory.exists()
                && std::fs::read_dir(directory)
                    .map(|mut entries| entries.next().is_some())
                    .unwrap_or(true)
            {
                return Err(Fail::usage(format!(
                    "the benchmark directory {} is not empty; give a new or empty one \
                     (the benchmark writes a database there)",
                    directory.display()
                )));
            }
            directory
        }
        None => {
            temporary = tempfile_dir()?;
            temporary.path()
        }
    };
    let db = Arc::new(
        Db::open(directory, Options::default())
            .map_err(|error| engine_failure(directory, &error))?,
    );
    if bench.workload == Workload::Readrandom {
        let value = vec![b'v'; bench.value_size];
        for index in 0..bench.num {
            db.put(key(index), &value)
                .map_err(|error| engine_failure(directory, &error))?;
        }
        db.flush()
            .map_err(|error| engine_failure(directory, &error))?;
        db.wait_for_background_idle()
            .map_err(|error| engine_failure(directory, &error))?;
    }
    let bar = progress(bench.num);
    bar.set_message(format!("{:?}", bench.workload).to_lowercase());
    let began = Instant::now();
    let (mut latencies, found) =
        run_threads(&db, bench, &bar).map_err(|error| engine_failure(directory, &error))?;
    let elapsed = began.elapsed().max(Duration::from_nanos(1));
    bar.finish_and_clear();
    match Arc::into_inner(db) {
        Some(db) => db
            .close()
            .map_err(|error| engine_failure(directory, &error))?,
        None => {
            return Err(Fail::operational(
                "the benchmark threads still hold the database",
            ));
        }
    }
    latencies.sort_unstable();
    let seconds = elapsed.as_secs_f64();
    let bytes = bench.num as f64 * (KEY_SIZE + bench.value_size) as f64;
    let result = BenchResult {
        workload: bench.workload,
        operations: bench.num,
        threads: bench.threads,
        key_size: KEY_SIZE,
        value_size: bench.value_size,
        seconds,
        ops_per_second: bench.num as f64 / seconds,
        megabytes_per_second: bytes / seconds / 1e6,
        p50_micros: percentile(&latencies, 0.50),
        p99_micros: percentile(&latencies, 0.99),
        max_micros: latencies.last().map_or(0.0, |&max| max as f64 / 1000.0),
        found: (bench.workload == Workload::Readrandom).then_some(found),
        directory: common::path_text(directory),
    };
    if json {
        common::print_json(&result)?;
    } else {
        outln!(
            "{:<11} {:>9} {:>7} {:>6} {:>9} {:>11} {:>8} {:>9} {:>9}",
            "workload",
            "ops",
            "threads",
            "value",
            "seconds",
            "ops/s",
            "MB/s",
            "p50 us",
            "p99 us"
        );
        outln!(
            "{:<11} {:>9} {:>7} {:>6} {:>9.3} {:>11.0} {:>8.1} {:>9.1} {:>9.1}",
            format!("{:?}", result.workload).to_lowercase(),
            result.operations,
            result.threads,
            result.value_size,
            result.seconds,
            result.ops_per_second,
            result.megabytes_per_second,
            result.p50_micros,
            result.p99_micros
        );
        if let Some(found) = result.found {
            outln!("{found} of {} reads found their key", result.operations);
        }
    }
    Ok(CLEAN)
}

fn tempfile_dir() -> Result<tempfile::TempDir, Fail> {
    tempfile::Builder::new()
        .prefix("strata-bench-")
        .tempdir()
        .map_err(|error| Fail::operational(format!("cannot create a temporary directory: {error}")))
}
