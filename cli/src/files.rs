//! Read-only looks at single files and at a whole directory: `wal dump`,
//! `sst dump`, `sst verify`, `manifest dump` and `verify`. None of them
//! creates, locks or changes a file.

use std::path::{Path, PathBuf};

use serde::Serialize;
use strata::{ManifestDump, ManifestTable};
use strata_sstable::Table;
use strata_sstable::key::ValueKind;
use strata_wal::{Checksum, Event, ProblemKind, Reader, ReaderOptions};

use crate::common::{self, CLEAN, DAMAGE, Fail, Outcome, escape, io_failure, path_text, preview};

/// The checksum algorithm of a log.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum ChecksumArg {
    /// CRC-32, what Strata writes.
    Crc32,
    /// CRC-32C, what RocksDB and LevelDB write.
    Crc32c,
}

#[derive(Serialize)]
struct WalRecord {
    offset: u64,
    end_offset: u64,
    length: usize,
    sequence: Option<u64>,
    count: Option<u32>,
    /// Why the payload is not a write batch.
    error: Option<String>,
}

#[derive(Serialize)]
struct WalProblem {
    offset: u64,
    length: u64,
    kind: ProblemKind,
}

#[derive(Serialize)]
struct WalDump {
    file: String,
    checksum: &'static str,
    records: Vec<WalRecord>,
    problems: Vec<WalProblem>,
}

/// Reads a whole log; fails only if the file cannot be read.
fn read_log(file: &Path, checksum: Checksum) -> Result<WalDump, Fail> {
    common::existing_file(file, "log")?;
    let handle = std::fs::File::open(file).map_err(|error| io_failure(file, "log", &error))?;
    let reader = Reader::new(
        std::io::BufReader::new(handle),
        ReaderOptions {
            checksum,
            ..ReaderOptions::default()
        },
    );
    let mut dump = WalDump {
        file: path_text(file),
        checksum: match checksum {
            Checksum::Crc32c => "crc32c",
            _ => "crc32",
        },
        records: Vec::new(),
        problems: Vec::new(),
    };
    for event in reader {
        match event.map_err(|error| {
            Fail::operational(format!("cannot read the log {}: {error}", file.display()))
        })? {
            Event::Record(record) => {
                let decoded = strata_wal::batch::decode_header(&record.payload);
                dump.records.push(WalRecord {
                    offset: record.offset,
                    end_offset: record.end_offset,
                    length: record.payload.len(),
                    sequence: decoded.as_ref().ok().map(|(sequence, _)| *sequence),
                    count: decoded.as_ref().ok().map(|(_, count)| *count),
                    error: decoded.err().map(|error| error.to_string()),
                });
            }
            Event::Problem(problem) => dump.problems.push(WalProblem {
                offset: problem.offset,
                length: problem.length,
                kind: problem.kind,
            }),
        }
    }
    Ok(dump)
}

/// `strata wal dump`: every record and problem of one log. Exit 1 if the
/// log has a problem.
pub(crate) fn wal_dump(file: &Path, checksum: ChecksumArg, json: bool) -> Outcome {
    let checksum = match checksum {
        ChecksumArg::Crc32 => Checksum::Crc32,
        ChecksumArg::Crc32c => Checksum::Crc32c,
    };
    let dump = read_log(file, checksum)?;
    if json {
        common::print_json(&dump)?;
    } else {
        // Records and problems in file order.
        let mut lines: Vec<(u64, String)> = dump
            .records
            .iter()
            .map(|record| {
                let summary = match (&record.error, record.sequence, record.count) {
                    (Some(error), _, _) => format!("not a batch: {error}"),
                    (None, Some(sequence), Some(count)) => {
                        format!("batch sequence {sequence} count {count}")
                    }
                    _ => String::new(),
                };
                (
                    record.offset,
                    format!(
                        "record at {}..{} ({} bytes): {summary}",
                        record.offset, record.end_offset, record.length
                    ),
                )
            })
            .collect();
        lines.extend(dump.problems.iter().map(|problem| {
            (
                problem.offset,
                format!(
                    "PROBLEM at {} ({} bytes): {} ({})",
                    problem.offset,
                    problem.length,
                    problem.kind,
                    if problem.kind.is_truncation() {
                        "truncation"
                    } else {
                        "corruption"
                    }
                ),
            )
        }));
        lines.sort_by_key(|(offset, _)| *offset);
        for (_, line) in &lines {
            outln!("{line}");
        }
        outln!(
            "{} records, {} problems",
            dump.records.len(),
            dump.problems.len()
        );
        if dump.records.is_empty() && !dump.problems.is_empty() {
            outln!(
                "no intact record: {} is damaged or is not a log written with {}",
                file.display(),
                dump.checksum
            );
        }
    }
    Ok(if dump.problems.is_empty() {
        CLEAN
    } else {
        DAMAGE
    })
}

