//! Paths in serialized reports are strings (converted lossily when they are
//! not valid UTF-8, rather than failing the whole report).

use std::path::Path;

/// Serializes `path` as a string.
pub(crate) fn path<S: serde::Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}
