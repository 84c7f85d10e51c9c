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
];

/// What each workload does, for `--help` and the documentation.
pub fn describe(name: &str) -> &'static str {
    match name {
        "fillseq" => "N puts in ascending key order into an empty database",
        "fillrandom" => "N puts of a random permutation of the N keys (each key once)",
        "overwrite" => "after fillrandom: N puts of keys drawn at random from the filled set",
        "readrandom" => "after fillrandom: --reads gets of present keys drawn at random",
        "readmissing" => "after fillrandom: --reads gets of absent keys between present ones",
        "readseq" => "after fillrandom: --scan-passes full scans in key order",
        "seekrandom" => "after fillrandom: --seeks seeks to a random key, each reading 10 entries",
        "fillsync1" | "fillsync4" | "fillsync16" => {
            "synced single-key puts from 1/4/16 threads for --sync-seconds"
        }
        "reopen" => "open time of a database whose unflushed WAL holds --reopen-mib MiB",
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

fn fill_random(engine: &dyn Engine, n: u64, seed: u64) -> Phase {
    let permutation = Permutation::new(n);
    let mut rng = Rng::new(seed);
    let value = value(&mut rng);
    let (seconds, latency) = timed(n, |index| {
        engine.put(&present(permutation.at(index)), &value, false);
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
    let seed = 0x5eed ^ u64::from(rep) << 32;
    let n = config.num;
    let matched = config.matched();
    let reopen = workload == "reopen";
    let matched = if reopen {
        // Big enough that the whole WAL stays in one unflushed memtable.
        Matched {
            write_buffer_size: (config.reopen_bytes() as usize) * 4 + (64 << 20),
            ..matched
        }
    } else {
        matched
    };
    let mut engine = engines::open(engine_name, &path, &matched);
    let needs_fill = matches!(
        workload,
        "overwrite" | "readrandom" | "readmissing" | "readseq" | "seekrandom"
    );
    if needs_fill {
        fill_random(engine.as_ref(), n, seed);
        engine.wait_idle();
    }
    let mut extra: Vec<(&'static str, f64)> = Vec::new();
    if reopen {
        let entries = config.reopen_bytes().div_ceil(ENTRY_SIZE);
        fill_random(engine.as_ref(), entries, seed);
        drop(engine);
        extra.push(("wal_bytes", measure::wal_bytes(&path) as f64));
        extra.push((
            "tables_before_open",
            count_files(&path, &[".sst", ".ldb"]) as f64,
        ));
        // Placeholder, replaced right below by the measured open.
        engine = Box::new(Closed);
    }

    measure::reset_peak_rss();
    let (rss_start, _) = measure::rss();
    let io_start = measure::io();
    let mut rng = Rng::new(seed ^ 0xabcd);
    let phase = match workload {
        "fillseq" => {
            let value = value(&mut rng);
            let (seconds, latency) = timed(n, |index| {
                engine.put(&present(index), &value, false);
            });
            Phase {
                ops: n,
                bytes: n * ENTRY_SIZE,
                user_bytes_written: n * ENTRY_SIZE,
                seconds,
                latency,
            }
        }
        "fillrandom" => fill_random(engine.as_ref(), n, seed),
        "overwrite" => {
            let mut value = value(&mut rng);
            value[0] ^= 0xff;
            let (seconds, latency) = timed(n, |_| {
                engine.put(&present(rng.below(n)), &value, false);
            });
            Phase {
                ops: n,
                bytes: n * ENTRY_SIZE,
                user_bytes_written: n * ENTRY_SIZE,
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
        "reopen" => {
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
        other => panic!("unknown workload {other:?}; known: {ALL:?}"),
    };
    let idle_start = Instant::now();
    engine.wait_idle();
    let idle_seconds = idle_start.elapsed().as_secs_f64();
    let io_end = measure::io();
    let (_, peak_rss) = measure::rss();
    // Measured once closed: an engine may delete an obsolete log only after
    // its flush has been reported done.
    drop(engine);
    let disk_bytes = measure::disk_bytes(&path);
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
