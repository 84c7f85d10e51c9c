//! Conformance with real RocksDB: each fixture under
//! `tests/fixtures/conformance/<case>/` holds WAL files written and then
//! damaged by `benches/src/bin/conformance.rs`, and `outcome.txt`, what RocksDB
//! itself did with that database under each `WALRecoveryMode` (see the
//! fixtures' README). This test needs no RocksDB: it replays the same WAL files
//! through `strata::recover_log_set` — the read-only pass `Db::open` runs —
//! applies the batches, and asserts that Strata fails or opens exactly like
//! RocksDB, with the same surviving keys, except where DESIGN.md §5 documents a
//! deliberate difference (the `DIFFERENCES` table below).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use strata::Checksum;
use strata::{LogSetOptions, RecoveryMode, recover_log_set};
use strata_wal::batch::{DecodedBatch, Operation};

/// The value the generator wrote for key `n` (see the fixtures' README).
fn value(n: u32) -> Vec<u8> {
    let n = n as usize;
    let len = if n >= 900 {
        40_000
    } else if n % 7 == 3 {
        1_000 + 10 * n
    } else {
        10 + (n * 37) % 250
    };
    (0..len)
        .map(|j| u8::try_from((n * 31 + j * 7) % 251).unwrap())
        .collect()
}

fn key_number(key: &[u8]) -> u32 {
    let text = std::str::from_utf8(key).unwrap();
    text.strip_prefix("key")
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("unexpected key {text:?}"))
}

/// Parses `key000001..key000004,key000007` (empty: no key).
fn parse_keys(list: &str) -> BTreeSet<u32> {
    let mut keys = BTreeSet::new();
    for part in list.split(',').filter(|part| !part.is_empty()) {
        match part.split_once("..") {
            Some((first, last)) => {
                keys.extend(key_number(first.as_bytes())..=key_number(last.as_bytes()));
            }
            None => {
                keys.insert(key_number(part.as_bytes()));
            }
        }
    }
    keys
}

fn render_keys(keys: &BTreeSet<u32>) -> String {
    let keys: Vec<u32> = keys.iter().copied().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let mut j = i;
        while j + 1 < keys.len() && keys[j + 1] == keys[j] + 1 {
            j += 1;
        }
        if j > i {
            parts.push(format!("key{:06}..key{:06}", keys[i], keys[j]));
        } else {
            parts.push(format!("key{:06}", keys[i]));
        }
        i = j + 1;
    }
    parts.join(",")
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Opens(BTreeSet<u32>),
    Fails(String),
}

impl Outcome {
    /// Same class (opens/fails) and, when it opens, the same keys. Failure
    /// messages are not compared: they are each engine's own words.
    fn agrees_with(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Opens(a), Outcome::Opens(b)) => a == b,
            (Outcome::Fails(_), Outcome::Fails(_)) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Opens(keys) => write!(f, "opens keys={}", render_keys(keys)),
            Outcome::Fails(message) => write!(f, "fails message={message}"),
        }
    }
}

const MODES: [(&str, RecoveryMode); 4] = [
    ("kAbsoluteConsistency", RecoveryMode::AbsoluteConsistency),
    (
        "kTolerateCorruptedTailRecords",
        RecoveryMode::TolerateCorruptedTailRecords,
    ),
    ("kPointInTimeRecovery", RecoveryMode::PointInTimeRecovery),
    (
        "kSkipAnyCorruptedRecords",
        RecoveryMode::SkipAnyCorruptedRecords,
    ),
];

struct Recorded {
    first_sequence: u64,
    outcomes: BTreeMap<&'static str, Outcome>,
}

fn parse_outcome_file(path: &Path) -> Recorded {
    let text = std::fs::read_to_string(path).unwrap();
    let mut first_sequence = None;
    let mut outcomes = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(number) = line.strip_prefix("first_sequence ") {
            first_sequence = Some(number.parse().unwrap());
            continue;
        }
        let (mode, rest) = line.split_once(' ').unwrap();
        let (mode, _) = MODES
            .iter()
            .find(|(name, _)| *name == mode)
            .unwrap_or_else(|| panic!("{}: unknown mode {mode:?}", path.display()));
        let outcome = if let Some(keys) = rest.strip_prefix("opens keys=") {
            assert!(
                !keys.contains(' '),
                "{}: RocksDB returned wrong values: {line}",
                path.display()
            );
            Outcome::Opens(parse_keys(keys))
        } else if let Some(message) = rest.strip_prefix("fails message=") {
            Outcome::Fails(message.to_string())
        } else {
            panic!("{}: cannot parse {line:?}", path.display());
        };
        assert!(outcomes.insert(*mode, outcome).is_none(), "{line}");
    }
    assert_eq!(outcomes.len(), MODES.len(), "{}", path.display());
    Recorded {
        first_sequence: first_sequence.unwrap(),
        outcomes,
    }
}

