//! The parent's ends of a child's piped stdin, stdout and stderr.
//!
//! Each is a non-blocking pipe end registered with the backend like a
//! socket (`IoSource`): a read or write that would block suspends only the
//! calling fiber, on both backends. Only the parent's end is non-blocking
//! (`O_NONBLOCK` is per open file description, and the child's end is a
//! different one). Converting an end into [`Stdio`] for another child makes
//! it blocking again first, since that child expects ordinary blocking
//! stdio.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Stdio;

use crate::backend::{ops, IoSource};

fn from_std_fd(fd: OwnedFd) -> io::Result<IoSource> {
    IoSource::new(fd)
}

fn into_blocking_fd(src: IoSource) -> io::Result<OwnedFd> {
    let fd = src.into_fd();
    ops::set_blocking(fd.as_fd())?;
    Ok(fd)
}

/// The writing end of a child's stdin ([`Child::stdin`](super::Child::stdin)).
///
/// `Write` suspends the calling fiber while the pipe is full. Dropping it
/// closes the pipe: the child reads end-of-file.
///
/// ```
/// use std::io::{Read, Write};
/// use weft::process::{Command, Stdio};
///
/// weft::run(|_env| {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let mut stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"through cat").unwrap();
///     drop(stdin); // end of input
///     let mut out = String::new();
///     child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
///     assert_eq!(out, "through cat");
///     assert!(child.wait().unwrap().success());
/// });
/// ```
#[derive(Debug)]
pub struct ChildStdin {
    src: IoSource,
}

/// The reading end of a child's stdout ([`Child::stdout`](super::Child::stdout)).
///
/// `Read` suspends the calling fiber until the child writes; works inside
/// `std::io::BufReader`.
///
/// ```
/// use std::io::{BufRead, BufReader};
/// use weft::process::{Command, Stdio};
///
/// weft::run(|_env| {
///     let mut child = Command::new("printf").arg("a\\nb\\n").stdout(Stdio::piped()).spawn().unwrap();
///     let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
///         .lines()
///         .map(|l| l.unwrap())
///         .collect();
///     assert_eq!(lines, ["a", "b"]);
///     child.wait().unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct ChildStdout {
    src: IoSource,
}

/// The reading end of a child's stderr ([`Child::stderr`](super::Child::stderr)).
///
/// ```
/// use std::io::Read;
/// use weft::process::{Command, Stdio};
///
/// weft::run(|_env| {
///     let mut child = Command::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).spawn().unwrap();
///     let mut err = String::new();
///     child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
///     assert_eq!(err, "oops\n");
///     child.wait().unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct ChildStderr {
    src: IoSource,
}

macro_rules! pipe_common {
    ($ty:ident, $std:ty, $what:literal) => {
        impl $ty {
            /// Takes over std's handle (put in non-blocking mode), e.g. from
            /// a `std::process::Child` spawned elsewhere.
            ///
            /// ```
            #[doc = concat!("use weft::process::", stringify!($ty), ";")]
            /// weft::run(|_env| {
            ///     let mut c = std::process::Command::new("cat")
            ///         .stdin(std::process::Stdio::piped())
            ///         .stdout(std::process::Stdio::piped())
            ///         .stderr(std::process::Stdio::piped())
            ///         .spawn()
            ///         .unwrap();
            #[doc = concat!("    let _ours = ", stringify!($ty), "::from_std(c.", $what, ".take().unwrap()).unwrap();")]
            ///     c.kill().unwrap();
            ///     c.wait().unwrap();
            /// });
            /// ```
            pub fn from_std(inner: $std) -> io::Result<$ty> {
                Ok($ty {
                    src: from_std_fd(OwnedFd::from(inner))?,
                })
            }

            /// Gives up the pipe end as an [`OwnedFd`] in blocking mode
            /// (removed from every reactor).
            ///
            /// ```
            /// use weft::process::{Command, Stdio};
            /// weft::run(|_env| {
            ///     let mut c = Command::new("true")
            ///         .stdin(Stdio::piped())
            ///         .stdout(Stdio::piped())
            ///         .stderr(Stdio::piped())
            ///         .spawn()
            ///         .unwrap();
            #[doc = concat!("    let fd = c.", $what, ".take().unwrap().into_owned_fd().unwrap();")]
            ///     drop(fd);
            ///     c.wait().unwrap();
            /// });
            /// ```
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                into_blocking_fd(self.src)
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.src.as_raw_fd()
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.src.as_fd()
            }
        }

        /// Hands the pipe end to another child (blocking mode restored),
        /// e.g. one child's stdout as the next one's stdin. `TryFrom` like
        /// tokio's `TryInto<Stdio>`, since restoring the mode can fail.
        impl TryFrom<$ty> for Stdio {
            type Error = io::Error;

            fn try_from(end: $ty) -> io::Result<Stdio> {
                Ok(Stdio::from(end.into_owned_fd()?))
            }
        }
    };
}

pipe_common!(ChildStdin, std::process::ChildStdin, "stdin");
pipe_common!(ChildStdout, std::process::ChildStdout, "stdout");
pipe_common!(ChildStderr, std::process::ChildStderr, "stderr");

impl Write for ChildStdin {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        ops::write(&self.src, buf)
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        ops::write_vectored(&self.src, bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for ChildStdout {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::read(&self.src, buf)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        ops::read_vectored(&self.src, bufs)
    }
}

impl Read for ChildStderr {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::read(&self.src, buf)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        ops::read_vectored(&self.src, bufs)
    }
}
