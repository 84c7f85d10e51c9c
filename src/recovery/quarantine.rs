//! Quarantine: every byte recovery drops is copied, durably, into
//! `quarantine/` before the file that held it can become obsolete.

use std::io;
use std::path::{Path, PathBuf};

use super::report::RecoveryReport;
use crate::directory::sync_dir;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::trace::event;
use crate::version::filename;

/// Copies every dropped region of `report` into `quarantine/` (one file per
/// region, named after the source file, offset and length), syncs them and
/// the directories, and returns the files written.
pub(crate) fn quarantine(
    fs: &dyn FileSystem,
    directory: &Path,
    report: &RecoveryReport,
) -> Result<Vec<PathBuf>> {
    let regions: Vec<_> = report
        .dropped
        .iter()
        .filter(|region| region.length > 0)
        .collect();
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let quarantine = directory.join(filename::QUARANTINE);
    fs.create_dir_all(&quarantine)
        .map_err(|source| Error::io(&quarantine, "create directory", source))?;
    sync_dir(fs, directory)?;
    let mut written = Vec::new();
    for region in regions {
        let bytes = fs
            .open_read(&region.file)
            .and_then(|file| file.read_range(region.offset, region.length))
            .map_err(|source| Error::io(&region.file, "read", source))?;
        let source_name = region
            .file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = quarantine.join(format!(
            "{source_name}.offset-{}.length-{}",
            region.offset, region.length
        ));
        let mut file = fs
            .create(&path)
            .map_err(|source| Error::io(&path, "create", source))?;
        io::Write::write_all(&mut file, &bytes)
            .and_then(|()| file.sync())
            .map_err(|source| Error::io(&path, "write", source))?;
        event!(
            warn,
            target: "strata::recovery",
            path = %path.display(),
            source = %region.file.display(),
            offset = region.offset,
            length = region.length,
            "quarantined dropped bytes"
        );
        written.push(path);
    }
    sync_dir(fs, &quarantine)?;
    Ok(written)
}
