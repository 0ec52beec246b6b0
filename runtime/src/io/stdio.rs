//! [`Stdin`], [`Stdout`], [`Stderr`] and their constructors.

use std::io::{self, BufRead, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::backend::ops::SharedFd;
use crate::sync::{Mutex, MutexGuard};

const BUF_SIZE: usize = 8 * 1024;

/// A lazily opened duplicate of fd 0, 1 or 2. A closed standard stream
/// (`EBADF`) behaves as std's does: reads see end-of-file and writes are
/// swallowed.
#[derive(Debug)]
struct Lazy {
    target: RawFd,
    fd: Option<SharedFd>,
    closed: bool,
}

impl Lazy {
    fn new(target: RawFd) -> Lazy {
        Lazy {
            target,
            fd: None,
            closed: false,
        }
    }

    /// The duplicate, or `None` if the stream is closed.
    fn get(&mut self) -> io::Result<Option<&SharedFd>> {
        if self.closed {
            return Ok(None);
        }
        if self.fd.is_none() {
            match SharedFd::dup(self.target) {
                Ok(fd) => self.fd = Some(fd),
                Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
                    self.closed = true;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(self.fd.as_ref())
    }
}

/// A handle to the process's standard input, from [`stdin`].
///
/// `Read` and `BufRead` (so `read_line` and `lines`) suspend the calling
/// fiber until input arrives. Buffered: keep one handle per reader.
///
/// ```no_run
/// use std::io::BufRead;
/// weft::run(|_env| {
///     let mut line = String::new();
///     weft::io::stdin().read_line(&mut line).unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct Stdin {
    fd: Lazy,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
}

/// A handle to the process's standard output, from [`stdout`].
/// Unbuffered; `write` suspends the fiber while the reader is behind.
/// Each `write`, `write_all` and `write_fmt` (so each `writeln!`) goes out
/// whole, never cut by another fiber's or thread's write to stdout.
///
/// ```
/// use std::io::Write;
/// weft::run(|_env| {
///     writeln!(weft::io::stdout(), "hello from a fiber").unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct Stdout {
    fd: Lazy,
}

/// A handle to the process's standard error, from [`stderr`].
/// Unbuffered, like std's; each `write`, `write_all` and `write_fmt` goes
/// out whole, as with [`Stdout`].
///
/// ```
/// use std::io::Write;
/// weft::run(|_env| {
///     writeln!(weft::io::stderr(), "a warning").unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct Stderr {
    fd: Lazy,
}

/// The process's standard input, read without blocking the thread. The
/// descriptor is duplicated on first use.
///
/// ```no_run
/// use std::io::Read;
/// weft::run(|_env| {
///     let mut all = String::new();
///     weft::io::stdin().read_to_string(&mut all).unwrap();
/// });
/// ```
pub fn stdin() -> Stdin {
    Stdin {
        fd: Lazy::new(libc::STDIN_FILENO),
        buf: vec![0; BUF_SIZE].into_boxed_slice(),
        pos: 0,
        filled: 0,
    }
}

/// The process's standard output, written without blocking the thread.
///
/// ```
/// use std::io::Write;
/// weft::run(|_env| {
///     weft::io::stdout().write_all(b"hi\n").unwrap();
/// });
/// ```
pub fn stdout() -> Stdout {
    Stdout {
        fd: Lazy::new(libc::STDOUT_FILENO),
    }
}

/// The process's standard error, written without blocking the thread.
///
/// ```
/// use std::io::Write;
/// weft::run(|_env| {
///     weft::io::stderr().write_all(b"careful\n").unwrap();
/// });
/// ```
pub fn stderr() -> Stderr {
    Stderr {
        fd: Lazy::new(libc::STDERR_FILENO),
    }
}

impl Read for Stdin {
    #[track_caller]
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Large reads with nothing buffered skip the buffer.
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return match self.fd.get()? {
                Some(fd) => fd.read(out),
                None => Ok(0),
            };
        }
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Stdin {
    #[track_caller]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled {
            let n = match self.fd.get()? {
                Some(fd) => fd.read(&mut self.buf)?,
                None => 0,
            };
            self.pos = 0;
            self.filled = n;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

fn write_to(fd: &mut Lazy, buf: &[u8]) -> io::Result<usize> {
    match fd.get()? {
        Some(fd) => fd.write(buf),
        None => Ok(buf.len()),
    }
}

fn write_all_to(fd: &mut Lazy, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match write_to(fd, buf) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One lock per standard stream, shared by every handle and every thread,
/// held across each `write`, `write_all` and `write_fmt` call, so what one
/// call writes is not cut by another's (std's `Stdout`/`Stderr` do the
/// same). A weft `Mutex`: a fiber that waits for it, or that holds it
/// while its write waits for the reader, suspends only itself.
static STDOUT_LOCK: Mutex<()> = Mutex::new(());
static STDERR_LOCK: Mutex<()> = Mutex::new(());

#[track_caller]
fn lock(stream: &'static Mutex<()>) -> MutexGuard<'static, ()> {
    if let Ok(guard) = stream.try_lock() {
        return guard;
    }
    if crate::fiber::in_fiber() {
        stream.lock()
    } else {
        stream.blocking_lock()
    }
}

/// Formats `args` whole before taking the lock: a `Display` that writes
/// to the same stream then cannot deadlock, and the text goes out in as
/// few writes as the stream allows.
fn format_whole(args: std::fmt::Arguments<'_>) -> io::Result<std::borrow::Cow<'_, str>> {
    if let Some(s) = args.as_str() {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    let mut text = String::new();
    std::fmt::write(&mut text, args).map_err(|_| io::Error::other("formatter error"))?;
    Ok(std::borrow::Cow::Owned(text))
}

macro_rules! locked_write {
    ($ty:ident, $lock:ident) => {
        impl Write for $ty {
            #[track_caller]
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let _whole = lock(&$lock);
                write_to(&mut self.fd, buf)
            }

            #[track_caller]
            fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
                let _whole = lock(&$lock);
                write_all_to(&mut self.fd, buf)
            }

            #[track_caller]
            fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> io::Result<()> {
                let text = format_whole(args)?;
                let _whole = lock(&$lock);
                write_all_to(&mut self.fd, text.as_bytes())
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
    };
}

locked_write!(Stdout, STDOUT_LOCK);
locked_write!(Stderr, STDERR_LOCK);

macro_rules! std_fd {
    ($ty:ident, $fd:expr) => {
        /// The standard descriptor itself (0, 1 or 2), not weft's duplicate.
        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                $fd
            }
        }

        /// The standard descriptor itself (0, 1 or 2).
        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                // SAFETY: the standard descriptors stay open for the life of
                // the process (std relies on the same).
                unsafe { BorrowedFd::borrow_raw($fd) }
            }
        }
    };
}

std_fd!(Stdin, libc::STDIN_FILENO);
std_fd!(Stdout, libc::STDOUT_FILENO);
std_fd!(Stderr, libc::STDERR_FILENO);