#[derive(Serialize)]
struct SstEntry {
    key: String,
    sequence: u64,
    kind: String,
    value_length: usize,
    value_preview: String,
}

#[derive(Serialize)]
struct SstDump {
    file: String,
    entries: Vec<SstEntry>,
    /// Damage that stopped the dump, if any.
    error: Option<String>,
}

fn kind_name(byte: u8) -> String {
    match ValueKind::from_byte(byte) {
        Some(ValueKind::Value) => "value".to_owned(),
        Some(ValueKind::Deletion) => "deletion".to_owned(),
        Some(ValueKind::SingleDeletion) => "single-deletion".to_owned(),
        None => format!("unknown-{byte}"),
    }
}

fn open_table(file: &Path) -> Result<Result<Table, String>, Fail> {
    common::existing_file(file, "table")?;
    match Table::open_path(file) {
        Ok(table) => Ok(Ok(table)),
        Err(strata_sstable::Error::Io { source, .. }) => Err(io_failure(file, "table", &source)),
        Err(error) => Ok(Err(error.to_string())),
    }
}

fn read_entries(table: &Table, entries: &mut Vec<SstEntry>) -> strata_sstable::Result<()> {
    let mut iterator = table.iter();
    iterator.seek_to_first()?;
    while iterator.valid() {
        let (key, sequence, kind) = match iterator.parsed_key() {
            Some(parsed) => (
                escape(parsed.user_key),
                parsed.sequence,
                kind_name(parsed.kind),
            ),
            None => (escape(iterator.key()), 0, "malformed-key".to_owned()),
        };
        entries.push(SstEntry {
            key,
            sequence,
            kind,
            value_length: iterator.value().len(),
            value_preview: preview(iterator.value(), 32),
        });
        iterator.next()?;
    }
    Ok(())
}

/// `strata sst dump`: every entry of one table. Exit 1 if the table is
/// damaged (the entries before the damage are listed).
pub(crate) fn sst_dump(file: &Path, json: bool) -> Outcome {
    let mut dump = SstDump {
        file: path_text(file),
        entries: Vec::new(),
        error: None,
    };
    match open_table(file)? {
        Ok(table) => {
            if let Err(error) = read_entries(&table, &mut dump.entries) {
                dump.error = Some(format!("damage in {}: {error}", file.display()));
            }
        }
        Err(error) => dump.error = Some(error),
    }
    if json {
        common::print_json(&dump)?;
    } else {
        for entry in &dump.entries {
            outln!(
                "'{}' @ {} : {} ({} bytes) '{}'",
                entry.key,
                entry.sequence,
                entry.kind,
                entry.value_length,
                entry.value_preview
            );
        }
        outln!("{} entries", dump.entries.len());
    }
    match dump.error {
        Some(error) => Err(Fail::damage(error)),
        None => Ok(CLEAN),
    }
}

#[derive(Serialize)]
struct TableCheck {
    file: String,
    ok: bool,
    entries: Option<u64>,
    data_blocks: Option<u64>,
    error: Option<String>,
}

