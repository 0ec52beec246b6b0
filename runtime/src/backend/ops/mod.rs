//! Every I/O system call the runtime makes, as fiber-blocking operations.
//!
//! Each op suspends only the calling fiber. On the `posix` backend an op is
//! a non-blocking syscall retried after readiness (`IoSource::retry`); a
//! completion backend implements the same functions by submitting the
//! operation and waiting for its completion.

// The op table is filled in ahead of some of its users (UDP, pipes).
#![allow(dead_code)]

use std::os::fd::AsRawFd;

use super::posix::Interest;
use super::{uring, IoSource};
use std::io::{self, IoSlice, IoSliceMut};

mod fs;
pub(crate) mod fsys;
mod net;
mod process;
mod send_file;
mod stdio;
mod unix;

pub(crate) use fs::*;
pub(crate) use net::*;
pub(crate) use process::*;
pub(crate) use send_file::send_file;
pub(crate) use stdio::*;
pub(crate) use unix::*;

pub(crate) fn cvt(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

pub(crate) fn cvt_int(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A receive the kernel completed for the calling fiber. If the fiber was
/// cancelled before it ran again (a race's loser, see `backend::unread`),
/// the bytes go back to `src` for its next receive and the fiber unwinds;
/// otherwise the result is the caller's. `received(n)` gives the first
/// `n` bytes the op filled.
pub(crate) fn keep_unless_cancelled<'a>(
    src: &IoSource,
    r: io::Result<usize>,
    received: impl FnOnce(usize) -> std::borrow::Cow<'a, [u8]>,
) -> io::Result<usize> {
    if let Ok(n @ 1..) = r {
        if let Some(c) = crate::backend_api::cancelled_since_wake() {
            let datagram = super::unread::is_datagram(src.as_raw_fd());
            src.unread.give_back_bytes(&received(n), datagram);
            c.unwind();
        }
    }
    r
}

/// `read(2)`.
#[track_caller]
pub(crate) fn read(src: &IoSource, buf: &mut [u8]) -> io::Result<usize> {
    if let Some(n) = src.unread.read(buf, false) {
        return Ok(n);
    }
    if src.on_ring() {
        crate::backend_api::io_budget();
        let at = std::panic::Location::caller();
        if let Some(r) = uring::native::read(src.as_raw_fd(), buf, u64::MAX, at) {
            return keep_unless_cancelled(src, r, |n| buf[..n].into());
        }
    }
    src.retry(Interest::Read, |fd| {
        // SAFETY: `buf` is a valid writable slice for its length.
        cvt(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
    })
}

/// `readv(2)`.
#[track_caller]
pub(crate) fn read_vectored(src: &IoSource, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    if let Some(n) = src.unread.read_vectored(bufs) {
        return Ok(n);
    }
    if src.on_ring() {
        crate::backend_api::io_budget();
        if let Some(r) = uring::native::readv(
            src.as_raw_fd(),
            bufs,
            u64::MAX,
            std::panic::Location::caller(),
        ) {
            return keep_unless_cancelled(src, r, |n| super::unread::gather(bufs, n).into());
        }
    }
    let count = bufs.len().min(libc::c_int::MAX as usize) as libc::c_int;
    src.retry(Interest::Read, |fd| {
        // SAFETY: IoSliceMut is ABI-compatible with iovec; the slices are
        // valid and writable.
        cvt(unsafe { libc::readv(fd, bufs.as_mut_ptr().cast(), count) })
    })
}

/// `write(2)` for pipes and ttys; sockets use [`send`].
#[track_caller]
pub(crate) fn write(src: &IoSource, buf: &[u8]) -> io::Result<usize> {
    if src.on_ring() {
        crate::backend_api::io_budget();
        let at = std::panic::Location::caller();
        if let Some(r) = uring::native::write(src.as_raw_fd(), buf, u64::MAX, at) {
            return r;
        }
    }
    src.retry(Interest::Write, |fd| {
        // SAFETY: `buf` is a valid readable slice for its length.
        cvt(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
    })
}

/// `writev(2)`.
#[track_caller]
pub(crate) fn write_vectored(src: &IoSource, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    if src.on_ring() {
        crate::backend_api::io_budget();
        if let Some(r) = uring::native::writev(
            src.as_raw_fd(),
            bufs,
            u64::MAX,
            std::panic::Location::caller(),
        ) {
            return r;
        }
    }
    let count = bufs.len().min(libc::c_int::MAX as usize) as libc::c_int;
    src.retry(Interest::Write, |fd| {
        // SAFETY: IoSlice is ABI-compatible with iovec; the slices are valid.
        cvt(unsafe { libc::writev(fd, bufs.as_ptr().cast(), count) })
    })
}