/// Runs Strata's recovery pass over the fixture's logs and applies the result.
fn strata_outcome(dir: &Path, mode: RecoveryMode, first_sequence: u64) -> Outcome {
    let options = LogSetOptions {
        checksum: Checksum::Crc32c,
        first_sequence,
    };
    let recovery = match recover_log_set(&strata::fs::OsFs, dir, mode, options) {
        Ok(recovery) => recovery,
        Err(error) => return Outcome::Fails(error.to_string()),
    };
    let mut state: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    for batch in &recovery.batches {
        let decoded = DecodedBatch::decode(&batch.payload).unwrap();
        for entry in &decoded.entries {
            match entry.operation {
                Operation::Put { key, value } => {
                    state.insert(key_number(key), value.to_vec());
                }
                Operation::Delete { key } => {
                    state.remove(&key_number(key));
                }
                other => panic!("the generator writes no {other:?}"),
            }
        }
    }
    for (n, stored) in &state {
        assert!(
            *stored == value(*n),
            "{}: {mode}: wrong value for key{n:06}",
            dir.display()
        );
    }
    Outcome::Opens(state.into_keys().collect())
}

/// What Strata does instead of what RocksDB does.
#[derive(Clone, Copy, Debug)]
enum Expected {
    /// The open fails; the message contains this text.
    Fails(&'static str),
    /// The open succeeds with exactly these keys.
    Opens(&'static str),
}

/// A deliberate difference from RocksDB documented in DESIGN.md §5.
struct Difference {
    case: &'static str,
    mode: RecoveryMode,
    strata: Expected,
    /// The DESIGN.md §5 bullet (or docs/wal_format.md rule it implements).
    why: &'static str,
}

/// DESIGN.md §5, first bullet: "Sequence continuity is checked between every pair of
/// consecutive logs [...] A gap (a log cut exactly at a record boundary [...]) is a
/// problem like any other: Absolute and Tolerate fail, PointInTime stops at the gap".
/// Also when an older log's last record was zeroed from its start: the zeros are
/// padding, so that log simply ends one batch early.
const GAP: &str = "DESIGN.md §5: sequence continuity is checked between every pair of consecutive logs; a gap (a log cut exactly at a record boundary) fails Absolute and Tolerate, stops PointInTime; RocksDB replays over it";

/// DESIGN.md §5, third bullet: "TolerateCorruptedTailRecords never silently continues
/// into a newer log that does not continue the sequence (RocksDB does, and can leave a
/// hole)."
const TOLERATE: &str = "DESIGN.md §5: TolerateCorruptedTailRecords never silently continues into a newer log that does not continue the sequence (RocksDB does, leaving a hole)";

/// DESIGN.md §5 terms (zeros are padding only when nothing follows) and
/// docs/wal_format.md, "Zeros followed by data are a corruption": RocksDB skips the
/// rest of the block silently, a silent hole even under AbsoluteConsistency.
const ZEROS: &str = "DESIGN.md §5 terms + docs/wal_format.md: zeros at a record boundary followed by data are a corruption (unexpected-zeros); RocksDB skips the rest of the block silently";

/// Both of the above under PointInTime: the zeros followed by data are a corruption,
/// so replay stops there, and the newer log does not continue the sequence, so it is
/// not replayed (DESIGN.md §5, first bullet). RocksDB saw no problem at all and
/// replays the newer log over the hole.
const ZEROS_THEN_GAP: &str = "docs/wal_format.md: zeros followed by data are a corruption, so PointInTime stops there; DESIGN.md §5: the newer log does not continue the sequence, so it is not replayed (RocksDB saw no problem and replays it over the hole)";

/// docs/wal_format.md, "A length that cannot fit any block is a corruption even at the
/// end of the log" (DESIGN.md §5: a corruption is any problem other than a
/// truncation, even in the last record). RocksDB calls it a truncated record body,
/// which TolerateCorruptedTailRecords ignores. (The appended garbage has length
/// 35308 or 0xF000, both over the 32761 bytes a block can hold.)
const LENGTH: &str = "docs/wal_format.md: a length that cannot fit any block is a corruption even at the end of the log; RocksDB calls it a truncated record body, which Tolerate ignores";

/// Every (case, mode) where Strata deliberately does not do what RocksDB does.
const DIFFERENCES: &[Difference] = &[
    Difference {
        case: "older-trunc-at-boundary",
        mode: RecoveryMode::AbsoluteConsistency,
        strata: Expected::Fails("sequence gap"),
        why: GAP,
    },
    Difference {
        case: "older-trunc-at-boundary",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("sequence gap"),
        why: GAP,
    },
    Difference {
        case: "older-trunc-at-boundary",
        mode: RecoveryMode::PointInTimeRecovery,
        strata: Expected::Opens("key000001,key000003..key000004,key000006..key000030,key000901"),
        why: GAP,
    },
    Difference {
        case: "older-zero-tail-aligned",
        mode: RecoveryMode::AbsoluteConsistency,
        strata: Expected::Fails("sequence gap"),
        why: GAP,
    },
    Difference {
        case: "older-zero-tail-aligned",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("sequence gap"),
        why: GAP,
    },
    Difference {
        case: "older-zero-tail-aligned",
        mode: RecoveryMode::PointInTimeRecovery,
        strata: Expected::Opens("key000001,key000003..key000004,key000006..key000030,key000901"),
        why: GAP,
    },
    Difference {
        case: "older-trunc-mid-header",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("sequence gap"),
        why: TOLERATE,
    },
    Difference {
        case: "older-trunc-mid-body",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("sequence gap"),
        why: TOLERATE,
    },
    Difference {
        case: "older-trunc-chain-after-first",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("sequence gap"),
        why: TOLERATE,
    },
    Difference {
        case: "older-trunc-chain-mid-last",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("sequence gap"),
        why: TOLERATE,
    },
    Difference {
        case: "newest-zero-mid-aligned",
        mode: RecoveryMode::AbsoluteConsistency,
        strata: Expected::Fails("zero bytes where a record was expected, with data after them"),
        why: ZEROS,
    },
    Difference {
        case: "newest-zero-mid-aligned",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("zero bytes where a record was expected, with data after them"),
        why: ZEROS,
    },
    Difference {
        case: "older-zero-mid-aligned",
        mode: RecoveryMode::AbsoluteConsistency,
        strata: Expected::Fails("zero bytes where a record was expected, with data after them"),
        why: ZEROS,
    },
    Difference {
        case: "older-zero-mid-aligned",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("zero bytes where a record was expected, with data after them"),
        why: ZEROS,
    },
    Difference {
        case: "older-zero-mid-aligned",
        mode: RecoveryMode::PointInTimeRecovery,
        strata: Expected::Opens("key000001,key000003..key000004,key000006..key000019,key000901"),
        why: ZEROS_THEN_GAP,
    },
    Difference {
        case: "newest-garbage-appended",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("record length reaches past the end of its block"),
        why: LENGTH,
    },
    Difference {
        case: "older-garbage-appended",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("record length reaches past the end of its block"),
        why: LENGTH,
    },
    Difference {
        case: "newest-garbage-long-length",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("record length reaches past the end of its block"),
        why: LENGTH,
    },
    Difference {
        case: "older-garbage-long-length",
        mode: RecoveryMode::TolerateCorruptedTailRecords,
        strata: Expected::Fails("record length reaches past the end of its block"),
        why: LENGTH,
    },
];

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

/// The number of damaged WAL sets in `tests/fixtures/conformance`.
const FIXTURE_SETS: usize = 31;

#[test]
fn strata_recovers_rocksdb_wals_like_rocksdb() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixture_root())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    // Every fixture set written by the generator is checked; one that goes
    // missing (or one added without its outcomes) shows up here.
    assert_eq!(cases.len(), FIXTURE_SETS, "fixture sets: {cases:?}");

