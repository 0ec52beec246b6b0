//! File-system system calls.
//!
//! Regular files are always "ready" to the kernel's readiness APIs, so the
//! posix backend cannot wait for them the way it waits for sockets. Two
//! kinds of op live here instead:
//!
//! - Fiber-level ops on an open file ([`FileSource`]): [`file_read`] and
//!   [`file_write`] first try the call with `RWF_NOWAIT`, which the kernel
//!   serves only if it needs no disk I/O (data in the page cache, room in a
//!   pipe); otherwise (or where the file system does not support it) the
//!   call runs on the blocking pool.
//! - [`offload`] / [`offload_lent`], which run a composite piece of
//!   file-system work (path resolution followed by an `*at` call, say) on
//!   the blocking pool, built from the plain blocking wrappers in [`fsys`]
//!   (a file of its own: the plain-syscall half, no fiber or ring in it).
//!   `fsys` functions block the calling thread: they are only ever called
//!   from inside `offload*` jobs (or, for the cheap ones that do no disk
//!   I/O, such as `lseek`, where the caller says so).
//!
//! On the io_uring backend the same functions submit the operations
//! instead (`IORING_OP_READ`/`WRITE`/`READV`/`WRITEV` at an offset or at
//! the file position, `OPENAT`/`OPENAT2`, `STATX`, `FSYNC`, `CLOSE`):
//! no thread hop, and many fibers' reads reach the kernel in one
//! `io_uring_enter`. Each op checks that the kernel supports its opcode
//! (probed per ring) and takes the path above where it does not. The
//! fiber's buffers stay borrowed for the whole op: `uring::run_op` waits
//! for the completion even when the fiber is cancelled (see the
//! invariant in `backend/uring/mod.rs`).

use std::ffi::CStr;
use std::fs::Metadata;
use std::io::{self, IoSlice, IoSliceMut, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{cvt, fsys};
use crate::backend::choice::BackendChoice;
use crate::backend::uring;

/// An open file as the backend sees it: the descriptor, whether reads and
/// writes on it may wait indefinitely (pipes, terminals, sockets: a
/// "stream"), and which fast paths the kernel turned out to support for it.
pub(crate) struct FileSource {
    /// `None` only after `into_fd`.
    fd: Option<OwnedFd>,
    stream: bool,
    /// The backend its ops go to, chosen at creation (`backend/choice.rs`).
    backend: BackendChoice,
    nowait_read: AtomicBool,
    nowait_write: AtomicBool,
    /// Serialises reads and writes at the file position on the io_uring
    /// backend: the kernel's `read(2)` holds the position lock for the
    /// whole call, but an io_uring op at offset -1 reads the position,
    /// does the I/O and stores the new position without that lock, so
    /// two such ops in flight on one file could read the same bytes.
    pos_lock: crate::sync::Mutex<()>,
}

impl FileSource {
    /// Wraps `fd`; `stream` says whether it is something other than a
    /// regular file or block device (see [`fsys::is_stream`]).
    pub(crate) fn new(fd: OwnedFd, stream: bool) -> FileSource {
        FileSource {
            fd: Some(fd),
            stream,
            backend: BackendChoice::here(),
            nowait_read: AtomicBool::new(true),
            nowait_write: AtomicBool::new(true),
            pos_lock: crate::sync::Mutex::new(()),
        }
    }

    fn fd(&self) -> &OwnedFd {
        self.fd
            .as_ref()
            .expect("a FileSource is not used after into_fd")
    }

    pub(crate) fn into_fd(mut self) -> OwnedFd {
        self.fd.take().expect("into_fd is called once")
    }

    pub(crate) fn is_stream(&self) -> bool {
        self.stream
    }
}

impl AsFd for FileSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd().as_fd()
    }
}

impl Drop for FileSource {
    /// On the io_uring backend the close is queued as a `CLOSE` entry and
    /// reaches the kernel with the next submission (a close that flushes,
    /// as on NFS, then does not block the thread); elsewhere it is
    /// `close(2)` here.
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            if self.backend.on_ring() && uring::close_later(fd.as_raw_fd()) {
                // The queued CLOSE owns the descriptor now.
                std::mem::forget(fd);
            }
        }
    }
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("fd", &self.fd.as_ref().map(|f| f.as_raw_fd()))
            .field("stream", &self.stream)
            .finish()
    }
}

/// Runs `f` on the blocking pool; the fiber waits, cancellably (on
/// cancellation it unwinds at once and `f` finishes detached, so `f` owns
/// everything it uses).
#[track_caller]
pub(crate) fn offload<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    crate::blocking::blocking(f)
}

