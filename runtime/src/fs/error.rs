//! Error types of the file-system layer. Both convert into `io::Error`
//! (which is what every `weft::fs` function returns), keeping themselves
//! as its inner error so callers can downcast to them.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An OS error of a file-system operation, with the operation and the
/// path(s) it was about. Inside the returned `io::Error`: `kind()` is the
/// OS error's kind (`NotFound`, ...), and the message names the path.
///
/// ```
/// weft::run(|_env| {
///     let err = weft::fs::read("/no/such/file").unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     assert!(err.to_string().contains("/no/such/file"));
///     let detail = err.get_ref().unwrap().downcast_ref::<weft::fs::PathError>().unwrap();
///     assert_eq!(detail.path(), std::path::Path::new("/no/such/file"));
///     assert_eq!(detail.io_error().raw_os_error(), Some(2)); // ENOENT
/// });
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {error}", show_paths(.path, .to.as_deref()))]
pub struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    error: io::Error,
}

fn show_paths(path: &Path, to: Option<&Path>) -> String {
    match to {
        None => format!("{path:?}"),
        Some(to) => format!("{path:?} to {to:?}"),
    }
}

impl PathError {
    /// What was being done (`"open"`, `"remove_file"`, ...).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let err = weft::fs::remove_file("/no/such/file").unwrap_err();
    ///     let d = err.get_ref().unwrap().downcast_ref::<weft::fs::PathError>().unwrap();
    ///     assert_eq!(d.operation(), "remove_file");
    /// });
    /// ```
    pub fn operation(&self) -> &'static str {
        self.op
    }

    /// The path the operation was about (the source, for two-path ones).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let err = weft::fs::metadata("/no/such/dir/x").unwrap_err();
    ///     let d = err.get_ref().unwrap().downcast_ref::<weft::fs::PathError>().unwrap();
    ///     assert_eq!(d.path(), std::path::Path::new("/no/such/dir/x"));
    /// });
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The destination of a two-path operation (rename, copy, links).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let err = weft::fs::rename("/no/such/a", "/no/such/b").unwrap_err();
    ///     let d = err.get_ref().unwrap().downcast_ref::<weft::fs::PathError>().unwrap();
    ///     assert_eq!(d.destination(), Some(std::path::Path::new("/no/such/b")));
    /// });
    /// ```
    pub fn destination(&self) -> Option<&Path> {
        self.to.as_deref()
    }

    /// The OS error itself (with its `raw_os_error`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let err = weft::fs::read("/no/such/file").unwrap_err();
    ///     let d = err.get_ref().unwrap().downcast_ref::<weft::fs::PathError>().unwrap();
    ///     assert_eq!(d.io_error().kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub fn io_error(&self) -> &io::Error {
        &self.error
    }
}

/// Adds the operation and path to an OS error. Errors that already carry
/// their own message (escape refusals, invalid paths) pass unchanged.
pub(crate) fn annotate(
    op: &'static str,
    path: &Path,
    to: Option<&Path>,
    error: io::Error,
) -> io::Error {
    if error.get_ref().is_some() {
        return error;
    }
    let kind = error.kind();
    io::Error::new(
        kind,
        PathError {
            op,
            path: path.to_path_buf(),
            to: to.map(Path::to_path_buf),
            error,
        },
    )
}

/// Why a path was refused by a sandboxed [`Dir`](super::Dir).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EscapeReason {
    /// The path is absolute.
    AbsolutePath,
    /// A `..` component climbs above the directory.
    ParentDir,
    /// A symlink on the path points outside the directory: its target is
    /// absolute, or climbs above the directory with `..`.
    Symlink {
        /// The symlink's own name (as found on the path).
        link: PathBuf,
        /// What it points to.
        target: PathBuf,
    },
    /// The kernel refused the resolution as leaving the directory (a
    /// symlink or `..`, possibly changed while the call ran).
    Resolution,
}

impl fmt::Display for EscapeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EscapeReason::AbsolutePath => f.write_str("absolute paths are not allowed"),
            EscapeReason::ParentDir => f.write_str("a `..` component climbs above the directory"),
            EscapeReason::Symlink { link, target } => {
                write!(
                    f,
                    "symlink {link:?} points outside the directory (to {target:?})"
                )
            }
            EscapeReason::Resolution => {
                f.write_str("resolving it leaves the directory (through a symlink or `..`)")
            }
        }
    }
}

/// A path refused because it would reach outside a sandboxed
/// [`Dir`](super::Dir). Returned inside an `io::Error` of kind
/// `PermissionDenied`.
///
/// ```
/// weft::run(|env| {
///     let err = env.cwd().unwrap().open("../outside").unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
///     let escape = err.get_ref().unwrap().downcast_ref::<weft::fs::EscapeError>().unwrap();
///     assert_eq!(escape.reason(), &weft::fs::EscapeReason::ParentDir);
///     assert!(err.to_string().contains("../outside"));
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("refused {path:?}: it escapes the sandboxed directory: {reason}")]
pub struct EscapeError {
    path: PathBuf,
    reason: EscapeReason,
}

impl EscapeError {
    pub(crate) fn new(path: &Path, reason: EscapeReason) -> Self {
        EscapeError {
            path: path.to_path_buf(),
            reason,
        }
    }

    /// The path as the caller gave it.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let err = env.cwd().unwrap().metadata("/etc").unwrap_err();
    ///     let e = err.get_ref().unwrap().downcast_ref::<weft::fs::EscapeError>().unwrap();
    ///     assert_eq!(e.path(), std::path::Path::new("/etc"));
    /// });
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why it was refused.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let err = env.cwd().unwrap().metadata("/etc").unwrap_err();
    ///     let e = err.get_ref().unwrap().downcast_ref::<weft::fs::EscapeError>().unwrap();
    ///     assert_eq!(e.reason(), &weft::fs::EscapeReason::AbsolutePath);
    /// });
    /// ```
    pub fn reason(&self) -> &EscapeReason {
        &self.reason
    }
}

impl From<EscapeError> for io::Error {
    fn from(e: EscapeError) -> Self {
        io::Error::new(io::ErrorKind::PermissionDenied, e)
    }
}

/// The `InvalidInput` error of a path with a NUL byte in it.
pub(crate) fn nul_in_path(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("path {path:?} contains a NUL byte"),
    )
}
