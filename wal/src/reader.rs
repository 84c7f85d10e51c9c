//! Reads records back from a log and reports every region it cannot use.
//!
//! The reader never decides policy: it yields [`Event::Record`]s and
//! [`Event::Problem`]s in file order and resynchronises after a problem,
//! at the next block when the damage may hide the record boundaries. The
//! recovery mode ([`crate::replay`]) decides what a problem means.

use std::io::{self, Read};
use std::ops::Range;

use crate::format::{
    Checksum, LEGACY_HEADER_SIZE, LENGTH_OFFSET, LOG_NUMBER_OFFSET, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE,
    RECYCLABLE_HEADER_SIZE, RecordType, SAFE_TO_IGNORE_BIT, TYPE_OFFSET, stored_log_number,
    unknown_type_is_recyclable, unmask_checksum,
};
use crate::problem::{Problem, ProblemKind};

/// How a [`Reader`] interprets the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Block size the log was written with.
    pub block_size: usize,
    /// Checksum algorithm the log was written with.
    pub checksum: Checksum,
    /// The number of this log. Recyclable records carrying other (low 32 bits
    /// of) numbers are reported as [`ProblemKind::StaleRecord`]. `None`
    /// accepts any number.
    pub log_number: Option<u64>,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            block_size: crate::DEFAULT_BLOCK_SIZE,
            checksum: Checksum::Crc32,
            log_number: None,
        }
    }
}

/// One logical record and where its fragments sit in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// File offset of the header of the record's first fragment.
    pub offset: u64,
    /// File offset just past the record's last fragment.
    pub end_offset: u64,
    /// The reassembled payload.
    pub payload: Vec<u8>,
}

/// What a [`Reader`] found next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An intact record.
    Record(Record),
    /// A region that could not be turned into records.
    Problem(Problem),
}

/// Where every byte the reader consumed went. Once the reader has returned
/// `None`, the four counts add up to the length of the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Bytes of intact records: headers, payloads and the block trailers
    /// between the fragments of one record.
    pub record_bytes: u64,
    /// Bytes inside reported problems.
    pub dropped_bytes: u64,
    /// Block trailers between records and zero padding at the end.
    pub padding_bytes: u64,
    /// Records of unknown types that are safe to ignore (bit 7 set).
    pub ignored_bytes: u64,
}

impl Accounting {
    /// The sum of all four counts.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.record_bytes + self.dropped_bytes + self.padding_bytes + self.ignored_bytes
    }
}

/// A record lent by [`Reader::next_lent`]: its payload borrows the reader
/// (the block it lies in, or the buffer a fragmented record was reassembled
/// in), so reading it costs no copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LentRecord<'a> {
    /// File offset of the header of the record's first fragment.
    pub offset: u64,
    /// File offset just past the record's last fragment.
    pub end_offset: u64,
    /// The payload.
    pub payload: &'a [u8],
}

impl LentRecord<'_> {
    /// The record with its payload copied.
    #[must_use]
    pub fn to_record(&self) -> Record {
        Record {
            offset: self.offset,
            end_offset: self.end_offset,
            payload: self.payload.to_vec(),
        }
    }
}

/// What [`Reader::next_lent`] found next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LentEvent<'a> {
    /// An intact record, lent.
    Record(LentRecord<'a>),
    /// A region that could not be turned into records.
    Problem(Problem),
}

impl LentEvent<'_> {
    /// The event with any payload copied.
    #[must_use]
    pub fn to_event(&self) -> Event {
        match self {
            LentEvent::Record(record) => Event::Record(record.to_record()),
            LentEvent::Problem(problem) => Event::Problem(problem.clone()),
        }
    }
}

/// Where a [`Reader`] gets the log's bytes, one block at a time.
pub trait BlockSource {
    /// Makes the next (at most) `limit` bytes of the log the current block
    /// and returns how many there are: fewer than `limit` only at the end
    /// of the log, 0 past it.
    fn next_block(&mut self, limit: usize) -> io::Result<usize>;

    /// The current block.
    fn block(&self) -> &[u8];
}

