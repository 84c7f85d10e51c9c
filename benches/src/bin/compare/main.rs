//! Side-by-side runner, db_bench style: the same workloads on Strata and on
//! RocksDB with matched options, each run in its own child process on a
//! fresh directory, engines alternated, median and spread of repetitions.
//!
//! ```text
//! cargo build --release -p strata-bench --features rocksdb --bin compare
//! target/release/compare [--num N] [--reps R] [--json] [--svg PATH] [--quick] ...
//! ```
//!
//! `--help` lists the options; `docs/benchmarks.md` describes the method.
//! Without the `rocksdb` feature the runner measures Strata alone.

mod engines;
mod measure;
mod report;
mod workloads;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use report::{Json, Ratio, Row, Summary};

/// What to run and how big; every run (parent and children) shares it.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Keys of a fill.
    pub(crate) num: u64,
    /// Gets of readrandom and readmissing (0: `num`).
    pub(crate) reads: u64,
    /// Seeks of seekrandom (0: `num / 4`).
    pub(crate) seeks: u64,
    /// Full scans of readseq.
    pub(crate) scan_passes: u64,
    /// Puts of the overwrite workload, in multiples of `num`.
    pub(crate) overwrite_passes: u64,
    /// Seconds of each fillsync run.
    pub(crate) sync_seconds: f64,
    /// MiB of WAL the reopen workload recovers.
    pub(crate) reopen_mib: f64,
    /// Seconds of the mixed workload.
    pub(crate) mixed_seconds: f64,
    /// Puts per second of the mixed workload's writer (0: as fast as it can).
    pub(crate) mixed_write_rate: f64,
    /// Repetitions of each (engine, workload).
    pub(crate) reps: u32,
    pub(crate) workloads: Vec<String>,
    pub(crate) engines: Vec<String>,
    pub(crate) write_buffer_mib: f64,
    pub(crate) cache_mib: f64,
    /// Blocks compressed with LZ4 on both engines (and values that compress
    /// to about half); off by default.
    pub(crate) lz4: bool,
    /// How both engines replay their logs at open.
    pub(crate) recovery_mode: strata::RecoveryMode,
    /// Strata's `wal_prefill_bytes`.
    pub(crate) wal_prefill_bytes: u64,
    /// RocksDB's `recycle_log_file_num`.
    pub(crate) rocksdb_recycle_log_file_num: usize,
    /// Where the run directories are made.
    pub(crate) dir: PathBuf,
    pub(crate) json: bool,
    pub(crate) svg: Option<PathBuf>,
    pub(crate) quick: bool,
    /// Print each engine's per-level table and compaction figures to
    /// stderr after every run.
    pub(crate) level_stats: bool,
    /// Where a `reopen-write` child writes (set only for it).
    pub(crate) reopen_path: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            num: 4_000_000,
            reads: 0,
            seeks: 0,
            scan_passes: 3,
            overwrite_passes: 1,
            sync_seconds: 5.0,
            reopen_mib: 64.0,
            mixed_seconds: 600.0,
            mixed_write_rate: 20_000.0,
            reps: 3,
            workloads: workloads::ALL.iter().map(|w| (*w).to_owned()).collect(),
            engines: engines::available()
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
            write_buffer_mib: 4.0,
            cache_mib: 8.0,
            lz4: false,
            recovery_mode: strata::RecoveryMode::default(),
            wal_prefill_bytes: strata::Options::default().wal_prefill_bytes,
            rocksdb_recycle_log_file_num: 0,
            dir: std::env::temp_dir(),
            json: false,
            svg: None,
            quick: false,
            level_stats: false,
            reopen_path: None,
        }
    }
}

impl Config {
    pub(crate) fn reads(&self) -> u64 {
        if self.reads == 0 {
            self.num
        } else {
            self.reads
        }
    }

    pub(crate) fn seeks(&self) -> u64 {
        if self.seeks == 0 {
            (self.num / 4).max(1)
        } else {
            self.seeks
        }
    }

    pub(crate) fn reopen_bytes(&self) -> u64 {
        (self.reopen_mib * f64::from(1 << 20)) as u64
    }

