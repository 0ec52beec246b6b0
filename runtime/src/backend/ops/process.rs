//! System calls of `weft::process`: pidfds, waiting without reaping, pipe
//! modes, and the background reaper's `poll`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::cvt_int;
use crate::backend::posix::Interest;
use crate::backend::IoSource;

/// `pidfd_open(2)`: a descriptor that becomes readable when process `pid`
/// exits. `Err` with `ENOSYS` on kernels before 5.3 (or where a seccomp
/// filter refuses it).
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // (close-on-exec) or -1; no memory is passed.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// Suspends the fiber until the pidfd `src` is readable (its process has
/// exited). A cancellation point.
#[track_caller]
pub(crate) fn wait_pidfd(src: &IoSource) -> io::Result<()> {
    src.wait(Interest::Read, std::panic::Location::caller())
}

/// Blocks the *thread* until child `pid` has exited, without reaping it
/// (`waitid` with `WNOWAIT`), so the caller reaps it afterwards with
/// `waitpid` exactly once. Only for the blocking pool.
pub(crate) fn wait_exit_blocking(pid: u32) -> io::Result<()> {
    let pid = libc::id_t::from(pid);
    loop {
        // SAFETY: a zeroed siginfo_t is a valid output buffer for waitid.
        let r = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT)
        };
        match cvt_int(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(drop),
        }
    }
}

/// Clears `O_NONBLOCK` on a descriptor we own (a pipe end about to become
/// another process's stdin or stdout, which expects blocking I/O).
pub(crate) fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl on an open descriptor; no memory is passed.
    unsafe {
        let flags = cvt_int(libc::fcntl(fd, libc::F_GETFL))?;
        if flags & libc::O_NONBLOCK != 0 {
            cvt_int(libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK))?;
        }
    }
    Ok(())
}

/// A non-blocking, close-on-exec eventfd (the reaper's wake-up).
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd returns a new descriptor or -1.
    let fd = cvt_int(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: `fd` was just created and is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to an eventfd's counter.
pub(crate) fn eventfd_signal(fd: BorrowedFd<'_>) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a local to an eventfd. A saturated
    // counter (EAGAIN) already means "wake up", so errors are ignored.
    let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

/// Resets an eventfd's counter.
pub(crate) fn eventfd_drain(fd: BorrowedFd<'_>) {
    let mut v: u64 = 0;
    // SAFETY: reads 8 bytes into a local from a non-blocking eventfd.
    let _ = unsafe { libc::read(fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
}

/// `poll(2)` for readability of `fds`, blocking the *thread* for at most
/// `timeout` (`None`: no limit). Only for the reaper thread, never a fiber.
pub(crate) fn poll_readable_blocking(fds: &[RawFd], timeout: Option<Duration>) {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.map_or(-1, |t| t.as_millis().min(60_000) as libc::c_int);
    // SAFETY: `pfds` is a valid array of pollfd for its length. An error
    // (EINTR) just ends this round; the caller polls again.
    let _ = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
}