/// Blocks read from an [`io::Read`] into one buffer reused for every block
/// (one copy per block; see [`SliceBlocks`] for none).
#[derive(Debug)]
pub struct ReadBlocks<R> {
    source: R,
    block: Vec<u8>,
}

impl<R: Read> BlockSource for ReadBlocks<R> {
    fn next_block(&mut self, limit: usize) -> io::Result<usize> {
        self.block.clear();
        // `read_to_end` fills the spare capacity directly, without zeroing
        // the block first; `take` stops it at one block.
        (&mut self.source)
            .take(limit as u64)
            .read_to_end(&mut self.block)?;
        Ok(self.block.len())
    }

    fn block(&self) -> &[u8] {
        &self.block
    }
}

/// Blocks lent from a log held whole in memory: nothing is copied.
#[derive(Clone, Copy, Debug)]
pub struct SliceBlocks<'a> {
    bytes: &'a [u8],
    start: usize,
    end: usize,
}

impl BlockSource for SliceBlocks<'_> {
    fn next_block(&mut self, limit: usize) -> io::Result<usize> {
        self.start = self.end;
        self.end = self.start + limit.min(self.bytes.len() - self.start);
        Ok(self.end - self.start)
    }

    fn block(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }
}

#[derive(Debug)]
struct Chain {
    start: u64,
    payload: Vec<u8>,
}

/// Where a found record's payload lies until the reader moves on.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Payload {
    /// In the current block.
    InBlock(Range<usize>),
    /// In `Reader::assembled`.
    Assembled,
}

/// What [`Reader::step`] found: an event whose payload stays in the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Found {
    Record {
        offset: u64,
        end_offset: u64,
        payload: Payload,
    },
    Problem(Problem),
}

/// Reads a log from any byte source, one block at a time: an
/// [`io::Read`] ([`Reader::new`]) or a slice in memory
/// ([`Reader::from_slice`], which copies nothing).
///
/// Memory use is one block plus the largest record.
#[derive(Debug)]
pub struct Reader<S> {
    source: S,
    options: ReaderOptions,
    block_start: u64,
    position: usize,
    source_exhausted: bool,
    /// Past the last block: the current block is empty (the source is not
    /// asked again after a short block).
    past_end: bool,
    finished: bool,
    chain: Option<Chain>,
    /// The payload of the last record reassembled from fragments.
    assembled: Vec<u8>,
    pending: Option<Found>,
    accounting: Accounting,
}

/// The outcome of scanning forward from a zero header.
enum ZeroRun {
    /// Non-zero bytes follow in the same block.
    EndsInBlock,
    /// Non-zero bytes start in a later block, now the current one.
    EndsInLaterBlock,
    /// Only zeros until the end of the log.
    ToEndOfLog,
}

impl<R: Read> Reader<ReadBlocks<R>> {
    /// A reader at the start of `source`.
    ///
    /// # Panics
    /// If `options.block_size` is outside the supported range.
    pub fn new(source: R, options: ReaderOptions) -> Self {
        let block = Vec::with_capacity(options.block_size);
        Reader::with_source(ReadBlocks { source, block }, options)
    }
}

impl<'a> Reader<SliceBlocks<'a>> {
    /// A reader over a log held whole in memory, lending its blocks and
    /// unfragmented records without copying them.
    ///
    /// # Panics
    /// If `options.block_size` is outside the supported range.
    pub fn from_slice(bytes: &'a [u8], options: ReaderOptions) -> Self {
        let source = SliceBlocks {
            bytes,
            start: 0,
            end: 0,
        };
        Reader::with_source(source, options)
    }
}

impl<S: BlockSource> Reader<S> {
    /// A reader at the start of `source`.
    ///
    /// # Panics
    /// If `options.block_size` is outside the supported range.
    pub fn with_source(source: S, options: ReaderOptions) -> Self {
        assert!(
            (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&options.block_size),
            "log block size {} is outside {MIN_BLOCK_SIZE}..={MAX_BLOCK_SIZE}",
            options.block_size
        );
        Reader {
            source,
            options,
            block_start: 0,
            position: 0,
            source_exhausted: false,
            past_end: false,
            finished: false,
            chain: None,
            assembled: Vec::new(),
            pending: None,
            accounting: Accounting::default(),
        }
    }

