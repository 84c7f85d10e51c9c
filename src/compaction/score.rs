//! Compaction scores: how badly each level needs compacting (1 or more:
//! it does; the highest goes first), and RocksDB's estimate of the bytes
//! compaction still has to rewrite, which stalls writes when it grows.

use super::targets::LevelTargets;
use crate::options::Options;

/// The compaction score of each level (after RocksDB's
/// `VersionStorageInfo::ComputeCompactionScore` in `db/version_set.cc`): 1
/// or more means the level needs compacting, and the highest is compacted
/// first. The last level is never compacted further (score 0).
///
/// Level 0 scores its table count against `level0_compaction_trigger`, and
/// its bytes: with static sizes against `max_bytes_for_level_base`; with
/// dynamic sizes at least 1.01 once they reach it, and at least their ratio
/// to the base level's bytes (or its target, if larger) once they pass the
/// base level's target. A deeper level scores its bytes against its target;
/// with dynamic sizes, once past its target, that ratio times
/// [`OVER_TARGET_WEIGHT`].
///
/// Deliberately unlike RocksDB, which makes level 0 go first: with dynamic
/// sizes it scales every score over 1 by 10 and divides the bytes of a
/// level past its target by the target plus the bytes on their way down to
/// it (all of level 0 and the excess of each level above), so that a full
/// base level waits for the level-0 merge coming to it. Every merge of
/// level 0 rewrites all of the base level, so a base level left to grow
/// past its target makes each of them rewrite more. Tried here on a random
/// fill of 10 M keys, RocksDB's scoring wrote 15.9 against 13.0-14.1 bytes
/// per byte; with the weight, Strata alone wrote 10.1 against 14.2 and
/// filled faster (314k against 265k puts/s; writers stalled 7.8 against
/// 14.5 s), the base level's bytes read per level-0 merge falling from
/// about 320 to 170 MiB.
pub(crate) fn scores(
    level0_tables: usize,
    level_bytes: &[u64],
    targets: &LevelTargets,
    options: &Options,
) -> Vec<f64> {
    let mut scores = vec![0.0; level_bytes.len()];
    let Some(last) = level_bytes.len().checked_sub(1).filter(|&last| last >= 1) else {
        return scores;
    };
    let base_max = options.max_bytes_for_level_base.max(1);
    let level0_bytes = level_bytes[0];
    let mut score = level0_tables as f64 / options.level0_compaction_trigger.max(1) as f64;
    if options.level_compaction_dynamic_level_bytes {
        if level0_bytes >= base_max {
            score = score.max(1.01);
        }
        let base_target = targets.max_bytes(targets.base_level);
        if level0_bytes > base_target {
            let base_bytes = level_bytes[targets.base_level].max(base_target);
            score = score.max(level0_bytes as f64 / base_bytes as f64);
        }
    } else {
        score = score.max(level0_bytes as f64 / base_max as f64);
    }
    scores[0] = score;
    for level in 1..last {
        let score = level_bytes[level] as f64 / targets.max_bytes(level) as f64;
        scores[level] = if options.level_compaction_dynamic_level_bytes && score > 1.0 {
            score * OVER_TARGET_WEIGHT
        } else {
            score
        };
    }
    scores
}

/// With dynamic level sizes, what the score of a level past level 0 is
/// multiplied by once the level is over its target: such a level goes
/// before level 0 unless level 0 holds more than ten times its trigger in
/// tables (more than the stop trigger allows with the defaults), so the
/// base level is pushed down before the next level-0 merge rewrites it.
/// This cannot hold level 0 back for ever: a level past 0 grows only by
/// compactions of the level above, none of which runs while levels over
/// their targets go first, and the last level never scores.
pub(crate) const OVER_TARGET_WEIGHT: f64 = 10.0;

