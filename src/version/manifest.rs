//! The MANIFEST and CURRENT: reading the live state (with a torn tail
//! tolerated), writing a new MANIFEST, and switching CURRENT to it. Format
//! in `docs/manifest_format.md`.

use std::io;
use std::path::Path;

use strata_wal::{Event, Problem, Reader, ReaderOptions, Writer, WriterOptions};

use super::edit::{VersionEdit, VersionState};
use super::filename::{self, FileKind};
use crate::directory::sync_dir;
use crate::error::{Error, Result};
use crate::fs::{FileSystem, WritableFile};
use crate::recovery::{DropReason, DroppedRegion};

/// A MANIFEST (or any log-format file) being appended to.
pub(crate) type LogWriter = Writer<Box<dyn WritableFile>>;

/// CURRENT holds one file name and a newline; anything longer is not a
/// CURRENT file.
pub(crate) const MAX_CURRENT_BYTES: u64 = 4096;

/// A MANIFEST larger than this is refused rather than read into memory
/// (edits are tens of bytes; the MANIFEST is rewritten at every open and
/// rolled over once past `Options::max_manifest_file_size`, which is held
/// to half of this).
pub(crate) const MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// What a MANIFEST holds: the state its edits add up to, and the torn tail
/// after the last intact edit, if any.
#[derive(Debug)]
pub(crate) struct ManifestContents {
    pub(crate) state: VersionState,
    pub(crate) torn_tail: Option<Problem>,
}

/// Reads a MANIFEST's bytes into the state they describe.
///
/// Damage after the last intact edit — cut short, zeros or garbage — is what
/// a crash during an append leaves: that edit's sync never returned, so
/// nothing relied on it (its table is not yet in use, the log it would make
/// obsolete is still there). It is returned as the torn tail, for the report
/// and the quarantine. Damage with an intact edit after it is a corruption
/// naming file and offset: Strata does not guess which files are live. (A
/// synced last edit damaged later on the medium is indistinguishable from a
/// torn one; LevelDB and RocksDB share that limit.)
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<ManifestContents> {
    let mut events = Vec::new();
    for event in Reader::new(bytes, ReaderOptions::default()) {
        events.push(event.map_err(|source| Error::io(path, "read", source))?);
    }
    let last_record = events
        .iter()
        .rposition(|event| matches!(event, Event::Record(_)))
        .ok_or_else(|| Error::Corruption {
            path: path.to_path_buf(),
            offset: 0,
            reason: "MANIFEST holds no intact edit".to_owned(),
        })?;
    let mut state = VersionState::default();
    let mut torn_tail = None;
    for (index, event) in events.into_iter().enumerate() {
        match event {
            Event::Record(record) => {
                let edit = VersionEdit::decode(&record.payload).map_err(|(at, reason)| {
                    Error::Corruption {
                        path: path.to_path_buf(),
                        offset: record.offset,
                        reason: format!("bad version edit (byte {at} of the record): {reason}"),
                    }
                })?;
                state.apply(&edit);
            }
            Event::Problem(problem) if index > last_record => {
                torn_tail.get_or_insert(Problem {
                    length: bytes.len() as u64 - problem.offset,
                    ..problem
                });
            }
            Event::Problem(problem) => {
                return Err(Error::Corruption {
                    path: path.to_path_buf(),
                    offset: problem.offset,
                    reason: format!(
                        "MANIFEST damaged before its last intact edit: {}",
                        problem.kind
                    ),
                });
            }
        }
    }
    Ok(ManifestContents { state, torn_tail })
}

/// Reads a whole small file, refusing one longer than `limit` bytes before
/// reading it (a damaged or sparse file must not exhaust memory).
pub(crate) fn read_bounded(fs: &dyn FileSystem, path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = fs
        .open_read(path)
        .map_err(|source| Error::io(path, "open", source))?;
    let length = file
        .len()
        .map_err(|source| Error::io(path, "read the length of", source))?;
    if length > limit {
        return Err(Error::Corruption {
            path: path.to_path_buf(),
            offset: limit,
            reason: format!("the file is {length} bytes long, more than the {limit} it may be"),
        });
    }
    file.read_all()
        .map_err(|source| Error::io(path, "read", source))
}