    fn block_len(&self) -> usize {
        if self.past_end {
            0
        } else {
            self.source.block().len()
        }
    }

    /// Where the bytes consumed so far went.
    #[must_use]
    pub fn accounting(&self) -> Accounting {
        self.accounting
    }

    /// The number of bytes read from the source so far.
    #[must_use]
    pub fn bytes_read(&self) -> u64 {
        self.block_start + self.block_len() as u64
    }

    /// The next record or problem, or `None` at the end of the log. An I/O
    /// error of the source is returned as is; the reader is finished after it.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        Ok(self.next_lent()?.map(|event| event.to_event()))
    }

    /// [`Reader::next_event`] without copying the record's payload: it is
    /// lent until the next call.
    pub fn next_lent(&mut self) -> io::Result<Option<LentEvent<'_>>> {
        let found = match self.next_found()? {
            Some(found) => found,
            None => return Ok(None),
        };
        Ok(Some(match found {
            Found::Record {
                offset,
                end_offset,
                payload,
            } => LentEvent::Record(LentRecord {
                offset,
                end_offset,
                payload: match payload {
                    Payload::InBlock(range) => &self.source.block()[range],
                    Payload::Assembled => &self.assembled,
                },
            }),
            Found::Problem(problem) => LentEvent::Problem(problem),
        }))
    }

    fn next_found(&mut self) -> io::Result<Option<Found>> {
        if let Some(found) = self.pending.take() {
            return Ok(Some(found));
        }
        while !self.finished {
            match self.step() {
                Ok(Some(found)) => return Ok(Some(found)),
                Ok(None) => {}
                Err(error) => {
                    self.finished = true;
                    return Err(error);
                }
            }
        }
        debug_assert_eq!(self.accounting.total(), self.bytes_read());
        Ok(None)
    }

    /// The payloads of intact records, skipping problems. Use this only where
    /// problems do not matter (tests, tools); recovery must see them.
    pub fn records(self) -> impl Iterator<Item = io::Result<Vec<u8>>> {
        self.filter_map(|event| match event {
            Ok(Event::Record(record)) => Some(Ok(record.payload)),
            Ok(Event::Problem(_)) => None,
            Err(error) => Some(Err(error)),
        })
    }

    fn here(&self) -> u64 {
        self.block_start + self.position as u64
    }

    fn block_end(&self) -> u64 {
        self.block_start + self.block_len() as u64
    }

    fn block_is_full(&self) -> bool {
        self.block_len() == self.options.block_size
    }

    /// Handles one unit (a physical record, a trailer, a block load) and
    /// returns the event it produced, if any. Every call either consumes
    /// bytes or finishes the reader, so no input makes it loop forever.
    fn step(&mut self) -> io::Result<Option<Found>> {
        let remaining = self.block_len() - self.position;
        if remaining == 0 {
            if !self.load_next_block()? {
                self.finished = true;
                let end = self.block_end();
                return Ok(self
                    .chain
                    .take()
                    .map(|chain| self.dropped(chain.start, end, ProblemKind::TruncatedChain)));
            }
            return Ok(None);
        }
        if remaining < LEGACY_HEADER_SIZE {
            return Ok(self.short_remainder());
        }

        let header = &self.source.block()[self.position..];
        let length = usize::from(u16::from_le_bytes([
            header[LENGTH_OFFSET],
            header[LENGTH_OFFSET + 1],
        ]));
        let type_byte = header[TYPE_OFFSET];
        let known = RecordType::decode(type_byte);
        let recyclable = match known {
            Some((_, recyclable)) => recyclable,
            None => unknown_type_is_recyclable(type_byte),
        };
        let header_size = if recyclable {
            RECYCLABLE_HEADER_SIZE
        } else {
            LEGACY_HEADER_SIZE
        };
        if remaining < header_size {
            return Ok(self.short_remainder());
        }
        if type_byte == 0 && length == 0 {
            return self.zeros();
        }

        let here = self.here();
        let record_end = self.position + header_size + length;
        if record_end > self.block_len() {
            // No record crosses a block boundary. If the block is complete, or
            // the record would run past the end of this block even if the
            // block were complete, the length is impossible; otherwise the
            // log simply ends inside the body.
            let kind = if self.block_is_full() || record_end > self.options.block_size {
                ProblemKind::ImpossibleLength
            } else {
                ProblemKind::TruncatedBody
            };
            return Ok(Some(self.drop_rest_of_block(kind)));
        }
        let record_end_offset = self.block_start + record_end as u64;

        let header = &self.source.block()[self.position..];
        let stored = unmask_checksum(u32::from_le_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let covered_header = &header[TYPE_OFFSET..header_size];
        let payload_range = self.position + header_size..record_end;
        let actual = self
            .options
            .checksum
            .compute(&[covered_header, &self.source.block()[payload_range.clone()]]);
        if stored != actual {
            return Ok(Some(self.drop_rest_of_block(ProblemKind::ChecksumMismatch)));
        }

        // The checksum (which covers the log number) is verified before the
        // log number is compared. RocksDB compares the log number first, so a
        // damaged header that happens to carry a recyclable type reads as a
        // stale record — a quiet end of the log even under
        // AbsoluteConsistency. Here it is a checksum mismatch; only an intact
        // record of another log is stale.
        if recyclable
            && known.is_some()
            && let Some(log_number) = self.options.log_number
        {
            let at = self.position + LOG_NUMBER_OFFSET;
            let stored = u32::from_le_bytes([
                self.source.block()[at],
                self.source.block()[at + 1],
                self.source.block()[at + 2],
                self.source.block()[at + 3],
            ]);
            if stored != stored_log_number(log_number) {
                let inside_chain = self.chain.is_some();
                self.position = record_end;
                return Ok(Some(self.drop_chain_through(
                    here,
                    record_end_offset,
                    ProblemKind::StaleRecord { inside_chain },
                )));
            }
        }

        self.position = record_end;

        let record_type = match known {
            Some((record_type, _)) if record_type != RecordType::Zero => record_type,
            _ => {
                if type_byte & SAFE_TO_IGNORE_BIT != 0 {
                    if self.chain.is_none() {
                        self.accounting.ignored_bytes += record_end_offset - here;
                    }
                    return Ok(None);
                }
                return Ok(Some(self.drop_chain_through(
                    here,
                    record_end_offset,
                    ProblemKind::UnknownType(type_byte),
                )));
            }
        };
        match record_type {
            RecordType::Full => {
                let record = Found::Record {
                    offset: here,
                    end_offset: record_end_offset,
                    payload: Payload::InBlock(payload_range),
                };
                self.accounting.record_bytes += record_end_offset - here;
                Ok(Some(self.after_interrupted_chain(here, record)))
            }
            RecordType::First => {
                // The buffer of the last reassembled record is reused.
                let mut payload = std::mem::take(&mut self.assembled);
                payload.clear();
                payload.extend_from_slice(&self.source.block()[payload_range]);
                let chain = Chain {
                    start: here,
                    payload,
                };
                let interrupted = self.interrupted_chain(here);
                self.chain = Some(chain);
                Ok(interrupted)
            }
            RecordType::Middle => match &mut self.chain {
                Some(chain) => {
                    chain
                        .payload
                        .extend_from_slice(&self.source.block()[payload_range]);
                    Ok(None)
                }
                None => Ok(Some(self.dropped(
                    here,
                    record_end_offset,
                    ProblemKind::MissingFirst,
                ))),
            },
            RecordType::Last => match self.chain.take() {
                Some(mut chain) => {
                    chain
                        .payload
                        .extend_from_slice(&self.source.block()[payload_range]);
                    self.accounting.record_bytes += record_end_offset - chain.start;
                    self.assembled = chain.payload;
                    Ok(Some(Found::Record {
                        offset: chain.start,
                        end_offset: record_end_offset,
                        payload: Payload::Assembled,
                    }))
                }
                None => Ok(Some(self.dropped(
                    here,
                    record_end_offset,
                    ProblemKind::MissingFirst,
                ))),
            },
            RecordType::Zero => unreachable!("handled above"),
        }
    }

    /// Fewer bytes than a header remain in the block: a trailer in a complete
    /// block, a truncated header at the end of the log.
    fn short_remainder(&mut self) -> Option<Found> {
        if self.block_is_full() {
            if self.chain.is_none() {
                self.accounting.padding_bytes += (self.block_len() - self.position) as u64;
            }
            self.position = self.block_len();
            return None;
        }
        let kind = if self.chain.is_some() {
            ProblemKind::TruncatedChain
        } else {
            ProblemKind::TruncatedHeader
        };
        Some(self.drop_rest_of_block(kind))
    }

    /// A zero header at a record boundary: padding if only zeros follow to the
    /// end of the log, a problem otherwise.
    fn zeros(&mut self) -> io::Result<Option<Found>> {
        let rest = &self.source.block()[self.position..];
        if self.block_is_full()
            && rest.len() < RECYCLABLE_HEADER_SIZE
            && rest.iter().all(|&byte| byte == 0)
        {
            // A writer with recyclable headers zero-fills up to 10 bytes.
            return Ok(self.short_remainder());
        }
        let here = self.here();
        let start = self.chain.take().map(|chain| chain.start);
        let run = self.scan_zeros()?;
        let end = match run {
            ZeroRun::EndsInBlock => {
                self.position = self.block_len();
                self.block_end()
            }
            ZeroRun::EndsInLaterBlock => self.block_start,
            ZeroRun::ToEndOfLog => self.block_end(),
        };
        match (run, start) {
            (ZeroRun::ToEndOfLog, None) => {
                self.accounting.padding_bytes += end - here;
                Ok(None)
            }
            (_, start) => Ok(Some(self.dropped(
                start.unwrap_or(here),
                end,
                ProblemKind::UnexpectedZeros,
            ))),
        }
    }

    fn scan_zeros(&mut self) -> io::Result<ZeroRun> {
        if self.source.block()[self.position..]
            .iter()
            .any(|&byte| byte != 0)
        {
            return Ok(ZeroRun::EndsInBlock);
        }
        loop {
            self.position = self.block_len();
            if !self.load_next_block()? {
                return Ok(ZeroRun::ToEndOfLog);
            }
            if self.source.block().iter().any(|&byte| byte != 0) {
                return Ok(ZeroRun::EndsInLaterBlock);
            }
        }
    }

    /// Reads the next block; `false` at the end of the source.
    fn load_next_block(&mut self) -> io::Result<bool> {
        self.block_start += self.block_len() as u64;
        self.position = 0;
        if self.source_exhausted {
            self.past_end = true;
            return Ok(false);
        }
        let filled = self.source.next_block(self.options.block_size)?;
        if filled < self.options.block_size {
            self.source_exhausted = true;
        }
        Ok(filled > 0)
    }

    fn dropped(&mut self, start: u64, end: u64, kind: ProblemKind) -> Found {
        debug_assert!(start <= end);
        self.accounting.dropped_bytes += end - start;
        Found::Problem(Problem {
            offset: start,
            length: end - start,
            kind,
        })
    }

    /// Drops the unfinished chain (if any) and everything up to `end`.
    fn drop_chain_through(&mut self, here: u64, end: u64, kind: ProblemKind) -> Found {
        let start = self.chain.take().map_or(here, |chain| chain.start);
        self.dropped(start, end, kind)
    }

    /// Drops the unfinished chain (if any) and the rest of the block.
    fn drop_rest_of_block(&mut self, kind: ProblemKind) -> Found {
        let here = self.here();
        let end = self.block_end();
        self.position = self.block_len();
        self.drop_chain_through(here, end, kind)
    }

    fn interrupted_chain(&mut self, here: u64) -> Option<Found> {
        self.chain
            .take()
            .map(|chain| self.dropped(chain.start, here, ProblemKind::InterruptedChain))
    }

    fn after_interrupted_chain(&mut self, here: u64, event: Found) -> Found {
        match self.interrupted_chain(here) {
            Some(problem) => {
                self.pending = Some(event);
                problem
            }
            None => event,
        }
    }
}

impl<S: BlockSource> Iterator for Reader<S> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}
