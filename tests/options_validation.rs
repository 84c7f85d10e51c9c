//! Options are checked at open: a value outside its documented range is an
//! `InvalidArgument` that names the field and the allowed range, returned
//! before the directory is touched — never a hang or a silent clamp.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use strata::fs::SimFs;
use strata::{
    Db, Error, MAX_BLOOM_BITS_PER_KEY, MAX_LEVEL0_COMPACTION_TRIGGER, MAX_NUM_LEVELS,
    MAX_TABLE_BLOCK_SIZE_BYTES, MAX_WRITE_BUFFER_SIZE_BYTES, MIN_LEVEL0_COMPACTION_TRIGGER,
    MIN_TABLE_BLOCK_SIZE_BYTES, MIN_TABLE_SIZE_BYTES, MIN_WRITE_BUFFER_SIZE_BYTES, Options,
};

/// Asserts that `options` is refused with an error naming `field` and both
/// ends of `allowed` (`None`: no upper bound).
fn assert_refused(options: &Options, field: &str, allowed: (u64, Option<u64>)) {
    let error = options.validate().unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    let text = error.to_string();
    assert!(text.contains(&format!("options.{field} ")), "{text}");
    assert!(text.contains(&allowed.0.to_string()), "{text}");
    if let Some(max) = allowed.1 {
        assert!(text.contains(&max.to_string()), "{text}");
    }
}

#[test]
fn the_default_options_are_valid() {
    Options::default().validate().unwrap();
}

#[test]
fn write_buffer_size_bounds_are_enforced() {
    let allowed = (
        MIN_WRITE_BUFFER_SIZE_BYTES as u64,
        Some(MAX_WRITE_BUFFER_SIZE_BYTES),
    );
    let with = |bytes: usize| Options::default().with_write_buffer_size(bytes);
    with(MIN_WRITE_BUFFER_SIZE_BYTES).validate().unwrap();
    assert_refused(
        &with(MIN_WRITE_BUFFER_SIZE_BYTES - 1),
        "write_buffer_size",
        allowed,
    );
    assert_refused(&with(0), "write_buffer_size", allowed);
    if let Ok(max) = usize::try_from(MAX_WRITE_BUFFER_SIZE_BYTES) {
        with(max).validate().unwrap();
        assert_refused(&with(max + 1), "write_buffer_size", allowed);
    }
    assert_refused(&with(usize::MAX), "write_buffer_size", allowed);
}

#[test]
fn table_block_size_bounds_are_enforced() {
    let allowed = (
        MIN_TABLE_BLOCK_SIZE_BYTES as u64,
        Some(MAX_TABLE_BLOCK_SIZE_BYTES as u64),
    );
    let with = |bytes: usize| Options::default().with_table_block_size(bytes);
    with(MIN_TABLE_BLOCK_SIZE_BYTES).validate().unwrap();
    with(MAX_TABLE_BLOCK_SIZE_BYTES).validate().unwrap();
    assert_refused(
        &with(MIN_TABLE_BLOCK_SIZE_BYTES - 1),
        "table_block_size",
        allowed,
    );
    assert_refused(
        &with(MAX_TABLE_BLOCK_SIZE_BYTES + 1),
        "table_block_size",
        allowed,
    );
    assert_refused(&with(0), "table_block_size", allowed);
}

#[test]
fn bloom_bits_per_key_bounds_are_enforced() {
    let with = |bits: usize| Options::default().with_bloom_bits_per_key(bits);
    with(0).validate().unwrap();
    with(MAX_BLOOM_BITS_PER_KEY).validate().unwrap();
    assert_refused(
        &with(MAX_BLOOM_BITS_PER_KEY + 1),
        "bloom_bits_per_key",
        (0, Some(MAX_BLOOM_BITS_PER_KEY as u64)),
    );
}

#[test]
fn max_immutable_memtables_bounds_are_enforced() {
    let with = |count: usize| Options::default().with_max_immutable_memtables(count);
    with(1).validate().unwrap();
    with(usize::MAX).validate().unwrap();
    assert_refused(&with(0), "max_immutable_memtables", (1, None));
}

#[test]
fn level0_compaction_trigger_bounds_are_enforced() {
    let allowed = (
        MIN_LEVEL0_COMPACTION_TRIGGER as u64,
        Some(MAX_LEVEL0_COMPACTION_TRIGGER as u64),
    );
    // The stall triggers may not be below the compaction trigger.
    let with = |tables: usize| Options {
        level0_slowdown_writes_trigger: MAX_LEVEL0_COMPACTION_TRIGGER + 1,
        level0_stop_writes_trigger: MAX_LEVEL0_COMPACTION_TRIGGER + 1,
        ..Options::default().with_level0_compaction_trigger(tables)
    };
    with(MIN_LEVEL0_COMPACTION_TRIGGER).validate().unwrap();
    with(MAX_LEVEL0_COMPACTION_TRIGGER).validate().unwrap();
    assert_refused(
        &with(MIN_LEVEL0_COMPACTION_TRIGGER - 1),
        "level0_compaction_trigger",
        allowed,
    );
    assert_refused(
        &with(MAX_LEVEL0_COMPACTION_TRIGGER + 1),
        "level0_compaction_trigger",
        allowed,
    );
}

