//! What every command shares: exit codes, failures as sentences, checks of
//! the paths given, JSON output and byte escaping.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use strata::ErrorKind;

/// `println!` that ends the program quietly (exit 4) when stdout is gone,
/// as with `strata ... | head`, instead of panicking.
macro_rules! outln {
    () => { $crate::common::emit(format_args!("\n")) };
    ($($argument:tt)*) => { $crate::common::emit(format_args!("{}\n", format_args!($($argument)*))) };
}

/// `print!` that ends the program quietly when stdout is gone.
macro_rules! out {
    ($($argument:tt)*) => { $crate::common::emit(format_args!($($argument)*)) };
}

/// Writes to stdout; exits with [`OPERATIONAL`] if it cannot (a closed
/// pipe), since there is no one left to tell.
pub(crate) fn emit(arguments: fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    if stdout.write_fmt(arguments).is_err() {
        std::process::exit(i32::from(OPERATIONAL));
    }
}

/// Nothing wrong.
pub(crate) const CLEAN: u8 = 0;
/// Recovery would drop (or dropped) data, verification found damage, or the
/// key is not there.
pub(crate) const DAMAGE: u8 = 1;
/// The command line is wrong (clap uses 2 as well).
pub(crate) const USAGE: u8 = 2;
/// Recovery would refuse (or refused) to open the database.
pub(crate) const REFUSED: u8 = 3;
/// Something failed around the data: I/O, a held lock, a path not there.
pub(crate) const OPERATIONAL: u8 = 4;

/// A command that could not do its job: the sentence for stderr and the
/// exit code.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Fail {
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Fail {
        Fail::new(USAGE, message)
    }

    pub(crate) fn operational(message: impl Into<String>) -> Fail {
        Fail::new(OPERATIONAL, message)
    }

    pub(crate) fn damage(message: impl Into<String>) -> Fail {
        Fail::new(DAMAGE, message)
    }

    /// Prints the message and turns the failure into the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("strata: {}", self.message);
        ExitCode::from(self.code)
    }
}

/// What a command returns: its exit code, or a failure to print.
pub(crate) type Outcome = Result<u8, Fail>;

/// The exit code for an engine error: a refusal or damage that stops an
/// open is 3, anything around the data (I/O, lock, path) is 4.
pub(crate) fn code_of(error: &strata::Error) -> u8 {
    match error.kind() {
        ErrorKind::Refused
        | ErrorKind::Corruption
        | ErrorKind::MissingCurrent
        | ErrorKind::Unsupported => REFUSED,
        ErrorKind::InvalidArgument => USAGE,
        _ => OPERATIONAL,
    }
}

/// An engine error as a failure, with what to do about it.
pub(crate) fn engine_failure(directory: &Path, error: &strata::Error) -> Fail {
    let advice = match error.kind() {
        ErrorKind::Locked => format!(
            "; close the program that has {} open, or wait for it to exit",
            directory.display()
        ),
        ErrorKind::Refused | ErrorKind::Corruption | ErrorKind::Unsupported => format!(
            "; run `strata recover {} --dry-run` to compare the recovery modes",
            directory.display()
        ),
        _ => String::new(),
    };
    Fail::new(code_of(error), format!("{error}{advice}"))
}

/// An I/O failure on `path` as a sentence that names it.
pub(crate) fn io_failure(path: &Path, what: &str, error: &io::Error) -> Fail {
    let message = match error.kind() {
        io::ErrorKind::NotFound => format!("no {what} at {}: it does not exist", path.display()),
        io::ErrorKind::PermissionDenied => format!(
            "cannot read the {what} {}: permission denied",
            path.display()
        ),
        _ => format!("cannot read the {what} {}: {error}", path.display()),
    };
    Fail::operational(message)
}

/// Checks that `path` is an existing regular file.
pub(crate) fn existing_file(path: &Path, what: &str) -> Result<(), Fail> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => Err(Fail::operational(format!(
            "{} is a directory, not a {what}",
            path.display()
        ))),
        Ok(_) => Ok(()),
        Err(error) => Err(io_failure(path, what, &error)),
    }
}

/// Checks that `directory` exists, is a directory and holds database files
/// (CURRENT, a MANIFEST, a log or a table), without creating anything.
pub(crate) fn existing_database(directory: &Path) -> Result<(), Fail> {
    let metadata = std::fs::metadata(directory).map_err(|error| {
        if error.kind() == io::ErrorKind::NotFound {
            Fail::operational(format!(
                "no database at {}: the directory does not exist",
                directory.display()
            ))
        } else {
            io_failure(directory, "database directory", &error)
        }
    })?;
    if !metadata.is_dir() {
        return Err(Fail::operational(format!(
            "no database at {}: it is a file, not a directory",
            directory.display()
        )));
    }
    let entries = std::fs::read_dir(directory)
        .map_err(|error| io_failure(directory, "database directory", &error))?;
    let mut any = false;
    for entry in entries {
        let entry = entry.map_err(|error| io_failure(directory, "database directory", &error))?;
        if is_database_file(&entry.file_name().to_string_lossy()) {
            any = true;
            break;
        }
    }
    if any {
        Ok(())
    } else {
        Err(Fail::operational(format!(
            "no database at {}: the directory holds no CURRENT, MANIFEST, log or table \
             (check the path)",
            directory.display()
        )))
    }
}

/// Whether a file name is one the engine owns for its data.
pub(crate) fn is_database_file(name: &str) -> bool {
    name == "CURRENT"
        || name.starts_with("MANIFEST-")
        || number_with_suffix(name, ".log").is_some()
        || number_with_suffix(name, ".sst").is_some()
}

/// `NNNNNN.log` → `NNNNNN`.
pub(crate) fn number_with_suffix(name: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_suffix(suffix)?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Bytes as text: printable ASCII as is, anything else as `\xNN`.
pub(crate) fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// At most `limit` bytes of `bytes`, escaped, with `...` if cut.
pub(crate) fn preview(bytes: &[u8], limit: usize) -> String {
    if bytes.len() > limit {
        format!("{}...", escape(&bytes[..limit]))
    } else {
        escape(bytes)
    }
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Fail> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|error| Fail::operational(format!("cannot write the JSON output: {error}")))?;
    outln!("{text}");
    Ok(())
}

/// A path as a string for JSON.
pub(crate) fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
