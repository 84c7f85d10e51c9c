//! What a run measures besides its clock: a latency histogram, the
//! process's I/O counters and memory from `/proc/self`, and the size of a
//! directory on disk.

use std::path::Path;

/// Sub-buckets per power of two: latencies are kept to within 1/8 (12.5 %).
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = (2 * SUB + (64 - SUB_BITS as u64 - 1) * SUB) as usize;

/// A log-linear histogram of latencies in nanoseconds: one counter per
/// eighth of each power of two, so recording is a few instructions.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }
}

fn bucket(value: u64) -> usize {
    if value < 2 * SUB {
        return value as usize;
    }
    let msb = 63 - value.leading_zeros();
    let shift = msb - SUB_BITS;
    let sub = (value >> shift) & (SUB - 1);
    (2 * SUB + u64::from(msb - SUB_BITS - 1) * SUB + sub) as usize
}

/// The largest value that falls into `index`.
fn bucket_high(index: usize) -> u64 {
    let index = index as u64;
    if index < 2 * SUB {
        return index;
    }
    let msb = (index - 2 * SUB) / SUB + u64::from(SUB_BITS) + 1;
    let sub = (index - 2 * SUB) % SUB;
    let shift = msb - u64::from(SUB_BITS);
    let high = (u128::from(SUB + sub + 1) << shift) - 1;
    u64::try_from(high).unwrap_or(u64::MAX)
}

impl Histogram {
    /// Counts one latency.
    pub fn record(&mut self, nanos: u64) {
        self.counts[bucket(nanos)] += 1;
        self.total += 1;
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    /// The latency in microseconds below which `fraction` of the samples
    /// fall (upper edge of its bucket), or `None` without samples.
    pub fn percentile_us(&self, fraction: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((self.total as f64 * fraction).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(bucket_high(index) as f64 / 1000.0);
            }
        }
        None
    }
}

/// The process's cumulative I/O counters (`/proc/self/io`), covering all
/// its threads, the engines' background threads included.
#[derive(Clone, Copy, Default)]
pub struct Io {
    /// Bytes passed to write-like system calls.
    pub wchar: u64,
    /// Bytes the process caused to be sent to storage (page-cache level).
    pub write_bytes: u64,
}

/// Reads `/proc/self/io`; zeros where it is unavailable.
pub fn io() -> Io {
    let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    Io {
        wchar: field(&text, "wchar:"),
        write_bytes: field(&text, "write_bytes:"),
    }
}

fn field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or(0)
}

/// CPU time the process (all its threads) has used so far, user and
/// system, in seconds: from `/proc/self/stat`, in the kernel's fixed 100
/// ticks per second; 0 where it is unavailable. Less disturbed than wall
/// time by other work on a shared machine, so it compares two builds of
/// one engine more steadily.
pub fn cpu_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start at
    // the state, field 3; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |field: usize| -> f64 {
        fields
            .get(field - 3)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0) as f64
    };
    (ticks(14) + ticks(15)) / 100.0
}

/// Resident set size now and its peak since [`reset_peak_rss`], in bytes.
pub fn rss() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (field(&text, "VmRSS:") * 1024, field(&text, "VmHWM:") * 1024)
}

/// Resets the peak resident set size (VmHWM) to the current one, so that a
/// measured phase reports its own peak and not that of its setup.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Total size of the regular files under `path`.
pub fn disk_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => disk_bytes(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |meta| meta.len()),
            Err(_) => 0,
        })
        .sum()
}

/// Total size of the files named `*.log` (the write-ahead logs of both
/// engines) directly in `path`.
pub fn wal_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".log"))
        .map(|entry| entry.metadata().map_or(0, |meta| meta.len()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_their_values() {
        for value in (0..5000).chain([1 << 20, (1 << 20) + 12345, u64::MAX / 3, u64::MAX]) {
            let index = bucket(value);
            assert!(value <= bucket_high(index), "{value}");
            if index > 0 {
                assert!(value > bucket_high(index - 1), "{value}");
            }
        }
        assert!(bucket(u64::MAX) < BUCKETS);
    }

    #[test]
    fn percentiles() {
        let mut histogram = Histogram::default();
        for nanos in 1..=1000 {
            histogram.record(nanos * 1000);
        }
        let p50 = histogram.percentile_us(0.5).expect("samples");
        assert!((500.0..=563.0).contains(&p50), "{p50}");
        let p999 = histogram.percentile_us(0.999).expect("samples");
        assert!((999.0..=1130.0).contains(&p999), "{p999}");
        assert_eq!(Histogram::default().percentile_us(0.5), None);
    }
}
