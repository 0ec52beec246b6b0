//! Plain blocking wrappers: call them only from inside [`offload`](super::offload) /
//! [`offload_lent`](super::offload_lent) jobs (except where a function says it does no I/O).
//! `dir` arguments are raw so they can be `libc::AT_FDCWD`.

use std::ffi::{CStr, CString, OsString};
use std::fs::Metadata;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use super::{cvt, cvt_int};

/// The current directory, for the `dir` argument of the `*at` calls.
pub(crate) const CWD: RawFd = libc::AT_FDCWD;

/// Retries `f` while it fails with `EINTR`.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// Runs `f` with a `std::fs::File` view of `fd` that does not close it.
fn with_std<R>(fd: BorrowedFd<'_>, f: impl FnOnce(&mut std::fs::File) -> R) -> R {
    // SAFETY: the File is wrapped in ManuallyDrop, so it never closes
    // `fd`, which the caller keeps open (it is borrowed) for the call.
    let mut file = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd.as_raw_fd()) });
    f(&mut file)
}

/// `openat(2)`; the caller includes `O_CLOEXEC` in `flags`.
pub(crate) fn openat(
    dir: RawFd,
    path: &CStr,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    retry(|| {
        // SAFETY: `path` is NUL-terminated; a new descriptor is returned.
        let fd = cvt_int(unsafe { libc::openat(dir, path.as_ptr(), flags, mode as libc::c_uint) })?;
        // SAFETY: openat returned a fresh descriptor that we now own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    })
}

/// The `struct open_how` of `openat2(2)` (linux/openat2.h). libc's
/// version is non-exhaustive, so it cannot be built outside libc.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`.
pub(crate) const RESOLVE_SANDBOX: u64 = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;

/// `openat2(2)`. `mode` is passed only with `O_CREAT`/`O_TMPFILE` (the
/// kernel rejects it otherwise), masked to `0o7777` as `open(2)` does.
/// `ENOSYS` means the kernel lacks it.
pub(crate) fn openat2(
    dir: RawFd,
    path: &CStr,
    flags: libc::c_int,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    let how = OpenHow {
        // The kernel takes the flags as an unsigned 64-bit field; they
        // are a bit set, so reinterpret rather than sign-extend.
        flags: u64::from(flags as u32),
        // open(2) ignores mode bits beyond 0o7777 (such as a file type
        // copied from st_mode); openat2 rejects them, so mask alike.
        mode: if creates { u64::from(mode & 0o7777) } else { 0 },
        resolve,
    };
    retry(|| {
        // SAFETY: `path` is NUL-terminated and `how` is a valid open_how
        // whose size we pass; the syscall returns a new descriptor.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a non-negative result is a fresh descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
    })
}

/// The kind of file behind a descriptor, from `fstat(2)` (no disk I/O:
/// the inode of an open file is in memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    Symlink,
    Regular,
    Block,
    Other,
}

fn kind_of_mode(mode: libc::mode_t) -> Kind {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFLNK => Kind::Symlink,
        libc::S_IFREG => Kind::Regular,
        libc::S_IFBLK => Kind::Block,
        _ => Kind::Other,
    }
}

/// `fstat(2)` reduced to the file kind. Cheap enough to call inline.
pub(crate) fn kind(fd: BorrowedFd<'_>) -> io::Result<Kind> {
    // SAFETY: fstat fills the zeroed stat buffer.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        cvt_int(libc::fstat(fd.as_raw_fd(), &mut st))?;
        Ok(kind_of_mode(st.st_mode))
    }
}

/// `fstatat(2)` with `AT_SYMLINK_NOFOLLOW`, reduced to the kind.
pub(crate) fn kind_at(dir: RawFd, name: &CStr) -> io::Result<Kind> {
    // SAFETY: `name` is NUL-terminated; fstatat fills the zeroed buffer.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        cvt_int(libc::fstatat(
            dir,
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        ))?;
        Ok(kind_of_mode(st.st_mode))
    }
}

/// Whether reads or writes on `fd` may wait indefinitely (anything but
/// a regular file or a block device).
pub(crate) fn is_stream(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(!matches!(kind(fd)?, Kind::Regular | Kind::Block))
}

/// The std metadata of an open descriptor (also an `O_PATH` one).
pub(crate) fn metadata(fd: BorrowedFd<'_>) -> io::Result<Metadata> {
    with_std(fd, |f| f.metadata())
}

