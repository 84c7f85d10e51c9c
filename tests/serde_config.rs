//! With the `serde` feature, a service can keep the recovery mode (and the
//! other options) in its configuration file, spelled in kebab-case or as
//! rust-rocksdb and RocksDB spell it; a misspelt field is an error.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used)]

use strata::{Options, RecoveryMode};

#[test]
fn recovery_mode_is_read_from_a_config_file_in_kebab_case() {
    let options: Options = serde_json::from_str(
        r#"{ "recovery_mode": "tolerate-corrupted-tail-records", "write_buffer_size": 1048576 }"#,
    )
    .unwrap();
    assert_eq!(
        options.recovery_mode,
        RecoveryMode::TolerateCorruptedTailRecords
    );
    assert_eq!(options.write_buffer_size, 1 << 20);
    assert_eq!(
        options.bloom_bits_per_key,
        Options::default().bloom_bits_per_key
    );
    let text = serde_json::to_string(&Options::default()).unwrap();
    assert!(text.contains("\"point-in-time-recovery\""), "{text}");
    assert!(serde_json::from_str::<Options>(r#"{ "recovery_mode": "kPointInTime" }"#).is_err());
}

/// A misspelt field would otherwise be ignored, leaving its default in force
/// (for the recovery mode, silently the wrong contract).
#[test]
fn a_misspelt_field_is_rejected_naming_it() {
    let error = serde_json::from_str::<Options>(r#"{ "recovery_mod": "absolute-consistency" }"#)
        .unwrap_err();
    assert!(error.to_string().contains("recovery_mod"), "{error}");
    assert!(serde_json::from_str::<Options>(r#"{ "write_buffer": 1048576 }"#).is_err());
    assert_eq!(
        serde_json::from_str::<Options>("{}").unwrap(),
        Options::default()
    );
}

/// Configurations written for rust-rocksdb (`DBRecoveryMode` variants) or
/// for RocksDB itself (`WALRecoveryMode::kX`) carry over unchanged.
#[test]
fn recovery_mode_accepts_rust_rocksdb_and_rocksdb_names() {
    let cases = [
        ("AbsoluteConsistency", RecoveryMode::AbsoluteConsistency),
        (
            "TolerateCorruptedTailRecords",
            RecoveryMode::TolerateCorruptedTailRecords,
        ),
        ("PointInTime", RecoveryMode::PointInTimeRecovery),
        (
            "SkipAnyCorruptedRecord",
            RecoveryMode::SkipAnyCorruptedRecords,
        ),
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
    for (name, mode) in cases {
        let options: Options =
            serde_json::from_str(&format!(r#"{{ "recovery_mode": "{name}" }}"#)).unwrap();
        assert_eq!(options.recovery_mode, mode, "{name}");
        // Written back, it is the kebab-case name.
        let text = serde_json::to_string(&options.recovery_mode).unwrap();
        assert_eq!(text, format!("\"{}\"", mode.name()));
    }
    for wrong in ["kPointInTime", "point_in_time", "absolute"] {
        let text = format!(r#"{{ "recovery_mode": "{wrong}" }}"#);
        assert!(serde_json::from_str::<Options>(&text).is_err(), "{wrong}");
    }
}