    pub(crate) fn matched(&self) -> engines::Matched {
        engines::Matched {
            write_buffer_size: (self.write_buffer_mib * f64::from(1 << 20)) as usize,
            block_size: 4096,
            bloom_bits_per_key: 10,
            block_cache_size: (self.cache_mib * f64::from(1 << 20)) as usize,
            max_immutable_memtables: strata::Options::default().max_immutable_memtables,
            lz4: self.lz4,
            recovery_mode: self.recovery_mode,
            wal_prefill_bytes: self.wal_prefill_bytes,
            rocksdb_recycle_log_file_num: self.rocksdb_recycle_log_file_num,
        }
    }

    /// The arguments that give a child this configuration.
    fn child_args(&self) -> Vec<String> {
        vec![
            format!("--num={}", self.num),
            format!("--reads={}", self.reads()),
            format!("--seeks={}", self.seeks()),
            format!("--scan-passes={}", self.scan_passes),
            format!("--overwrite-passes={}", self.overwrite_passes),
            format!("--sync-seconds={}", self.sync_seconds),
            format!("--reopen-mib={}", self.reopen_mib),
            format!("--mixed-seconds={}", self.mixed_seconds),
            format!("--mixed-write-rate={}", self.mixed_write_rate),
            format!("--write-buffer-mib={}", self.write_buffer_mib),
            format!("--cache-mib={}", self.cache_mib),
            format!("--compression={}", if self.lz4 { "lz4" } else { "none" }),
            format!("--recovery-mode={}", self.recovery_mode),
            format!("--strata-wal-prefill-kib={}", self.wal_prefill_bytes >> 10),
            format!(
                "--rocksdb-recycle-logs={}",
                self.rocksdb_recycle_log_file_num
            ),
            format!("--dir={}", self.dir.display()),
            format!("--level-stats={}", self.level_stats),
        ]
    }

    fn to_json(&self) -> String {
        let matched = self.matched();
        report::object(&[
            ("type", Json::Str("config".into())),
            ("num", Json::Num(self.num as f64)),
            ("reads", Json::Num(self.reads() as f64)),
            ("seeks", Json::Num(self.seeks() as f64)),
            ("scan_passes", Json::Num(self.scan_passes as f64)),
            ("overwrite_passes", Json::Num(self.overwrite_passes as f64)),
            ("sync_seconds", Json::Num(self.sync_seconds)),
            ("reopen_bytes", Json::Num(self.reopen_bytes() as f64)),
            ("mixed_seconds", Json::Num(self.mixed_seconds)),
            ("mixed_write_rate", Json::Num(self.mixed_write_rate)),
            ("reps", Json::Num(f64::from(self.reps))),
            (
                "write_buffer_size",
                Json::Num(matched.write_buffer_size as f64),
            ),
            ("block_size", Json::Num(matched.block_size as f64)),
            (
                "bloom_bits_per_key",
                Json::Num(matched.bloom_bits_per_key as f64),
            ),
            (
                "block_cache_size",
                Json::Num(matched.block_cache_size as f64),
            ),
            (
                "max_immutable_memtables",
                Json::Num(matched.max_immutable_memtables as f64),
            ),
            (
                "compression",
                Json::Str(if matched.lz4 { "lz4" } else { "none" }.into()),
            ),
            (
                "recovery_mode",
                Json::Str(matched.recovery_mode.to_string()),
            ),
            (
                "strata_wal_prefill_bytes",
                Json::Num(matched.wal_prefill_bytes as f64),
            ),
            (
                "rocksdb_recycle_log_file_num",
                Json::Num(matched.rocksdb_recycle_log_file_num as f64),
            ),
            ("key_size", Json::Num(workloads::KEY_SIZE as f64)),
            ("value_size", Json::Num(workloads::VALUE_SIZE as f64)),
            ("dir", Json::Str(self.dir.display().to_string())),
            ("quick", Json::Str(self.quick.to_string())),
        ])
    }
}

