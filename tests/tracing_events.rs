//! The `tracing` events (feature `tracing`, on by default): a subscriber
//! installed by the user sees recovery drop a torn tail (file, offset,
//! length, reason), the quarantine file written, each log recovered with
//! progress in bytes, flushes, compactions and the poisoning of a database.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;
use std::sync::{Arc, Mutex};

use strata::fs::SimFs;
use strata::{Db, Options, RecoveryMode, WriteBatch, WriteOptions};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event as the subscriber saw it.
#[derive(Clone, Debug)]
struct Captured {
    level: Level,
    target: String,
    message: String,
    fields: BTreeMap<String, String>,
}

/// A subscriber that keeps every event, from every thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            message,
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn find<'a>(events: &'a [Captured], message: &str) -> Vec<&'a Captured> {
    events
        .iter()
        .filter(|event| event.message.contains(message))
        .collect()
}

fn options() -> Options {
    Options {
        write_buffer_size: 4 << 10,
        level0_compaction_trigger: 2,
        recovery_mode: RecoveryMode::PointInTimeRecovery,
        // No zeros after the last record, so that cutting the log's last
        // bytes tears that record.
        wal_prefill_bytes: 0,
        ..Options::default()
    }
}

fn newest_log(fs: &SimFs, directory: &Path) -> std::path::PathBuf {
    let name = fs
        .file_names(directory)
        .unwrap()
        .into_iter()
        .filter(|name| name.ends_with(".log"))
        .max()
        .unwrap();
    directory.join(name)
}

// One test: the subscriber is process-wide, so the background threads'
// events reach it too.
#[test]
fn a_subscriber_sees_recovery_flushes_compactions_and_poisoning() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).unwrap();
    let fs = SimFs::new();
    let directory = Path::new("/db");
    let open = || Db::open_with_fs(Arc::new(fs.clone()), directory, options()).unwrap();

    // Flushes and a compaction.
    let db = open();
    for index in 0..400u32 {
        db.put(format!("key{index:05}"), [1u8; 64]).unwrap();
    }
    db.flush().unwrap();
    db.wait_for_background_idle().unwrap();
    let events = capture.take();
    let flushes = find(&events, "flushed a memtable");
    assert!(flushes.len() >= 2, "{events:#?}");
    assert!(flushes.iter().all(|event| event.level == Level::INFO
        && event.target == "strata::flush"
        && event.fields["table"].ends_with(".sst")
        && event.fields["bytes"].parse::<u64>().unwrap() > 0));
    let compactions: Vec<_> = events
        .iter()
        .filter(|event| event.target == "strata::compaction")
        .collect();
    assert!(!compactions.is_empty(), "{events:#?}");
    assert!(compactions.iter().all(
        |event| event.fields.contains_key("level") && event.fields.contains_key("output_level")
    ));

    // A torn tail: the last synced batch loses its last 5 bytes, after
    // three batches that recovery keeps.
    for index in 0..3 {
        db.put(format!("kept{index}"), "v").unwrap();
    }
    let mut batch = WriteBatch::new();
    batch.put("torn", [2u8; 200]);
    db.write(batch, &WriteOptions::SYNC).unwrap();
    db.close().unwrap();
    let log = newest_log(&fs, directory);
    let bytes = fs.read_file(&log).unwrap();
    fs.set_file_bytes(&log, &bytes[..bytes.len() - 5]).unwrap();
    capture.take();
    let db = open();
    let events = capture.take();
    let dropped = find(&events, "recovery drops a region");
    assert_eq!(dropped.len(), 1, "{events:#?}");
    let dropped = dropped[0];
    assert_eq!(dropped.level, Level::WARN);
    assert_eq!(dropped.target, "strata::recovery");
    assert_eq!(dropped.fields["file"], log.display().to_string());
    let region = &db.recovery_report().dropped[0];
    assert_eq!(dropped.fields["offset"], region.offset.to_string());
    assert_eq!(dropped.fields["length"], region.length.to_string());
    assert_eq!(dropped.fields["reason"], region.reason.to_string());
    assert_eq!(dropped.fields["mode"], "point-in-time-recovery");
    let quarantined = find(&events, "quarantined dropped bytes");
    assert_eq!(quarantined.len(), 1, "{events:#?}");
    assert_eq!(
        quarantined[0].fields["path"],
        db.recovery_report().quarantined[0].display().to_string()
    );
    let recovered = find(&events, "recovered a log");
    let recovered: Vec<_> = recovered
        .iter()
        .filter(|event| event.fields["file"] == log.display().to_string())
        .collect();
    assert_eq!(recovered.len(), 1, "{events:#?}");
    assert_eq!(recovered[0].fields["batches"], "3");
    assert_eq!(db.get("kept2").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(db.get("torn").unwrap(), None);
    // Progress ends at done == total.
    let progress = find(&events, "recovery progress");
    let last = progress.last().expect("a progress event");
    assert_eq!(last.fields["done_bytes"], last.fields["total_bytes"]);
    assert!(last.fields["total_bytes"].parse::<u64>().unwrap() > 0);

    // A failed sync poisons the database, once, at error level.
    fs.fail_after(1);
    let mut batch = WriteBatch::new();
    batch.put("k", "v");
    assert!(db.write(batch, &WriteOptions::SYNC).is_err());
    fs.clear_faults();
    assert!(db.put("x", "y").is_err());
    let events = capture.take();
    let poisoned = find(&events, "poisoned");
    assert_eq!(poisoned.len(), 1, "{events:#?}");
    assert_eq!(poisoned[0].level, Level::ERROR);
    assert!(poisoned[0].fields.contains_key("error"));
}
