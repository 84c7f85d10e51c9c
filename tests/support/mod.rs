//! Helpers shared by integration tests that look at a database directory on
//! the real file system.
#![allow(clippy::unwrap_used)]

use std::path::Path;

/// Total bytes of the `.sst` files in `directory`.
pub fn table_bytes(directory: &Path) -> u64 {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sst"))
        .map(|path| std::fs::metadata(path).unwrap().len())
        .sum()
}