const USAGE: &str = "\
usage: compare [OPTIONS]

  --num N               keys of a fill (default 4000000)
  --reads N             gets of readrandom / readmissing (default: --num)
  --seeks N             seeks of seekrandom (default: --num / 4)
  --scan-passes N       full scans of readseq (default 3)
  --overwrite-passes K  puts of overwrite, in multiples of --num (default 1)
  --sync-seconds S      duration of each fillsync run (default 5)
  --reopen-mib M        WAL size the reopen workload recovers (default 64)
  --mixed-seconds S     duration of the mixed workload (default 600)
  --mixed-write-rate R  puts/s of the mixed workload's writer (default 20000;
                        0: unpaced)
  --reps R              repetitions, engines alternated (default 3)
  --workloads A,B,...   subset of the workloads (default all but mixed)
  --engines A,B         subset of strata,rocksdb (default both)
  --write-buffer-mib M  memtable size on both engines (default 4)
  --cache-mib M         block cache on both engines (default 8)
  --compression C       none (default) or lz4: LZ4 table blocks on both
                        engines, and values that compress to about half
  --recovery-mode M     how both engines replay their logs at open:
                        absolute-consistency, tolerate-corrupted-tail-records,
                        point-in-time-recovery (default) or
                        skip-any-corrupted-records (rust-rocksdb's and
                        RocksDB's names are accepted too)
  --strata-wal-prefill-kib K
                        Strata's wal_prefill_bytes in KiB (default 1024;
                        0: off)
  --rocksdb-recycle-logs N
                        RocksDB's recycle_log_file_num (default 0)
  --dir PATH            where run directories are made (default $TMPDIR or /tmp)
  --json                JSON lines (config, every run, summaries, ratios)
  --svg PATH            write the ratio chart there
  --level-stats         after each run, print each engine's tables and
                        compaction bytes per level to stderr
  --quick               tiny smoke run: --num 20000, --sync-seconds 0.3,
                        --reopen-mib 1, --mixed-seconds 20 (later options
                        still apply)
";

/// The engine, workload and repetition a child process runs.
type ChildRun = (String, String, u32);

