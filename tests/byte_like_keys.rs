//! Keys and values are anything that is bytes, as in rust-rocksdb and fjall:
//! `db.put("k", "v")`, `batch.put(key_vec, value_string)`, and ranges
//! spelt with byte strings, strings, vectors or bounds. These tests fail by
//! not compiling.
#![allow(clippy::unwrap_used)]

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use strata::fs::SimFs;
use strata::{Db, DbIterator, Options, WriteBatch, WriteOptions};

fn db() -> Db {
    Db::open_with_fs(Arc::new(SimFs::new()), Path::new("/db"), Options::default()).unwrap()
}

fn keys(iterator: DbIterator) -> Vec<String> {
    iterator
        .map(|entry| String::from_utf8(entry.unwrap().0).unwrap())
        .collect()
}

#[test]
fn puts_gets_and_deletes_take_strings_arrays_slices_and_vectors() {
    let db = db();
    db.put("str", "value").unwrap();
    db.put(b"array", b"value").unwrap();
    db.put(&b"slice"[..], String::from("value")).unwrap();
    db.put(b"vector", vec![1_u8, 2]).unwrap();
    let owned_key = String::from("owned");
    db.put(&owned_key, &owned_key).unwrap();
    assert_eq!(db.get("str").unwrap(), Some(b"value".to_vec()));
    assert_eq!(db.get(b"array").unwrap(), Some(b"value".to_vec()));
    assert_eq!(db.get(b"vector").unwrap(), Some(vec![1, 2]));
    assert_eq!(db.get(&owned_key).unwrap(), Some(b"owned".to_vec()));
    db.delete("str").unwrap();
    assert_eq!(db.get("str").unwrap(), None);
    let snapshot = db.snapshot();
    db.delete(owned_key.clone()).unwrap();
    assert_eq!(
        db.get_at("owned", &snapshot).unwrap(),
        Some(b"owned".to_vec())
    );
    assert_eq!(db.get("owned").unwrap(), None);
}

#[test]
fn batches_take_byte_like_keys_and_values() {
    let db = db();
    let mut batch = WriteBatch::new();
    batch
        .put("a", "1")
        .put(b"b", [2_u8])
        .put(String::from("c"), vec![3_u8])
        .put("d", "4")
        .delete("a")
        .single_delete(b"d");
    db.write(batch, &WriteOptions::SYNC).unwrap();
    assert_eq!(keys(db.iter()), ["b", "c"]);
}

#[test]
fn ranges_take_the_common_spellings() {
    let db = db();
    for key in ["a", "b", "bb", "c", "d"] {
        db.put(key, "value").unwrap();
    }
    assert_eq!(keys(db.range(b"b"..b"c")), ["b", "bb"]);
    assert_eq!(keys(db.range(b"b"..=b"c")), ["b", "bb", "c"]);
    assert_eq!(keys(db.range("a".."bb")), ["a", "b"]);
    assert_eq!(keys(db.range(&b"a"[..]..b"bb")), ["a", "b"]);
    assert_eq!(keys(db.range(b"c"..)), ["c", "d"]);
    assert_eq!(keys(db.range(..b"b")), ["a"]);
    assert_eq!(keys(db.range(..=b"b")), ["a", "b"]);
    assert_eq!(keys(db.range(b"b".to_vec()..b"c".to_vec())), ["b", "bb"]);
    assert_eq!(keys(db.range(String::from("c")..)), ["c", "d"]);
    assert_eq!(
        keys(db.range((Bound::Excluded("b"), Bound::Included("c")))),
        ["bb", "c"]
    );
    assert_eq!(
        keys(db.range((Bound::Excluded(&b"c"[..]), Bound::Unbounded))),
        ["d"]
    );
    assert_eq!(keys(db.range(..)).len(), 5);
    let snapshot = db.snapshot();
    db.delete("bb").unwrap();
    assert_eq!(keys(db.range_at(b"b"..b"c", &snapshot)), ["b", "bb"]);
    assert_eq!(keys(db.range_at(.., &snapshot)).len(), 5);
    // The spelling with the key type named still compiles.
    assert_eq!(keys(db.range_at::<&[u8], _>(.., &snapshot)).len(), 5);
}
