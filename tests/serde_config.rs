//! With the `serde` feature, a service can keep the recovery mode (and the
//! other options) in its configuration file, spelled in kebab-case.
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