/// RocksDB's estimate of the bytes compaction still has to rewrite
/// (`VersionStorageInfo::EstimateCompactionBytesNeeded` in
/// `db/version_set.cc`), from the number of level-0 tables and the bytes
/// of each level: level 0 counts (with all of the base level) once it has
/// `level0_compaction_trigger` tables or `max_bytes_for_level_base` bytes;
/// each deeper level's bytes over its target (plus what the level above
/// pushes into it) count with the fan-out to the next level, their size
/// ratio. Excess with nothing below it adds nothing, as in RocksDB. A
/// positive estimate always means some level [`scores`] 1 or more, so a
/// compaction will run: writes stopped on the estimate cannot wait
/// forever.
pub(crate) fn pending_compaction_bytes(
    level0_tables: usize,
    level_bytes: &[u64],
    targets: &LevelTargets,
    options: &Options,
) -> u64 {
    let Some(last) = level_bytes.len().checked_sub(1) else {
        return 0;
    };
    let level0_triggered = last >= 1
        && (level0_tables >= options.level0_compaction_trigger.max(1)
            || level_bytes[0] >= options.max_bytes_for_level_base.max(1));
    let mut pending = 0u64;
    // Bytes the compaction of the level above pushes into this one.
    let mut pushed_down = 0u64;
    if level0_triggered {
        pending = level_bytes[0];
        pushed_down = level_bytes[0];
    }
    for level in targets.base_level..last {
        let mut size = level_bytes[level];
        if level == targets.base_level && level0_triggered {
            pending = pending.saturating_add(size);
        }
        size = size.saturating_add(pushed_down);
        pushed_down = 0;
        let target = targets.max_bytes(level);
        if size > target {
            pushed_down = size - target;
            let next = level_bytes[level + 1];
            if next > 0 {
                let fan_out = next as f64 / size as f64 + 1.0;
                // `as` saturates a float too large for u64.
                pending = pending.saturating_add((pushed_down as f64 * fan_out) as u64);
            }
        }
    }
    pending
}

