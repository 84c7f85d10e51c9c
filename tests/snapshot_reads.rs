//! Reads through a `Snapshot` (get, iter, range, prefix) see the state at
//! the snapshot whatever is written, flushed or compacted later; a snapshot
//! does not keep its database open, and one from another database is
//! refused.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use strata::fs::SimFs;
use strata::{Db, Error, Options};

fn options() -> Options {
    Options {
        write_buffer_size: 1 << 10,
        level0_compaction_trigger: 2,
        ..Options::default()
    }
}

fn open(fs: &SimFs, directory: &str) -> Db {
    Db::open_with_fs(Arc::new(fs.clone()), Path::new(directory), options()).unwrap()
}

fn keys(iterator: impl Iterator<Item = strata::Result<(Vec<u8>, Vec<u8>)>>) -> Vec<Vec<u8>> {
    iterator.map(|entry| entry.unwrap().0).collect()
}

#[test]
fn snapshot_reads_see_the_snapshot_through_writes_flushes_and_compactions() {
    let fs = SimFs::new();
    let db = open(&fs, "/db");
    for index in 0..20_u8 {
        db.put([b'k', index], [0; 50]).unwrap();
    }
    db.delete([b'k', 5]).unwrap();
    let snapshot = db.snapshot();
    let before: Vec<Vec<u8>> = (0..20_u8)
        .filter(|index| *index != 5)
        .map(|index| vec![b'k', index])
        .collect();
    for round in 1..4_u8 {
        for index in 0..20_u8 {
            if index % 3 == 0 {
                db.delete([b'k', index]).unwrap();
            } else {
                db.put([b'k', index], [round; 50]).unwrap();
            }
        }
        db.put([b'k', 5], [round; 50]).unwrap();
        db.put([b'x', round], b"new").unwrap();
        db.flush().unwrap();
    }
    assert_eq!(snapshot.get([b'k', 3]).unwrap(), Some(vec![0; 50]));
    assert_eq!(snapshot.get([b'k', 4]).unwrap(), Some(vec![0; 50]));
    assert_eq!(snapshot.get([b'k', 5]).unwrap(), None);
    assert_eq!(snapshot.get([b'x', 1]).unwrap(), None);
    assert_eq!(db.get([b'k', 3]).unwrap(), None);
    assert_eq!(keys(snapshot.iter()), before);
    let mut reversed = before.clone();
    reversed.reverse();
    assert_eq!(keys(snapshot.iter().rev()), reversed);
    assert_eq!(keys(snapshot.prefix("k")), before);
    assert_eq!(keys(snapshot.prefix("x")), Vec::<Vec<u8>>::new());
    assert_eq!(keys(db.prefix("x")).len(), 3);
    assert_eq!(
        keys(snapshot.range([b'k', 3]..[b'k', 7])),
        [[b'k', 3], [b'k', 4], [b'k', 6]]
    );
    // The Db's own snapshot reads agree.
    assert_eq!(db.get_at([b'k', 4], &snapshot).unwrap(), Some(vec![0; 50]));
    assert_eq!(keys(db.range_at(.., &snapshot)), before);
    assert_eq!(keys(db.prefix_at("k", &snapshot)), before);
    // A clone reads the same state.
    assert_eq!(keys(snapshot.clone().iter()), before);
}

#[test]
fn a_snapshot_read_after_its_database_closed_is_an_error_and_does_not_hold_the_lock() {
    let fs = SimFs::new();
    let db = open(&fs, "/db");
    db.put("key", "value").unwrap();
    let snapshot = db.snapshot();
    let iterator = snapshot.iter();
    assert_eq!(snapshot.get("key").unwrap(), Some(b"value".to_vec()));
    drop(db);

    let error = snapshot.get("key").unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    assert!(error.to_string().contains("closed"), "{error}");
    let mut after = snapshot.range("a".."z");
    assert!(matches!(after.next(), Some(Err(Error::InvalidArgument(_)))));
    assert!(after.next().is_none());
    assert!(matches!(
        snapshot.prefix("k").next_back(),
        Some(Err(Error::InvalidArgument(_)))
    ));
    // An iterator made before the close still reads what it holds.
    assert_eq!(keys(iterator), [b"key".to_vec()]);
    // The snapshot does not keep the directory locked.
    let reopened = open(&fs, "/db");
    assert_eq!(reopened.get("key").unwrap(), Some(b"value".to_vec()));
}

#[test]
fn a_snapshot_of_another_database_is_refused() {
    let fs = SimFs::new();
    let first = open(&fs, "/first");
    let second = open(&fs, "/second");
    first.put("key", "first").unwrap();
    second.put("key", "second").unwrap();
    let snapshot = first.snapshot();
    let error = second.get_at("key", &snapshot).unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    let mut iterator = second.range_at(.., &snapshot);
    assert!(matches!(
        iterator.next(),
        Some(Err(Error::InvalidArgument(_)))
    ));
    assert!(matches!(
        second.prefix_at("k", &snapshot).next(),
        Some(Err(Error::InvalidArgument(_)))
    ));
    // Through itself, the snapshot reads its own database.
    assert_eq!(snapshot.get("key").unwrap(), Some(b"first".to_vec()));
}

/// Snapshots and iterators move to other threads, as the handle does.
#[test]
fn snapshots_and_iterators_can_be_sent_to_other_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_and_sync::<strata::Snapshot>();
    send_and_sync::<Db>();
    send::<strata::DbIterator>();
}
