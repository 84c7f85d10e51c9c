//! Build a table from structured input with any options, read it back, and
//! compare with a `BTreeMap` model: scans both ways, seeks both ways, gets
//! at every sequence, `verify`, and the builder's order checks.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use strata_sstable::key::{InternalKey, ValueKind, compare_internal_keys, lookup_key};
use strata_sstable::{Compression, Error, FilterLayout, Table, TableBuilder, TableOptions};

#[derive(Arbitrary, Debug)]
struct Input {
    block_size: u16,
    restart_interval: u8,
    bloom_bits_per_key: u8,
    entries: Vec<(Vec<u8>, u8, u8, Vec<u8>)>,
    probes: Vec<(Vec<u8>, u8)>,
    /// Also try adding the entries unsorted: every out-of-order add must be
    /// refused with an error.
    unsorted: bool,
}

fn kind_of(selector: u8) -> ValueKind {
    match selector % 3 {
        0 => ValueKind::Value,
        1 => ValueKind::Deletion,
        _ => ValueKind::SingleDeletion,
    }
}

fuzz_target!(|input: Input| {
    let options = TableOptions {
        block_size_bytes: usize::from(input.block_size % 8192),
        restart_interval: usize::from(input.restart_interval % 40),
        bloom_bits_per_key: usize::from(input.bloom_bits_per_key % 70),
        // The next bit picks the old spread filter layout.
        filter_layout: if input.bloom_bits_per_key & 0x40 != 0 {
            FilterLayout::Spread
        } else {
            FilterLayout::Local
        },
        // The high bit picks LZ4 (the low bits still pick the filter).
        compression: if input.bloom_bits_per_key & 0x80 != 0 {
            Compression::Lz4
        } else {
            Compression::None
        },
    };
    let keys: Vec<(InternalKey, Vec<u8>)> = input
        .entries
        .iter()
        .map(|(user_key, sequence, kind, value)| {
            (
                InternalKey::new(user_key, u64::from(*sequence), kind_of(*kind)),
                value.clone(),
            )
        })
        .collect();

    if input.unsorted {
        let mut builder = TableBuilder::new(Vec::new(), options);
        let mut last: Option<&InternalKey> = None;
        for (key, value) in &keys {
            let result = builder.add(key.as_bytes(), value);
            if last.is_some_and(|last| last >= key) {
                assert!(
                    matches!(result, Err(Error::OutOfOrder { .. })),
                    "{result:?}"
                );
            } else {
                result.expect("an in-order key is accepted");
                last = Some(key);
            }
        }
        let (bytes, summary) = builder.finish().expect("building in memory");
        let table = Table::open(bytes, "unsorted.sst").expect("a built table opens");
        assert_eq!(
            table.verify().expect("a built table verifies").entry_count,
            summary.entry_count
        );
    }

    let model: BTreeMap<InternalKey, Vec<u8>> = keys.into_iter().collect();
    let mut builder = TableBuilder::new(Vec::new(), options);
    for (key, value) in &model {
        builder
            .add(key.as_bytes(), value)
            .expect("sorted unique keys are accepted");
    }
    let (bytes, summary) = builder.finish().expect("building in memory");
    assert_eq!(summary.entry_count, model.len() as u64);
    assert_eq!(
        summary.smallest_key.as_deref(),
        model.keys().next().map(InternalKey::as_bytes)
    );
    assert_eq!(
        summary.largest_key.as_deref(),
        model.keys().next_back().map(InternalKey::as_bytes)
    );
    let table = Table::open(bytes, "roundtrip.sst").expect("a built table opens");
    assert_eq!(
        table.verify().expect("a built table verifies").entry_count,
        model.len() as u64
    );

    let sorted: Vec<(Vec<u8>, Vec<u8>)> = model
        .iter()
        .map(|(key, value)| (key.as_bytes().to_vec(), value.clone()))
        .collect();
    let mut iterator = table.iter();
    let mut forward = Vec::new();
    iterator.seek_to_first().expect("forward");
    while iterator.valid() {
        forward.push((iterator.key().to_vec(), iterator.value().to_vec()));
        iterator.next().expect("next");
    }
    assert_eq!(forward, sorted);
    let mut backward = Vec::new();
    iterator.seek_to_last().expect("backward");
    while iterator.valid() {
        backward.push((iterator.key().to_vec(), iterator.value().to_vec()));
        iterator.prev().expect("prev");
    }
    backward.reverse();
    assert_eq!(backward, sorted);

    let mut questions: Vec<(Vec<u8>, u64)> = input
        .probes
        .iter()
        .map(|(key, sequence)| (key.clone(), u64::from(*sequence)))
        .collect();
    questions.extend(model.keys().flat_map(|key| {
        let user_key = key.user_key().to_vec();
        [
            (user_key.clone(), key.sequence()),
            (user_key.clone(), key.sequence().saturating_sub(1)),
            (user_key, u64::MAX),
        ]
    }));
    for (user_key, sequence) in &questions {
        let target = lookup_key(user_key, *sequence);
        let position =
            sorted.partition_point(|(key, _)| compare_internal_keys(key, &target).is_lt());

        iterator.seek(&target).expect("seek");
        let got = iterator
            .valid()
            .then(|| (iterator.key().to_vec(), iterator.value().to_vec()));
        assert_eq!(got, sorted.get(position).cloned(), "seek");

        iterator.seek_for_prev(&target).expect("seek_for_prev");
        let got = iterator
            .valid()
            .then(|| (iterator.key().to_vec(), iterator.value().to_vec()));
        let want = position
            .checked_sub(1)
            .and_then(|index| sorted.get(index).cloned());
        assert_eq!(got, want, "seek_for_prev");

        let want = sorted.get(position).and_then(|(key, value)| {
            let key = InternalKey::from_encoded(key.clone())?;
            (key.user_key() == user_key.as_slice()).then(|| {
                (
                    key.sequence(),
                    ValueKind::from_byte(key.kind_byte()),
                    value.clone(),
                )
            })
        });
        let got = table
            .get(user_key, *sequence)
            .expect("get")
            .map(|entry| (entry.sequence, Some(entry.kind), entry.value));
        assert_eq!(got, want, "get");
    }
});
