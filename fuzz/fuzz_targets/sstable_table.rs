//! A table from arbitrary bytes: open, verify, scans both ways, seeks and
//! gets never panic or hang. Raw bytes rarely get past the checksums, so
//! half of the inputs are a valid table with one byte changed; for those,
//! `verify` must fail and whatever reads without an error must equal what
//! the intact table reads. (One byte only: CRC-32 detects every change of up
//! to 32 consecutive bits, while several flips could forge a checksum and
//! make a different but valid table.)
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use strata_sstable::key::{InternalKey, ValueKind, lookup_key};
use strata_sstable::{Compression, Error, FilterLayout, Table, TableBuilder, TableOptions};

const MAX_STEPS: usize = 1 << 16;

#[derive(Arbitrary, Debug)]
struct Input {
    structured: bool,
    block_size: u8,
    restart_interval: u8,
    bloom_bits_per_key: u8,
    entries: Vec<(Vec<u8>, u8, bool, Vec<u8>)>,
    flip: (u16, u8),
    raw: Vec<u8>,
    probes: Vec<(Vec<u8>, u8)>,
}

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

struct Reading {
    forward: Result<Entries, ()>,
    backward: Result<Entries, ()>,
    gets: Vec<Result<Option<(u64, ValueKind, Vec<u8>)>, ()>>,
    seeks: Vec<Result<Option<(Vec<u8>, Vec<u8>)>, ()>>,
}

fn expect_corruption(error: Error) {
    assert!(
        error.is_corruption(),
        "bad bytes gave a non-corruption error: {error}"
    );
}

fn read(table: &Table, probes: &[(Vec<u8>, u8)]) -> Reading {
    let mut iterator = table.iter();
    let mut scan = |backward: bool| -> Result<Entries, ()> {
        let mut entries = Vec::new();
        let start = if backward {
            iterator.seek_to_last()
        } else {
            iterator.seek_to_first()
        };
        start.map_err(expect_corruption)?;
        while iterator.valid() {
            assert!(entries.len() < MAX_STEPS, "scan does not end");
            entries.push((iterator.key().to_vec(), iterator.value().to_vec()));
            let step = if backward {
                iterator.prev()
            } else {
                iterator.next()
            };
            step.map_err(expect_corruption)?;
        }
        if backward {
            entries.reverse();
        }
        Ok(entries)
    };
    let forward = scan(false);
    let backward = scan(true);
    let gets = probes
        .iter()
        .map(|(user_key, sequence)| {
            table
                .get(user_key, u64::from(*sequence))
                .map(|found| found.map(|entry| (entry.sequence, entry.kind, entry.value)))
                .map_err(expect_corruption)
        })
        .collect();
    let mut iterator = table.iter();
    let seeks = probes
        .iter()
        .flat_map(|(user_key, sequence)| {
            let target = lookup_key(user_key, u64::from(*sequence));
            let first = iterator.seek(&target).map(|()| {
                iterator
                    .valid()
                    .then(|| (iterator.key().to_vec(), iterator.value().to_vec()))
            });
            let second = iterator.seek_for_prev(&target).map(|()| {
                iterator
                    .valid()
                    .then(|| (iterator.key().to_vec(), iterator.value().to_vec()))
            });
            [
                first.map_err(expect_corruption),
                second.map_err(expect_corruption),
            ]
        })
        .collect();
    Reading {
        forward,
        backward,
        gets,
        seeks,
    }
}

fn same_or_failed<T: PartialEq + std::fmt::Debug>(damaged: &Result<T, ()>, intact: &Result<T, ()>) {
    if let (Ok(damaged), Ok(intact)) = (damaged, intact) {
        assert_eq!(
            damaged, intact,
            "a damaged table read differently without an error"
        );
    }
}

fuzz_target!(|input: Input| {
    if !input.structured {
        if let Ok(table) = Table::open(input.raw, "raw.sst") {
            let _ = table.verify();
            let reading = read(&table, &input.probes);
            if let (Ok(forward), Ok(backward)) = (&reading.forward, &reading.backward) {
                assert_eq!(forward, backward);
            }
        }
        return;
    }
    let options = TableOptions {
        block_size_bytes: usize::from(input.block_size),
        restart_interval: usize::from(input.restart_interval % 32),
        bloom_bits_per_key: usize::from(input.bloom_bits_per_key % 20),
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
    let mut keys: Vec<(InternalKey, Vec<u8>)> = input
        .entries
        .iter()
        .map(|(user_key, sequence, deletion, value)| {
            let kind = if *deletion {
                ValueKind::Deletion
            } else {
                ValueKind::Value
            };
            (
                InternalKey::new(user_key, u64::from(*sequence), kind),
                value.clone(),
            )
        })
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys.dedup_by(|a, b| a.0 == b.0);
    let mut builder = TableBuilder::new(Vec::new(), options);
    for (key, value) in &keys {
        builder
            .add(key.as_bytes(), value)
            .expect("sorted unique keys are accepted");
    }
    let (intact, _) = builder.finish().expect("building in memory");
    let intact_reading = read(
        &Table::open(intact.clone(), "t.sst").expect("intact"),
        &input.probes,
    );

    let mut damaged = intact;
    let (position, flip) = input.flip;
    let length = damaged.len();
    damaged[usize::from(position) % length] ^= flip;
    let changed = flip != 0;
    match Table::open(damaged, "t.sst") {
        Err(error) => expect_corruption(error),
        Ok(table) => {
            let verified = table.verify();
            if changed {
                expect_corruption(verified.expect_err("verify missed a changed byte"));
            }
            let reading = read(&table, &input.probes);
            same_or_failed(&reading.forward, &intact_reading.forward);
            same_or_failed(&reading.backward, &intact_reading.backward);
            for (damaged, intact) in reading.gets.iter().zip(&intact_reading.gets) {
                same_or_failed(damaged, intact);
            }
            for (damaged, intact) in reading.seeks.iter().zip(&intact_reading.seeks) {
                same_or_failed(damaged, intact);
            }
        }
    }
});
