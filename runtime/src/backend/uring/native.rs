//! Native io_uring versions of the fd ops. Each returns `None` when the
//! fiber's thread has no ring (the resource chose io_uring but is used on
//! a posix scheduler or outside a runtime), the kernel lacks the opcode,
//! or the kernel answered `EAGAIN`: the caller then takes its other path
//! (readiness and retry, or the blocking pool). (Our fds are `O_NONBLOCK` for the posix path; Linux 6.x arms
//! its internal poll for sockets anyway, measured: no `EAGAIN` in the TCP
//! suite, but older kernels may return it.)

use std::io;
use std::panic::Location;

use io_uring::{opcode, types};

use std::os::fd::FromRawFd;

use super::{cqe_result, run_op, run_op_with};

/// `IORING_RECVSEND_POLL_FIRST` (in a receive's `ioprio`).
const POLL_FIRST: u16 = 1;
/// `IORING_CQE_F_SOCK_NONEMPTY`: the socket held more data after the
/// receive.
const SOCK_NONEMPTY: u32 = 1 << 2;

fn finish(res: Option<i32>) -> Option<io::Result<usize>> {
    let res = res?;
    if res == -libc::EAGAIN {
        None
    } else {
        Some(cqe_result(res))
    }
}

/// `recv` into `buf`.
pub(crate) fn recv(
    fd: i32,
    buf: &mut [u8],
    flags: i32,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    recv_hinted(fd, buf, flags, false, at).map(|(r, _)| r)
}

/// `recv` into `buf` that may skip a receive bound to fail: with
/// `poll_first` (the caller's last receive left the socket empty) the
/// kernel waits for data before trying (`IORING_RECVSEND_POLL_FIRST`;
/// asked only of the 6.1+ rings that defer task work, which all know
/// the flag). Returns the result and whether the socket still held
/// data after it (`IORING_CQE_F_SOCK_NONEMPTY`).
pub(crate) fn recv_hinted(
    fd: i32,
    buf: &mut [u8],
    flags: i32,
    poll_first: bool,
    at: &'static Location<'static>,
) -> Option<(io::Result<usize>, bool)> {
    let len = buf.len().min(u32::MAX as usize) as u32;
    let ptr = buf.as_mut_ptr();
    let build = |u: &super::UringBackend| {
        let poll_first = poll_first && u.deferred;
        let entry = opcode::Recv::new(types::Fd(fd), ptr, len)
            .flags(flags)
            .ioprio(if poll_first { POLL_FIRST } else { 0 })
            .build();
        Some(entry)
    };
    // SAFETY: `buf` is borrowed for this whole call, and run_op_with does
    // not return or unwind before the kernel is done with it.
    let (res, cqe_flags) = unsafe { run_op_with(build, at) }?;
    finish(Some(res)).map(|r| (r, cqe_flags & SOCK_NONEMPTY != 0))
}

/// `send` from `buf` with MSG_NOSIGNAL.
/// With `poll_first` (the caller just saw the socket full) the kernel
/// waits for room before trying, as in [`recv_hinted`].
pub(crate) fn send(
    fd: i32,
    buf: &[u8],
    poll_first: bool,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let len = buf.len().min(u32::MAX as usize) as u32;
    let build = |u: &super::UringBackend| {
        let poll_first = poll_first && u.deferred;
        let entry = opcode::Send::new(types::Fd(fd), buf.as_ptr(), len)
            .flags(libc::MSG_NOSIGNAL)
            .ioprio(if poll_first { POLL_FIRST } else { 0 })
            .build();
        Some(entry)
    };
    // SAFETY: as in `recv_hinted`.
    finish(unsafe { run_op_with(build, at) }.map(|(res, _)| res))
}

/// `splice` of up to `len` bytes from `from` (at `off_from`, or -1
/// for a pipe or the file position) to `to` (likewise).
pub(crate) fn splice(
    from: i32,
    off_from: i64,
    to: i32,
    off_to: i64,
    len: u32,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let entry = opcode::Splice::new(types::Fd(from), off_from, types::Fd(to), off_to, len).build();
    // SAFETY: SPLICE points at no memory of ours, only descriptors.
    finish(unsafe { run_op(entry, at) })
}

/// `read` at the file position (`offset` u64::MAX) or at `offset`.
pub(crate) fn read(
    fd: i32,
    buf: &mut [u8],
    offset: u64,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    read_if(fd, buf, offset, |_| true, at)
}

