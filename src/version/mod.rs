//! The set of live files and how it changes: version edits, the MANIFEST
//! that logs them, CURRENT that names the MANIFEST, and file names.

pub(crate) mod dump;
mod edit;
pub(crate) mod filename;
pub(crate) mod live_manifest;
pub(crate) mod manifest;

pub(crate) use edit::{MAX_NUMBER, TableMeta, VersionEdit, VersionState};
pub(crate) use manifest::LogWriter;