/// The level with the highest score and the score; of equal scores the
/// first, the level nearer the top, as in RocksDB (whose sort is stable).
pub(crate) fn highest(scores: &[f64]) -> Option<(usize, f64)> {
    scores
        .iter()
        .copied()
        .enumerate()
        .fold(None, |best, (level, score)| match best {
            Some((_, top)) if top >= score => best,
            _ => Some((level, score)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compaction::targets::tests::options;

    fn pending(level0_tables: usize, level_bytes: &[u64], options: &Options) -> u64 {
        let targets = LevelTargets::new(level_bytes, options);
        pending_compaction_bytes(level0_tables, level_bytes, &targets, options)
    }

    #[test]
    fn dynamic_pending_bytes_count_level_0_with_the_base_level() {
        let options = Options {
            level_compaction_dynamic_level_bytes: true,
            ..options()
        };
        // The last level's 150 makes level 3 the base level (its target 15
        // is over 100 / 10): level 0 (40) merges with its 60.
        assert_eq!(pending(4, &[40, 0, 0, 60, 150], &options), 100);
    }

    #[test]
    fn nothing_is_pending_while_every_level_is_within_its_target() {
        let options = options();
        assert_eq!(pending(3, &[90, 100, 1_000, 5_000], &options), 0);
        assert_eq!(pending(0, &[], &options), 0);
        assert_eq!(pending(9, &[900], &options), 0);
    }

    #[test]
    fn level_0_counts_with_all_of_level_1_once_triggered() {
        let options = options();
        // Level 0 (40) and level 1 (50) merge; level 1 then holds 90, under
        // its target of 100.
        assert_eq!(pending(4, &[40, 50, 0], &options), 90);
    }

    #[test]
    fn excess_counts_with_the_fan_out_to_the_next_level() {
        let options = options();
        // Level 1: 150 over a target of 100, 50 to push into level 2 (600),
        // fan-out 600 / 150 + 1 = 5: 250.
        assert_eq!(pending(0, &[0, 150, 600, 0], &options), 250);
        // The same excess with nothing below adds nothing (RocksDB).
        assert_eq!(pending(0, &[0, 150, 0, 0], &options), 0);
        // Level 0 triggered: 40 + 100 for the merge; level 1 becomes 140,
        // 40 over, fan-out 700 / 140 + 1 = 6: 240; level 2 becomes 740,
        // under its target of 1,000. The last level never counts.
        assert_eq!(
            pending(4, &[40, 100, 700, 50_000], &options),
            40 + 100 + 240
        );
    }

    #[test]
    fn a_positive_estimate_means_a_compaction_will_be_picked() {
        // Level 0 over its byte target but under its table trigger counts
        // (with level 1's 50, and what its 10,050 push into level 2 times
        // the fan-out 500 / 10,050 + 1), and scores 1 or more.
        assert_eq!(pending(2, &[10_000, 50, 500], &options()), 20_495);
        // Every combination of a few sizes, static and dynamic: whenever
        // something is pending, some level scores 1 or more.
        let sizes = [0u64, 40, 99, 100, 150, 1_000, 5_000, 60_000];
        let mut checked = 0;
        for dynamic in [false, true] {
            let options = Options {
                level_compaction_dynamic_level_bytes: dynamic,
                ..options()
            };
            for tables in [0, 1, 3, 4, 9] {
                for &zero in &sizes {
                    for &one in &sizes {
                        for &two in &sizes {
                            for &three in &sizes {
                                let bytes = [zero, one, two, three];
                                let targets = LevelTargets::new(&bytes, &options);
                                let scores = scores(tables, &bytes, &targets, &options);
                                let top = scores.iter().copied().fold(0.0, f64::max);
                                let pending =
                                    pending_compaction_bytes(tables, &bytes, &targets, &options);
                                assert!(
                                    pending == 0 || top >= 1.0,
                                    "{bytes:?} tables {tables} dynamic {dynamic}: \
                                     pending {pending}, scores {scores:?}"
                                );
                                checked += usize::from(pending > 0);
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1_000, "{checked}");
    }

    #[test]
    fn level_0_scores_by_tables_and_by_bytes() {
        let dynamic_options = Options {
            level_compaction_dynamic_level_bytes: true,
            ..options()
        };
        // The last level's 800 makes level 2 the base level, its target
        // 100 (80, raised to the base).
        let bytes = [50, 0, 400, 800];
        let targets = LevelTargets::new(&bytes, &dynamic_options);
        assert_eq!(
            (targets.base_level, targets.max_bytes(2)),
            (2, 100),
            "{targets:?}"
        );
        // 5 tables of the trigger 4; level 2 holds 4 times its target,
        // weighted.
        let dynamic = scores(5, &bytes, &targets, &dynamic_options);
        assert_eq!(dynamic, vec![1.25, 0.0, 4.0 * OVER_TARGET_WEIGHT, 0.0]);
        assert_eq!(highest(&dynamic).map(|(level, _)| level), Some(2));
        // 2 tables holding the base (100): 1.01.
        let dynamic = scores(2, &[100, 0, 400, 800], &targets, &dynamic_options);
        assert_eq!(dynamic[0], 1.01);
        // 2 tables holding 1,000 against the base level's 400: 2.5.
        let dynamic = scores(2, &[1_000, 0, 400, 800], &targets, &dynamic_options);
        assert_eq!(dynamic[0], 2.5);
        // Static sizes: bytes against target, and level 0's bytes against
        // the base.
        let static_options = options();
        let targets = LevelTargets::new(&[0, 150, 0, 0], &static_options);
        let fixed = scores(3, &[250, 150, 0, 0], &targets, &static_options);
        assert_eq!(fixed, vec![2.5, 1.5, 0.0, 0.0]);
    }

    #[test]
    fn a_level_over_its_target_goes_before_level_0() {
        let options = Options {
            level_compaction_dynamic_level_bytes: true,
            level0_slowdown_writes_trigger: 20,
            level0_stop_writes_trigger: 36,
            ..options()
        };
        // The base level (2, target 100) a little over its target goes
        // before level 0 even at its stop trigger (36 tables, score 9).
        let bytes = [50, 0, 110, 800];
        let targets = LevelTargets::new(&bytes, &options);
        assert_eq!(targets.base_level, 2);
        let over = scores(
            options.level0_stop_writes_trigger,
            &bytes,
            &targets,
            &options,
        );
        assert_eq!(highest(&over).map(|(level, _)| level), Some(2), "{over:?}");
        // Under its target it waits for a level 0 at its trigger.
        let under = scores(4, &[50, 0, 90, 800], &targets, &options);
        assert_eq!(highest(&under), Some((0, 1.0)), "{under:?}");
        // Static sizes follow LevelDB: no weight, level 0 goes first.
        let static_options = Options {
            level_compaction_dynamic_level_bytes: false,
            ..options
        };
        let bytes = [50, 110, 0, 800];
        let targets = LevelTargets::new(&bytes, &static_options);
        let fixed = scores(8, &bytes, &targets, &static_options);
        assert_eq!(highest(&fixed), Some((0, 2.0)), "{fixed:?}");
    }

    #[test]
    fn equal_scores_go_to_the_level_nearer_the_top() {
        let options = options();
        // Level 0: 8 tables of the trigger 4, score 2; level 1: 200 of 100,
        // score 2.
        let bytes = [80, 200, 0, 0];
        let scores = scores(8, &bytes, &LevelTargets::new(&bytes, &options), &options);
        assert_eq!(highest(&scores), Some((0, 2.0)), "{scores:?}");
        assert_eq!(highest(&[0.5, 3.0, 3.0, 0.0]), Some((1, 3.0)));
        assert_eq!(highest(&[0.5, 1.0, 3.0, 0.0]), Some((2, 3.0)));
        assert_eq!(highest(&[]), None);
    }
}