fn parse(args: &[String]) -> Result<(Config, Option<ChildRun>), String> {
    let mut config = Config::default();
    let mut child = None;
    let mut index = 0;
    let next = |index: &mut usize, name: &str, inline: Option<&str>| {
        if let Some(value) = inline {
            return Ok(value.to_owned());
        }
        *index += 1;
        args.get(*index)
            .cloned()
            .ok_or_else(|| format!("{name} needs a value"))
    };
    fn number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, String> {
        text.parse()
            .map_err(|_| format!("{name}: {text:?} is not a valid number"))
    }
    while index < args.len() {
        let (name, inline) = match args[index].split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value)),
            _ => (args[index].clone(), None),
        };
        match name.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--json" => config.json = true,
            "--level-stats" if inline.is_none() => config.level_stats = true,
            "--quick" => {
                config.quick = true;
                config.num = 20_000;
                config.sync_seconds = 0.3;
                config.reopen_mib = 1.0;
                config.mixed_seconds = 20.0;
            }
            "--child" => {
                let engine = next(&mut index, &name, None)?;
                let workload = next(&mut index, &name, None)?;
                let rep = number(&name, &next(&mut index, &name, None)?)?;
                child = Some((engine, workload, rep));
            }
            _ => {
                let value = next(&mut index, &name, inline)?;
                match name.as_str() {
                    "--num" => config.num = number(&name, &value)?,
                    "--reads" => config.reads = number(&name, &value)?,
                    "--seeks" => config.seeks = number(&name, &value)?,
                    "--scan-passes" => config.scan_passes = number(&name, &value)?,
                    "--overwrite-passes" => config.overwrite_passes = number(&name, &value)?,
                    "--sync-seconds" => config.sync_seconds = number(&name, &value)?,
                    "--reopen-mib" => config.reopen_mib = number(&name, &value)?,
                    "--mixed-seconds" => config.mixed_seconds = number(&name, &value)?,
                    "--mixed-write-rate" => config.mixed_write_rate = number(&name, &value)?,
                    "--level-stats" => config.level_stats = number(&name, &value)?,
                    "--reopen-path" => config.reopen_path = Some(PathBuf::from(value)),
                    "--reps" => config.reps = number(&name, &value)?,
                    "--write-buffer-mib" => config.write_buffer_mib = number(&name, &value)?,
                    "--cache-mib" => config.cache_mib = number(&name, &value)?,
                    "--compression" => {
                        config.lz4 = match value.as_str() {
                            "none" => false,
                            "lz4" => true,
                            _ => return Err(format!("--compression is none or lz4, not {value}")),
                        };
                    }
                    "--recovery-mode" => {
                        config.recovery_mode = value
                            .parse()
                            .map_err(|error| format!("--recovery-mode: {error}"))?;
                    }
                    "--strata-wal-prefill-kib" => {
                        config.wal_prefill_bytes = number::<u64>(&name, &value)? << 10;
                    }
                    "--rocksdb-recycle-logs" => {
                        config.rocksdb_recycle_log_file_num = number(&name, &value)?;
                    }
                    "--dir" => config.dir = PathBuf::from(value),
                    "--svg" => config.svg = Some(PathBuf::from(value)),
                    "--workloads" => {
                        config.workloads = value.split(',').map(str::to_owned).collect();
                    }
                    "--engines" => {
                        config.engines = value.split(',').map(str::to_owned).collect();
                    }
                    _ => return Err(format!("unknown option {name}")),
                }
            }
        }
        index += 1;
    }
    if config.num == 0
        || config.reps == 0
        || config.scan_passes == 0
        || config.overwrite_passes == 0
    {
        return Err(
            "--num, --reps, --scan-passes and --overwrite-passes must be positive".to_owned(),
        );
    }
    if !(config.mixed_seconds > 0.0 && config.mixed_write_rate >= 0.0) {
        return Err("--mixed-seconds must be positive, --mixed-write-rate not negative".to_owned());
    }
    for workload in &config.workloads {
        if !workloads::known(workload) {
            return Err(format!(
                "unknown workload {workload:?}; known: {},{}",
                workloads::ALL.join(","),
                workloads::EXTRA.join(",")
            ));
        }
    }
    for engine in &config.engines {
        if !engines::available().contains(&engine.as_str()) {
            return Err(format!(
                "engine {engine:?} is not in this build (built with {:?}; RocksDB needs --features rocksdb)",
                engines::available()
            ));
        }
    }
    Ok((config, child))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, child) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            if message.is_empty() {
                print!("{USAGE}\nworkloads:\n");
                for workload in workloads::ALL.iter().chain(workloads::EXTRA) {
                    println!("  {workload:<12} {}", workloads::describe(workload));
                }
                return;
            }
            eprintln!("compare: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Some((engine, workload, rep)) = child {
        if workload == workloads::REOPEN_WRITE {
            let path = config.reopen_path.as_ref().expect("--reopen-path");
            workloads::write_reopen_log(&config, &engine, path, rep);
            return;
        }
        let row = workloads::run(&config, &engine, &workload, rep);
        println!("{}", row.to_json());
        return;
    }
    parent(&config);
}