#[test]
fn fields_without_bounds_accept_every_value() {
    for size in [0, 1, usize::MAX] {
        Options::default()
            .with_block_cache_size(size)
            .validate()
            .unwrap();
    }
    for flag in [false, true] {
        Options::default()
            .with_create_if_missing(flag)
            .with_error_if_exists(flag)
            .validate()
            .unwrap();
    }
    for mode in strata::RecoveryMode::ALL {
        Options::default()
            .with_recovery_mode(mode)
            .validate()
            .unwrap();
    }
}

/// `write_buffer_size: 0` used to make the first write switch memtables
/// forever; now the open fails and leaves no trace in the directory.
#[test]
fn a_zero_write_buffer_is_refused_at_open_without_creating_the_database() {
    let fs = SimFs::new();
    let options = Options {
        write_buffer_size: 0,
        ..Options::default()
    };
    let error =
        Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), options.clone()).unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    assert!(error.to_string().contains("write_buffer_size"), "{error}");
    assert!(
        fs.file_names(Path::new("/db")).is_err(),
        "the directory was created"
    );

    drop(Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), Options::default()).unwrap());
    let error = Db::inspect_recovery_with_fs(&fs, Path::new("/db"), &options).unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
}

/// The smallest write buffer is usable: writes switch memtables, flush and
/// read back.
#[test]
fn the_smallest_write_buffer_works() {
    let fs = SimFs::new();
    let options = Options::default()
        .with_write_buffer_size(MIN_WRITE_BUFFER_SIZE_BYTES)
        .with_table_block_size(MIN_TABLE_BLOCK_SIZE_BYTES)
        .with_level0_compaction_trigger(MIN_LEVEL0_COMPACTION_TRIGGER)
        .with_max_immutable_memtables(1);
    let db = Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), options).unwrap();
    for index in 0..200_u32 {
        db.put(format!("key{index:04}").as_bytes(), [7_u8; 40])
            .unwrap();
    }
    db.flush().unwrap();
    for index in 0..200_u32 {
        assert_eq!(
            db.get(format!("key{index:04}").as_bytes()).unwrap(),
            Some(vec![7_u8; 40])
        );
    }
}

#[test]
fn the_level_options_are_bounded_and_the_stall_triggers_ordered() {
    let base = Options::default();
    let hard_below_soft = Options {
        soft_pending_compaction_bytes_limit: 1 << 30,
        hard_pending_compaction_bytes_limit: (1 << 30) - 1,
        ..base.clone()
    };
    assert_refused(
        &hard_below_soft,
        "hard_pending_compaction_bytes_limit",
        (1 << 30, None),
    );
    for (soft, hard) in [(0, 1), (1, 0), (0, 0), (5, 5)] {
        let options = Options {
            soft_pending_compaction_bytes_limit: soft,
            hard_pending_compaction_bytes_limit: hard,
            ..base.clone()
        };
        options.validate().unwrap();
    }
    let slowdown_before_compaction = Options {
        level0_slowdown_writes_trigger: base.level0_compaction_trigger - 1,
        ..base.clone()
    };
    assert_refused(
        &slowdown_before_compaction,
        "level0_slowdown_writes_trigger",
        (base.level0_compaction_trigger as u64, None),
    );
    let stop_before_slowdown = Options {
        level0_stop_writes_trigger: base.level0_slowdown_writes_trigger - 1,
        ..base.clone()
    };
    assert_refused(
        &stop_before_slowdown,
        "level0_stop_writes_trigger",
        (base.level0_slowdown_writes_trigger as u64, None),
    );
    let tiny_tables = Options {
        target_file_size_base: MIN_TABLE_SIZE_BYTES - 1,
        ..base.clone()
    };
    assert_refused(
        &tiny_tables,
        "target_file_size_base",
        (MIN_TABLE_SIZE_BYTES, None),
    );
    let tiny_level = Options {
        max_bytes_for_level_base: MIN_TABLE_SIZE_BYTES - 1,
        ..base.clone()
    };
    assert_refused(
        &tiny_level,
        "max_bytes_for_level_base",
        (MIN_TABLE_SIZE_BYTES, None),
    );
    for multiplier in [0, 1, 1_001] {
        let options = Options {
            max_bytes_for_level_multiplier: multiplier,
            ..base.clone()
        };
        assert_refused(&options, "max_bytes_for_level_multiplier", (2, Some(1_000)));
    }
    for levels in [0, 1, MAX_NUM_LEVELS + 1] {
        let options = Options {
            num_levels: levels,
            ..base.clone()
        };
        assert_refused(&options, "num_levels", (2, Some(MAX_NUM_LEVELS as u64)));
    }
    let smallest = Options {
        level0_slowdown_writes_trigger: base.level0_compaction_trigger,
        level0_stop_writes_trigger: base.level0_compaction_trigger,
        target_file_size_base: MIN_TABLE_SIZE_BYTES,
        max_bytes_for_level_base: MIN_TABLE_SIZE_BYTES,
        max_bytes_for_level_multiplier: 2,
        num_levels: 2,
        ..base
    };
    smallest.validate().unwrap();
}
