//! The write-ahead log of Strata: LevelDB/RocksDB log framing (32 KiB blocks,
//! Full/First/Middle/Last fragments, masked checksums), a reader that reports
//! every damaged region with its offset and kind, and replay of one log under
//! RocksDB's four recovery modes.
//!
//! - [`Writer`] appends records to any [`std::io::Write`] and syncs through
//!   [`SyncWrite`].
//! - [`Reader`] reads them back from any [`std::io::Read`] or, copying
//!   nothing, from a slice in memory, yielding [`Event::Record`] and
//!   [`Event::Problem`] (or lending records: [`Reader::next_lent`]); it
//!   never decides policy.
//! - [`replay`] applies a [`RecoveryMode`] to one log and returns the write
//!   batches to apply and a [`LogReport`], or the [`Error`] the mode demands.
//!   [`replay_each`] does the same one batch at a time, keeping none, so
//!   that a log of any size is replayed in bounded memory.
//! - [`policy`] is DESIGN.md §5 as code: what each mode does with each
//!   problem, inside a log and across logs.
//! - [`batch`] encodes and decodes RocksDB's write batch, the payload of
//!   every record.
//!
//! The byte layout and the recovery table are in `docs/wal_format.md`.
//!
//! ```
//! use strata_wal::{Reader, ReaderOptions, RecoveryMode, Writer, WriterOptions, replay};
//! use strata_wal::batch::BatchBuilder;
//!
//! let mut writer = Writer::new(Vec::new(), WriterOptions::default());
//! writer.add_record(&BatchBuilder::new().put(b"key", b"value").finish(1))?;
//! writer.sync()?;
//! let log = writer.into_inner();
//!
//! let reader = Reader::new(&log[..], ReaderOptions::default());
//! let replayed = replay(reader, RecoveryMode::default(), "000001.log".as_ref())?;
//! assert_eq!(replayed.batches[0].sequence, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod batch;
mod error;
mod format;
mod mode;
pub mod policy;
mod problem;
mod reader;
mod replay;
#[cfg(feature = "serde")]
mod serde_path;
mod writer;

pub use error::Error;
pub use format::{
    Checksum, DEFAULT_BLOCK_SIZE, HeaderFormat, LEGACY_HEADER_SIZE, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE,
    RECYCLABLE_HEADER_SIZE, RecordType, SAFE_TO_IGNORE_BIT, mask_checksum, unmask_checksum,
};
pub use mode::{ParseRecoveryModeError, RecoveryMode};
pub use problem::{Problem, ProblemKind};
pub use reader::{
    Accounting, BlockSource, Event, LentEvent, LentRecord, ReadBlocks, Reader, ReaderOptions,
    Record, SliceBlocks,
};
pub use replay::{
    DroppedRegion, LentBatch, LogEnd, LogReplay, LogReport, ReplayedBatch, replay, replay_each,
};
pub use writer::{SyncWrite, Writer, WriterOptions};
