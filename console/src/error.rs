//! Why a command could not do its job.

use weft::console::layout::LayoutError;

/// A failure of a weft-console command (each maps to exit status 2).
///
/// ```
/// let e = weft_console::ConsoleError::NoSuchProcess(123);
/// assert_eq!(e.to_string(), "no process with PID 123");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No process has this PID.
    #[error("no process with PID {0}")]
    NoSuchProcess(u32),
    /// The process exited and left its console file behind (now removed).
    #[error("process {0} has exited (its stale console file was removed)")]
    Exited(u32),
    /// The process runs, but writes no console file.
    #[error("process {0} is not a weft program with monitoring on (start it with WEFT_CONSOLE=1)")]
    NotMonitored(u32),
    /// The console file exists but cannot be read as one.
    #[error("the console file {path} is unusable: {source}")]
    BadFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        source: LayoutError,
    },
    /// A recording that is not one.
    #[error("{path}: not a weft-console recording (line {line}: {reason})")]
    BadRecording {
        /// The file.
        path: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O failure on `what`.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The failure.
        source: std::io::Error,
    },
}

impl ConsoleError {
    /// An I/O failure on `what`.
    ///
    /// ```
    /// let e = weft_console::ConsoleError::io("out.json", std::io::Error::other("full"));
    /// assert_eq!(e.to_string(), "out.json: full");
    /// ```
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ConsoleError::Io {
            what: what.into(),
            source,
        }
    }
}