/// Runs one child and returns its row.
fn spawn(config: &Config, engine: &str, workload: &str, rep: u32) -> Row {
    let exe = std::env::current_exe().expect("path of this executable");
    let output = Command::new(exe)
        .args(config.child_args())
        .args(["--child", engine, workload, &rep.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("start a child run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        eprintln!(
            "compare: {engine} {workload} rep {rep} failed ({})",
            output.status
        );
        std::process::exit(1);
    }
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .unwrap_or_default();
    Row::from_json(line).unwrap_or_else(|error| {
        eprintln!("compare: {engine} {workload} rep {rep}: {error}");
        std::process::exit(1);
    })
}

fn parent(config: &Config) {
    let started = Instant::now();
    let matched = config.matched();
    let mut header = vec![format!(
        "keys {} x {} B + values {} B; fill {} keys, reads {}, seeks {} (+{} next), scans {}, overwrites {} x N, fillsync {} s, reopen WAL {} MiB; {} reps{}",
        config.num,
        workloads::KEY_SIZE,
        workloads::VALUE_SIZE,
        config.num,
        config.reads(),
        config.seeks(),
        workloads::SEEK_NEXT,
        config.scan_passes,
        config.overwrite_passes,
        config.sync_seconds,
        config.reopen_mib,
        config.reps,
        if config.quick {
            " (quick smoke run)"
        } else {
            ""
        }
    )];
    header.extend(matched.describe());
    header.push(format!("run directories under {}", config.dir.display()));
    if config.json {
        println!("{}", config.to_json());
    } else {
        for line in &header {
            println!("# {line}");
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    for rep in 1..=config.reps {
        // RocksDB first on odd repetitions, Strata first on even ones.
        let mut order: Vec<&String> = config.engines.iter().collect();
        order.sort_by_key(|engine| (engine.as_str() == "strata") == (rep % 2 == 1));
        for workload in &config.workloads {
            for engine in &order {
                let row = spawn(config, engine, workload, rep);
                eprintln!(
                    "rep {rep}/{} {:<12} {:<8} {:>12.0} ops/s {:>8.2} s (+{:.2} s to idle) [{:.0} s elapsed]",
                    config.reps,
                    workload,
                    engine,
                    row.ops_per_sec(),
                    row.seconds,
                    row.idle_seconds,
                    started.elapsed().as_secs_f64()
                );
                if config.json {
                    println!("{}", row.to_json());
                }
                rows.push(row);
            }
        }
    }
    let mut summaries = Vec::new();
    let mut ratios = Vec::new();
    for workload in &config.workloads {
        let of = |engine: &str| -> Vec<&Row> {
            rows.iter()
                .filter(|row| &row.workload == workload && row.engine == engine)
                .collect()
        };
        for engine in &config.engines {
            if let Some(summary) = Summary::of(&of(engine)) {
                summaries.push(summary);
            }
        }
        if let Some(ratio) = Ratio::of(workload, &of("strata"), &of("rocksdb")) {
            ratios.push(ratio);
        }
    }
    if config.json {
        for summary in &summaries {
            println!("{}", summary.to_json());
        }
        for ratio in &ratios {
            println!("{}", ratio.to_json());
        }
    } else {
        println!("{}", report::table(&summaries, &ratios));
        println!(
            "ratio = Strata ops/s / RocksDB ops/s (median of reps; in brackets the spread of per-rep ratios); \
             w-amp = bytes written / user bytes; +RSS = peak RSS growth during the measured phase"
        );
        // The workloads with fields of their own: one line per run.
        for row in rows.iter().filter(|row| !row.extra.is_empty()) {
            let fields: Vec<String> = row
                .extra
                .iter()
                .map(|(name, value)| format!("{name}={value:.1}"))
                .collect();
            println!(
                "{} {} rep {}: {}",
                row.workload,
                row.engine,
                row.rep,
                fields.join(" ")
            );
        }
    }
    if let Some(path) = &config.svg {
        if ratios.is_empty() {
            eprintln!("compare: no ratios to chart (both engines needed)");
        } else {
            let subtitles = [
                format!(
                    "{} keys of 16 B with 100 B values, median of {} reps{}",
                    config.num,
                    config.reps,
                    if config.quick {
                        " - QUICK SMOKE RUN, not a measurement"
                    } else {
                        ""
                    },
                ),
                format!(
                    "both engines: write buffer {} MiB, block cache {} MiB, 4 KiB blocks, bloom 10 bits/key, {}, WAL on",
                    config.write_buffer_mib,
                    config.cache_mib,
                    if config.lz4 {
                        "LZ4 blocks, values compressible to half"
                    } else {
                        "no compression"
                    }
                ),
            ];
            let chart = report::svg(&ratios, "Strata / RocksDB throughput", &subtitles);
            std::fs::write(path, chart).expect("write the chart");
            eprintln!("chart written to {}", path.display());
        }
    }
    eprintln!("total {:.0} s", started.elapsed().as_secs_f64());
}
