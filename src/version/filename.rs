//! Names of the files in a database directory (DESIGN.md §3).

/// The kinds of files the engine owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Log(u64),
    Table(u64),
    Manifest(u64),
    Current,
    Lock,
    Temporary,
}

pub(crate) const CURRENT: &str = "CURRENT";
pub(crate) const LOCK: &str = "LOCK";
pub(crate) const QUARANTINE: &str = "quarantine";
const TEMPORARY_SUFFIX: &str = ".tmp";

pub(crate) fn log(number: u64) -> String {
    format!("{number:06}.log")
}

pub(crate) fn table(number: u64) -> String {
    format!("{number:06}.sst")
}

pub(crate) fn manifest(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

pub(crate) fn temporary(name: &str) -> String {
    format!("{name}{TEMPORARY_SUFFIX}")
}

pub(crate) fn parse(name: &str) -> Option<FileKind> {
    if name == CURRENT {
        return Some(FileKind::Current);
    }
    if name == LOCK {
        return Some(FileKind::Lock);
    }
    if name.ends_with(TEMPORARY_SUFFIX) {
        return Some(FileKind::Temporary);
    }
    if let Some(number) = name.strip_prefix("MANIFEST-") {
        return number.parse().ok().map(FileKind::Manifest);
    }
    let (number, extension) = name.split_once('.')?;
    let number: u64 = number.parse().ok()?;
    match extension {
        "log" => Some(FileKind::Log(number)),
        "sst" => Some(FileKind::Table(number)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        assert_eq!(parse(&log(7)), Some(FileKind::Log(7)));
        assert_eq!(parse(&table(1234567)), Some(FileKind::Table(1234567)));
        assert_eq!(parse(&manifest(3)), Some(FileKind::Manifest(3)));
        assert_eq!(parse("CURRENT"), Some(FileKind::Current));
        assert_eq!(parse("CURRENT.tmp"), Some(FileKind::Temporary));
        assert_eq!(parse("notes.txt"), None);
        assert_eq!(parse("quarantine"), None);
    }
}
