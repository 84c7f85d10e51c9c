//! The workloads, db_bench style: each one runs in a child process on a
//! fresh directory, does its unmeasured setup, then its measured phase, and
//! returns one [`Row`].

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Config;
use crate::engines::{self, Engine, Matched};
use crate::measure::{self, Histogram};
use crate::report::Row;

/// Bytes of a key.
pub const KEY_SIZE: usize = 16;
/// Bytes of a value.
pub const VALUE_SIZE: usize = 100;
/// Bytes of user data in one entry.
pub const ENTRY_SIZE: u64 = (KEY_SIZE + VALUE_SIZE) as u64;
/// Entries a `seekrandom` operation reads after its seek.
pub const SEEK_NEXT: usize = 10;

/// Every workload, in the order they run and are reported.
pub const ALL: &[&str] = &[
    "fillseq",
    "fillrandom",
    "overwrite",
    "readrandom",
    "readmissing",
    "readseq",
    "seekrandom",
    "fillsync1",
    "fillsync4",
    "fillsync16",
    "reopen",
    "reopenflush",
];

/// Workloads that run only when named in `--workloads` (too long for the
/// default set).
pub const EXTRA: &[&str] = &["mixed"];

/// Whether `name` is a workload of [`ALL`] or [`EXTRA`].
pub fn known(name: &str) -> bool {
    ALL.contains(&name) || EXTRA.contains(&name)
}

/// What each workload does, for `--help` and the documentation.
pub fn describe(name: &str) -> &'static str {
    match name {
        "fillseq" => "N puts in ascending key order into an empty database",
        "fillrandom" => "N puts of a random permutation of the N keys (each key once)",
        "overwrite" => {
            "after fillrandom: --overwrite-passes x N puts of keys drawn at random from the filled set"
        }
        "readrandom" => "after fillrandom: --reads gets of present keys drawn at random",
        "readmissing" => "after fillrandom: --reads gets of absent keys between present ones",
        "readseq" => "after fillrandom: --scan-passes full scans in key order",
        "seekrandom" => "after fillrandom: --seeks seeks to a random key, each reading 10 entries",
        "fillsync1" | "fillsync4" | "fillsync16" => {
            "synced single-key puts from 1/4/16 threads for --sync-seconds"
        }
        "reopen" => {
            "open time of a database whose unflushed WAL holds --reopen-mib MiB, \
             with a write buffer that holds it all (one memtable, nothing flushed)"
        }
        "reopenflush" => {
            "the same WAL opened with the matched write buffer: recovery flushes \
             level-0 tables as its memtable fills, so memory stays near the buffer"
        }
        "mixed" => {
            "after fillrandom: for --mixed-seconds, one thread overwrites random keys at \
             --mixed-write-rate puts/s while another reads random keys; level-0 tables, \
             RSS and per-interval p99 sampled over time (not in the default set)"
        }
        _ => "unknown",
    }
}

/// The key of slot `index`: present keys use even slots, absent ones odd
/// slots, so misses fall between present keys and bloom filters matter.
pub fn key(slot: u64) -> [u8; KEY_SIZE] {
    let mut key = [0u8; KEY_SIZE];
    key[..8].copy_from_slice(b"key00000");
    key[8..].copy_from_slice(&slot.to_be_bytes());
    key
}

fn present(index: u64) -> [u8; KEY_SIZE] {
    key(2 * index)
}

fn absent(index: u64) -> [u8; KEY_SIZE] {
    key(2 * index + 1)
}

/// A bijection of `0..n`: an invertible mix of the smallest power of two
/// covering `n`, walked until it lands inside `0..n` (cycle walking keeps
/// it a permutation).
pub struct Permutation {
    n: u64,
    mask: u64,
    shift: u32,
}

