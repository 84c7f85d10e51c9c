//! Reads records back from a log and reports every region it cannot use.
//!
//! The reader never decides policy: it yields [`Event::Record`]s and
//! [`Event::Problem`]s in file order and resynchronises after a problem,
//! at the next block when the damage may hide the record boundaries. The
//! recovery mode ([`crate::replay`]) decides what a problem means.

use std::io::{self, Read};

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

#[derive(Debug)]
struct Chain {
    start: u64,
    payload: Vec<u8>,
}

/// Reads a log from any byte source, one block at a time.
///
/// Memory use is one block plus the largest record.
#[derive(Debug)]
pub struct Reader<R> {
    source: R,
    options: ReaderOptions,
    block: Vec<u8>,
    block_start: u64,
    position: usize,
    source_exhausted: bool,
    finished: bool,
    chain: Option<Chain>,
    pending: Option<Event>,
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

impl<R: Read> Reader<R> {
    /// A reader at the start of `source`.
    ///
    /// # Panics
    /// If `options.block_size` is outside the supported range.
    pub fn new(source: R, options: ReaderOptions) -> Self {
        assert!(
            (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&options.block_size),
            "log block size {} is outside {MIN_BLOCK_SIZE}..={MAX_BLOCK_SIZE}",
            options.block_size
        );
        Reader {
            source,
            options,
            block: Vec::with_capacity(options.block_size),
            block_start: 0,
            position: 0,
            source_exhausted: false,
            finished: false,
            chain: None,
            pending: None,
            accounting: Accounting::default(),
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
        self.block_start + self.block.len() as u64
    }

    /// The next record or problem, or `None` at the end of the log. An I/O
    /// error of the source is returned as is; the reader is finished after it.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        if let Some(event) = self.pending.take() {
            return Ok(Some(event));
        }
        while !self.finished {
            match self.step() {
                Ok(Some(event)) => return Ok(Some(event)),
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
        self.block_start + self.block.len() as u64
    }

    fn block_is_full(&self) -> bool {
        self.block.len() == self.options.block_size
    }

    /// Handles one unit (a physical record, a trailer, a block load) and
    /// returns the event it produced, if any. Every call either consumes
    /// bytes or finishes the reader, so no input makes it loop forever.
    fn step(&mut self) -> io::Result<Option<Event>> {
        let remaining = self.block.len() - self.position;
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

        let header = &self.block[self.position..];
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
        if record_end > self.block.len() {
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

        let header = &self.block[self.position..];
        let stored = unmask_checksum(u32::from_le_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let covered_header = &header[TYPE_OFFSET..header_size];
        let payload_range = self.position + header_size..record_end;
        let actual = self
            .options
            .checksum
            .compute(&[covered_header, &self.block[payload_range.clone()]]);
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
                self.block[at],
                self.block[at + 1],
                self.block[at + 2],
                self.block[at + 3],
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
        let payload = &self.block[payload_range];
        match record_type {
            RecordType::Full => {
                let record = Record {
                    offset: here,
                    end_offset: record_end_offset,
                    payload: payload.to_vec(),
                };
                self.accounting.record_bytes += record_end_offset - here;
                Ok(Some(
                    self.after_interrupted_chain(here, Event::Record(record)),
                ))
            }
            RecordType::First => {
                let chain = Chain {
                    start: here,
                    payload: payload.to_vec(),
                };
                let interrupted = self.interrupted_chain(here);
                self.chain = Some(chain);
                Ok(interrupted)
            }
            RecordType::Middle => match &mut self.chain {
                Some(chain) => {
                    chain.payload.extend_from_slice(payload);
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
                    chain.payload.extend_from_slice(payload);
                    self.accounting.record_bytes += record_end_offset - chain.start;
                    Ok(Some(Event::Record(Record {
                        offset: chain.start,
                        end_offset: record_end_offset,
                        payload: chain.payload,
                    })))
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
    fn short_remainder(&mut self) -> Option<Event> {
        if self.block_is_full() {
            if self.chain.is_none() {
                self.accounting.padding_bytes += (self.block.len() - self.position) as u64;
            }
            self.position = self.block.len();
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
    fn zeros(&mut self) -> io::Result<Option<Event>> {
        let rest = &self.block[self.position..];
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
                self.position = self.block.len();
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
        if self.block[self.position..].iter().any(|&byte| byte != 0) {
            return Ok(ZeroRun::EndsInBlock);
        }
        loop {
            self.position = self.block.len();
            if !self.load_next_block()? {
                return Ok(ZeroRun::ToEndOfLog);
            }
            if self.block.iter().any(|&byte| byte != 0) {
                return Ok(ZeroRun::EndsInLaterBlock);
            }
        }
    }

    /// Reads the next block; `false` at the end of the source.
    fn load_next_block(&mut self) -> io::Result<bool> {
        self.block_start += self.block.len() as u64;
        self.block.clear();
        self.position = 0;
        if self.source_exhausted {
            return Ok(false);
        }
        // `read_to_end` fills the spare capacity directly, without zeroing
        // the block first; `take` stops it at one block.
        let limit = self.options.block_size as u64;
        (&mut self.source)
            .take(limit)
            .read_to_end(&mut self.block)?;
        let filled = self.block.len();
        if filled < self.options.block_size {
            self.source_exhausted = true;
        }
        Ok(filled > 0)
    }

    fn dropped(&mut self, start: u64, end: u64, kind: ProblemKind) -> Event {
        debug_assert!(start <= end);
        self.accounting.dropped_bytes += end - start;
        Event::Problem(Problem {
            offset: start,
            length: end - start,
            kind,
        })
    }

    /// Drops the unfinished chain (if any) and everything up to `end`.
    fn drop_chain_through(&mut self, here: u64, end: u64, kind: ProblemKind) -> Event {
        let start = self.chain.take().map_or(here, |chain| chain.start);
        self.dropped(start, end, kind)
    }

    /// Drops the unfinished chain (if any) and the rest of the block.
    fn drop_rest_of_block(&mut self, kind: ProblemKind) -> Event {
        let here = self.here();
        let end = self.block_end();
        self.position = self.block.len();
        self.drop_chain_through(here, end, kind)
    }

    fn interrupted_chain(&mut self, here: u64) -> Option<Event> {
        self.chain
            .take()
            .map(|chain| self.dropped(chain.start, here, ProblemKind::InterruptedChain))
    }

    fn after_interrupted_chain(&mut self, here: u64, event: Event) -> Event {
        match self.interrupted_chain(here) {
            Some(problem) => {
                self.pending = Some(event);
                problem
            }
            None => event,
        }
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}
