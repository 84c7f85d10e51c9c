//! Shared by the crash tests: a model of the write history and the checks
//! every recovered crash image must pass.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Barrier};

use strata::fs::SimFs;
use strata::{Db, Options, RecoveryMode, WriteBatch, WriteOptions};

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
        // Small enough that synced writes often land on prefilled zeros
        // and crashes tear them there (the workloads run under
        // PointInTimeRecovery, where the prefill is on).
        wal_prefill_bytes: 1_024,
        ..Options::default()
    }
}

pub fn contents(db: &Db) -> Model {
    db.iter().collect::<Result<_, _>>().unwrap()
}

/// The workload's record: every batch in the order it was submitted (a batch
/// whose write failed is included: it may or may not have reached the log;
/// inside a concurrent group, writer by writer), how many of them a synced
/// acknowledgement covers, and which runs of them were written
/// concurrently.
#[derive(Default)]
pub struct History {
    pub batches: Vec<Batch>,
    pub synced: usize,
    /// Runs of `batches` written by several threads at once, in order and
    /// not overlapping. `synced` never points inside one.
    pub groups: Vec<Group>,
}

/// Batches written by several threads at once: each writer's batches are a
/// run of [`History::batches`] in that writer's order, the runs adjacent and
/// in writer order (not the commit order, which the workload cannot see).
/// Writers touch disjoint keys, so whatever the commit order, recovery may
/// end inside the group with the state before it plus, per writer, any
/// prefix of its batches (a writer's own batches are ordered). A synced
/// acknowledgement in the group covers that writer's batches up to it and,
/// since a sync covers everything logged before, every batch before the
/// group (`History::synced` is at least the group's start then).
pub struct Group {
    pub writers: Vec<Range<usize>>,
    /// Per writer, how many of its leading batches a synced acknowledgement
    /// covers.
    pub synced: Vec<usize>,
}

impl Group {
    pub fn span(&self) -> Range<usize> {
        let start = self.writers.first().map_or(0, |w| w.start);
        let end = self.writers.last().map_or(start, |w| w.end);
        start..end
    }
}

/// Where a recovered state sits in the history.
#[derive(Debug, PartialEq, Eq)]
pub enum Placement {
    /// The whole history.
    Complete,
    /// A shorter prefix that keeps every synced write.
    Prefix,
    /// Inside a group (see [`Group`]), keeping every synced write: no
    /// prefix of the recorded order holds this state.
    InsideGroup,
    /// Explained by the history, but missing synced writes.
    LostSynced,
    /// No prefix of the history.
    Unexplained,
}

/// Panics unless the groups are well formed: in order, not overlapping,
/// writers adjacent, writers' keys disjoint, and `synced` consistent.
fn check_groups(history: &History) {
    let mut end = 0;
    for group in &history.groups {
        let span = group.span();
        assert!(span.start >= end && span.end <= history.batches.len());
        assert_eq!(group.writers.len(), group.synced.len());
        let mut keys_seen: BTreeSet<&Vec<u8>> = BTreeSet::new();
        let mut next = span.start;
        for (writer, &synced) in group.writers.iter().zip(&group.synced) {
            assert_eq!(writer.start, next, "writers must be adjacent");
            assert!(synced <= writer.len());
            next = writer.end;
            let keys: BTreeSet<&Vec<u8>> = history.batches[writer.clone()]
                .iter()
                .flat_map(|batch| batch.iter().map(|(key, _)| key))
                .collect();
            assert!(
                keys.iter().all(|key| !keys_seen.contains(key)),
                "writers of a group must touch disjoint keys"
            );
            keys_seen.extend(keys);
        }
        if group.synced.iter().any(|&synced| synced > 0) {
            assert!(history.synced >= span.start);
        }
        assert!(
            history.synced <= span.start || history.synced >= span.end,
            "synced points inside a group"
        );
        end = span.end;
    }
}

