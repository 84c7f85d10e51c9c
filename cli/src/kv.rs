//! `strata get`, `put`, `delete` and `scan`: the database opened with
//! `Options::default()` and the chosen recovery mode (which runs recovery,
//! as any open does), then closed.

use std::ops::Bound;
use std::path::Path;

use serde::Serialize;
use strata::{Db, Options, RecoveryMode};

use crate::common::{self, CLEAN, DAMAGE, Fail, Outcome, engine_failure, escape};

/// Opens an existing database (never creates one unless `create`).
fn open(directory: &Path, mode: RecoveryMode, create: bool) -> Result<Db, Fail> {
    if !create || directory.exists() {
        common::existing_database(directory)?;
    }
    let options = Options {
        recovery_mode: mode,
        create_if_missing: create,
        ..Options::default()
    };
    let db = Db::open(directory, options).map_err(|error| engine_failure(directory, &error))?;
    let report = db.recovery_report();
    if report.dropped_anything() {
        let bytes: u64 = report.dropped.iter().map(|region| region.length).sum();
        eprintln!(
            "strata: warning: recovery under {} dropped {bytes} bytes of {} (kept in quarantine/):\n{report}",
            report.mode,
            directory.display()
        );
    }
    Ok(db)
}

fn close(directory: &Path, db: Db) -> Result<(), Fail> {
    db.close()
        .map_err(|error| engine_failure(directory, &error))
}

/// `strata get`: the value, escaped; exit 1 if the key is not there.
pub(crate) fn get(directory: &Path, key: &str, mode: RecoveryMode, json: bool) -> Outcome {
    let db = open(directory, mode, false)?;
    let value = db
        .get(key)
        .map_err(|error| engine_failure(directory, &error))?;
    close(directory, db)?;
    match value {
        Some(value) => {
            if json {
                common::print_json(&Pair {
                    key: escape(key.as_bytes()),
                    value: escape(&value),
                })?;
            } else {
                outln!("{}", escape(&value));
            }
            Ok(CLEAN)
        }
        None => {
            eprintln!(
                "strata: not found: no key '{}' in {}",
                escape(key.as_bytes()),
                directory.display()
            );
            Ok(DAMAGE)
        }
    }
}

/// `strata put`: sets the key, synced.
pub(crate) fn put(
    directory: &Path,
    key: &str,
    value: &str,
    mode: RecoveryMode,
    create: bool,
) -> Outcome {
    let db = open(directory, mode, create)?;
    let mut batch = strata::WriteBatch::new();
    batch.put(key, value);
    db.write(batch, &strata::WriteOptions::SYNC)
        .map_err(|error| engine_failure(directory, &error))?;
    close(directory, db)?;
    Ok(CLEAN)
}

/// `strata delete`: deletes the key, synced (deleting a missing key is not
/// an error, as in the library).
pub(crate) fn delete(directory: &Path, key: &str, mode: RecoveryMode) -> Outcome {
    let db = open(directory, mode, false)?;
    let mut batch = strata::WriteBatch::new();
    batch.delete(key);
    db.write(batch, &strata::WriteOptions::SYNC)
        .map_err(|error| engine_failure(directory, &error))?;
    close(directory, db)?;
    Ok(CLEAN)
}

#[derive(Serialize)]
struct Pair {
    key: String,
    value: String,
}

/// What to scan.
pub(crate) struct Scan<'a> {
    pub(crate) prefix: Option<&'a str>,
    pub(crate) from: Option<&'a str>,
    pub(crate) to: Option<&'a str>,
    pub(crate) limit: Option<usize>,
    pub(crate) reverse: bool,
}

/// The smallest key greater than every key starting with `prefix`, if any.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// `--from` (inclusive), `--to` (exclusive) and `--prefix` together.
fn bounds(scan: &Scan<'_>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut start = scan.from.map_or(Bound::Unbounded, |from| {
        Bound::Included(from.as_bytes().to_vec())
    });
    let mut end = scan.to.map_or(Bound::Unbounded, |to| {
        Bound::Excluded(to.as_bytes().to_vec())
    });
    if let Some(prefix) = scan.prefix {
        let prefix = prefix.as_bytes();
        let later_start = match &start {
            Bound::Included(from) => from.as_slice() < prefix,
            _ => true,
        };
        if later_start {
            start = Bound::Included(prefix.to_vec());
        }
        if let Some(limit) = prefix_end(prefix) {
            let earlier_end = match &end {
                Bound::Excluded(to) => limit < *to,
                _ => true,
            };
            if earlier_end {
                end = Bound::Excluded(limit);
            }
        }
    }
    (start, end)
}

/// `strata scan`: keys and values in order (or reversed), escaped.
pub(crate) fn scan(directory: &Path, scan: &Scan<'_>, mode: RecoveryMode, json: bool) -> Outcome {
    let db = open(directory, mode, false)?;
    let iterator = db.range(bounds(scan));
    let entries: Box<dyn Iterator<Item = <strata::DbIterator as Iterator>::Item>> = if scan.reverse
    {
        Box::new(iterator.rev())
    } else {
        Box::new(iterator)
    };
    let mut pairs = Vec::new();
    for entry in entries.take(scan.limit.unwrap_or(usize::MAX)) {
        let (key, value) = entry.map_err(|error| engine_failure(directory, &error))?;
        let pair = Pair {
            key: escape(&key),
            value: escape(&value),
        };
        if json {
            pairs.push(pair);
        } else {
            outln!("{} = {}", pair.key, pair.value);
        }
    }
    close(directory, db)?;
    if json {
        common::print_json(&pairs)?;
    }
    Ok(CLEAN)
}