/// Runs `f`, which may borrow from the caller, on the blocking pool. The
/// fiber waits uninterruptibly and gets `f`'s result even if cancelled
/// meanwhile; the cancellation is delivered at its next cancellation
/// point (see `blocking::blocking_lent`). Only for bounded work.
#[track_caller]
pub(crate) fn offload_lent<'a, T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    crate::blocking::blocking_lent(f)
}

fn offset_arg(offset: Option<u64>) -> io::Result<libc::off_t> {
    match offset {
        None => Ok(-1),
        Some(o) => libc::off_t::try_from(o).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("file offset {o} is too large"),
            )
        }),
    }
}

/// What a `RWF_NOWAIT` attempt says.
pub(crate) enum Fast<T> {
    Done(io::Result<T>),
    /// Would block (not cached, pipe empty/full): go the slow way.
    WouldBlock,
    /// Not supported for this file: go the slow way and stop trying.
    Unsupported,
}

fn classify(r: io::Result<usize>) -> Fast<usize> {
    match r {
        Ok(n) => Fast::Done(Ok(n)),
        Err(e) => match e.raw_os_error() {
            Some(libc::EAGAIN) => Fast::WouldBlock,
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => Fast::Unsupported,
            _ => Fast::Done(Err(e)),
        },
    }
}

