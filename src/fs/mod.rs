//! The file-system seam: every file access of the engine goes through
//! [`FileSystem`], so tests can run the real engine on a simulated file
//! system (`SimFs`, behind the `sim` feature), which keeps durable and
//! not-yet-durable state apart and can crash.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

mod os;
#[cfg(any(test, feature = "sim"))]
mod sim;
mod writeback;

pub use os::OsFs;
#[cfg(any(test, feature = "sim"))]
pub use sim::{CrashOptions, SimFs};

/// A file opened for appending. Bytes written are not durable until
/// [`WritableFile::sync`] returns.
pub trait WritableFile: Write + Send {
    /// Makes every byte written so far durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;

    /// Writes zeros from the end of the file up to `until` bytes, without
    /// moving where the next write goes; does nothing if the file is that
    /// long already. Like any write they are durable once synced. Writes
    /// after that sync overwrite space the file already has, so their
    /// syncs need not commit a new file size to the file system's journal
    /// (the log prefill of `docs/wal_format.md`). This only makes syncs
    /// cheaper, so a file system may do nothing, as the default does; a
    /// file opened with [`FileSystem::open_append`] (whose writes always
    /// go to the end) refuses. A full disk is `ErrorKind::StorageFull`,
    /// with some of the zeros perhaps written.
    fn prefill_zeros(&mut self, until: u64) -> io::Result<()> {
        let _ = until;
        Ok(())
    }
}

/// A file opened for positional reads.
pub trait ReadableFile: Send + Sync {
    /// Reads up to `buffer.len()` bytes at `offset`; returns how many were
    /// read (0 at or past the end).
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> io::Result<usize>;

    /// The file's length in bytes.
    fn len(&self) -> io::Result<u64>;

    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Fills `buffer` from `offset`; a file that ends first is an
    /// `UnexpectedEof` error naming the read.
    fn read_exact_at(&self, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
        let filled = self.read_up_to(offset, buffer)?;
        if filled < buffer.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "a read of {} bytes at offset {offset} ends past the file",
                    buffer.len()
                ),
            ));
        }
        Ok(())
    }

    /// Reads into `buffer` from `offset` until it is full or the file ends;
    /// returns how many bytes were read. The one loop over
    /// [`ReadableFile::read_at`] that every other read goes through.
    fn read_up_to(&self, offset: u64, buffer: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buffer.len() {
            let read = self.read_at(offset + filled as u64, &mut buffer[filled..])?;
            if read == 0 {
                break;
            }
            filled += read;
        }
        Ok(filled)
    }

    /// The bytes at `offset..offset + length` (fewer if the file is shorter).
    fn read_range(&self, offset: u64, length: u64) -> io::Result<Vec<u8>> {
        let length = usize::try_from(length)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "region too large"))?;
        let mut bytes = vec![0; length];
        let filled = self.read_up_to(offset, &mut bytes)?;
        bytes.truncate(filled);
        Ok(bytes)
    }

    /// Reads the whole file.
    fn read_all(&self) -> io::Result<Vec<u8>> {
        self.read_range(0, self.len()?)
    }
}

/// How many bytes [`FileBlocks`] fetches from its file at a time.
pub(crate) const SEQUENTIAL_CHUNK_BYTES: usize = 1 << 20;

/// Reads a [`ReadableFile`] from its start to its end as a
/// [`std::io::Read`], through [`ReadableFile::read_at`] at a position it
/// keeps.
pub(crate) struct FileReader {
    file: Arc<dyn ReadableFile>,
    position: u64,
}

impl Read for FileReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(self.position, buffer)?;
        self.position += read as u64;
        Ok(read)
    }
}

/// A log file read [`SEQUENTIAL_CHUNK_BYTES`] at a time into one buffer
/// that lends its blocks to the log reader: the kernel's copy is the only
/// one (a buffered reader under [`strata_wal::Reader::new`] would copy each
/// block once more).
pub(crate) struct FileBlocks {
    file: FileReader,
    buffer: Vec<u8>,
    /// The current block: `buffer[start..end]`.
    start: usize,
    end: usize,
    /// The file has no more bytes.
    drained: bool,
}

