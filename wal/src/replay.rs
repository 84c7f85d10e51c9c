//! Replay of one log under a recovery mode: which batches to apply, what was
//! dropped, or the error the mode demands.

use std::fmt;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::batch;
use crate::error::Error;
use crate::mode::RecoveryMode;
use crate::policy::{self, Decision};
use crate::problem::{Problem, ProblemKind};
use crate::reader::{BlockSource, LentEvent, LentRecord, Reader};

/// A write batch read intact from a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayedBatch {
    /// File offset of the record that holds the batch.
    pub offset: u64,
    /// File offset just past that record.
    pub end_offset: u64,
    /// Sequence number of the batch's first counted entry.
    pub sequence: u64,
    /// Number of counted entries.
    pub count: u32,
    /// The encoded batch (decode it with [`crate::batch::DecodedBatch::decode`]).
    pub payload: Vec<u8>,
}

impl ReplayedBatch {
    /// The sequence number the batch after this one should carry.
    #[must_use]
    pub fn next_sequence(&self) -> u64 {
        self.sequence.saturating_add(u64::from(self.count))
    }
}

/// A write batch read intact from a log, as [`replay_each`] lends it: the
/// payload borrows the reader until the next batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LentBatch<'a> {
    /// File offset of the record that holds the batch.
    pub offset: u64,
    /// File offset just past that record.
    pub end_offset: u64,
    /// Sequence number of the batch's first counted entry.
    pub sequence: u64,
    /// Number of counted entries.
    pub count: u32,
    /// The encoded batch (decode it with [`crate::batch::DecodedBatch::decode`]).
    pub payload: &'a [u8],
}

impl LentBatch<'_> {
    /// The sequence number the batch after this one should carry.
    #[must_use]
    pub fn next_sequence(&self) -> u64 {
        self.sequence.saturating_add(u64::from(self.count))
    }

    /// The batch with its payload copied.
    #[must_use]
    pub fn to_batch(&self) -> ReplayedBatch {
        ReplayedBatch {
            offset: self.offset,
            end_offset: self.end_offset,
            sequence: self.sequence,
            count: self.count,
            payload: self.payload.to_vec(),
        }
    }
}

/// A region of a log that replay did not apply.
///
/// With the `serde` feature it serializes as `{ "offset", "length", "kind",
/// "truncation" }`, `kind` as [`ProblemKind`] serializes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedRegion {
    /// File offset of the first dropped byte.
    pub offset: u64,
    /// Number of bytes dropped.
    pub length: u64,
    /// Why: the problem found at `offset`.
    pub kind: ProblemKind,
}

#[cfg(feature = "serde")]
impl serde::Serialize for DroppedRegion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut region = serializer.serialize_struct("DroppedRegion", 4)?;
        region.serialize_field("offset", &self.offset)?;
        region.serialize_field("length", &self.length)?;
        region.serialize_field("kind", &self.kind)?;
        region.serialize_field("truncation", &self.is_truncation())?;
        region.end()
    }
}

impl DroppedRegion {
    /// Whether the region is a truncation (the log ended early) rather than a
    /// corruption.
    #[must_use]
    pub fn is_truncation(&self) -> bool {
        self.kind.is_truncation()
    }
}

/// How the replay of one log ended (with the `serde` feature, in
/// kebab-case: `"clean"`, `"dropped-and-continued"`, `"stopped"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum LogEnd {
    /// Every byte was a record or padding.
    Clean,
    /// Problems were dropped and replay went on to the end (a truncated tail
    /// under TolerateCorruptedTailRecords, anything under
    /// SkipAnyCorruptedRecords).
    DroppedAndContinued,
    /// Replay stopped at the first problem; the rest of the log was dropped
    /// (PointInTimeRecovery, or a stale record of a recycled log).
    Stopped,
}

/// What the replay of one log did (with the `serde` feature the file is
/// written as a string, lossily if it is not UTF-8).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LogReport {
    /// The log.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serde_path::path"))]
    pub file: PathBuf,
    /// The mode applied.
    pub mode: RecoveryMode,
    /// Length of the log in bytes.
    pub length: u64,
    /// Number of batches to apply.
    pub batches: u64,
    /// Sequence of the first batch to apply.
    pub first_sequence: Option<u64>,
    /// Sequence the batch after the last applied one would carry.
    pub next_sequence: Option<u64>,
    /// Regions not applied, in file order.
    pub dropped: Vec<DroppedRegion>,
    /// How replay ended.
    pub end: LogEnd,
}