/// [`read`] on a ring for which `usable` holds (asked in the lookup that
/// starts the op); `None`, with nothing submitted, on another.
pub(crate) fn read_if(
    fd: i32,
    buf: &mut [u8],
    offset: u64,
    usable: impl FnOnce(&super::UringBackend) -> bool,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let len = buf.len().min(u32::MAX as usize) as u32;
    let entry = opcode::Read::new(types::Fd(fd), buf.as_mut_ptr(), len)
        .offset(offset)
        .build();
    // SAFETY: as in `recv_hinted`.
    finish(unsafe { run_op_with(|u| usable(u).then_some(entry), at) }.map(|(res, _)| res))
}

/// `write` at the file position (`offset` u64::MAX) or at `offset`.
pub(crate) fn write(
    fd: i32,
    buf: &[u8],
    offset: u64,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let len = buf.len().min(u32::MAX as usize) as u32;
    let entry = opcode::Write::new(types::Fd(fd), buf.as_ptr(), len)
        .offset(offset)
        .build();
    // SAFETY: as in `recv`.
    finish(unsafe { run_op(entry, at) })
}

/// `readv` at the file position (`offset` u64::MAX) or at `offset`.
pub(crate) fn readv(
    fd: i32,
    bufs: &mut [std::io::IoSliceMut<'_>],
    offset: u64,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    readv_if(fd, bufs, offset, |_| true, at)
}

/// [`readv`] on a ring for which `usable` holds, as [`read_if`].
pub(crate) fn readv_if(
    fd: i32,
    bufs: &mut [std::io::IoSliceMut<'_>],
    offset: u64,
    usable: impl FnOnce(&super::UringBackend) -> bool,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let count = bufs.len().min(1024) as u32;
    let entry = opcode::Readv::new(types::Fd(fd), bufs.as_mut_ptr().cast(), count)
        .offset(offset)
        .build();
    // SAFETY: the iovec array and the buffers it points at are borrowed
    // for this whole call (IoSliceMut is ABI-compatible with iovec).
    finish(unsafe { run_op_with(|u| usable(u).then_some(entry), at) }.map(|(res, _)| res))
}

/// `writev` at the file position (`offset` u64::MAX) or at `offset`.
pub(crate) fn writev(
    fd: i32,
    bufs: &[std::io::IoSlice<'_>],
    offset: u64,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let count = bufs.len().min(1024) as u32;
    let entry = opcode::Writev::new(types::Fd(fd), bufs.as_ptr().cast(), count)
        .offset(offset)
        .build();
    // SAFETY: as in `readv`.
    finish(unsafe { run_op(entry, at) })
}

/// `connect` to `addr`. An `EINPROGRESS` error (also for `EAGAIN`) says
/// the handshake goes on: the caller waits for it by readiness. `None`
/// where this thread has no ring: nothing was tried.
pub(crate) fn connect(
    fd: i32,
    addr: &socket2::SockAddr,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let entry = opcode::Connect::new(types::Fd(fd), addr.as_ptr().cast(), addr.len()).build();
    // SAFETY: `addr` is borrowed for this whole call.
    let res = unsafe { run_op(entry, at) }?;
    if res == -libc::EINPROGRESS || res == -libc::EAGAIN {
        return Some(Err(io::Error::from_raw_os_error(libc::EINPROGRESS)));
    }
    Some(cqe_result(res))
}

/// `accept4` with close-on-exec and non-blocking flags.
pub(crate) fn accept(
    fd: i32,
    storage: *mut libc::sockaddr_storage,
    len: *mut libc::socklen_t,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let entry = opcode::Accept::new(types::Fd(fd), storage.cast(), len)
        .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
        .build();
    // SAFETY: the caller keeps `storage` and `len` alive and exclusive
    // for this call; run_op waits for the completion. A connection
    // accepted after all by a cancelled accept is returned (run_op).
    finish(unsafe { run_op(entry, at) })
}

/// Takes ownership of a descriptor an op's completion returned.
fn owned(res: i32) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: a non-negative result of OPENAT/OPENAT2 is a fresh
    // descriptor that nobody else owns.
    cqe_result(res).map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// `openat(2)`. A descriptor opened after all by a cancelled open is
/// returned (and the cancellation delivered later, see `run_op_with`).
/// `None` where this thread has no ring or its kernel no `OPENAT`.
pub(crate) fn openat(
    dir: i32,
    path: &std::ffi::CStr,
    flags: i32,
    mode: u32,
    at: &'static Location<'static>,
) -> Option<io::Result<std::os::fd::OwnedFd>> {
    let entry = opcode::OpenAt::new(types::Fd(dir), path.as_ptr())
        .flags(flags)
        .mode(mode as libc::mode_t)
        .build();
    // SAFETY: `path` is borrowed for this whole call and run_op waits
    // for the completion (the kernel copies the name at submission).
    unsafe { run_op(entry, at) }.map(owned)
}

/// `openat2(2)` with `resolve` flags; `mode` only with `O_CREAT` /
/// `O_TMPFILE` (masked to 0o7777, as `open(2)` does). A descriptor
/// opened after all by a cancelled open is returned, as by `openat`.
/// `None` where this thread has no ring or its kernel no `OPENAT2`.
pub(crate) fn openat2(
    dir: i32,
    path: &std::ffi::CStr,
    flags: i32,
    mode: u32,
    resolve: u64,
    at: &'static Location<'static>,
) -> Option<io::Result<std::os::fd::OwnedFd>> {
    let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    let how = types::OpenHow::new()
        .flags(u64::from(flags as u32))
        .mode(if creates { u64::from(mode & 0o7777) } else { 0 })
        .resolve(resolve);
    let entry = opcode::OpenAt2::new(types::Fd(dir), path.as_ptr(), &how).build();
    // SAFETY: `path` and `how` live on this frame for the whole call
    // and run_op waits for the completion.
    unsafe { run_op(entry, at) }.map(owned)
}

/// `statx(2)` of `path` in `dir` (`AT_EMPTY_PATH` and an empty path:
/// of `dir` itself) into `out`. `None` where this thread has no ring or
/// its kernel no `STATX`.
pub(crate) fn statx(
    dir: i32,
    path: &std::ffi::CStr,
    flags: i32,
    mask: u32,
    out: &mut libc::statx,
    at: &'static Location<'static>,
) -> Option<io::Result<()>> {
    let entry = opcode::Statx::new(
        types::Fd(dir),
        path.as_ptr(),
        (out as *mut libc::statx).cast(),
    )
    .flags(flags)
    .mask(mask)
    .build();
    // SAFETY: `path` and `out` are borrowed for this whole call and
    // run_op does not return or unwind before the kernel is done.
    unsafe { run_op(entry, at) }.map(|res| cqe_result(res).map(drop))
}

/// `fsync(2)`, or `fdatasync(2)` with `data_only`. Points at no
/// memory, so a cancelled fiber unwinds at once (the flush goes on).
/// `None` where this thread has no ring or its kernel no `FSYNC`.
pub(crate) fn fsync(
    fd: i32,
    data_only: bool,
    at: &'static Location<'static>,
) -> Option<io::Result<()>> {
    let flags = if data_only {
        types::FsyncFlags::DATASYNC
    } else {
        types::FsyncFlags::empty()
    };
    let entry = opcode::Fsync::new(types::Fd(fd)).flags(flags).build();
    // SAFETY: FSYNC points at no memory.
    unsafe { super::run_op_detachable(entry, at) }.map(|res| cqe_result(res).map(drop))
}

/// `sendmsg(2)` with `flags`. `None` on `EAGAIN`.
///
/// # Safety
/// `msg` and everything it points at (iovecs, data, control bytes,
/// address) must stay valid for the whole call.
pub(crate) unsafe fn sendmsg(
    fd: i32,
    msg: *const libc::msghdr,
    flags: i32,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let entry = opcode::SendMsg::new(types::Fd(fd), msg)
        .flags(flags as u32)
        .build();
    // SAFETY: forwarded from the caller; run_op waits for completion.
    finish(unsafe { run_op(entry, at) })
}

/// `recvmsg(2)` with `flags`. `None` on `EAGAIN`. A receive that
/// completes after its fiber was cancelled is returned like any other
/// (`msg` filled in), so the caller takes the descriptors it carried.
///
/// # Safety
/// `msg` and everything it points at must stay valid and exclusive
/// for the whole call.
pub(crate) unsafe fn recvmsg(
    fd: i32,
    msg: *mut libc::msghdr,
    flags: i32,
    at: &'static Location<'static>,
) -> Option<io::Result<usize>> {
    let entry = opcode::RecvMsg::new(types::Fd(fd), msg)
        .flags(flags as u32)
        .build();
    // SAFETY: forwarded from the caller; run_op waits for completion.
    finish(unsafe { run_op(entry, at) })
}
