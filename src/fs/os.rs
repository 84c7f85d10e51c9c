//! [`OsFs`]: the real file system, through `std::fs`.
//!
//! Nothing is buffered here: every `write` goes straight to the kernel (the
//! engine does its own buffering), and `sync` is `fdatasync`. Every
//! megabyte written, the kernel is asked to start writing it out
//! (`writeback.rs`), so a sync finds little left to write.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::{FileLock, FileSystem, ReadableFile, WritableFile, writeback};

/// The operating system's file system (Unix only: positional reads use
/// `FileExt::read_at`, locks are `flock`-style advisory locks).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFs;

/// An open file that the engine appends to.
struct OsWritableFile {
    file: File,
    /// Where the next write goes: the file's length when it was opened
    /// plus the bytes written through this handle.
    written: u64,
    /// Up to where the kernel was asked to start writing them out.
    writeback_started: u64,
    /// The file's length including prefilled zeros (at least `written`).
    length: u64,
    /// Opened with `O_APPEND`, where a positional write appends too.
    append: bool,
}

/// Zeros for [`WritableFile::prefill_zeros`], written this much at a time.
static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

impl OsWritableFile {
    fn new(file: File, length: u64, append: bool) -> Self {
        OsWritableFile {
            file,
            written: length,
            writeback_started: length,
            length,
            append,
        }
    }
}

impl Write for OsWritableFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.file.write(bytes)?;
        self.written += written as u64;
        self.length = self.length.max(self.written);
        let pending = self.written - self.writeback_started;
        if pending >= writeback::WRITEBACK_BYTES {
            writeback::start(&self.file, self.writeback_started, pending)?;
            self.writeback_started = self.written;
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        // `File` has no user-space buffer; durability is `sync`'s job.
        self.file.flush()
    }
}

impl WritableFile for OsWritableFile {
    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Positional writes (`pwrite`), which leave the file offset that
    /// `write` uses where it was.
    fn prefill_zeros(&mut self, until: u64) -> io::Result<()> {
        if self.append {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a file opened for appending cannot be prefilled",
            ));
        }
        while self.length < until {
            let chunk = usize::try_from(until - self.length)
                .unwrap_or(usize::MAX)
                .min(ZEROS.len());
            self.file.write_all_at(&ZEROS[..chunk], self.length)?;
            self.length += chunk as u64;
        }
        Ok(())
    }
}

/// An open file that the engine reads at offsets.
struct OsReadableFile {
    file: File,
}

impl ReadableFile for OsReadableFile {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.file.read_at(buffer, offset) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
        }
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

/// Holds the lock file open and locked; unlocks (and closes) on drop.
struct OsFileLock {
    file: File,
}

impl FileLock for OsFileLock {}

impl Drop for OsFileLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock as well; unlocking
        // explicitly also covers a copy of the descriptor inherited by a
        // forked child. Nothing useful can be done with an error here.
        let _ = self.file.unlock();
    }
}