fn check_table(file: &Path) -> Result<TableCheck, Fail> {
    let mut check = TableCheck {
        file: path_text(file),
        ok: false,
        entries: None,
        data_blocks: None,
        error: None,
    };
    match open_table(file)? {
        Ok(table) => match table.verify() {
            Ok(report) => {
                check.ok = true;
                check.entries = Some(report.entry_count);
                check.data_blocks = Some(report.data_block_count);
            }
            Err(error) => check.error = Some(error.to_string()),
        },
        Err(error) => check.error = Some(error),
    }
    Ok(check)
}

fn table_line(check: &TableCheck) -> String {
    match (&check.error, check.entries, check.data_blocks) {
        (None, Some(entries), Some(blocks)) => format!(
            "ok {}: {entries} entries in {blocks} data blocks, every checksum matches",
            check.file
        ),
        (Some(error), _, _) => format!("DAMAGED {}: {error}", check.file),
        _ => format!("? {}", check.file),
    }
}

/// `strata sst verify`: reads every block of one table and checks it.
pub(crate) fn sst_verify(file: &Path, json: bool) -> Outcome {
    let check = check_table(file)?;
    if json {
        common::print_json(&check)?;
    } else {
        outln!("{}", table_line(&check));
    }
    Ok(if check.ok { CLEAN } else { DAMAGE })
}

#[derive(Serialize)]
struct TableJson {
    number: u64,
    level: u32,
    size: u64,
    largest_sequence: u64,
    smallest_key: String,
    largest_key: String,
}

impl From<&ManifestTable> for TableJson {
    fn from(table: &ManifestTable) -> Self {
        TableJson {
            number: table.number,
            level: table.level,
            size: table.size,
            largest_sequence: table.largest_sequence,
            smallest_key: escape(&table.smallest_key),
            largest_key: escape(&table.largest_key),
        }
    }
}

#[derive(Serialize)]
struct EditJson {
    offset: u64,
    log_number: Option<u64>,
    next_file_number: Option<u64>,
    flushed_sequence: Option<u64>,
    new_tables: Vec<TableJson>,
    deleted_tables: Vec<u64>,
    new_logs: Vec<u64>,
}

#[derive(Serialize)]
struct ProblemJson {
    offset: u64,
    length: u64,
    description: String,
}

#[derive(Serialize)]
struct ManifestJson {
    current: Option<String>,
    manifest: String,
    length: u64,
    edits: Vec<EditJson>,
    problems: Vec<ProblemJson>,
    log_number: u64,
    next_file_number: u64,
    /// Every sequence up to this one is in tables.
    last_sequence: u64,
    logs: Vec<u64>,
    tables: Vec<TableJson>,
}

impl From<&ManifestDump> for ManifestJson {
    fn from(dump: &ManifestDump) -> Self {
        ManifestJson {
            current: dump.current.clone(),
            manifest: path_text(&dump.file),
            length: dump.length,
            edits: dump
                .edits
                .iter()
                .map(|edit| EditJson {
                    offset: edit.offset,
                    log_number: edit.log_number,
                    next_file_number: edit.next_file_number,
                    flushed_sequence: edit.flushed_sequence,
                    new_tables: edit.new_tables.iter().map(TableJson::from).collect(),
                    deleted_tables: edit.deleted_tables.clone(),
                    new_logs: edit.new_logs.clone(),
                })
                .collect(),
            problems: dump
                .problems
                .iter()
                .map(|problem| ProblemJson {
                    offset: problem.offset,
                    length: problem.length,
                    description: problem.description.clone(),
                })
                .collect(),
            log_number: dump.log_number,
            next_file_number: dump.next_file_number,
            last_sequence: dump.flushed_sequence,
            logs: dump.logs.clone(),
            tables: dump.tables.iter().map(TableJson::from).collect(),
        }
    }
}

