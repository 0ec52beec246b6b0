//! I/O on descriptors whose open file description other processes share
//! (the process's stdin, stdout and stderr).
//!
//! `O_NONBLOCK` lives on the open file description, so setting it on our
//! stdin would also make the shell's (or a sibling's) reads fail with
//! `EAGAIN`. These ops never change the file status flags. Instead:
//!
//! 1. pipes and sockets (and anything else whose driver supports it) are
//!    read and written with `preadv2`/`pwritev2` and `RWF_NOWAIT`, a
//!    per-call non-blocking flag; `EAGAIN` means "wait for readiness";
//! 2. where the kernel refuses `RWF_NOWAIT` (terminals on most kernels),
//!    the fiber waits for readiness, checks it with a zero-timeout
//!    `poll(2)`, and then makes a bounded call that cannot block: a read
//!    of at most the bytes `FIONREAD` reports, a write of at most
//!    `PIPE_BUF` bytes. (Another process reading the same terminal between
//!    our poll and our read could still make that read wait; nothing short
//!    of `O_NONBLOCK` closes that window.)
//! 3. regular files and block devices are always "ready" and the reactor
//!    refuses them, so their reads and writes go to the blocking pool.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{cvt, cvt_int, nowait_readv, nowait_writev, Fast};
use crate::backend::posix::Interest;
use crate::backend::IoSource;

/// A duplicate of a shared descriptor, with how to do I/O on it.
#[derive(Debug)]
pub(crate) struct SharedFd {
    src: IoSource,
    /// Regular file or block device: no readiness, use the blocking pool.
    file: AtomicBool,
    /// `RWF_NOWAIT` has not been refused yet.
    nowait: AtomicBool,
}

impl SharedFd {
    /// Duplicates `fd` (close-on-exec, numbered 3 or above); the duplicate
    /// shares the open file description and its flags are left alone.
    pub(crate) fn dup(fd: RawFd) -> io::Result<SharedFd> {
        // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor or -1.
        let new = cvt_int(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
        // SAFETY: `new` was just created and nobody else owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(new) };
        // SAFETY: fstat into a zeroed stat buffer on an open descriptor.
        let mode = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            cvt_int(libc::fstat(new, &mut st))?;
            st.st_mode & libc::S_IFMT
        };
        let file = mode == libc::S_IFREG || mode == libc::S_IFBLK;
        Ok(SharedFd {
            src: IoSource::new_shared(owned),
            file: AtomicBool::new(file),
            nowait: AtomicBool::new(!file),
        })
    }

    /// The duplicate descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.src.as_fd()
    }

    /// Waits for readiness; a descriptor the reactor refuses (`EPERM`: it
    /// cannot be polled, so it is always ready) switches to the pool path.
    fn wait(&self, interest: Interest, at: &'static Location<'static>) -> io::Result<()> {
        match self.src.wait(interest, at) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                self.file.store(true, Ordering::Relaxed);
                Ok(())
            }
            r => r,
        }
    }

    /// Reads into `buf`, suspending only the fiber. A cancellation point
    /// while it waits for data.
    #[track_caller]
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let at = Location::caller();
        crate::backend_api::io_budget();
        if buf.is_empty() {
            return Ok(0);
        }
        let fd = self.src.as_raw_fd();
        loop {
            if self.file.load(Ordering::Relaxed) {
                return super::offload_lent(move || plain_read(fd, buf));
            }
            if self.nowait.load(Ordering::Relaxed) {
                match nowait_readv(fd, &mut [IoSliceMut::new(buf)], -1) {
                    Fast::Done(r) => return r,
                    Fast::WouldBlock => {
                        self.wait(Interest::Read, at)?;
                        continue;
                    }
                    Fast::Unsupported => self.nowait.store(false, Ordering::Relaxed),
                }
            }
            if ready_now(fd, libc::POLLIN)? {
                // Never ask for more than is there, so the read cannot wait.
                let len = match available(fd) {
                    0 => buf.len(), // end of file or a hang-up: returns at once
                    n => n.min(buf.len()),
                };
                return plain_read(fd, &mut buf[..len]);
            }
            self.wait(Interest::Read, at)?;
        }
    }

    /// Writes (part of) `buf`, suspending only the fiber. A cancellation
    /// point while the reader is not keeping up.
    #[track_caller]
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let at = Location::caller();
        crate::backend_api::io_budget();
        if buf.is_empty() {
            return Ok(0);
        }
        let fd = self.src.as_raw_fd();
        loop {
            if self.file.load(Ordering::Relaxed) {
                return super::offload_lent(move || plain_write(fd, buf));
            }
            if self.nowait.load(Ordering::Relaxed) {
                match nowait_writev(fd, &[IoSlice::new(buf)], -1) {
                    Fast::Done(r) => return r,
                    Fast::WouldBlock => {
                        self.wait(Interest::Write, at)?;
                        continue;
                    }
                    Fast::Unsupported => self.nowait.store(false, Ordering::Relaxed),
                }
            }
            if ready_now(fd, libc::POLLOUT)? {
                // Ready means room for at least PIPE_BUF bytes.
                let len = buf.len().min(libc::PIPE_BUF);
                return plain_write(fd, &buf[..len]);
            }
            self.wait(Interest::Write, at)?;
        }
    }
}

/// Whether `fd` is ready for `events` right now (errors and hang-ups count
/// as ready: the following call reports them).
fn ready_now(fd: RawFd, events: libc::c_short) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd; a zero timeout never blocks.
        match cvt_int(unsafe { libc::poll(&mut p, 1, 0) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(p.revents != 0),
        }
    }
}

/// Bytes ready to read (`FIONREAD`), or 0 if the driver cannot say.
fn available(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int to the pointer.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if r < 0 || n < 0 {
        0
    } else {
        n as usize
    }
}

fn plain_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        match cvt(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

fn plain_write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for reads of its length.
        match cvt(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}