/// The database files (MANIFESTs, tables, logs) in `directory`, by name.
pub(crate) fn database_files(fs: &dyn FileSystem, directory: &Path) -> Result<Vec<String>> {
    let names = fs
        .list(directory)
        .map_err(|source| Error::io(directory, "list", source))?;
    Ok(names
        .into_iter()
        .filter(|name| {
            matches!(
                filename::parse(name),
                Some(FileKind::Manifest(_) | FileKind::Table(_) | FileKind::Log(_))
            )
        })
        .collect())
}

/// Whether a database file in a directory without CURRENT can only be what
/// an open that was creating the database left when it crashed before
/// writing CURRENT: a small log holding no write (just the empty marker
/// batch, or a torn piece of it), or a small MANIFEST recording no table and
/// no flushed write. Anything else — any table, any log with a write in it —
/// means CURRENT was lost from a real database.
fn is_left_by_an_interrupted_creation(fs: &dyn FileSystem, path: &Path) -> Result<bool> {
    const LIMIT_BYTES: u64 = 32 << 10;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kind = filename::parse(&name);
    if matches!(kind, Some(FileKind::Table(_))) {
        return Ok(false);
    }
    let length = fs
        .open_read(path)
        .and_then(|file| file.len())
        .map_err(|source| Error::io(path, "read the length of", source))?;
    if length > LIMIT_BYTES {
        return Ok(false);
    }
    let bytes = read_bounded(fs, path, LIMIT_BYTES)?;
    let mut records =
        Reader::new(&bytes[..], ReaderOptions::default()).filter_map(|event| match event {
            Ok(Event::Record(record)) => Some(record.payload),
            _ => None,
        });
    Ok(match kind {
        Some(FileKind::Log(_)) => {
            records.all(|payload| matches!(strata_wal::batch::validate(&payload), Ok((_, 0))))
        }
        Some(FileKind::Manifest(_)) => records.all(|payload| {
            VersionEdit::decode(&payload).is_ok_and(|edit| {
                edit.new_tables.is_empty() && edit.flushed_sequence.unwrap_or(0) == 0
            })
        }),
        _ => false,
    })
}

/// Reads CURRENT and the MANIFEST it names, and the MANIFEST's torn tail as
/// a dropped region. `None` when the directory holds no database file at
/// all (a new database); a directory with database files but no CURRENT is
/// refused ([`Error::MissingCurrent`]) rather than treated as new, which
/// would delete its tables as obsolete.
pub(crate) fn read_current(
    fs: &dyn FileSystem,
    directory: &Path,
) -> Result<Option<(VersionState, Option<DroppedRegion>)>> {
    let current = directory.join(filename::CURRENT);
    if !fs.exists(&current) {
        let found = database_files(fs, directory)?;
        for name in &found {
            if !is_left_by_an_interrupted_creation(fs, &directory.join(name))? {
                return Err(Error::MissingCurrent {
                    path: directory.to_path_buf(),
                    found,
                });
            }
        }
        return Ok(None);
    }
    let name_bytes = read_bounded(fs, &current, MAX_CURRENT_BYTES)?;
    let name = std::str::from_utf8(&name_bytes)
        .ok()
        .and_then(|text| text.strip_suffix('\n'))
        .filter(|name| matches!(filename::parse(name), Some(FileKind::Manifest(_))))
        .ok_or_else(|| Error::Corruption {
            path: current.clone(),
            offset: 0,
            reason: "CURRENT does not name a MANIFEST".to_owned(),
        })?;
    let manifest_path = directory.join(name);
    let bytes = read_bounded(fs, &manifest_path, MAX_MANIFEST_BYTES)?;
    let contents = read(&manifest_path, &bytes)?;
    let torn = contents.torn_tail.map(|problem| DroppedRegion {
        file: manifest_path,
        offset: problem.offset,
        length: problem.length,
        truncation: problem.kind.is_truncation(),
        reason: DropReason::Problem(problem.kind),
    });
    Ok(Some((contents.state, torn)))
}

/// Every table the MANIFEST lists is there with the recorded size, so that a
/// dry run fails as the open would (which opens every table) instead of
/// predicting an open that then fails.
pub(crate) fn check_tables(
    fs: &dyn FileSystem,
    directory: &Path,
    state: &VersionState,
) -> Result<()> {
    for table in &state.tables {
        let path = directory.join(filename::table(table.number));
        let length = fs
            .open_read(&path)
            .and_then(|file| file.len())
            .map_err(|source| Error::io(&path, "open the table listed in the MANIFEST", source))?;
        if length != table.size {
            return Err(Error::Corruption {
                path,
                offset: length,
                reason: format!(
                    "the MANIFEST records {} bytes but the table has {length}",
                    table.size
                ),
            });
        }
    }
    Ok(())
}