pub(crate) fn nowait_readv(
    fd: RawFd,
    bufs: &mut [IoSliceMut<'_>],
    off: libc::off_t,
) -> Fast<usize> {
    let count = bufs.len().min(1024) as libc::c_int;
    loop {
        // SAFETY: IoSliceMut is ABI-compatible with iovec and the slices are
        // valid for writes for their lengths; `off` is -1 (use and advance
        // the file position) or a non-negative offset.
        let r = cvt(unsafe {
            libc::preadv2(fd, bufs.as_mut_ptr().cast(), count, off, libc::RWF_NOWAIT)
        });
        match r {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return classify(r),
        }
    }
}

pub(crate) fn nowait_writev(fd: RawFd, bufs: &[IoSlice<'_>], off: libc::off_t) -> Fast<usize> {
    let count = bufs.len().min(1024) as libc::c_int;
    loop {
        // SAFETY: IoSlice is ABI-compatible with iovec and the slices are
        // valid for reads for their lengths.
        let r =
            cvt(unsafe { libc::pwritev2(fd, bufs.as_ptr().cast(), count, off, libc::RWF_NOWAIT) });
        match r {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return classify(r),
        }
    }
}

/// Reads into `bufs` at `offset`, or at the file position (advancing it)
/// when `offset` is `None`. A page-cache hit is served right here; anything
/// else runs on the blocking pool.
///
/// Regular files lend `bufs` to the pool thread and wait uninterruptibly
/// (the kernel may write into them until the call returns); cancellation
/// is delivered right after. Streams (pipes, terminals) may wait forever,
/// so they read into a pool-owned bounce buffer and the wait is
/// cancellable: a cancelled stream read may consume data that is then
/// dropped.
#[track_caller]
pub(crate) fn file_read(
    src: &FileSource,
    bufs: &mut [IoSliceMut<'_>],
    offset: Option<u64>,
) -> io::Result<usize> {
    let off = offset_arg(offset)?;
    crate::backend_api::io_budget();
    let fd = src.fd().as_raw_fd();
    // io_uring serves regular files without the pool. Its reads at the
    // file position need the per-file lock (see `FileSource::pos_lock`),
    // held from the inline try below through the io_uring op.
    let native = !src.stream && src.backend.on_ring();
    let _pos = (native && offset.is_none()).then(|| src.pos_lock.lock());
    // A page-cache hit is served inline on both backends: one system
    // call, no io_uring round trip (measured faster than batched
    // io_uring reads of cached data, see `uring_read`).
    if src.nowait_read.load(Ordering::Relaxed) {
        match nowait_readv(fd, bufs, off) {
            Fast::Done(r) => return r,
            Fast::WouldBlock => {}
            Fast::Unsupported => src.nowait_read.store(false, Ordering::Relaxed),
        }
    }
    if native {
        if let Some(r) = uring_read(src, bufs, offset) {
            return r;
        }
    }
    if !src.stream {
        let fd = src.fd().as_fd();
        return offload_lent(move || fsys::readv(fd, bufs, offset));
    }
    // A stream: bounce through an owned buffer (first non-empty slice).
    let Some(buf) = bufs.iter_mut().find(|b| !b.is_empty()) else {
        return Ok(0);
    };
    let len = buf.len().min(64 * 1024);
    let fd = src.fd().try_clone()?;
    let data = offload(move || -> io::Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        let n = fsys::readv(fd.as_fd(), &mut [IoSliceMut::new(&mut v)], offset)?;
        v.truncate(n);
        Ok(v)
    })?;
    buf[..data.len()].copy_from_slice(&data);
    Ok(data.len())
}

/// Writes `bufs` at `offset`, or at the file position (advancing it; with
/// `O_APPEND`, at the end) when `offset` is `None`. Tries `RWF_NOWAIT`
/// first where the file system supports it; otherwise runs on the pool
/// (regular files: buffers lent, uninterruptible; streams: copied, and
/// cancellable).
#[track_caller]
pub(crate) fn file_write(
    src: &FileSource,
    bufs: &[IoSlice<'_>],
    offset: Option<u64>,
) -> io::Result<usize> {
    let off = offset_arg(offset)?;
    crate::backend_api::io_budget();
    let fd = src.fd().as_raw_fd();
    if src.nowait_write.load(Ordering::Relaxed) {
        match nowait_writev(fd, bufs, off) {
            Fast::Done(r) => return r,
            Fast::WouldBlock => {}
            Fast::Unsupported => src.nowait_write.store(false, Ordering::Relaxed),
        }
    }
    if let Some(r) = uring_write(src, bufs, offset) {
        return r;
    }
    if !src.stream {
        let fd = src.fd().as_fd();
        return offload_lent(move || fsys::writev(fd, bufs, offset));
    }
    let Some(buf) = bufs.iter().find(|b| !b.is_empty()) else {
        return Ok(0);
    };
    let data = buf[..buf.len().min(64 * 1024)].to_vec();
    let fd = src.fd().try_clone()?;
    offload(move || fsys::writev(fd.as_fd(), &[IoSlice::new(&data)], offset))
}

/// [`file_read`] on the io_uring backend, for regular files and block
/// devices whose data was not in the page cache (or whose file system
/// does not take `RWF_NOWAIT`): one `READ` (or `READV`) entry at `offset`
/// or at the file position (-1; the caller holds the position lock),
/// batched with the other fibers' entries into the `io_uring_enter` that
/// the scheduler makes when nothing is runnable. io_uring does the read in
/// its own workers: no pool thread. `None`: take the pool path (the
/// kernel cannot read at the file position, or answered `EAGAIN`).
///
/// Cached data does not come here: `file_read` serves it inline with
/// `preadv2(RWF_NOWAIT)`. Measured on 2 shared cores (Linux 6.18, ext4,
/// random 4 KiB reads of a cached file, medians of 3 runs, ns per read
/// relative to std's `pread`): io_uring for every read, eager when
/// nothing else runs and batched otherwise, was 1.37x (one fiber) and
/// 1.14x (16 fibers); the inline try first was 0.91x and 0.95x. io_uring's
/// per-op cost exceeds a system call's here, so batching cached reads
/// does not pay.
///
/// Streams (FIFOs, terminals) stay on the pool path, whose wait is
/// cancellable with an owned buffer: a read that may wait forever would
/// hold its borrowed buffer under cancel-and-wait, and so rely on
/// `ASYNC_CANCEL` ending it. io_uring hands a read that keeps finding no
/// data to one of its worker threads, where it blocks in the kernel, and
/// cancelling such work is best effort (a signal to the worker); if it
/// failed the fiber would wait forever. Regular-file I/O always ends on
/// its own, so cancel-and-wait is bounded there.
#[track_caller]
fn uring_read(
    src: &FileSource,
    bufs: &mut [IoSliceMut<'_>],
    offset: Option<u64>,
) -> Option<io::Result<usize>> {
    let at = Location::caller();
    let fd = src.fd().as_raw_fd();
    let at_pos = offset.is_none();
    let off = offset.unwrap_or(u64::MAX);
    // Reads at the file position need `IORING_FEAT_RW_CUR_POS`, which the
    // ring knows: asked in the lookup that starts the op.
    let needs = |u: &uring::UringBackend| !at_pos || u.cur_pos();
    match bufs {
        [one] => uring::native::read_if(fd, one, off, needs, at),
        _ => uring::native::readv_if(fd, bufs, off, needs, at),
    }
}

/// [`file_write`] on the io_uring backend, for writes at an offset to
/// regular files and block devices that `RWF_NOWAIT` did not take (see
/// [`uring_read`]). Not for streams (as for reads), nor for writes at the
/// file position: when such a write comes up short (the file-size limit,
/// a full disk), io_uring (measured on 6.18) reports the bytes written but
/// leaves the position where it was, unlike `write(2)`; those take the
/// pool path.
#[track_caller]
fn uring_write(
    src: &FileSource,
    bufs: &[IoSlice<'_>],
    offset: Option<u64>,
) -> Option<io::Result<usize>> {
    let off = offset?;
    if src.stream || !src.backend.on_ring() {
        return None;
    }
    let at = Location::caller();
    let fd = src.fd().as_raw_fd();
    match bufs {
        [one] => uring::native::write(fd, one, off, at),
        _ => uring::native::writev(fd, bufs, off, at),
    }
}

/// `fsync(2)` (`data_only`: `fdatasync(2)`). Cancellable: a cancelled
/// fiber unwinds at once while the flush finishes (an io_uring `FSYNC`
/// left to complete, or a pool job on a duplicate of the descriptor).
#[track_caller]
pub(crate) fn file_sync(src: &FileSource, data_only: bool) -> io::Result<()> {
    if src.backend.on_ring() {
        if let Some(r) = uring::native::fsync(src.fd().as_raw_fd(), data_only, Location::caller()) {
            return r;
        }
    }
    let fd = src.fd().try_clone()?;
    if data_only {
        offload(move || fsys::fdatasync(fd.as_fd()))
    } else {
        offload(move || fsys::fsync(fd.as_fd()))
    }
}

/// The metadata of an open file. On io_uring, a `STATX` of the descriptor
/// does whatever waiting the file system needs (revalidating attributes
/// on a network file system) off this thread; std's `Metadata` cannot be
/// built from its result, so an inline `fstat` then reads the fresh
/// in-memory inode. Elsewhere: `fstat` on the blocking pool.
#[track_caller]
pub(crate) fn file_metadata(src: &FileSource) -> io::Result<Metadata> {
    let fd = src.fd().as_fd();
    if src.backend.on_ring() {
        if let Some(r) = statx_native(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH, Location::caller())
        {
            r?;
            return fsys::metadata(fd);
        }
    }
    offload_lent(move || fsys::metadata(fd))
}

/// `None` where this thread has no ring or its kernel no `STATX`.
fn statx_native(
    dir: RawFd,
    path: &CStr,
    flags: libc::c_int,
    at: &'static Location<'static>,
) -> Option<io::Result<()>> {
    // SAFETY: statx is plain integers; all-zero is a valid value.
    let mut out: libc::statx = unsafe { std::mem::zeroed() };
    uring::native::statx(
        dir,
        path,
        flags,
        libc::STATX_BASIC_STATS | libc::STATX_BTIME,
        &mut out,
        at,
    )
}

/// `openat(2)` in the fiber where this thread's backend does opens
/// natively (io_uring `OPENAT`); `None` where it does not, and the caller
/// opens on the blocking pool.
#[track_caller]
pub(crate) fn openat_native(
    dir: RawFd,
    path: &CStr,
    flags: libc::c_int,
    mode: u32,
) -> Option<io::Result<OwnedFd>> {
    uring::native::openat(dir, path, flags, mode, Location::caller())
}

/// `openat2(2)` in the fiber where this thread's backend does it natively
/// (io_uring `OPENAT2`); `None` where it does not.
#[track_caller]
pub(crate) fn openat2_native(
    dir: RawFd,
    path: &CStr,
    flags: libc::c_int,
    mode: u32,
    resolve: u64,
) -> Option<io::Result<OwnedFd>> {
    uring::native::openat2(dir, path, flags, mode, resolve, Location::caller())
}

/// Metadata of `path` (relative to the current directory if relative),
/// `follow`ing a final symlink or not, in the fiber: an io_uring `STATX`
/// does the lookup (and any disk reads it needs) off this thread, then an
/// inline `stat` builds std's `Metadata` from the now-cached entry (see
/// [`file_metadata`]). `None` where this thread's backend has no `STATX`.
#[track_caller]
pub(crate) fn stat_path_native(path: &CStr, follow: bool) -> Option<io::Result<Metadata>> {
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    if let Err(e) = statx_native(libc::AT_FDCWD, path, flags, Location::caller())? {
        return Some(Err(e));
    }
    let p = std::path::Path::new(
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path.to_bytes()),
    );
    Some(fsys::stat_path(p, follow))
}

/// `lseek(2)`. Runs inline: it moves the file position (and for
/// `SeekFrom::End` reads the cached size); no disk I/O.
pub(crate) fn file_seek(src: &FileSource, pos: SeekFrom) -> io::Result<u64> {
    let (off, whence) = match pos {
        SeekFrom::Start(o) => (
            libc::off_t::try_from(o).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "seek offset is too large")
            })?,
            libc::SEEK_SET,
        ),
        SeekFrom::Current(o) => (o, libc::SEEK_CUR),
        SeekFrom::End(o) => (o, libc::SEEK_END),
    };
    // SAFETY: lseek on an open descriptor; no memory is passed.
    let r = unsafe { libc::lseek(src.fd().as_raw_fd(), off, whence) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as u64)
    }
}