/// `stat(2)` / `lstat(2)` of a path, as std metadata.
pub(crate) fn stat_path(path: &Path, follow: bool) -> io::Result<Metadata> {
    if follow {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    }
}

/// `readlinkat(2)`; an empty `path` reads the link `dir` itself refers
/// to (an `O_PATH | O_NOFOLLOW` descriptor of a symlink).
pub(crate) fn readlinkat(dir: RawFd, path: &CStr) -> io::Result<Vec<u8>> {
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    loop {
        let n = retry(|| {
            // SAFETY: `path` is NUL-terminated and the buffer is valid
            // for `capacity` bytes of writes.
            cvt(unsafe {
                libc::readlinkat(dir, path.as_ptr(), buf.as_mut_ptr().cast(), buf.capacity())
            })
        })?;
        if n < buf.capacity() {
            // SAFETY: readlinkat initialised the first `n` bytes.
            unsafe { buf.set_len(n) };
            return Ok(buf);
        }
        buf.reserve(buf.capacity());
    }
}

/// `mkdirat(2)`.
pub(crate) fn mkdirat(dir: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    retry(|| cvt_int(unsafe { libc::mkdirat(dir, name.as_ptr(), mode as libc::mode_t) })).map(drop)
}

/// `unlinkat(2)`; `AT_REMOVEDIR` in `flags` removes a directory.
pub(crate) fn unlinkat(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    retry(|| cvt_int(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) })).map(drop)
}

/// `renameat(2)`.
pub(crate) fn renameat(from_dir: RawFd, from: &CStr, to_dir: RawFd, to: &CStr) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated.
    retry(|| cvt_int(unsafe { libc::renameat(from_dir, from.as_ptr(), to_dir, to.as_ptr()) }))
        .map(drop)
}

/// `symlinkat(2)`: creates `name` in `dir` holding `target`.
pub(crate) fn symlinkat(target: &CStr, dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: both strings are NUL-terminated.
    retry(|| cvt_int(unsafe { libc::symlinkat(target.as_ptr(), dir, name.as_ptr()) })).map(drop)
}

/// `linkat(2)` without `AT_SYMLINK_FOLLOW`: a symlink is linked itself.
pub(crate) fn linkat(from_dir: RawFd, from: &CStr, to_dir: RawFd, to: &CStr) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated.
    retry(|| cvt_int(unsafe { libc::linkat(from_dir, from.as_ptr(), to_dir, to.as_ptr(), 0) }))
        .map(drop)
}

/// `fsync(2)`.
pub(crate) fn fsync(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: no memory is passed.
    retry(|| cvt_int(unsafe { libc::fsync(fd.as_raw_fd()) })).map(drop)
}

/// `fdatasync(2)`.
pub(crate) fn fdatasync(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: no memory is passed.
    retry(|| cvt_int(unsafe { libc::fdatasync(fd.as_raw_fd()) })).map(drop)
}

/// `ftruncate(2)`.
pub(crate) fn ftruncate(fd: BorrowedFd<'_>, len: u64) -> io::Result<()> {
    let len = libc::off_t::try_from(len).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file length {len} is too large"),
        )
    })?;
    // SAFETY: no memory is passed.
    retry(|| cvt_int(unsafe { libc::ftruncate(fd.as_raw_fd(), len) })).map(drop)
}

/// `fchmod(2)`.
pub(crate) fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: no memory is passed.
    retry(|| cvt_int(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) })).map(drop)
}

/// `chmod(2)` of a path (follows symlinks, like std).
pub(crate) fn chmod_path(path: &Path, perm: std::fs::Permissions) -> io::Result<()> {
    std::fs::set_permissions(path, perm)
}

/// `realpath(3)`.
pub(crate) fn canonicalize(path: &Path) -> io::Result<std::path::PathBuf> {
    std::fs::canonicalize(path)
}

/// `readv(2)` at the file position, or `preadv(2)` at `offset`.
pub(crate) fn readv(
    fd: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    offset: Option<u64>,
) -> io::Result<usize> {
    let count = bufs.len().min(1024) as libc::c_int;
    retry(|| {
        // SAFETY: IoSliceMut is ABI-compatible with iovec; the slices
        // are valid for writes for their lengths.
        cvt(unsafe {
            match offset {
                None => libc::readv(fd.as_raw_fd(), bufs.as_mut_ptr().cast(), count),
                Some(o) => libc::preadv(
                    fd.as_raw_fd(),
                    bufs.as_mut_ptr().cast(),
                    count,
                    o as libc::off_t,
                ),
            }
        })
    })
}

