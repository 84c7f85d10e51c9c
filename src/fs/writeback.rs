//! Starting the kernel's writeback of a file's newly written bytes early,
//! so that the `fdatasync` that later makes them durable (a log's at its
//! memtable switch, a table's when it is finished) waits for a megabyte at
//! most instead of the whole file: with plenty of memory the kernel leaves
//! written bytes dirty for up to 30 seconds, so a 4 MiB log would otherwise
//! be written out only by its sync. RocksDB's `bytes_per_sync` and
//! `wal_bytes_per_sync` do the same with the same call.
//!
//! This changes nothing about durability: only `sync` promises anything.
//! The one `unsafe` call of the engine lives here.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// Bytes written between two writeback starts.
pub(crate) const WRITEBACK_BYTES: u64 = 1 << 20;

/// Asks the kernel to start writing `length` bytes of `file` from `offset`
/// to the device and returns without waiting for them
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`). An error is the device's or
/// the file system's and is passed on, so the caller fails the write
/// rather than learn of it only at the next sync.
#[cfg(target_os = "linux")]
pub(crate) fn start(file: &File, offset: u64, length: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(length)) = (i64::try_from(offset), i64::try_from(length)) else {
        return Ok(());
    };
    // SAFETY: `sync_file_range` reads no memory of this process; it is
    // given a descriptor that `file` keeps open for the whole call, and
    // offsets and a flag that the kernel checks.
    let result = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset,
            length,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    if result == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    // The caller reports this from `Write::write` after the bytes went in,
    // and `write_all` retries an `Interrupted` write: the bytes would be
    // written twice. The call is only a hint, so an interruption (not a
    // documented result of it, but possible in principle) is skipped.
    if error.kind() == io::ErrorKind::Interrupted {
        return Ok(());
    }
    Err(error)
}

/// Elsewhere the kernel's own writeback has to do.
#[cfg(not(target_os = "linux"))]
pub(crate) fn start(_file: &File, _offset: u64, _length: u64) -> io::Result<()> {
    Ok(())
}