/// Whether `state` is `before` plus, per writer of `group`, some prefix of
/// its batches: `None` if not, otherwise whether some such prefix keeps the
/// writer's synced batches, for every writer.
fn match_group(state: &Model, before: &Model, group: &Group, batches: &[Batch]) -> Option<bool> {
    let writer_keys: Vec<BTreeSet<&Vec<u8>>> = group
        .writers
        .iter()
        .map(|writer| {
            batches[writer.clone()]
                .iter()
                .flat_map(|batch| batch.iter().map(|(key, _)| key))
                .collect()
        })
        .collect();
    let touched = |key: &Vec<u8>| writer_keys.iter().any(|keys| keys.contains(key));
    // Keys no writer touched are as before the group.
    let untouched_equal = state
        .keys()
        .chain(before.keys())
        .filter(|key| !touched(key))
        .all(|key| state.get(key) == before.get(key));
    if !untouched_equal {
        return None;
    }
    let mut keeps_synced = true;
    for ((writer, keys), &synced) in group.writers.iter().zip(&writer_keys).zip(&group.synced) {
        let restrict = |model: &Model| -> Model {
            model
                .iter()
                .filter(|(key, _)| keys.contains(key))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        };
        let wanted = restrict(state);
        let mut model = restrict(before);
        let mut longest = (model == wanted).then_some(0);
        for (count, batch) in batches[writer.clone()].iter().enumerate() {
            apply(&mut model, batch);
            if model == wanted {
                longest = Some(count + 1);
            }
        }
        let longest = longest?;
        keeps_synced &= longest >= synced;
    }
    Some(keeps_synced)
}

/// Places `state` in the history: a prefix ending outside every group, or
/// a state inside a group (see [`Group`]), and whether that keeps the
/// synced writes.
pub fn place(state: &Model, history: &History) -> Placement {
    let total = history.batches.len();
    let inside_group = |k: usize| {
        history
            .groups
            .iter()
            .any(|group| group.span().start < k && k < group.span().end)
    };
    let mut model = Model::new();
    let mut last_prefix = None;
    let mut group_matches = Vec::new();
    let mut groups = history.groups.iter().peekable();
    for k in 0..=total {
        if k > 0 {
            apply(&mut model, &history.batches[k - 1]);
        }
        if !inside_group(k) && model == *state {
            last_prefix = Some(k);
        }
        while let Some(group) = groups.next_if(|group| group.span().start == k) {
            if let Some(keeps_synced) = match_group(state, &model, group, &history.batches) {
                group_matches.push(keeps_synced && k >= history.synced);
            }
        }
    }
    // A prefix ending before a group with a synced acknowledgement lacks
    // that writer's batches, though it may reach `history.synced` (the
    // group's start).
    let keeps_synced = |k: usize| {
        k >= history.synced
            && !history
                .groups
                .iter()
                .any(|group| group.span().start >= k && group.synced.iter().any(|&count| count > 0))
    };
    match last_prefix {
        Some(k) if keeps_synced(k) => {
            if k == total {
                Placement::Complete
            } else {
                Placement::Prefix
            }
        }
        _ if group_matches.contains(&true) => Placement::InsideGroup,
        Some(_) => Placement::LostSynced,
        None if !group_matches.is_empty() => Placement::LostSynced,
        None => Placement::Unexplained,
    }
}

/// Per batch, whether a synced acknowledgement covers it: every batch
/// before [`History::synced`] and, in a group, each writer's batches up to
/// its last synced one.
fn required(history: &History) -> Vec<bool> {
    let mut required = vec![false; history.batches.len()];
    required[..history.synced].fill(true);
    for group in &history.groups {
        for (writer, &synced) in group.writers.iter().zip(&group.synced) {
            required[writer.start..writer.start + synced].fill(true);
        }
    }
    required
}

