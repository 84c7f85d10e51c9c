//! The file-system seam: every file access of the engine goes through
//! [`FileSystem`], so tests can run the real engine on a simulated file
//! system (`SimFs`, behind the `sim` feature), which keeps durable and
//! not-yet-durable state apart and can crash.

use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;

mod os;
#[cfg(any(test, feature = "sim"))]
mod sim;

pub use os::OsFs;
#[cfg(any(test, feature = "sim"))]
pub use sim::{CrashOptions, SimFs};

/// A file opened for appending. Bytes written are not durable until
/// [`WritableFile::sync`] returns.
pub trait WritableFile: Write + Send {
    /// Makes every byte written so far durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
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

/// How many bytes a [`sequential`] reader fetches from its file at a time.
pub(crate) const SEQUENTIAL_CHUNK_BYTES: usize = 1 << 20;

/// Reads a [`ReadableFile`] from its start to its end as a
/// [`std::io::Read`], through [`ReadableFile::read_at`] at a position it
/// keeps. Use it through [`sequential`], which buffers it.
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

/// A buffered sequential reader over `file` that fetches
/// [`SEQUENTIAL_CHUNK_BYTES`] at a time: what streaming a log costs in
/// memory, whatever its length.
pub(crate) fn sequential(file: Arc<dyn ReadableFile>) -> BufReader<FileReader> {
    BufReader::with_capacity(SEQUENTIAL_CHUNK_BYTES, FileReader { file, position: 0 })
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

    #[test]
    fn a_sequential_reader_yields_the_whole_file_across_chunks() {
        let fs = SimFs::new();
        let path = Path::new("/file");
        let bytes: Vec<u8> = (0..SEQUENTIAL_CHUNK_BYTES * 2 + 12_345)
            .map(|index| (index % 251) as u8)
            .collect();
        fs.write_file_durably(path, &bytes).unwrap();
        let mut reader = sequential(fs.open_read(path).unwrap());
        let mut read = Vec::new();
        // Small reads, as the log reader makes, cross chunk boundaries.
        let mut piece = [0u8; 32 * 1024 + 7];
        loop {
            let n = reader.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            read.extend_from_slice(&piece[..n]);
        }
        assert!(read == bytes);
        let empty = Path::new("/empty");
        fs.write_file_durably(empty, b"").unwrap();
        let mut rest = Vec::new();
        sequential(fs.open_read(empty).unwrap())
            .read_to_end(&mut rest)
            .unwrap();
        assert!(rest.is_empty());
    }
}