impl FileBlocks {
    pub(crate) fn new(file: Arc<dyn ReadableFile>) -> Self {
        FileBlocks {
            file: FileReader { file, position: 0 },
            buffer: Vec::with_capacity(SEQUENTIAL_CHUNK_BYTES),
            start: 0,
            end: 0,
            drained: false,
        }
    }
}

impl strata_wal::BlockSource for FileBlocks {
    fn next_block(&mut self, limit: usize) -> io::Result<usize> {
        self.start = self.end;
        if self.buffer.len() - self.start < limit && !self.drained {
            // Keep the unread rest (none when the chunk is a multiple of the
            // block size) and read the next chunk behind it.
            self.buffer.drain(..self.start);
            self.start = 0;
            let want = SEQUENTIAL_CHUNK_BYTES.max(limit) - self.buffer.len();
            let before = self.buffer.len();
            (&mut self.file)
                .take(want as u64)
                .read_to_end(&mut self.buffer)?;
            if self.buffer.len() - before < want {
                self.drained = true;
            }
        }
        self.end = self.start + limit.min(self.buffer.len() - self.start);
        Ok(self.end - self.start)
    }

    fn block(&self) -> &[u8] {
        &self.buffer[self.start..self.end]
    }
}

/// An advisory lock on a database directory, released on drop.
pub trait FileLock: Send + Sync {}

/// The operations the engine needs from a file system. Paths are absolute or
/// relative to the process's working directory, as given.
pub trait FileSystem: Send + Sync + std::fmt::Debug {
    /// Creates (or truncates) a file and opens it for appending.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;

    /// Opens an existing file for appending at its end.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;

    /// Opens an existing file for positional reads.
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>>;

    /// Renames `from` to `to`, replacing `to` if it exists (atomic on the
    /// real file system). Durable only after [`FileSystem::sync_dir`].
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file. Durable only after [`FileSystem::sync_dir`].
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// The names (not paths) of the entries of a directory, sorted.
    fn list(&self, directory: &Path) -> io::Result<Vec<String>>;

    /// Creates a directory and its parents if missing.
    fn create_dir_all(&self, directory: &Path) -> io::Result<()>;

    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, directory: &Path) -> io::Result<()>;

    /// Whether a file or directory exists.
    fn exists(&self, path: &Path) -> bool;

    /// Takes the advisory lock at `path` (creating the file if needed); fails
    /// with `ErrorKind::WouldBlock` if another holder has it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>>;
}

impl strata_wal::SyncWrite for Box<dyn WritableFile> {
    fn sync(&mut self) -> io::Result<()> {
        WritableFile::sync(self.as_mut())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every block `FileBlocks` lends, with blocks of `limit` bytes.
    fn blocks(fs: &SimFs, path: &Path, limit: usize) -> Vec<Vec<u8>> {
        use strata_wal::BlockSource;
        let mut source = FileBlocks::new(fs.open_read(path).unwrap());
        let mut blocks = Vec::new();
        loop {
            let n = source.next_block(limit).unwrap();
            assert_eq!(n, source.block().len());
            if n == 0 {
                return blocks;
            }
            blocks.push(source.block().to_vec());
        }
    }

    #[test]
    fn file_blocks_lend_the_whole_file_across_chunks() {
        let fs = SimFs::new();
        let path = Path::new("/file");
        let bytes: Vec<u8> = (0..SEQUENTIAL_CHUNK_BYTES * 2 + 12_345)
            .map(|index| (index % 251) as u8)
            .collect();
        fs.write_file_durably(path, &bytes).unwrap();
        // A block size that divides the chunk, and one that does not (so
        // blocks straddle chunks).
        for limit in [32 * 1024, 32 * 1024 + 7] {
            let blocks = blocks(&fs, path, limit);
            let (last, full) = blocks.split_last().unwrap();
            assert!(full.iter().all(|block| block.len() == limit));
            assert!(!last.is_empty() && last.len() <= limit);
            assert!(blocks.concat() == bytes, "block size {limit}");
        }
        let empty = Path::new("/empty");
        fs.write_file_durably(empty, b"").unwrap();
        assert!(blocks(&fs, empty, 32 * 1024).is_empty());
    }
}