impl FileSystem for OsFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = File::create(path)?;
        Ok(Box::new(OsWritableFile::new(file, 0, false)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new().append(true).open(path)?;
        let length = file.metadata()?.len();
        Ok(Box::new(OsWritableFile::new(file, length, true)))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>> {
        let file = File::open(path)?;
        Ok(Arc::new(OsReadableFile { file }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    /// Names that are not valid UTF-8 are converted lossily: they can never
    /// parse as one of the engine's own file names, so they stay foreign.
    fn list(&self, directory: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(directory)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, directory: &Path) -> io::Result<()> {
        fs::create_dir_all(directory)
    }

    fn sync_dir(&self, directory: &Path) -> io::Result<()> {
        File::open(directory)?.sync_all()
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    /// Uses `File::try_lock` (an exclusive `flock` on Linux), which conflicts
    /// between two open file descriptions even inside one process.
    /// (`File::try_lock` is why the workspace needs Rust 1.89.)
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let locked = file.try_lock();
        match locked {
            Ok(()) => Ok(Box::new(OsFileLock { file })),
            Err(TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "the lock file {} is held by another process or handle",
                    path.display()
                ),
            )),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn written_and_synced_bytes_read_back_at_any_offset() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.log");
        let fs = OsFs;
        let mut file = fs.create(&path).unwrap();
        file.write_all(b"hello, ").unwrap();
        file.write_all(b"world").unwrap();
        file.sync().unwrap();
        drop(file);

        let reader = fs.open_read(&path).unwrap();
        assert_eq!(reader.len().unwrap(), 12);
        assert_eq!(reader.read_all().unwrap(), b"hello, world");
        let mut middle = [0; 5];
        assert_eq!(reader.read_at(7, &mut middle).unwrap(), 5);
        assert_eq!(&middle, b"world");
        assert_eq!(reader.read_at(12, &mut middle).unwrap(), 0);
    }

    #[test]
    fn writeback_starts_every_megabyte_and_the_bytes_read_back() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000002.log");
        let mut file = OsWritableFile::new(File::create(&path).unwrap(), 0, false);
        let chunk: Vec<u8> = (0..=250u8).cycle().take(300_000).collect();
        let mut expected = Vec::new();
        for _ in 0..10 {
            file.write_all(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
            // Started up to the last whole megabyte's worth of writes, and
            // never past what was written.
            assert!(file.written - file.writeback_started < writeback::WRITEBACK_BYTES);
            assert!(file.writeback_started <= file.written);
        }
        assert_eq!(file.written, 3_000_000);
        assert_eq!(file.writeback_started, 2_400_000);
        file.sync().unwrap();
        drop(file);
        assert_eq!(OsFs.open_read(&path).unwrap().read_all().unwrap(), expected);
    }

    #[test]
    fn prefilled_zeros_are_overwritten_in_place_by_later_writes() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000003.log");
        let fs = OsFs;
        let mut file = fs.create(&path).unwrap();
        file.write_all(b"head").unwrap();
        file.prefill_zeros(100_000).unwrap();
        file.sync().unwrap();
        // Already that long: nothing to do.
        file.prefill_zeros(50).unwrap();
        let reader = fs.open_read(&path).unwrap();
        assert_eq!(reader.len().unwrap(), 100_000);
        file.write_all(b"-tail").unwrap();
        file.sync().unwrap();
        drop(file);
        let bytes = fs.open_read(&path).unwrap().read_all().unwrap();
        assert_eq!(bytes.len(), 100_000);
        assert_eq!(&bytes[..9], b"head-tail");
        assert!(bytes[9..].iter().all(|&byte| byte == 0));

        let mut appending = fs.open_append(&path).unwrap();
        let refused = appending.prefill_zeros(200_000).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::Unsupported);
        assert_eq!(fs.open_read(&path).unwrap().len().unwrap(), 100_000);
    }

    #[test]
    fn open_append_continues_at_the_end_and_create_truncates() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("MANIFEST-000001");
        let fs = OsFs;
        fs.create(&path).unwrap().write_all(b"abc").unwrap();
        fs.open_append(&path).unwrap().write_all(b"def").unwrap();
        assert_eq!(fs.open_read(&path).unwrap().read_all().unwrap(), b"abcdef");
        drop(fs.create(&path).unwrap());
        assert!(fs.open_read(&path).unwrap().is_empty().unwrap());
    }

    #[test]
    fn rename_remove_and_list_act_on_directory_entries() {
        let directory = tempfile::tempdir().unwrap();
        let fs = OsFs;
        let temporary = directory.path().join("CURRENT.tmp");
        let current = directory.path().join("CURRENT");
        fs.create(&temporary).unwrap().write_all(b"x").unwrap();
        fs.create(&directory.path().join("000002.sst")).unwrap();
        fs.rename(&temporary, &current).unwrap();
        fs.sync_dir(directory.path()).unwrap();
        assert_eq!(
            fs.list(directory.path()).unwrap(),
            vec!["000002.sst".to_owned(), "CURRENT".to_owned()]
        );
        fs.remove(&current).unwrap();
        assert!(!fs.exists(&current));
        assert!(fs.exists(directory.path()));
        assert_eq!(
            fs.open_read(&current).err().unwrap().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn lock_refuses_a_second_holder_of_the_same_path_and_releases_on_drop() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("LOCK");
        let first = OsFs.lock(&path).unwrap();
        let second = OsFs.lock(&path);
        assert_eq!(
            second.err().unwrap().kind(),
            io::ErrorKind::WouldBlock,
            "a second File handle on the same lock file must conflict"
        );
        drop(first);
        let again = OsFs.lock(&path);
        assert!(again.is_ok(), "the lock must be free once its guard drops");
    }

    #[test]
    fn locks_on_different_paths_do_not_conflict() {
        let directory = tempfile::tempdir().unwrap();
        let _first = OsFs.lock(&directory.path().join("LOCK")).unwrap();
        let second = OsFs.lock(&directory.path().join("OTHER-LOCK"));
        assert!(second.is_ok());
    }
}