/// Reads the MANIFEST CURRENT names in `path` (a database directory), or
/// `path` itself if it is a file.
fn read_manifest(path: &Path) -> Result<ManifestDump, Fail> {
    let result = if path.is_file() {
        ManifestDump::read(path)
    } else {
        if !path.exists() {
            return Err(Fail::operational(format!(
                "no database at {}: the directory does not exist",
                path.display()
            )));
        }
        ManifestDump::read_current(path)
    };
    result.map_err(|error| match error.kind() {
        strata::ErrorKind::NotFound => Fail::operational(format!(
            "no database at {}: the directory holds no CURRENT, MANIFEST, log or table \
             (check the path)",
            path.display()
        )),
        strata::ErrorKind::Io | strata::ErrorKind::Locked => Fail::operational(error.to_string()),
        _ => Fail::damage(error.to_string()),
    })
}

fn print_manifest(dump: &ManifestDump) {
    if let Some(current) = &dump.current {
        outln!("CURRENT -> {current}");
    }
    outln!(
        "{} ({} bytes, {} edits, {} problems)",
        dump.file.display(),
        dump.length,
        dump.edits.len(),
        dump.problems.len()
    );
    for edit in &dump.edits {
        let mut parts = Vec::new();
        if let Some(number) = edit.log_number {
            parts.push(format!("log number {number}"));
        }
        if let Some(number) = edit.next_file_number {
            parts.push(format!("next file {number}"));
        }
        if let Some(sequence) = edit.flushed_sequence {
            parts.push(format!("flushed sequence {sequence}"));
        }
        for log in &edit.new_logs {
            parts.push(format!("new log {log:06}.log"));
        }
        for table in &edit.new_tables {
            parts.push(format!(
                "add table {:06}.sst at L{}",
                table.number, table.level
            ));
        }
        for table in &edit.deleted_tables {
            parts.push(format!("delete table {table:06}.sst"));
        }
        outln!("  edit at {}: {}", edit.offset, parts.join(", "));
    }
    for problem in &dump.problems {
        outln!(
            "  PROBLEM at {} ({} bytes): {}",
            problem.offset,
            problem.length,
            problem.description
        );
    }
    outln!(
        "state: log number {}, next file {}, last sequence in tables {}",
        dump.log_number,
        dump.next_file_number,
        dump.flushed_sequence
    );
    let logs: Vec<String> = dump
        .logs
        .iter()
        .map(|log| format!("{log:06}.log"))
        .collect();
    outln!(
        "  listed logs: {}",
        if logs.is_empty() {
            "none".to_owned()
        } else {
            logs.join(", ")
        }
    );
    if dump.tables.is_empty() {
        outln!("  no tables");
    }
    let mut level = None;
    for table in &dump.tables {
        if level != Some(table.level) {
            level = Some(table.level);
            outln!("  level {}:", table.level);
        }
        outln!(
            "    {:06}.sst {} bytes, keys '{}'..'{}', largest sequence {}",
            table.number,
            table.size,
            preview(&table.smallest_key, 40),
            preview(&table.largest_key, 40),
            table.largest_sequence
        );
    }
}

/// `strata manifest dump`: CURRENT, each edit, and the state they give.
pub(crate) fn manifest_dump(path: &Path, json: bool) -> Outcome {
    let dump = read_manifest(path)?;
    if json {
        common::print_json(&ManifestJson::from(&dump))?;
    } else {
        print_manifest(&dump);
    }
    if dump.edits.is_empty() {
        return Err(Fail::damage(format!(
            "{} holds no intact edit: it is damaged or is not a MANIFEST",
            dump.file.display()
        )));
    }
    Ok(if dump.problems.is_empty() {
        CLEAN
    } else {
        DAMAGE
    })
}

#[derive(Serialize)]
struct LogCheck {
    file: String,
    records: usize,
    problems: Vec<WalProblem>,
}

#[derive(Serialize)]
struct VerifyOutput {
    directory: String,
    ok: bool,
    manifest: Option<ManifestJson>,
    /// What is wrong with the MANIFEST, CURRENT or the tables it lists.
    manifest_errors: Vec<String>,
    tables: Vec<TableCheck>,
    logs: Vec<LogCheck>,
}

