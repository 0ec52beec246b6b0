//! Sending a file's bytes to a stream socket without copying them through
//! user space.
//!
//! - **uring**: each chunk is a linked pair of `SPLICE` entries, file to a
//!   private pipe and pipe to the socket, submitted together; io_uring
//!   runs them in its own workers, so neither disk reads nor a full socket
//!   block the thread. What the second splice did not move (a short
//!   write, a full socket, the end of the file) is drained from the pipe
//!   before the next chunk.
//! - **posix**: `sendfile(2)` per chunk on the blocking pool (it may read
//!   the disk), waiting for the socket's readiness when it is full.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::panic::Location;

use io_uring::opcode;

use super::super::posix::Interest;
use super::super::{uring, IoSource};

/// Bytes moved per step where the pipe cannot be enlarged: a default
/// pipe's capacity (16 pages), so a splice into it never waits for room.
/// (posix: sendfile moves 16 of these per call.)
const CHUNK: usize = 64 << 10;

/// The pipe size asked for (the default limit for unprivileged
/// processes, `/proc/sys/fs/pipe-max-size`): each step moves a pipe's
/// capacity, and 1 MiB steps measured 4.9x faster than 64 KiB ones
/// (cached file to loopback TCP, one thread).
const BIG_PIPE: libc::c_int = 1 << 20;

/// Sends up to `len` bytes of `file` from `offset` to the stream socket
/// `sock`; returns how many were sent (fewer only at the end of the file).
/// A cancellation point: a cancelled fiber unwinds with some prefix sent,
/// as a dropped `tokio::io::copy` would leave it.
#[track_caller]
pub(crate) fn send_file(
    file: BorrowedFd<'_>,
    offset: u64,
    len: u64,
    sock: &IoSource,
) -> io::Result<u64> {
    let at = Location::caller();
    i64::try_from(offset.saturating_add(len)).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file range {offset}+{len} is beyond the largest file offset"),
        )
    })?;
    if sock.on_ring() && uring::supports(opcode::Splice::CODE) {
        splice_through_pipe(file.as_raw_fd(), offset, len, sock, at)
    } else {
        sendfile_chunks(file.as_raw_fd(), offset, len, sock, at)
    }
}

/// A pipe private to one transfer: (read end, write end).
fn private_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody
    // else.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

fn splice_through_pipe(
    file: RawFd,
    offset: u64,
    len: u64,
    sock: &IoSource,
    at: &'static Location<'static>,
) -> io::Result<u64> {
    let (pipe_r, pipe_w) = private_pipe()?;
    let (pipe_r, pipe_w, sock_fd) = (pipe_r.as_raw_fd(), pipe_w.as_raw_fd(), sock.as_raw_fd());
    // SAFETY: fcntl on a pipe we own; it returns the new size or -1 (then
    // the default size stays).
    let pipe_size = match unsafe { libc::fcntl(pipe_w, libc::F_SETPIPE_SZ, BIG_PIPE) } {
        n if n >= CHUNK as libc::c_int => n as u64,
        _ => CHUNK as u64,
    };
    let mut sent = 0u64;
    let mut in_pipe = 0usize;
    loop {
        // What is in the pipe goes out first.
        while in_pipe > 0 {
            match uring::native::splice(pipe_r, -1, sock_fd, -1, in_pipe as u32, at) {
                Some(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Some(Ok(n)) => {
                    in_pipe -= n;
                    sent += n as u64;
                }
                Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Some(Err(e)) => return Err(e),
                None => sock.wait(Interest::Write, at)?,
            }
        }
        if sent >= len {
            return Ok(sent);
        }
        let chunk = (len - sent).min(pipe_size) as u32;
        let into_pipe = opcode::Splice::new(
            io_uring::types::Fd(file),
            (offset + sent) as i64,
            io_uring::types::Fd(pipe_w),
            -1,
            chunk,
        )
        .build();
        let out_of_pipe = opcode::Splice::new(
            io_uring::types::Fd(pipe_r),
            -1,
            io_uring::types::Fd(sock_fd),
            -1,
            chunk,
        )
        .build();
        // SAFETY: SPLICE entries point at no memory of ours.
        let Some((read, written)) = (unsafe { uring::run_linked_pair(into_pipe, out_of_pipe, at) })
        else {
            // No ring on this thread after all: the pipe is empty here,
            // so the rest goes the sendfile way.
            return sendfile_chunks(file, offset + sent, len - sent, sock, at).map(|n| sent + n);
        };
        match read {
            0 => return Ok(sent), // the end of the file
            r if r < 0 => return Err(io::Error::from_raw_os_error(-r)),
            r => in_pipe = r as usize,
        }
        if written > 0 {
            in_pipe -= written as usize;
            sent += written as u64;
        } else if written < 0 && ![libc::EAGAIN, libc::ECANCELED, libc::EINTR].contains(&-written) {
            // ECANCELED: a short read broke the link; EAGAIN: the socket
            // was full. Either way the pipe is drained above.
            return Err(io::Error::from_raw_os_error(-written));
        }
    }
}

fn sendfile_chunks(
    file: RawFd,
    offset: u64,
    len: u64,
    sock: &IoSource,
    at: &'static Location<'static>,
) -> io::Result<u64> {
    let sock_fd = sock.as_raw_fd();
    let mut sent = 0u64;
    while sent < len {
        let chunk = (len - sent).min(16 * CHUNK as u64) as usize;
        let mut off = (offset + sent) as libc::off_t;
        // sendfile may read the disk: on the pool. The socket is
        // non-blocking, so the call is bounded.
        let r = super::offload_lent(|| {
            // SAFETY: both descriptors stay open for the call (borrowed by
            // our caller); `off` is a local the call updates.
            let n = unsafe { libc::sendfile(sock_fd, file, &mut off, chunk) };
            super::cvt(n)
        });
        match r {
            Ok(0) => break, // the end of the file
            Ok(n) => sent += n as u64,
            // The EAGAIN was seen on a pool thread while this fiber was
            // suspended, so the socket's writable edge may already have
            // come and gone through the reactor: check the level now
            // (nothing runs between this check and `wait` arming the
            // reactor) instead of waiting for an edge that came already.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !writable_now(sock_fd) {
                    sock.wait(Interest::Write, at)?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// Whether `fd` has room to write right now (a zero-timeout `poll`).
fn writable_now(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n > 0 && pfd.revents & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0
}
