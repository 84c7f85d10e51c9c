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

/// A recovery report serializes for tools (`strata recover --json`): the
/// mode in kebab-case, paths as strings, each dropped region with its file,
/// offset, length and a reason whose `kind` is a stable name.
#[test]
fn a_recovery_report_serializes_with_its_dropped_regions() {
    use strata::{Db, WriteOptions};
    let directory = tempfile::tempdir().unwrap();
    {
        // No zeros prefilled after the records: the log ends in the last.
        let options = Options::default().with_wal_prefill_bytes(0);
        let db = Db::open(directory.path(), options).unwrap();
        for index in 0..3u8 {
            let mut batch = strata::WriteBatch::new();
            batch.put([b'k', index], [index; 10]);
            db.write(batch, &WriteOptions::SYNC).unwrap();
        }
        db.close().unwrap();
    }
    let log = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|extension| extension == "log"))
        .unwrap();
    let mut bytes = std::fs::read(&log).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40; // inside the last record's payload
    std::fs::write(&log, &bytes).unwrap();

    let options = Options::default().with_recovery_mode(RecoveryMode::PointInTimeRecovery);
    let report = Db::inspect_recovery(directory.path(), &options).unwrap();
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["mode"], "point-in-time-recovery");
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["batches_applied"], 2, "{json}");
    assert_eq!(json["updates_applied"], 2, "{json}");
    assert_eq!(json["last_sequence"], 2, "{json}");
    assert_eq!(json["sequence_range"], serde_json::json!([1, 2]));
    assert_eq!(json["missing_sequences"], serde_json::json!([]));
    assert_eq!(json["quarantined"], serde_json::json!([]));
    let dropped = json["dropped"].as_array().unwrap();
    assert_eq!(dropped.len(), 1, "{json}");
    let region = &dropped[0];
    assert_eq!(region["file"], log.to_str().unwrap());
    assert!(region["offset"].as_u64().unwrap() > 0);
    assert_eq!(
        region["offset"].as_u64().unwrap() + region["length"].as_u64().unwrap(),
        bytes.len() as u64
    );
    assert_eq!(region["truncation"], false);
    assert_eq!(region["reason"]["kind"], "checksum-mismatch");
    assert_eq!(region["reason"]["description"], "record checksum mismatch");
    let logs = json["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["file"], log.to_str().unwrap());
    assert_eq!(logs[0]["end"], "stopped");
    assert_eq!(logs[0]["length"], bytes.len() as u64);
    assert_eq!(logs[0]["dropped"][0]["kind"]["kind"], "checksum-mismatch");

    // The other reasons have their own kinds and fields.
    let gap = strata::DropReason::SequenceGap {
        expected: 5,
        found: 9,
    };
    let json = serde_json::to_value(&gap).unwrap();
    assert_eq!(json["kind"], "sequence-gap");
    assert_eq!(
        (json["expected"].clone(), json["found"].clone()),
        (5.into(), 9.into())
    );
}

#[test]
fn compression_is_read_by_name_and_an_unknown_codec_is_an_error() {
    let options: Options = serde_json::from_str(r#"{ "compression": "lz4" }"#).unwrap();
    assert_eq!(options.compression, strata::Compression::Lz4);
    let text = serde_json::to_string(&Options::default()).unwrap();
    assert!(text.contains("\"compression\":\"none\""), "{text}");
    assert!(serde_json::from_str::<Options>(r#"{ "compression": "zstd" }"#).is_err());
}
