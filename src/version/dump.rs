//! Read-only decoding of a MANIFEST edit by edit, for tools such as
//! `strata manifest dump`. Unlike the engine's own reading, damage does not
//! stop it: every intact edit is listed, and every problem with its offset.

use std::path::{Path, PathBuf};

use strata_wal::{Event, Reader, ReaderOptions};

use super::edit::{TableMeta, VersionEdit, VersionState};
use super::filename::{self, FileKind};
use super::manifest::{MAX_CURRENT_BYTES, MAX_MANIFEST_BYTES, database_files, read_bounded};
use crate::error::{Error, Result};
use crate::fs::{FileSystem, OsFs};

/// A table as a MANIFEST records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestTable {
    /// The table's file number (`NNNNNN.sst`).
    pub number: u64,
    /// The level it belongs to.
    pub level: u32,
    /// Its size in bytes.
    pub size: u64,
    /// The largest sequence number of any entry in it.
    pub largest_sequence: u64,
    /// Its smallest user key.
    pub smallest_key: Vec<u8>,
    /// Its largest user key.
    pub largest_key: Vec<u8>,
}

impl ManifestTable {
    fn new(meta: &TableMeta) -> ManifestTable {
        ManifestTable {
            number: meta.number,
            level: meta.level,
            size: meta.size,
            largest_sequence: meta.largest_sequence,
            smallest_key: strata_sstable::key::user_key(&meta.smallest).to_vec(),
            largest_key: strata_sstable::key::user_key(&meta.largest).to_vec(),
        }
    }
}

/// One edit of a MANIFEST.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManifestEdit {
    /// File offset of the record holding it.
    pub offset: u64,
    /// Logs below this number are obsolete.
    pub log_number: Option<u64>,
    /// The next file number to use.
    pub next_file_number: Option<u64>,
    /// Every sequence up to this one is in tables.
    pub flushed_sequence: Option<u64>,
    /// Tables added.
    pub new_tables: Vec<ManifestTable>,
    /// Tables removed, by number.
    pub deleted_tables: Vec<u64>,
    /// Logs created, by number.
    pub new_logs: Vec<u64>,
}

/// Damage found in a MANIFEST: a region the log reader could not read, or a
/// record that is not a version edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestProblem {
    /// File offset of the damage.
    pub offset: u64,
    /// Bytes affected (the record's length for a bad edit).
    pub length: u64,
    /// What is wrong, as a sentence.
    pub description: String,
}

/// What a MANIFEST holds, edit by edit, and the state the intact edits add
/// up to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestDump {
    /// What CURRENT names, when read through [`ManifestDump::read_current`].
    pub current: Option<String>,
    /// The MANIFEST.
    pub file: PathBuf,
    /// Its length in bytes.
    pub length: u64,
    /// Every intact edit, in order.
    pub edits: Vec<ManifestEdit>,
    /// Every problem, in file order (empty for a healthy MANIFEST; a torn
    /// last edit is one).
    pub problems: Vec<ManifestProblem>,
    /// Logs below this number are obsolete.
    pub log_number: u64,
    /// The next file number.
    pub next_file_number: u64,
    /// Every sequence up to this one is in tables (the last sequence the
    /// MANIFEST knows of; later writes are in the logs).
    pub flushed_sequence: u64,
    /// The live tables, by level then number.
    pub tables: Vec<ManifestTable>,
    /// The live logs recorded, by number.
    pub logs: Vec<u64>,
}

impl ManifestDump {
    /// Reads the MANIFEST at `path`. Fails only if it cannot be read (or is
    /// larger than a MANIFEST may be); damage inside is listed in
    /// [`ManifestDump::problems`].
    pub fn read(path: impl AsRef<Path>) -> Result<ManifestDump> {
        let path = path.as_ref();
        let bytes = read_bounded(&OsFs, path, MAX_MANIFEST_BYTES)?;
        Ok(decode(path, &bytes))
    }

    /// Reads the MANIFEST that the CURRENT file of `directory` names.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the directory is missing or holds no database
    /// file; [`Error::MissingCurrent`] if it holds database files but no
    /// CURRENT; [`Error::Corruption`] if CURRENT does not name a MANIFEST.
    pub fn read_current(directory: impl AsRef<Path>) -> Result<ManifestDump> {
        let directory = directory.as_ref();
        let fs = OsFs;
        let current = directory.join(filename::CURRENT);
        if !fs.exists(directory) || !fs.exists(&current) {
            let found = if fs.exists(directory) {
                database_files(&fs, directory)?
            } else {
                Vec::new()
            };
            return Err(if found.is_empty() {
                Error::NotFound {
                    path: directory.to_path_buf(),
                }
            } else {
                Error::MissingCurrent {
                    path: directory.to_path_buf(),
                    found,
                }
            });
        }
        let bytes = read_bounded(&fs, &current, MAX_CURRENT_BYTES)?;
        let name = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| text.strip_suffix('\n'))
            .filter(|name| matches!(filename::parse(name), Some(FileKind::Manifest(_))))
            .ok_or_else(|| Error::Corruption {
                path: current.clone(),
                offset: 0,
                reason: "CURRENT does not name a MANIFEST".to_owned(),
            })?;
        let mut dump = ManifestDump::read(directory.join(name))?;
        dump.current = Some(name.to_owned());
        Ok(dump)
    }
}

fn decode(path: &Path, bytes: &[u8]) -> ManifestDump {
    let mut edits = Vec::new();
    let mut problems = Vec::new();
    let mut state = VersionState::default();
    for event in Reader::new(bytes, ReaderOptions::default()) {
        match event {
            Ok(Event::Record(record)) => match VersionEdit::decode(&record.payload) {
                Ok(edit) => {
                    state.apply(&edit);
                    edits.push(ManifestEdit {
                        offset: record.offset,
                        log_number: edit.log_number,
                        next_file_number: edit.next_file_number,
                        flushed_sequence: edit.flushed_sequence,
                        new_tables: edit.new_tables.iter().map(ManifestTable::new).collect(),
                        deleted_tables: edit.deleted_tables,
                        new_logs: edit.new_logs,
                    });
                }
                Err((at, reason)) => problems.push(ManifestProblem {
                    offset: record.offset,
                    length: record.end_offset - record.offset,
                    description: format!("bad version edit (byte {at} of the record): {reason}"),
                }),
            },
            Ok(Event::Problem(problem)) => problems.push(ManifestProblem {
                offset: problem.offset,
                length: problem.length,
                description: problem.kind.to_string(),
            }),
            // Reading from memory cannot fail.
            Err(error) => problems.push(ManifestProblem {
                offset: 0,
                length: bytes.len() as u64,
                description: error.to_string(),
            }),
        }
    }
    let mut tables: Vec<ManifestTable> = state.tables.iter().map(ManifestTable::new).collect();
    tables.sort_by_key(|table| (table.level, table.number));
    ManifestDump {
        current: None,
        file: path.to_path_buf(),
        length: bytes.len() as u64,
        edits,
        problems,
        log_number: state.log_number,
        next_file_number: state.next_file_number,
        flushed_sequence: state.flushed_sequence,
        tables,
        logs: state.logs.iter().copied().collect(),
    }
}
