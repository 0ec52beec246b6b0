//! Errors of `weft::process`.

use std::ffi::OsString;
use std::io;

/// Why [`Command::spawn`](super::Command::spawn) (or `status`/`output`)
/// failed, with the program's name.
///
/// It travels inside the returned [`io::Error`], whose
/// [`kind`](io::Error::kind) is the cause's (`NotFound` for a missing
/// program, `PermissionDenied` for one that is not executable), so code
/// written for std or tokio keeps matching on the kind; reach the program
/// name and the OS error through
/// [`get_ref`](io::Error::get_ref)`()`/`downcast_ref`.
///
/// ```
/// use weft::process::{Command, SpawnError};
///
/// weft::run(|_env| {
///     let err = Command::new("weft-no-such-program").spawn().unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     let detail = err.get_ref().unwrap().downcast_ref::<SpawnError>().unwrap();
///     assert_eq!(detail.program(), "weft-no-such-program");
///     assert!(err.to_string().contains("weft-no-such-program"));
/// });
/// ```
#[derive(Debug, thiserror::Error)]
#[error("cannot run {program:?}: {source}")]
pub struct SpawnError {
    program: OsString,
    #[source]
    source: io::Error,
}

impl SpawnError {
    /// The program that could not be started.
    ///
    /// ```
    /// use weft::process::{Command, SpawnError};
    /// weft::run(|_env| {
    ///     let e = Command::new("/nonexistent/x").status().unwrap_err();
    ///     let d = e.get_ref().unwrap().downcast_ref::<SpawnError>().unwrap();
    ///     assert_eq!(d.program(), "/nonexistent/x");
    /// });
    /// ```
    pub fn program(&self) -> &std::ffi::OsStr {
        &self.program
    }

    /// The operating system's error (what std would have returned).
    ///
    /// ```
    /// use weft::process::{Command, SpawnError};
    /// weft::run(|_env| {
    ///     let e = Command::new("/nonexistent/x").status().unwrap_err();
    ///     let d = e.get_ref().unwrap().downcast_ref::<SpawnError>().unwrap();
    ///     assert_eq!(d.os_error().raw_os_error(), Some(2)); // ENOENT
    /// });
    /// ```
    pub fn os_error(&self) -> &io::Error {
        &self.source
    }

    /// Wraps std's spawn error so it names `program` and keeps its kind.
    pub(crate) fn wrap(program: &std::ffi::OsStr, source: io::Error) -> io::Error {
        let kind = source.kind();
        io::Error::new(
            kind,
            SpawnError {
                program: program.to_owned(),
                source,
            },
        )
    }
}
