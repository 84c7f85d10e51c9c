//! The one module with `unsafe` code: mapping a table file read-only.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::Mmap;

/// A table file mapped read-only into memory.
#[derive(Debug)]
pub struct MmapFile {
    /// `None` for an empty file, which cannot be mapped on every platform.
    map: Option<Mmap>,
}

impl MmapFile {
    /// Maps the file at `path`.
    ///
    /// # Errors
    /// Whatever opening or mapping the file reports.
    pub fn open(path: &Path) -> io::Result<MmapFile> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(MmapFile { map: None });
        }
        // SAFETY: `Mmap::map` is unsafe because another process could modify
        // or truncate the file while it is mapped, changing bytes behind our
        // slices (or raising SIGBUS). Table files are immutable: the engine
        // writes each one completely, syncs it, and never modifies it again
        // (it only deletes it, which keeps the mapping valid on Unix). Every
        // byte read through the map is also checksum-verified before use.
        let map = unsafe { Mmap::map(&file)? };
        Ok(MmapFile { map: Some(map) })
    }
}

impl AsRef<[u8]> for MmapFile {
    fn as_ref(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }
}