/// `strata verify`: the MANIFEST, every table (every block) and every log,
/// read-only. Exit 1 on any damage.
pub(crate) fn verify(directory: &Path, json: bool) -> Outcome {
    common::existing_database(directory)?;
    let mut output = VerifyOutput {
        directory: path_text(directory),
        ok: true,
        manifest: None,
        manifest_errors: Vec::new(),
        tables: Vec::new(),
        logs: Vec::new(),
    };
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .map_err(|error| io_failure(directory, "database directory", &error))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();

    match read_manifest(directory) {
        Ok(dump) => {
            for problem in &dump.problems {
                output.manifest_errors.push(format!(
                    "{} at offset {}: {}",
                    dump.file.display(),
                    problem.offset,
                    problem.description
                ));
            }
            for table in &dump.tables {
                let path = directory.join(format!("{:06}.sst", table.number));
                match std::fs::metadata(&path) {
                    Ok(metadata) if metadata.len() == table.size => {}
                    Ok(metadata) => output.manifest_errors.push(format!(
                        "{} has {} bytes but the MANIFEST records {}",
                        path.display(),
                        metadata.len(),
                        table.size
                    )),
                    Err(_) => output.manifest_errors.push(format!(
                        "{} is listed in the MANIFEST but missing",
                        path.display()
                    )),
                }
            }
            for log in &dump.logs {
                let name = format!("{log:06}.log");
                if !names.contains(&name) {
                    output.manifest_errors.push(format!(
                        "{} is recorded in the MANIFEST but missing",
                        directory.join(name).display()
                    ));
                }
            }
            output.manifest = Some(ManifestJson::from(&dump));
        }
        Err(fail) if fail.code == common::OPERATIONAL => return Err(fail),
        Err(fail) => output.manifest_errors.push(fail.message),
    }

    for name in &names {
        let path: PathBuf = directory.join(name);
        if common::number_with_suffix(name, ".sst").is_some() {
            output.tables.push(check_table(&path)?);
        } else if common::number_with_suffix(name, ".log").is_some() {
            let dump = read_log(&path, Checksum::Crc32)?;
            output.logs.push(LogCheck {
                file: dump.file,
                records: dump.records.len(),
                problems: dump.problems,
            });
        }
    }
    output.ok = output.manifest_errors.is_empty()
        && output.tables.iter().all(|table| table.ok)
        && output.logs.iter().all(|log| log.problems.is_empty());

    if json {
        common::print_json(&output)?;
    } else {
        if let Some(manifest) = &output.manifest {
            outln!(
                "{} MANIFEST {}: {} edits, {} tables, {} listed logs",
                if output.manifest_errors.is_empty() {
                    "ok"
                } else {
                    "DAMAGED"
                },
                manifest.manifest,
                manifest.edits.len(),
                manifest.tables.len(),
                manifest.logs.len()
            );
        }
        for error in &output.manifest_errors {
            outln!("DAMAGED {error}");
        }
        for table in &output.tables {
            outln!("{}", table_line(table));
        }
        for log in &output.logs {
            if log.problems.is_empty() {
                outln!("ok {}: {} records, no problem", log.file, log.records);
            } else {
                outln!(
                    "DAMAGED {}: {} records, {} problems",
                    log.file,
                    log.records,
                    log.problems.len()
                );
                for problem in &log.problems {
                    outln!(
                        "  at offset {} ({} bytes): {}",
                        problem.offset,
                        problem.length,
                        problem.kind
                    );
                }
            }
        }
        outln!(
            "{}: {} tables and {} logs checked",
            if output.ok {
                "no damage found"
            } else {
                "DAMAGE FOUND"
            },
            output.tables.len(),
            output.logs.len()
        );
    }
    Ok(if output.ok { CLEAN } else { DAMAGE })
}