/// Writes MANIFEST `number` holding the whole of `version` as its first
/// edit, durably, and returns it open for appending.
pub(crate) fn create(
    fs: &dyn FileSystem,
    directory: &Path,
    number: u64,
    version: &VersionState,
) -> Result<LogWriter> {
    let path = directory.join(filename::manifest(number));
    let file = fs
        .create(&path)
        .map_err(|source| Error::io(&path, "create", source))?;
    let mut writer = Writer::new(file, WriterOptions::default());
    writer
        .add_record(&version.snapshot().encode())
        .and_then(|()| writer.sync())
        .map_err(|source| Error::io(&path, "write", source))?;
    sync_dir(fs, directory)?;
    Ok(writer)
}

/// Points CURRENT at a MANIFEST: write a temporary file, sync it, rename it
/// over CURRENT, sync the directory.
pub(crate) fn set_current(
    fs: &dyn FileSystem,
    directory: &Path,
    manifest_number: u64,
) -> Result<()> {
    let temporary = directory.join(filename::temporary(filename::CURRENT));
    let mut file = fs
        .create(&temporary)
        .map_err(|source| Error::io(&temporary, "create", source))?;
    let content = format!("{}\n", filename::manifest(manifest_number));
    io::Write::write_all(&mut file, content.as_bytes())
        .and_then(|()| file.sync())
        .map_err(|source| Error::io(&temporary, "write", source))?;
    drop(file);
    let current = directory.join(filename::CURRENT);
    fs.rename(&temporary, &current)
        .map_err(|source| Error::io(&current, "rename", source))?;
    sync_dir(fs, directory)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::version::edit::tests::sample;

    #[test]
    fn edit_with_a_file_number_at_u64_max_is_corruption_not_a_panic() {
        let bytes = [6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let error = VersionEdit::decode(&bytes).unwrap_err();
        assert_eq!(error.0, 1);
        assert!(error.1.contains("out of range"), "{}", error.1);
        let mut writer = strata_wal::Writer::new(Vec::new(), strata_wal::WriterOptions::default());
        writer.add_record(&bytes).unwrap();
        let framed = writer.into_inner();
        let error = read(Path::new("MANIFEST-000009"), &framed).unwrap_err();
        assert!(error.to_string().contains("MANIFEST-000009"), "{error}");
        assert!(error.to_string().contains("offset 0"), "{error}");
    }

    #[test]
    fn damage_after_the_last_edit_is_a_torn_tail_and_before_it_a_corruption() {
        let mut writer = strata_wal::Writer::new(Vec::new(), strata_wal::WriterOptions::default());
        writer.add_record(&sample().encode()).unwrap();
        writer.add_record(&VersionEdit::default().encode()).unwrap();
        let intact = writer.into_inner();

        let mut garbled_tail = intact.clone();
        garbled_tail.extend_from_slice(&[0x5a; 40]);
        let contents = read(Path::new("MANIFEST-000003"), &garbled_tail).unwrap();
        assert_eq!(contents.state.log_number, 4);
        let tail = contents.torn_tail.unwrap();
        assert_eq!((tail.offset, tail.length), (intact.len() as u64, 40));

        // An edit spanning two blocks, damaged in the first: an intact edit
        // follows the damage, so this is no torn tail.
        let mut big = sample();
        big.new_tables[0].smallest = vec![b'k'; 40_000];
        let mut writer = strata_wal::Writer::new(Vec::new(), strata_wal::WriterOptions::default());
        writer.add_record(&big.encode()).unwrap();
        writer.add_record(&VersionEdit::default().encode()).unwrap();
        let mut damaged_middle = writer.into_inner();
        damaged_middle[100] ^= 1;
        let error = read(Path::new("MANIFEST-000003"), &damaged_middle).unwrap_err();
        assert!(
            error.to_string().contains("before its last intact edit"),
            "{error}"
        );
        assert!(error.to_string().contains("offset 0"), "{error}");
    }
}