impl Permutation {
    /// The permutation of `0..n`.
    pub fn new(n: u64) -> Self {
        let bits = 64 - n.max(2).saturating_sub(1).leading_zeros();
        Permutation {
            n,
            mask: if bits >= 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            },
            shift: bits.div_ceil(2).max(1),
        }
    }

    fn mix(&self, mut x: u64) -> u64 {
        // Each step (odd multiply, xor with a right shift, add) is
        // invertible modulo a power of two.
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15) & self.mask;
        x ^= x >> self.shift;
        x = x.wrapping_add(0x6a09_e667_f3bc_c909) & self.mask;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9) & self.mask;
        x ^= x >> self.shift;
        x
    }

    /// Where `index` (below `n`) goes.
    pub fn at(&self, index: u64) -> u64 {
        let mut x = index;
        loop {
            x = self.mix(x);
            if x < self.n {
                return x;
            }
        }
    }
}

/// splitmix64: a small, fast generator for random keys.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

fn value(rng: &mut Rng) -> [u8; VALUE_SIZE] {
    let mut value = [0u8; VALUE_SIZE];
    for chunk in value.chunks_mut(8) {
        let bytes = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    value
}

/// The values of a fill. Without compression every put writes one random
/// value (its bytes do not matter). With compression each put gets a value
/// of its own that compresses to about half, as db_bench's default
/// `--compression_ratio=0.5` makes them: random bytes for the first half,
/// repeated for the second (one value for all would compress to almost
/// nothing and flatter both codecs).
struct Values {
    rng: Rng,
    value: [u8; VALUE_SIZE],
    compressible: bool,
}

impl Values {
    fn new(seed: u64, compressible: bool) -> Self {
        let mut rng = Rng::new(seed);
        let value = value(&mut rng);
        Values {
            rng,
            value,
            compressible,
        }
    }

    fn next(&mut self) -> &[u8; VALUE_SIZE] {
        if self.compressible {
            let (random, copy) = self.value.split_at_mut(VALUE_SIZE / 2);
            for chunk in random.chunks_mut(8) {
                let bytes = self.rng.next_u64().to_le_bytes();
                chunk.copy_from_slice(&bytes[..chunk.len()]);
            }
            copy.copy_from_slice(&random[..copy.len()]);
        }
        &self.value
    }
}

/// The measured phase of a run: what it did and how long it took.
#[derive(Default)]
struct Phase {
    ops: u64,
    bytes: u64,
    user_bytes_written: u64,
    seconds: f64,
    latency: Histogram,
}

/// Times `ops` calls of `op`, one latency sample each.
fn timed(ops: u64, mut op: impl FnMut(u64)) -> (f64, Histogram) {
    let mut latency = Histogram::default();
    let start = Instant::now();
    for index in 0..ops {
        let before = Instant::now();
        op(index);
        latency.record(before.elapsed().as_nanos() as u64);
    }
    (start.elapsed().as_secs_f64(), latency)
}

fn fill_random(engine: &dyn Engine, n: u64, seed: u64, compressible: bool) -> Phase {
    let permutation = Permutation::new(n);
    let mut values = Values::new(seed, compressible);
    let (seconds, latency) = timed(n, |index| {
        engine.put(&present(permutation.at(index)), values.next(), false);
    });
    Phase {
        ops: n,
        bytes: n * ENTRY_SIZE,
        user_bytes_written: n * ENTRY_SIZE,
        seconds,
        latency,
    }
}

/// Runs `workload` on `engine_name` in a fresh directory under `base` and
/// returns its row. The directory is removed before returning.
pub fn run(config: &Config, engine_name: &str, workload: &str, rep: u32) -> Row {
    let directory = fresh_directory(&config.dir, engine_name, workload);
    let path = directory.join("db");
    let seed = reopen_seed(rep);
    let n = config.num;
    let compressible = config.lz4;
    let reopen = workload.starts_with("reopen");
    // `reopen` opens with a write buffer that holds the whole WAL;
    // `reopenflush` with the matched one. Both logs are written alike.
    let matched = if workload == "reopen" {
        reopen_matched(config)
    } else {
        config.matched()
    };
    let mut extra: Vec<(&'static str, f64)> = Vec::new();
    let mut engine: Box<dyn Engine> = if reopen {
        // The WAL is written by another process, so that this one's memory
        // holds nothing of the writing when the open is measured.
        write_reopen_log_elsewhere(config, engine_name, &path, rep);
        extra.push(("wal_bytes", measure::wal_bytes(&path) as f64));
        extra.push((
            "tables_before_open",
            count_files(&path, &[".sst", ".ldb"]) as f64,
        ));
        Box::new(Closed)
    } else {
        engines::open(engine_name, &path, &matched)
    };
    let needs_fill = matches!(
        workload,
        "overwrite" | "readrandom" | "readmissing" | "readseq" | "seekrandom" | "mixed"
    );
    if needs_fill {
        fill_random(engine.as_ref(), n, seed, compressible);
        engine.wait_idle();
    }

    measure::reset_peak_rss();
    let (rss_start, _) = measure::rss();
    let io_start = measure::io();
    let cpu_start = measure::cpu_seconds();
    let mut rng = Rng::new(seed ^ 0xabcd);
    let phase = match workload {
        "fillseq" => {
            let mut values = Values::new(rng.next_u64(), compressible);
            let (seconds, latency) = timed(n, |index| {
                engine.put(&present(index), values.next(), false);
            });
            Phase {
                ops: n,
                bytes: n * ENTRY_SIZE,
                user_bytes_written: n * ENTRY_SIZE,
                seconds,
                latency,
            }
        }
        "fillrandom" => fill_random(engine.as_ref(), n, seed, compressible),
        "overwrite" => {
            let mut values = Values::new(rng.next_u64() ^ 0xff, compressible);
            let puts = n * config.overwrite_passes;
            let (seconds, latency) = timed(puts, |_| {
                let key = present(rng.below(n));
                engine.put(&key, values.next(), false);
            });
            extra.push(("live_bytes", (n * ENTRY_SIZE) as f64));
            Phase {
                ops: puts,
                bytes: puts * ENTRY_SIZE,
                user_bytes_written: puts * ENTRY_SIZE,
                seconds,
                latency,
            }
        }
        "readrandom" | "readmissing" => {
            let hits = workload == "readrandom";
            let reads = config.reads();
            let mut found = 0u64;
            let (seconds, latency) = timed(reads, |_| {
                let index = rng.below(n);
                let key = if hits { present(index) } else { absent(index) };
                found += u64::from(engine.get(&key));
            });
            let expected = if hits { reads } else { 0 };
            assert_eq!(found, expected, "{engine_name} {workload}: found {found}");
            Phase {
                ops: reads,
                bytes: found * ENTRY_SIZE,
                seconds,
                latency,
                ..Phase::default()
            }
        }
        "readseq" => {
            let start = Instant::now();
            let mut ops = 0;
            for _ in 0..config.scan_passes {
                let count = engine.scan();
                assert_eq!(count, n, "{engine_name} readseq: scanned {count} of {n}");
                ops += count;
            }
            // Per-entry latencies are too short to time without distorting
            // them; none are reported.
            Phase {
                ops,
                bytes: ops * ENTRY_SIZE,
                seconds: start.elapsed().as_secs_f64(),
                ..Phase::default()
            }
        }
        "seekrandom" => {
            let seeks = config.seeks();
            let mut read = 0u64;
            let (seconds, latency) = timed(seeks, |_| {
                read += engine.seek(&present(rng.below(n)), SEEK_NEXT);
            });
            assert!(read >= seeks, "{engine_name} seekrandom: read {read}");
            extra.push(("entries_read", read as f64));
            Phase {
                ops: seeks,
                bytes: read * ENTRY_SIZE,
                seconds,
                latency,
                ..Phase::default()
            }
        }
        "fillsync1" | "fillsync4" | "fillsync16" => fill_sync(
            engine.as_ref(),
            workload["fillsync".len()..].parse().expect("thread count"),
            Duration::from_secs_f64(config.sync_seconds),
            seed,
        ),
        "reopen" | "reopenflush" => {
            let start = Instant::now();
            engine = engines::open(engine_name, &path, &matched);
            let seconds = start.elapsed().as_secs_f64();
            assert!(engine.get(&present(0)), "{engine_name} reopen lost key 0");
            let entries = config.reopen_bytes().div_ceil(ENTRY_SIZE);
            Phase {
                ops: entries,
                bytes: entries * ENTRY_SIZE,
                user_bytes_written: entries * ENTRY_SIZE,
                seconds,
                ..Phase::default()
            }
        }
        "mixed" => mixed(engine.as_ref(), config, engine_name, seed, &mut extra),
        other => panic!("unknown workload {other:?}; known: {ALL:?} {EXTRA:?}"),
    };
    let idle_start = Instant::now();
    engine.wait_idle();
    let idle_seconds = idle_start.elapsed().as_secs_f64();
    let io_end = measure::io();
    extra.push(("cpu_seconds", measure::cpu_seconds() - cpu_start));
    if config.level_stats {
        eprintln!(
            "{engine_name} {workload} rep {rep}: levels\n{}",
            engine.level_stats()
        );
    }
    let (_, peak_rss) = measure::rss();
    // Measured once closed: an engine may delete an obsolete log only after
    // its flush has been reported done.
    drop(engine);
    let disk_bytes = measure::disk_bytes(&path);
    if workload == "overwrite" {
        let live = n * ENTRY_SIZE;
        eprintln!(
            "{engine_name} overwrite rep {rep}: on disk {:.1} MiB once idle and closed, \
             {:.2}x the {:.1} MiB of live entries",
            disk_bytes as f64 / f64::from(1 << 20),
            disk_bytes as f64 / live as f64,
            live as f64 / f64::from(1 << 20)
        );
    }
    let _ = std::fs::remove_dir_all(&directory);

    Row {
        engine: engine_name.to_owned(),
        workload: workload.to_owned(),
        rep,
        ops: phase.ops,
        seconds: phase.seconds,
        bytes: phase.bytes,
        p50_us: phase.latency.percentile_us(0.50),
        p99_us: phase.latency.percentile_us(0.99),
        p999_us: phase.latency.percentile_us(0.999),
        user_bytes_written: phase.user_bytes_written,
        bytes_written: io_end.wchar.saturating_sub(io_start.wchar),
        storage_bytes_written: io_end.write_bytes.saturating_sub(io_start.write_bytes),
        idle_seconds,
        disk_bytes,
        rss_start,
        peak_rss,
        extra,
    }
}

fn fill_sync(engine: &dyn Engine, threads: u64, duration: Duration, seed: u64) -> Phase {
    let merged = Mutex::new((0u64, Histogram::default()));
    let start = Instant::now();
    let deadline = start + duration;
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let merged = &merged;
            scope.spawn(move || {
                let mut rng = Rng::new(seed ^ thread);
                let value = value(&mut rng);
                let mut latency = Histogram::default();
                let mut ops = 0u64;
                loop {
                    let before = Instant::now();
                    if before >= deadline {
                        break;
                    }
                    // Disjoint key ranges per thread.
                    engine.put(&present(thread << 40 | ops), &value, true);
                    latency.record(before.elapsed().as_nanos() as u64);
                    ops += 1;
                }
                let mut merged = merged.lock().expect("merge lock");
                merged.0 += ops;
                merged.1.merge(&latency);
            });
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    let (ops, latency) = merged.into_inner().expect("merge lock");
    Phase {
        ops,
        bytes: ops * ENTRY_SIZE,
        user_bytes_written: ops * ENTRY_SIZE,
        seconds,
        latency,
    }
}

/// One interval of the mixed workload, as sampled.
struct Sample {
    seconds: f64,
    level0_tables: u64,
    rss: u64,
}

/// The mixed workload: a paced writer and a free-running reader for
/// `config.mixed_seconds`, with level-0 tables, RSS and per-interval
/// latency percentiles recorded every `MIXED_INTERVAL`. Each interval is
/// printed to stderr as it closes; the summary goes into `extra`. The
/// phase's latency columns are the reads'.
fn mixed(
    engine: &dyn Engine,
    config: &Config,
    engine_name: &str,
    seed: u64,
    extra: &mut Vec<(&'static str, f64)>,
) -> Phase {
    const MIXED_INTERVAL: Duration = Duration::from_secs(10);
    let n = config.num;
    let duration = Duration::from_secs_f64(config.mixed_seconds);
    let intervals = (duration.as_secs_f64() / MIXED_INTERVAL.as_secs_f64()).ceil() as usize;
    let start = Instant::now();
    let deadline = start + duration;
    let interval_of =
        |at: Instant| ((at - start).as_secs_f64() / MIXED_INTERVAL.as_secs_f64()) as usize;
    let (reads, writes, samples) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut rng = Rng::new(seed ^ 0x77);
            let mut value = value(&mut rng);
            value[1] ^= 0xff;
            let mut latency: Vec<Histogram> =
                (0..intervals).map(|_| Histogram::default()).collect();
            let mut ops = 0u64;
            let rate = config.mixed_write_rate;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                if rate > 0.0 {
                    // Paced: the n-th put is due at n / rate seconds.
                    let due = start + Duration::from_secs_f64(ops as f64 / rate);
                    if due > now {
                        std::thread::sleep((due - now).min(deadline - now));
                        continue;
                    }
                }
                let before = Instant::now();
                engine.put(&present(rng.below(n)), &value, false);
                let index = interval_of(before).min(intervals - 1);
                latency[index].record(before.elapsed().as_nanos() as u64);
                ops += 1;
            }
            (ops, latency)
        });
        let sampler = scope.spawn(|| {
            let mut samples = Vec::new();
            for interval in 1..=intervals {
                let due = start + MIXED_INTERVAL * interval as u32;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let (rss, _) = measure::rss();
                samples.push(Sample {
                    seconds: start.elapsed().as_secs_f64(),
                    level0_tables: engine.level0_tables(),
                    rss,
                });
            }
            samples
        });
        let mut rng = Rng::new(seed ^ 0x99);
        let mut latency: Vec<Histogram> = (0..intervals).map(|_| Histogram::default()).collect();
        let mut ops = 0u64;
        loop {
            let before = Instant::now();
            if before >= deadline {
                break;
            }
            let found = engine.get(&present(rng.below(n)));
            assert!(found, "{engine_name} mixed: a present key was not found");
            let index = interval_of(before).min(intervals - 1);
            latency[index].record(before.elapsed().as_nanos() as u64);
            ops += 1;
        }
        let writes = writer.join().expect("writer");
        let samples = sampler.join().expect("sampler");
        ((ops, latency), writes, samples)
    });
    let seconds = start.elapsed().as_secs_f64();
    let (read_ops, read_latency) = reads;
    let (write_ops, write_latency) = writes;
    let p99 = |histogram: &Histogram| histogram.percentile_us(0.99).unwrap_or(0.0);
    for (index, sample) in samples.iter().enumerate() {
        eprintln!(
            "  mixed {engine_name} t={:>5.0}s level0={:>3} rss={:>7.1} MiB get p99={:>8.1} us put p99={:>8.1} us",
            sample.seconds,
            sample.level0_tables,
            sample.rss as f64 / f64::from(1 << 20),
            p99(&read_latency[index]),
            p99(&write_latency[index]),
        );
    }
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    let max_of = |values: &mut dyn Iterator<Item = f64>| values.fold(0.0, f64::max);
    extra.push(("mixed_reads", read_ops as f64));
    extra.push(("mixed_writes", write_ops as f64));
    extra.push((
        "level0_max",
        max_of(&mut samples.iter().map(|s| s.level0_tables as f64)),
    ));
    extra.push((
        "level0_last",
        samples.last().map_or(0.0, |s| s.level0_tables as f64),
    ));
    extra.push(("rss_first_mib", samples.first().map_or(0.0, |s| mib(s.rss))));
    extra.push(("rss_last_mib", samples.last().map_or(0.0, |s| mib(s.rss))));
    extra.push((
        "rss_max_mib",
        max_of(&mut samples.iter().map(|s| mib(s.rss))),
    ));
    extra.push(("get_p99_first_us", read_latency.first().map_or(0.0, p99)));
    extra.push(("get_p99_last_us", read_latency.last().map_or(0.0, p99)));
    extra.push(("get_p99_max_us", max_of(&mut read_latency.iter().map(p99))));
    extra.push(("put_p99_first_us", write_latency.first().map_or(0.0, p99)));
    extra.push(("put_p99_last_us", write_latency.last().map_or(0.0, p99)));
    extra.push(("put_p99_max_us", max_of(&mut write_latency.iter().map(p99))));
    let mut latency = Histogram::default();
    for histogram in &read_latency {
        latency.merge(histogram);
    }
    Phase {
        ops: read_ops + write_ops,
        bytes: (read_ops + write_ops) * ENTRY_SIZE,
        user_bytes_written: write_ops * ENTRY_SIZE,
        seconds,
        latency,
    }
}