impl LogReport {
    /// Total bytes dropped.
    #[must_use]
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped.iter().map(|region| region.length).sum()
    }
}

impl fmt::Display for LogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} bytes) under {}: {} batches",
            self.file.display(),
            self.length,
            self.mode,
            self.batches
        )?;
        if let (Some(first), Some(next)) = (self.first_sequence, self.next_sequence) {
            write!(f, ", sequences {first}..{next}")?;
        }
        match self.end {
            LogEnd::Clean => f.write_str(", clean end")?,
            LogEnd::DroppedAndContinued => f.write_str(", damage skipped")?,
            LogEnd::Stopped => f.write_str(", stopped early")?,
        }
        for region in &self.dropped {
            write!(
                f,
                "\n  dropped {} bytes at offset {}: {} ({})",
                region.length,
                region.offset,
                region.kind,
                if region.is_truncation() {
                    "truncation"
                } else {
                    "corruption"
                }
            )?;
        }
        Ok(())
    }
}

/// The result of replaying one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogReplay {
    /// Batches to apply, in log order.
    pub batches: Vec<ReplayedBatch>,
    /// What happened.
    pub report: LogReport,
}

/// Replays one log under `mode`, reading every byte before deciding, and
/// returns the batches to apply with a report, or the error the mode demands
/// (naming `file`, the offset and the kind of the problem).
///
/// Each record must hold a well-formed write batch; one that does not is a
/// [`ProblemKind::BadBatch`] corruption. Sequence continuity between batches
/// and between logs is the caller's to check.
///
/// ```
/// use strata_wal::{RecoveryMode, ReaderOptions, Writer, WriterOptions, replay};
/// use strata_wal::batch::BatchBuilder;
///
/// let mut writer = Writer::new(Vec::new(), WriterOptions::default());
/// writer.add_record(&BatchBuilder::new().put(b"a", b"1").finish(1))?;
/// writer.add_record(&BatchBuilder::new().put(b"b", b"2").finish(2))?;
/// let mut log = writer.into_inner();
/// log.truncate(log.len() - 3); // a crash tore the last record
///
/// let path = std::path::Path::new("000001.log");
/// let reader = || strata_wal::Reader::new(&log[..], ReaderOptions::default());
/// let replayed = replay(reader(), RecoveryMode::PointInTimeRecovery, path)?;
/// assert_eq!(replayed.batches.len(), 1);
/// assert!(replayed.report.dropped[0].is_truncation());
/// assert!(replay(reader(), RecoveryMode::AbsoluteConsistency, path).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replay<S: BlockSource>(
    reader: Reader<S>,
    mode: RecoveryMode,
    file: &Path,
) -> Result<LogReplay, Error> {
    let mut batches = Vec::new();
    let outcome = replay_each(reader, mode, file, |batch| {
        batches.push(batch.to_batch());
        ControlFlow::<std::convert::Infallible>::Continue(())
    })?;
    let report = match outcome {
        ControlFlow::Continue(report) => report,
        ControlFlow::Break(never) => match never {},
    };
    Ok(LogReplay { batches, report })
}