/// The SkipAny contract, which allows holes: every key holds the value of
/// the last write to it that a synced acknowledgement covers (absent if
/// none), or of a later write. Per key the recorded order is the commit
/// order, groups included, since a key of a group has one writer. `Err`
/// names a key that breaks it.
pub fn skip_any_explains(state: &Model, history: &History) -> Result<(), Vec<u8>> {
    let required = required(history);
    let keys: BTreeSet<&Vec<u8>> = history
        .batches
        .iter()
        .flat_map(|batch| batch.iter().map(|(key, _)| key))
        .chain(state.keys())
        .collect();
    for key in keys {
        let mut allowed: Vec<Option<&Vec<u8>>> = vec![None];
        for (batch, &required) in history.batches.iter().zip(&required) {
            // A batch is atomic: only its last update of the key counts.
            let Some(value) = batch
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, value)| value.as_ref())
            else {
                continue;
            };
            if required {
                allowed.clear();
            }
            allowed.push(value);
        }
        if !allowed.contains(&state.get(key)) {
            return Err(key.clone());
        }
    }
    Ok(())
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
    /// Concurrent groups written, and how many of them group commit merged
    /// (fewer log records than batches).
    pub concurrent_groups: u64,
    pub groups_merged: u64,
    /// Recovered states (outside SkipAny) that only a state inside a group
    /// explains.
    pub inside_group: u64,
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
    check_groups(history);

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
                if let Err(key) = skip_any_explains(&state, history) {
                    panic!("{context}: key {key:?} has a value no write explains");
                }
            }
            _ => {
                let placement = place(&state, history);
                assert!(
                    placement != Placement::Unexplained,
                    "{context}: state is no prefix of the history ({} batches, {} synced, {} groups)",
                    history.batches.len(),
                    history.synced,
                    history.groups.len()
                );
                assert!(
                    placement != Placement::LostSynced,
                    "{context}: lost synced writes (synced {}, groups {})",
                    history.synced,
                    history.groups.len()
                );
                if mode == RecoveryMode::PointInTimeRecovery && placement != Placement::Complete {
                    coverage.unsynced_lost += 1;
                }
                if placement == Placement::InsideGroup {
                    coverage.inside_group += 1;
                }
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

/// The engine's batch for a recorded one.
pub fn write_batch(record: &Batch) -> WriteBatch {
    let mut batch = WriteBatch::new();
    for (key, value) in record {
        match value {
            Some(value) => batch.put(key, value),
            None => batch.delete(key),
        };
    }
    batch
}

/// Runs one thread per writer at once against `db`, each writing its
/// batches (synced or not) in order and stopping at its first error, so
/// that group commit can merge them, and records them in `history` as a
/// [`Group`]: per writer, the batches it submitted (the failed one
/// included, which may or may not have reached the log). The writers' keys
/// must be disjoint. Returns whether every write succeeded.
pub fn write_concurrently(db: &Db, history: &mut History, writers: &[Vec<(Batch, bool)>]) -> bool {
    struct Outcome {
        submitted: usize,
        synced: usize,
        ok: bool,
    }
    let barrier = Barrier::new(writers.len());
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = writers
            .iter()
            .map(|writer| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let mut synced = 0;
                    for (index, (batch, sync)) in writer.iter().enumerate() {
                        match db.write(write_batch(batch), &WriteOptions { sync: *sync }) {
                            Ok(()) if *sync => synced = index + 1,
                            Ok(()) => {}
                            Err(_) => {
                                return Outcome {
                                    submitted: index + 1,
                                    synced,
                                    ok: false,
                                };
                            }
                        }
                    }
                    Outcome {
                        submitted: writer.len(),
                        synced,
                        ok: true,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let start = history.batches.len();
    let mut ranges = Vec::new();
    for (writer, outcome) in writers.iter().zip(&outcomes) {
        let first = history.batches.len();
        history.batches.extend(
            writer[..outcome.submitted]
                .iter()
                .map(|(batch, _)| batch.clone()),
        );
        ranges.push(first..history.batches.len());
    }
    let synced: Vec<usize> = outcomes.iter().map(|outcome| outcome.synced).collect();
    if synced.iter().any(|&count| count > 0) {
        history.synced = history.synced.max(start);
    }
    history.groups.push(Group {
        writers: ranges,
        synced,
    });
    outcomes.iter().all(|outcome| outcome.ok)
}
