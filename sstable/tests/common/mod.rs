//! Shared by the integration tests: a model of a sorted run (a `BTreeMap` of
//! internal keys), random inputs for quickcheck, and one harness that walks
//! a block or table cursor and the model side by side.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use quickcheck::{Arbitrary, Gen};
use strata_sstable::key::{InternalKey, ValueKind, lookup_key};
use strata_sstable::{BlockIterator, Result, Table, TableBuilder, TableIterator, TableOptions};

/// The model: internal key to value, in internal-key order.
pub type Model = BTreeMap<InternalKey, Vec<u8>>;

/// A user key from a small alphabet, so keys share prefixes and repeat.
#[derive(Clone, Debug)]
pub struct UserKey(pub Vec<u8>);

impl Arbitrary for UserKey {
    fn arbitrary(g: &mut Gen) -> UserKey {
        let length = usize::arbitrary(g) % 7;
        let alphabet = [b'a', b'b', b'c', 0x00, 0xff];
        UserKey((0..length).map(|_| *g.choose(&alphabet).unwrap()).collect())
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = UserKey>> {
        Box::new(self.0.shrink().map(UserKey))
    }
}

/// One entry of a generated table.
#[derive(Clone, Debug)]
pub struct GeneratedEntry {
    pub user_key: UserKey,
    pub sequence: u64,
    pub kind: ValueKind,
    pub value: Vec<u8>,
}

impl Arbitrary for GeneratedEntry {
    fn arbitrary(g: &mut Gen) -> GeneratedEntry {
        let kind = *g
            .choose(&[
                ValueKind::Value,
                ValueKind::Value,
                ValueKind::Deletion,
                ValueKind::SingleDeletion,
            ])
            .unwrap();
        let value_length = usize::arbitrary(g) % 40;
        GeneratedEntry {
            user_key: UserKey::arbitrary(g),
            sequence: u64::from(u8::arbitrary(g) % 16),
            kind,
            value: if kind == ValueKind::Value {
                (0..value_length).map(|_| u8::arbitrary(g)).collect()
            } else {
                Vec::new()
            },
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = GeneratedEntry>> {
        let this = self.clone();
        Box::new(self.user_key.shrink().map(move |user_key| GeneratedEntry {
            user_key,
            ..this.clone()
        }))
    }
}

/// A cursor operation of a mixed walk.
#[derive(Clone, Debug)]
pub enum Step {
    Next,
    Prev,
    SeekToFirst,
    SeekToLast,
    Seek(UserKey, u64),
    SeekForPrev(UserKey, u64),
}

impl Arbitrary for Step {
    fn arbitrary(g: &mut Gen) -> Step {
        match u8::arbitrary(g) % 10 {
            0..=2 => Step::Next,
            3..=5 => Step::Prev,
            6 => Step::SeekToFirst,
            7 => Step::SeekToLast,
            8 => Step::Seek(UserKey::arbitrary(g), u64::from(u8::arbitrary(g) % 18)),
            _ => Step::SeekForPrev(UserKey::arbitrary(g), u64::from(u8::arbitrary(g) % 18)),
        }
    }
}

/// Builds the model of `entries` (later duplicates of an internal key win).
pub fn model_of(entries: &[GeneratedEntry]) -> Model {
    entries
        .iter()
        .map(|entry| {
            (
                InternalKey::new(&entry.user_key.0, entry.sequence, entry.kind),
                entry.value.clone(),
            )
        })
        .collect()
}

/// Builds a table holding exactly the model.
pub fn build_table(model: &Model, options: TableOptions) -> Vec<u8> {
    let mut builder = TableBuilder::new(Vec::new(), options);
    for (key, value) in model {
        builder.add(key.as_bytes(), value).unwrap();
    }
    let (bytes, summary) = builder.finish().unwrap();
    assert_eq!(summary.entry_count, model.len() as u64);
    assert_eq!(summary.file_size_bytes, bytes.len() as u64);
    bytes
}

/// What the model says `get(user_key, sequence)` returns.
pub fn model_get(
    model: &Model,
    user_key: &[u8],
    sequence: u64,
) -> Option<(u64, ValueKind, Vec<u8>)> {
    let target = InternalKey::from_encoded(lookup_key(user_key, sequence)).unwrap();
    let (key, value) = model.range(target..).next()?;
    (key.user_key() == user_key).then(|| {
        (
            key.sequence(),
            ValueKind::from_byte(key.kind_byte()).unwrap(),
            value.clone(),
        )
    })
}

/// A block or table cursor, so one harness checks both.
pub trait Cursor {
    fn valid(&self) -> bool;
    fn key(&self) -> &[u8];
    fn value(&self) -> &[u8];
    fn seek_to_first(&mut self) -> Result<()>;
    fn seek_to_last(&mut self) -> Result<()>;
    fn seek(&mut self, target: &[u8]) -> Result<()>;
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()>;
    fn next(&mut self) -> Result<()>;
    fn prev(&mut self) -> Result<()>;
}

macro_rules! impl_cursor {
    ($type:ty) => {
        impl Cursor for $type {
            fn valid(&self) -> bool {
                <$type>::valid(self)
            }
            fn key(&self) -> &[u8] {
                <$type>::key(self)
            }
            fn value(&self) -> &[u8] {
                <$type>::value(self)
            }
            fn seek_to_first(&mut self) -> Result<()> {
                <$type>::seek_to_first(self)
            }
            fn seek_to_last(&mut self) -> Result<()> {
                <$type>::seek_to_last(self)
            }
            fn seek(&mut self, target: &[u8]) -> Result<()> {
                <$type>::seek(self, target)
            }
            fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
                <$type>::seek_for_prev(self, target)
            }
            fn next(&mut self) -> Result<()> {
                <$type>::next(self)
            }
            fn prev(&mut self) -> Result<()> {
                <$type>::prev(self)
            }
        }
    };
}
impl_cursor!(BlockIterator);
impl_cursor!(TableIterator);

fn current(cursor: &impl Cursor) -> Option<(Vec<u8>, Vec<u8>)> {
    cursor
        .valid()
        .then(|| (cursor.key().to_vec(), cursor.value().to_vec()))
}

fn at(sorted: &[(Vec<u8>, Vec<u8>)], position: Option<usize>) -> Option<(Vec<u8>, Vec<u8>)> {
    position.and_then(|index| sorted.get(index).cloned())
}

/// Forward scan, reverse scan, a seek and a seek-for-prev for every probe,
/// then the mixed walk; each compared with the model. Returns a description
/// of the first difference.
pub fn check_cursor(
    cursor: &mut impl Cursor,
    model: &Model,
    probes: &[(UserKey, u64)],
    steps: &[Step],
) -> std::result::Result<(), String> {
    let sorted: Vec<(Vec<u8>, Vec<u8>)> = model
        .iter()
        .map(|(key, value)| (key.as_bytes().to_vec(), value.clone()))
        .collect();

    cursor.seek_to_first().unwrap();
    let mut forward = Vec::new();
    while let Some(entry) = current(cursor) {
        forward.push(entry);
        cursor.next().unwrap();
    }
    if forward != sorted {
        return Err(format!("forward scan {forward:?} != model {sorted:?}"));
    }

    cursor.seek_to_last().unwrap();
    let mut backward = Vec::new();
    while let Some(entry) = current(cursor) {
        backward.push(entry);
        cursor.prev().unwrap();
    }
    backward.reverse();
    if backward != sorted {
        return Err(format!("reverse scan {backward:?} != model {sorted:?}"));
    }

    let seek_position = |target: &[u8]| {
        sorted.partition_point(|(key, _)| {
            strata_sstable::key::compare_internal_keys(key, target).is_lt()
        })
    };
    for (user_key, sequence) in probes {
        let target = lookup_key(&user_key.0, *sequence);
        cursor.seek(&target).unwrap();
        let expected = at(&sorted, Some(seek_position(&target)));
        if current(cursor) != expected {
            return Err(format!(
                "seek {user_key:?}@{sequence}: got {:?}, want {expected:?}",
                current(cursor)
            ));
        }
        cursor.seek_for_prev(&target).unwrap();
        let expected = seek_position(&target)
            .checked_sub(1)
            .and_then(|index| sorted.get(index).cloned());
        if current(cursor) != expected {
            return Err(format!(
                "seek_for_prev {user_key:?}@{sequence}: got {:?}, want {expected:?}",
                current(cursor)
            ));
        }
    }

    cursor.seek_to_first().unwrap();
    let mut position: Option<usize> = (!sorted.is_empty()).then_some(0);
    for step in steps {
        match step {
            Step::Next => {
                cursor.next().unwrap();
                position =
                    position.and_then(|index| (index + 1 < sorted.len()).then_some(index + 1));
            }
            Step::Prev => {
                cursor.prev().unwrap();
                position = position.and_then(|index| index.checked_sub(1));
            }
            Step::SeekToFirst => {
                cursor.seek_to_first().unwrap();
                position = (!sorted.is_empty()).then_some(0);
            }
            Step::SeekToLast => {
                cursor.seek_to_last().unwrap();
                position = sorted.len().checked_sub(1);
            }
            Step::Seek(user_key, sequence) => {
                let target = lookup_key(&user_key.0, *sequence);
                cursor.seek(&target).unwrap();
                let index = seek_position(&target);
                position = (index < sorted.len()).then_some(index);
            }
            Step::SeekForPrev(user_key, sequence) => {
                let target = lookup_key(&user_key.0, *sequence);
                cursor.seek_for_prev(&target).unwrap();
                position = seek_position(&target).checked_sub(1);
            }
        }
        if current(cursor) != at(&sorted, position) {
            return Err(format!(
                "after {step:?}: got {:?}, want {:?}",
                current(cursor),
                at(&sorted, position)
            ));
        }
    }
    Ok(())
}

/// Every get the probes and the model's own keys suggest, compared.
pub fn check_gets(
    table: &Table,
    model: &Model,
    probes: &[(UserKey, u64)],
) -> std::result::Result<(), String> {
    let mut questions: Vec<(Vec<u8>, u64)> = probes
        .iter()
        .map(|(key, sequence)| (key.0.clone(), *sequence))
        .collect();
    for key in model.keys() {
        let sequence = key.sequence();
        questions.push((key.user_key().to_vec(), sequence));
        questions.push((key.user_key().to_vec(), sequence.saturating_sub(1)));
        questions.push((key.user_key().to_vec(), u64::MAX));
    }
    for (user_key, sequence) in questions {
        let got = table
            .get(&user_key, sequence)
            .unwrap()
            .map(|entry| (entry.sequence, entry.kind, entry.value));
        let want = model_get(model, &user_key, sequence);
        if got != want {
            return Err(format!(
                "get {user_key:?}@{sequence}: got {got:?}, want {want:?}"
            ));
        }
    }
    Ok(())
}