    let mut checked = 0;
    let mut agreeing = 0;
    let mut documented = Vec::new();
    let mut failures = Vec::new();
    let mut used = vec![false; DIFFERENCES.len()];
    for dir in &cases {
        let case = dir.file_name().unwrap().to_str().unwrap();
        let recorded = parse_outcome_file(&dir.join("outcome.txt"));
        for (name, mode) in MODES {
            checked += 1;
            let rocksdb = &recorded.outcomes[name];
            let strata = strata_outcome(dir, mode, recorded.first_sequence);
            let difference = DIFFERENCES
                .iter()
                .position(|d| d.case == case && d.mode == mode);
            match difference {
                None => {
                    if strata.agrees_with(rocksdb) {
                        agreeing += 1;
                    } else {
                        failures.push(format!(
                            "{case} {name}: UNDOCUMENTED DISAGREEMENT\n    RocksDB: {rocksdb}\n    Strata:  {strata}"
                        ));
                    }
                }
                Some(index) => {
                    used[index] = true;
                    let difference = &DIFFERENCES[index];
                    let as_documented = match (difference.strata, &strata) {
                        (Expected::Fails(text), Outcome::Fails(message)) => message.contains(text),
                        (Expected::Opens(keys), Outcome::Opens(got)) => parse_keys(keys) == *got,
                        _ => false,
                    };
                    if !as_documented {
                        failures.push(format!(
                            "{case} {name}: documented difference ({}) not as expected\n    expected Strata: {:?}\n    Strata:          {strata}\n    RocksDB:         {rocksdb}",
                            difference.why, difference.strata
                        ));
                    } else if strata.agrees_with(rocksdb) {
                        failures.push(format!(
                            "{case} {name}: listed as a difference ({}) but Strata now agrees with RocksDB: {strata}",
                            difference.why
                        ));
                    } else {
                        documented.push(format!(
                            "{case} {name}: {}\n    RocksDB: {rocksdb}\n    Strata:  {strata}",
                            difference.why
                        ));
                    }
                }
            }
        }
    }
    for (difference, used) in DIFFERENCES.iter().zip(used) {
        if !used {
            failures.push(format!(
                "difference listed for {} {} matches no fixture",
                difference.case, difference.mode
            ));
        }
    }

    println!(
        "RocksDB conformance: {} cases x {} modes = {checked} checks: {agreeing} agree with RocksDB, {} documented differences, {} failures",
        cases.len(),
        MODES.len(),
        documented.len(),
        failures.len()
    );
    for line in &documented {
        println!("documented difference: {line}");
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(agreeing + documented.len(), checked);
}