/// Stands in for an engine between the close and the reopen.
struct Closed;

impl Engine for Closed {
    fn put(&self, _: &[u8], _: &[u8], _: bool) {
        unreachable!("closed")
    }
    fn get(&self, _: &[u8]) -> bool {
        unreachable!("closed")
    }
    fn scan(&self) -> u64 {
        unreachable!("closed")
    }
    fn seek(&self, _: &[u8], _: usize) -> u64 {
        unreachable!("closed")
    }
    fn wait_idle(&self) {}
    fn level0_tables(&self) -> u64 {
        unreachable!("closed")
    }
    fn level_stats(&self) -> String {
        unreachable!("closed")
    }
}

fn count_files(path: &Path, suffixes: &[&str]) -> usize {
    std::fs::read_dir(path).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                suffixes.iter().any(|suffix| name.ends_with(suffix))
            })
            .count()
    })
}

/// The matched options of the reopen workload: a write buffer big enough
/// that the whole WAL stays in one unflushed memtable.
fn reopen_matched(config: &Config) -> Matched {
    Matched {
        write_buffer_size: (config.reopen_bytes() as usize) * 4 + (64 << 20),
        ..config.matched()
    }
}

/// Runs this executable as `reopen-write` on `path` and waits for it.
fn write_reopen_log_elsewhere(config: &Config, engine_name: &str, path: &Path, rep: u32) {
    let exe = std::env::current_exe().expect("path of this executable");
    let status = std::process::Command::new(exe)
        .args(config.child_args())
        .arg(format!("--reopen-path={}", path.display()))
        .args(["--child", engine_name, REOPEN_WRITE, &rep.to_string()])
        .stdin(std::process::Stdio::null())
        .status()
        .expect("start the reopen writer");
    assert!(status.success(), "{engine_name} reopen writer: {status}");
}

