//! Operations on the database directory as a whole: creating and locking
//! it, syncing its entries, and removing files that are provably obsolete.

use std::io;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::{FileLock, FileSystem};
use crate::options::Options;
use crate::version::VersionState;
use crate::version::filename::{self, FileKind};

/// Makes the directory's entries (creations, renames, removals) durable.
pub(crate) fn sync_dir(fs: &dyn FileSystem, directory: &Path) -> Result<()> {
    fs.sync_dir(directory)
        .map_err(|source| Error::io(directory, "sync directory", source))
}

pub(crate) fn lock_error(path: &Path, source: io::Error) -> Error {
    if source.kind() == io::ErrorKind::WouldBlock {
        Error::Locked {
            path: path.to_path_buf(),
        }
    } else {
        Error::io(path, "lock", source)
    }
}

/// Takes the directory's `LOCK`, creating the directory first if it is
/// missing and `options.create_if_missing` allows it. A created directory's
/// entry in its parent is synced, so the database's first synced writes do
/// not hang on a directory entry that a power cut could lose.
pub(crate) fn lock(
    fs: &dyn FileSystem,
    directory: &Path,
    options: &Options,
) -> Result<Box<dyn FileLock>> {
    if !fs.exists(directory) {
        if !options.create_if_missing {
            return Err(Error::NotFound {
                path: directory.to_path_buf(),
            });
        }
        create_durably(fs, directory)?;
    }
    let lock_path = directory.join(filename::LOCK);
    fs.lock(&lock_path)
        .map_err(|source| lock_error(&lock_path, source))
}

/// Creates `directory` (and missing parents), syncing each parent whose
/// entries changed.
fn create_durably(fs: &dyn FileSystem, directory: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut ancestor = Some(directory);
    while let Some(path) = ancestor {
        if path.as_os_str().is_empty() || fs.exists(path) {
            break;
        }
        missing.push(path);
        ancestor = path.parent();
    }
    fs.create_dir_all(directory)
        .map_err(|source| Error::io(directory, "create directory", source))?;
    for created in missing.iter().rev() {
        match created.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => sync_dir(fs, parent)?,
            // A relative path's parent is the working directory.
            Some(_) => sync_dir(fs, Path::new("."))?,
            // The root has no parent entry to sync.
            None => {}
        }
    }
    Ok(())
}

/// Removes the named files (a missing one is fine) and syncs the directory.
pub(crate) fn remove_files(fs: &dyn FileSystem, directory: &Path, names: &[String]) -> Result<()> {
    for name in names {
        let path = directory.join(name);
        match fs.remove(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::io(path, "remove", source)),
        }
    }
    sync_dir(fs, directory)
}

/// Removes what `version` (held in MANIFEST `manifest_number`, which CURRENT
/// names) makes obsolete: older logs and MANIFESTs, tables it does not list,
/// temporary files.
pub(crate) fn remove_obsolete(
    fs: &dyn FileSystem,
    directory: &Path,
    version: &VersionState,
    manifest_number: u64,
) -> Result<()> {
    let names = fs
        .list(directory)
        .map_err(|source| Error::io(directory, "list", source))?;
    let obsolete: Vec<String> = names
        .into_iter()
        .filter(|name| match filename::parse(name) {
            Some(FileKind::Log(number)) => number < version.log_number,
            Some(FileKind::Table(number)) => {
                !version.tables.iter().any(|table| table.number == number)
            }
            Some(FileKind::Manifest(number)) => number != manifest_number,
            Some(FileKind::Temporary) => true,
            _ => false,
        })
        .collect();
    if obsolete.is_empty() {
        return Ok(());
    }
    remove_files(fs, directory, &obsolete)
}