/// Replays one log under `mode` as [`replay`] does, but lends each batch to
/// `on_batch` as soon as it is read instead of keeping it, so that memory
/// stays at one block plus the largest record whatever the log's length,
/// and a batch that fits in one block is never copied (from a
/// [`Reader::from_slice`], not at all).
///
/// `on_batch` sees the batches [`replay`] would return, in the same order.
/// It may end the replay early by returning [`ControlFlow::Break`]; its
/// value is returned as is, and the rest of the log is not read. Otherwise
/// the result is the report [`replay`] would give. A problem the mode
/// refuses is an error even if batches before it were handed over, so a
/// caller that must not act on a refused log decides in a first pass and
/// acts in a second.
///
/// ```
/// use std::ops::ControlFlow;
/// use strata_wal::{RecoveryMode, ReaderOptions, Writer, WriterOptions, replay_each};
/// use strata_wal::batch::BatchBuilder;
///
/// let mut writer = Writer::new(Vec::new(), WriterOptions::default());
/// for sequence in 1..=3 {
///     writer.add_record(&BatchBuilder::new().put(b"k", b"v").finish(sequence))?;
/// }
/// let log = writer.into_inner();
/// let reader = || strata_wal::Reader::new(&log[..], ReaderOptions::default());
/// let path = std::path::Path::new("000001.log");
///
/// let mut updates = 0;
/// let outcome = replay_each(reader(), RecoveryMode::default(), path, |batch| {
///     updates += batch.count;
///     ControlFlow::<()>::Continue(())
/// })?;
/// let ControlFlow::Continue(report) = outcome else { unreachable!() };
/// assert_eq!((updates, report.batches), (3, 3));
///
/// // Stop after the batch at sequence 2.
/// let outcome = replay_each(reader(), RecoveryMode::default(), path, |batch| {
///     if batch.sequence == 2 { ControlFlow::Break(batch.end_offset) } else { ControlFlow::Continue(()) }
/// })?;
/// assert!(matches!(outcome, ControlFlow::Break(end) if end > 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replay_each<S: BlockSource, B>(
    mut reader: Reader<S>,
    mode: RecoveryMode,
    file: &Path,
    mut on_batch: impl FnMut(LentBatch<'_>) -> ControlFlow<B>,
) -> Result<ControlFlow<B, LogReport>, Error> {
    let io_error = |source| Error::Io {
        file: file.to_path_buf(),
        source,
    };
    let mut batches = 0u64;
    let mut first_sequence = None;
    let mut next_sequence = None;
    let mut dropped = Vec::new();
    let mut stopped_at: Option<(u64, ProblemKind)> = None;
    while let Some(event) = reader.next_lent().map_err(io_error)? {
        if stopped_at.is_some() {
            // Keep reading only to learn the log's length.
            continue;
        }
        let problem = match event {
            LentEvent::Record(record) => match batch_of(record) {
                Ok(batch) => {
                    batches += 1;
                    first_sequence.get_or_insert(batch.sequence);
                    next_sequence = Some(batch.next_sequence());
                    if let ControlFlow::Break(value) = on_batch(batch) {
                        return Ok(ControlFlow::Break(value));
                    }
                    continue;
                }
                Err(problem) => problem,
            },
            LentEvent::Problem(problem) => problem,
        };
        match policy::on_problem(mode, &problem.kind) {
            Decision::DropAndContinue => dropped.push(DroppedRegion {
                offset: problem.offset,
                length: problem.length,
                kind: problem.kind,
            }),
            Decision::Stop => stopped_at = Some((problem.offset, problem.kind)),
            Decision::Refuse => {
                return Err(Error::Corruption {
                    file: file.to_path_buf(),
                    offset: problem.offset,
                    kind: problem.kind,
                    mode,
                });
            }
        }
    }
    let length = reader.bytes_read();
    let end = if let Some((offset, kind)) = stopped_at {
        dropped.push(DroppedRegion {
            offset,
            length: length - offset,
            kind,
        });
        LogEnd::Stopped
    } else if dropped.is_empty() {
        LogEnd::Clean
    } else {
        LogEnd::DroppedAndContinued
    };
    Ok(ControlFlow::Continue(LogReport {
        file: file.to_path_buf(),
        mode,
        length,
        batches,
        first_sequence,
        next_sequence,
        dropped,
        end,
    }))
}

fn batch_of(record: LentRecord<'_>) -> Result<LentBatch<'_>, Problem> {
    let (sequence, count) = match batch::validate(record.payload) {
        Ok(header) => header,
        Err(error) => {
            return Err(Problem {
                offset: record.offset,
                length: record.end_offset - record.offset,
                kind: ProblemKind::BadBatch(error.to_string()),
            });
        }
    };
    Ok(LentBatch {
        offset: record.offset,
        end_offset: record.end_offset,
        sequence,
        count,
        payload: record.payload,
    })
}