/// The child that writes the reopen workload's log: a random fill of
/// `--reopen-mib` into `path`, left unflushed, then a close.
pub const REOPEN_WRITE: &str = "reopen-write";

/// What the [`REOPEN_WRITE`] child does.
pub fn write_reopen_log(config: &Config, engine_name: &str, path: &Path, rep: u32) {
    let engine = engines::open(engine_name, path, &reopen_matched(config));
    let entries = config.reopen_bytes().div_ceil(ENTRY_SIZE);
    fill_random(engine.as_ref(), entries, reopen_seed(rep), config.lz4);
}

fn reopen_seed(rep: u32) -> u64 {
    0x5eed ^ u64::from(rep) << 32
}

fn fresh_directory(base: &Path, engine: &str, workload: &str) -> std::path::PathBuf {
    let directory = base.join(format!(
        "strata-compare-{}-{engine}-{workload}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("create the run directory");
    directory
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_bijections() {
        for n in [1u64, 2, 3, 7, 8, 9, 1000, 4097, 65_536, 100_003] {
            let permutation = Permutation::new(n);
            let mut seen = vec![false; n as usize];
            for index in 0..n {
                let to = permutation.at(index);
                assert!(to < n && !seen[to as usize], "n {n} index {index}");
                seen[to as usize] = true;
            }
        }
    }

    #[test]
    fn permutation_scatters() {
        let permutation = Permutation::new(1 << 20);
        let ascending = (0..1000u64)
            .filter(|&index| permutation.at(index) < permutation.at(index + 1))
            .count();
        assert!((300..700).contains(&ascending), "{ascending}");
    }

    #[test]
    fn misses_fall_between_hits() {
        assert!(present(5) < absent(5) && absent(5) < present(6));
    }
}