/// `writev(2)` at the file position, or `pwritev(2)` at `offset`.
pub(crate) fn writev(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    offset: Option<u64>,
) -> io::Result<usize> {
    let count = bufs.len().min(1024) as libc::c_int;
    retry(|| {
        // SAFETY: IoSlice is ABI-compatible with iovec; the slices are
        // valid for reads for their lengths.
        cvt(unsafe {
            match offset {
                None => libc::writev(fd.as_raw_fd(), bufs.as_ptr().cast(), count),
                Some(o) => libc::pwritev(
                    fd.as_raw_fd(),
                    bufs.as_ptr().cast(),
                    count,
                    o as libc::off_t,
                ),
            }
        })
    })
}

/// Reads from the file position to the end.
pub(crate) fn read_to_end(fd: BorrowedFd<'_>, out: &mut Vec<u8>) -> io::Result<usize> {
    with_std(fd, |f| f.read_to_end(out))
}

/// Writes all of `data` at the file position.
pub(crate) fn write_all(fd: BorrowedFd<'_>, data: &[u8]) -> io::Result<()> {
    with_std(fd, |f| f.write_all(data))
}

/// Copies everything from `from` (its position on) to `to`, with
/// `copy_file_range(2)` where possible. Returns the bytes copied.
pub(crate) fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<u64> {
    with_std(from, |r| with_std(to, |w| std::io::copy(r, w)))
}

/// One directory entry: its name and `d_type` (`DT_UNKNOWN` when the
/// file system does not say).
pub(crate) struct RawEntry {
    pub(crate) name: CString,
    pub(crate) d_type: u8,
}

/// Lists a directory (`.` and `..` left out). Takes ownership of `fd`,
/// which must be open for reading with `O_DIRECTORY`; `each` sees the
/// descriptor (for `*at` calls relative to it) and every entry.
pub(crate) fn read_dir(
    fd: OwnedFd,
    mut each: impl FnMut(RawFd, RawEntry) -> io::Result<()>,
) -> io::Result<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: fdopendir takes ownership of `raw` on success.
    let dir = unsafe { libc::fdopendir(raw) };
    if dir.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: on failure the descriptor is still ours to close.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
        return Err(e);
    }
    struct Closer(*mut libc::DIR);
    impl Drop for Closer {
        fn drop(&mut self) {
            // SAFETY: the DIR came from fdopendir and is closed once.
            unsafe { libc::closedir(self.0) };
        }
    }
    let closer = Closer(dir);
    loop {
        // SAFETY: errno is thread-local; readdir reports errors only
        // through it, so clear it first.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `dir` is a valid open DIR.
        let ent = unsafe { libc::readdir(closer.0) };
        if ent.is_null() {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(0) | None => Ok(()),
                Some(_) => Err(e),
            };
        }
        // SAFETY: readdir returned a valid entry whose d_name is
        // NUL-terminated; it stays valid until the next readdir call,
        // and we copy the name out before that.
        let (name, d_type) = unsafe { (CStr::from_ptr((*ent).d_name.as_ptr()), (*ent).d_type) };
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        // SAFETY: `dir` is valid; dirfd returns its descriptor.
        let dfd = unsafe { libc::dirfd(closer.0) };
        each(
            dfd,
            RawEntry {
                name: name.to_owned(),
                d_type,
            },
        )?;
    }
}

/// `O_PATH | O_NOFOLLOW` open of `name` in `dir` and its metadata (of
/// a symlink itself, like `lstat`). `Ok(None)` if it vanished.
pub(crate) fn entry_metadata(dir: RawFd, name: &CStr) -> io::Result<Option<Metadata>> {
    match openat(
        dir,
        name,
        libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
    ) {
        Ok(fd) => {
            use std::os::fd::AsFd;
            metadata(fd.as_fd()).map(Some)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The bytes of a `CString` as an `OsString`.
pub(crate) fn os_string(name: CString) -> OsString {
    OsString::from_vec(name.into_bytes())
}
