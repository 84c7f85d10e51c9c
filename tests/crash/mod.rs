//! Shared by the crash tests: a model of the write history and the checks
//! every recovered crash image must pass.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use strata::fs::SimFs;
use strata::{Db, Options, RecoveryMode};

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

pub type Model = BTreeMap<Vec<u8>, Vec<u8>>;
/// One batch: each update sets a key to a value or deletes it.
pub type Batch = Vec<(Vec<u8>, Option<Vec<u8>>)>;

pub fn apply(model: &mut Model, batch: &Batch) {
    for (key, value) in batch {
        match value {
            Some(value) => model.insert(key.clone(), value.clone()),
            None => model.remove(key),
        };
    }
}

pub fn options(mode: RecoveryMode) -> Options {
    Options {
        recovery_mode: mode,
        write_buffer_size: 2_048,
        max_immutable_memtables: 2,
        level0_compaction_trigger: 3,
        // Small enough that the MANIFEST rolls over every few edits.
        max_manifest_file_size: 128,
        ..Options::default()
    }
}

pub fn contents(db: &Db) -> Model {
    db.iter().collect::<Result<_, _>>().unwrap()
}

/// The workload's record: every batch in the order it was submitted (a batch
/// whose write failed is included: it may or may not have reached the log),
/// and how many of them a synced acknowledgement covers.
pub struct History {
    pub batches: Vec<Batch>,
    pub synced: usize,
}

/// How often the interesting cases happened over a run of seeds, so the run
/// proves it exercised them.
#[derive(Default, Debug)]
pub struct Coverage {
    pub seeds: u64,
    pub point_in_time_dropped: u64,
    pub absolute_refused: u64,
    pub tolerate_refused: u64,
    pub unsynced_lost: u64,
    pub tables_present: u64,
}

/// Recovers a crash image under every mode and checks the contract: synced
/// writes present, a prefix of the history (SkipAny: only values some write
/// explains), AbsoluteConsistency refusing exactly when something had to be
/// dropped, a failed open changing nothing, quarantine complete, and a
/// second open giving the same state.
pub fn check_image(
    image: &SimFs,
    directory: &Path,
    history: &History,
    label: &str,
    coverage: &mut Coverage,
) {
    let mut prefixes = vec![Model::new()];
    for batch in &history.batches {
        let mut next = prefixes.last().unwrap().clone();
        apply(&mut next, batch);
        prefixes.push(next);
    }

    let mut point_in_time_dropped = None;
    let mut point_in_time_report = String::new();
    for mode in [
        RecoveryMode::PointInTimeRecovery,
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptedTailRecords,
        RecoveryMode::SkipAnyCorruptedRecords,
    ] {
        let context = format!("{label}, {mode}");
        let copy = image.fork();
        let opened = Db::open_with_fs(Arc::new(copy.clone()), directory, options(mode));
        let db = match opened {
            Ok(db) => db,
            Err(error) => {
                match mode {
                    RecoveryMode::AbsoluteConsistency
                    | RecoveryMode::TolerateCorruptedTailRecords => {
                        if mode == RecoveryMode::AbsoluteConsistency {
                            coverage.absolute_refused += 1;
                        } else {
                            coverage.tolerate_refused += 1;
                        }
                        assert_eq!(
                            point_in_time_dropped,
                            Some(true),
                            "{context}: failed with nothing to drop: {error}"
                        );
                    }
                    _ => panic!("{context}: open failed: {error}"),
                }
                // A failed open changes nothing on disk (the LOCK file aside).
                let without_lock = |fs: &SimFs| {
                    let mut files = fs.durable_snapshot();
                    files.retain(|path, _| !path.ends_with("LOCK"));
                    files
                };
                assert!(
                    without_lock(&copy) == without_lock(image),
                    "{context}: a failed open changed files"
                );
                continue;
            }
        };
        let report = db.recovery_report().clone();
        // Whether recovery dropped anything from the logs (a torn MANIFEST
        // tail is dropped in every mode alike).
        let log_dropped = report
            .dropped
            .iter()
            .any(|region| region.file.extension().is_some_and(|e| e == "log"));
        if mode == RecoveryMode::PointInTimeRecovery {
            point_in_time_report = report.to_string();
            point_in_time_dropped = Some(log_dropped);
            coverage.point_in_time_dropped += u64::from(log_dropped);
        }
        if mode == RecoveryMode::AbsoluteConsistency {
            assert_eq!(
                point_in_time_dropped,
                Some(false),
                "{context}: opened although point-in-time recovery dropped from a log:\n{point_in_time_report}\nthis open:\n{report}"
            );
        }
        let state = contents(&db);
        match mode {
            RecoveryMode::SkipAnyCorruptedRecords => {
                // Synced writes survive; anything else is a value some batch wrote.
                let synced_state = &prefixes[history.synced];
                let keys: std::collections::BTreeSet<&Vec<u8>> =
                    synced_state.keys().chain(state.keys()).collect();
                for key in keys {
                    let mut allowed: Vec<Option<&Vec<u8>>> = vec![synced_state.get(key)];
                    for batch in &history.batches[history.synced..] {
                        for (k, v) in batch {
                            if k == key {
                                allowed.push(v.as_ref());
                            }
                        }
                    }
                    assert!(
                        allowed.contains(&state.get(key)),
                        "{context}: key {key:?} has a value no write explains"
                    );
                }
            }
            _ => {
                let k = prefixes.iter().rposition(|prefix| *prefix == state);
                let k = k.unwrap_or_else(|| {
                    panic!(
                        "{context}: state is no prefix of the history ({} batches, {} synced)",
                        history.batches.len(),
                        history.synced
                    )
                });
                if mode == RecoveryMode::PointInTimeRecovery && k < history.batches.len() {
                    coverage.unsynced_lost += 1;
                }
                assert!(
                    k >= history.synced || prefixes[history.synced] == state,
                    "{context}: lost synced writes: prefix {k} < synced {}",
                    history.synced
                );
            }
        }
        // Quarantine holds every dropped byte.
        let dropped_regions: Vec<_> = report.dropped.iter().filter(|r| r.length > 0).collect();
        assert_eq!(report.quarantined.len(), dropped_regions.len(), "{context}");
        for (region, file) in dropped_regions.iter().zip(&report.quarantined) {
            let bytes = copy.read_file(file).unwrap();
            // Byte for byte what the crashed image held there.
            let original = image.read_file(&region.file).unwrap();
            let start = usize::try_from(region.offset).unwrap();
            let end = start + usize::try_from(region.length).unwrap();
            assert!(
                bytes == original[start..end.min(original.len())],
                "{context}: {} differs from {} at {}..{}",
                file.display(),
                region.file.display(),
                start,
                end
            );
        }
        // Idempotent: a second open sees the same state and drops nothing.
        drop(db);
        let again = Db::open_with_fs(Arc::new(copy.clone()), directory, options(mode)).unwrap();
        assert_eq!(contents(&again), state, "{context}: second open differs");
        assert!(
            !again.recovery_report().dropped_anything(),
            "{context}: second open dropped more"
        );
    }
}
