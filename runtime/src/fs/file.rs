//! [`File`] and [`OpenOptions`]: std's file API on fibers.

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::dir::Dir;
use crate::backend::ops::{self, fsys, FileSource};

/// An open file. Like `std::fs::File`, with every call suspending the fiber
/// instead of blocking the thread.
///
/// - Reads first try `preadv2(RWF_NOWAIT)`, which the kernel serves only
///   from the page cache: a cached read costs one syscall and no thread
///   hop. Otherwise (data not cached, or a file system without the flag)
///   the read is an io_uring `READ` on the io_uring backend (batched with
///   other fibers' operations) and runs on the blocking pool on posix.
/// - Writes try `pwritev2(RWF_NOWAIT)` where the file system supports it
///   (most do not, for buffered writes); then positional writes are an
///   io_uring `WRITE` on the io_uring backend, and everything else runs on
///   the blocking pool.
/// - The file position lives in the kernel's open file description, as
///   with std: `Read`/`Write` use and advance it (each call atomically,
///   also when several fibers share a `&File`), `Seek` moves it, and
///   [`File::from_std`] / [`File::into_std`] keep it. The positional
///   [`read_at`](File::read_at) / [`write_at`](File::write_at) leave it
///   alone.
///
/// Cancellation: a read or write of a regular file lends the caller's
/// buffer to the kernel (an io_uring operation, or a pool thread's call),
/// so the fiber waits for that operation to finish (io_uring: or to be
/// cancelled) even if it is cancelled meanwhile. One that finished is
/// returned all the same (its bytes and the moved position are not
/// lost) and the cancellation is delivered at the next cancellation
/// point; a fiber already cancelled starts none. Such calls are short. A
/// file that is not a regular file or block device (a FIFO, a terminal)
/// may wait forever, so there the pool works on its own copy and the
/// fiber unwinds at once; data a cancelled read consumed is lost.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom, Write};
/// use weft::fs::File;
///
/// weft::run(|_env| {
///     let path = std::env::temp_dir().join(format!("weft-doc-file-{}", std::process::id()));
///     let mut f = File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
///     f.write_all(b"hello, file").unwrap();
///     f.seek(SeekFrom::Start(7)).unwrap();
///     let mut s = String::new();
///     f.read_to_string(&mut s).unwrap();
///     assert_eq!(s, "file");
///     weft::fs::remove_file(&path).unwrap();
/// });
/// ```
pub struct File {
    src: FileSource,
}

impl File {
    /// Opens a file for reading (`OpenOptions::new().read(true)`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let err = weft::fs::File::open("/definitely/not/here").unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    #[track_caller]
    pub fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path)
    }

    /// Opens a file for writing, creating it or truncating it.
    ///
    /// ```
    /// use std::io::Write;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-create-{}", std::process::id()));
    ///     let mut f = weft::fs::File::create(&path).unwrap();
    ///     f.write_all(b"x").unwrap();
    ///     assert_eq!(weft::fs::read(&path).unwrap(), b"x");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    /// Creates a new file for reading and writing; fails with
    /// `AlreadyExists` if there is one.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-create-new-{}", std::process::id()));
    ///     let _f = weft::fs::File::create_new(&path).unwrap();
    ///     let err = weft::fs::File::create_new(&path).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
    }

    /// A new [`OpenOptions`].
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-options-{}", std::process::id()));
    ///     let f = weft::fs::File::options().write(true).create(true).open(&path).unwrap();
    ///     drop(f);
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    pub(crate) fn from_parts(fd: OwnedFd, stream: bool) -> File {
        File {
            src: FileSource::new(fd, stream),
        }
    }

    /// The file's metadata (`fstat`): on io_uring a `STATX` first (any
    /// wait happens off the thread), else on the blocking pool.
    ///
    /// ```
    /// use std::io::Write;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-fmeta-{}", std::process::id()));
    ///     let mut f = weft::fs::File::create(&path).unwrap();
    ///     f.write_all(b"1234").unwrap();
    ///     let m = f.metadata().unwrap();
    ///     assert!(m.is_file());
    ///     assert_eq!(m.len(), 4);
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn metadata(&self) -> io::Result<Metadata> {
        ops::file_metadata(&self.src)
    }

    /// Truncates or extends the file to `size` bytes (extending fills with
    /// zeros). The position does not move.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-setlen-{}", std::process::id()));
    ///     let f = weft::fs::File::create(&path).unwrap();
    ///     f.set_len(1000).unwrap();
    ///     assert_eq!(f.metadata().unwrap().len(), 1000);
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        let fd = self.src.as_fd();
        ops::offload_lent(move || fsys::ftruncate(fd, size))
    }

    /// Flushes data and metadata to the device (`fsync`). Cancellable: a
    /// cancelled fiber unwinds at once while the flush finishes (an
    /// io_uring `FSYNC` left to complete, or a pool job on its own
    /// duplicate of the descriptor).
    ///
    /// ```
    /// use std::io::Write;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-sync-{}", std::process::id()));
    ///     let mut f = weft::fs::File::create(&path).unwrap();
    ///     f.write_all(b"durable").unwrap();
    ///     f.sync_all().unwrap();
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn sync_all(&self) -> io::Result<()> {
        ops::file_sync(&self.src, false)
    }

    /// Flushes data (and the metadata needed to read it back) to the device
    /// (`fdatasync`). Cancellable like [`File::sync_all`].
    ///
    /// ```
    /// use std::io::Write;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-syncdata-{}", std::process::id()));
    ///     let mut f = weft::fs::File::create(&path).unwrap();
    ///     f.write_all(b"data").unwrap();
    ///     f.sync_data().unwrap();
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn sync_data(&self) -> io::Result<()> {
        ops::file_sync(&self.src, true)
    }

    /// Changes the file's permissions (`fchmod`).
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-fperm-{}", std::process::id()));
    ///     let f = weft::fs::File::create(&path).unwrap();
    ///     f.set_permissions(std::fs::Permissions::from_mode(0o600)).unwrap();
    ///     assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let fd = self.src.as_fd();
        ops::offload_lent(move || fsys::fchmod(fd, perm.mode()))
    }

    /// A second handle to the same open file (`dup`): it shares the
    /// position. Runs inline (no I/O).
    ///
    /// ```
    /// use std::io::{Read, Seek, SeekFrom, Write};
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-clone-{}", std::process::id()));
    ///     let mut a = weft::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    ///     a.write_all(b"ab").unwrap();
    ///     let mut b = a.try_clone().unwrap();
    ///     b.seek(SeekFrom::Start(1)).unwrap();
    ///     let mut rest = String::new();
    ///     a.read_to_string(&mut rest).unwrap(); // `a` moved with `b`
    ///     assert_eq!(rest, "b");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn try_clone(&self) -> io::Result<File> {
        let fd = self.src.as_fd().try_clone_to_owned()?;
        Ok(File::from_parts(fd, self.src.is_stream()))
    }

    /// Reads at `offset` without moving the file position; returns how
    /// many bytes were read (0 at end of file).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-readat-{}", std::process::id()));
    ///     weft::fs::write(&path, b"0123456789").unwrap();
    ///     let f = weft::fs::File::open(&path).unwrap();
    ///     let mut buf = [0; 3];
    ///     assert_eq!(f.read_at(&mut buf, 4).unwrap(), 3);
    ///     assert_eq!(&buf, b"456");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        ops::file_read(&self.src, &mut [IoSliceMut::new(buf)], Some(offset))
    }

    /// Writes at `offset` without moving the file position; returns how
    /// many bytes were written. (On Linux, a file opened for appending
    /// appends regardless of `offset`, as with std.)
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-writeat-{}", std::process::id()));
    ///     weft::fs::write(&path, b"hello world").unwrap();
    ///     let f = weft::fs::File::options().write(true).open(&path).unwrap();
    ///     f.write_all_at(b"WORLD", 6).unwrap();
    ///     assert_eq!(weft::fs::read(&path).unwrap(), b"hello WORLD");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        ops::file_write(&self.src, &[IoSlice::new(buf)], Some(offset))
    }

    /// Fills `buf` from `offset` on; `UnexpectedEof` if the file ends first.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-readexactat-{}", std::process::id()));
    ///     weft::fs::write(&path, b"abcdef").unwrap();
    ///     let f = weft::fs::File::open(&path).unwrap();
    ///     let mut buf = [0; 4];
    ///     f.read_exact_at(&mut buf, 2).unwrap();
    ///     assert_eq!(&buf, b"cdef");
    ///     let err = f.read_exact_at(&mut buf, 4).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file ended before the buffer was filled",
                    ))
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes all of `buf` from `offset` on.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-writeallat-{}", std::process::id()));
    ///     let f = weft::fs::File::create(&path).unwrap();
    ///     f.write_all_at(b"tail", 4).unwrap();
    ///     assert_eq!(weft::fs::read(&path).unwrap(), b"\0\0\0\0tail");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_at(buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the file accepted no more bytes",
                    ))
                }
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Wraps a `std::fs::File` (keeping its position). Runs one `fstat`
    /// inline to learn whether it is a regular file.
    ///
    /// ```
    /// use std::io::Read;
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-fromstd-{}", std::process::id()));
    ///     std::fs::write(&path, b"std").unwrap();
    ///     let mut f = weft::fs::File::from_std(std::fs::File::open(&path).unwrap());
    ///     let mut s = String::new();
    ///     f.read_to_string(&mut s).unwrap();
    ///     assert_eq!(s, "std");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        // If fstat fails (it cannot on an open descriptor), treat the file
        // as a stream: the cautious path (cancellable, owned buffers).
        let stream = fsys::is_stream(file.as_fd()).unwrap_or(true);
        File::from_parts(OwnedFd::from(file), stream)
    }

    /// Unwraps into a `std::fs::File` (same descriptor, same position).
    ///
    /// ```
    /// use std::io::{Read, Seek, SeekFrom};
    /// weft::run(|_env| {
    ///     let path = std::env::temp_dir().join(format!("weft-doc-intostd-{}", std::process::id()));
    ///     weft::fs::write(&path, b"position").unwrap();
    ///     let mut f = weft::fs::File::open(&path).unwrap();
    ///     f.seek(SeekFrom::Start(3)).unwrap();
    ///     let mut std_file = f.into_std();
    ///     let mut s = String::new();
    ///     std_file.read_to_string(&mut s).unwrap();
    ///     assert_eq!(s, "ition");
    ///     weft::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn into_std(self) -> std::fs::File {
        std::fs::File::from(self.src.into_fd())
    }
}

impl Read for &File {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::file_read(&self.src, &mut [IoSliceMut::new(buf)], None)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        ops::file_read(&self.src, bufs, None)
    }
}

impl Write for &File {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        ops::file_write(&self.src, &[IoSlice::new(buf)], None)
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        ops::file_write(&self.src, bufs, None)
    }

    /// Nothing to do: `File` keeps no buffer of its own (use
    /// [`File::sync_all`] to reach the device).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        ops::file_seek(&self.src, pos)
    }
}

impl Read for File {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for File {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}

/// std's positional-I/O trait, so code generic over it takes a weft
/// `File` (the inherent methods of the same names are the same calls).
impl std::os::unix::fs::FileExt for File {
    #[track_caller]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        File::read_at(self, buf, offset)
    }

    #[track_caller]
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        File::write_at(self, buf, offset)
    }
}

impl From<std::fs::File> for File {
    fn from(f: std::fs::File) -> File {
        File::from_std(f)
    }
}

impl From<File> for OwnedFd {
    fn from(f: File) -> OwnedFd {
        f.src.into_fd()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.src.as_fd()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.src.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

/// How to open a file: std's options, with the same meaning and checks.
/// Also implements `std::os::unix::fs::OpenOptionsExt` (`mode`,
/// `custom_flags`).
///
/// ```
/// use std::io::Write;
/// use weft::fs::OpenOptions;
/// weft::run(|_env| {
///     let path = std::env::temp_dir().join(format!("weft-doc-openopts-{}", std::process::id()));
///     let mut log = OpenOptions::new().append(true).create(true).open(&path).unwrap();
///     log.write_all(b"one\n").unwrap();
///     let mut log = OpenOptions::new().append(true).open(&path).unwrap();
///     log.write_all(b"two\n").unwrap();
///     assert_eq!(weft::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
///     weft::fs::remove_file(&path).unwrap();
/// });
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
    custom_flags: i32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl OpenOptions {
    /// All options off; mode `0o666` (before the umask).
    ///
    /// ```
    /// let mut opts = weft::fs::OpenOptions::new();
    /// opts.read(true);
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
            custom_flags: 0,
        }
    }

    /// Open for reading.
    ///
    /// ```
    /// let mut o = weft::fs::OpenOptions::new();
    /// o.read(true);
    /// ```
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Open for writing.
    ///
    /// ```
    /// let mut o = weft::fs::OpenOptions::new();
    /// o.write(true);
    /// ```
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Open for appending: every write goes to the end (implies writing).
    ///
    /// ```
    /// let mut o = weft::fs::OpenOptions::new();
    /// o.append(true);
    /// ```
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// Truncate an existing file to length 0 (needs `write`).
    ///
    /// ```
    /// let mut o = weft::fs::OpenOptions::new();
    /// o.write(true).truncate(true);
    /// ```
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    ///
    /// ```
    /// let mut o = weft::fs::OpenOptions::new();
    /// o.write(true).create(true);
    /// ```
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (also
    /// if it is a symlink, dangling or not). Overrides `create` and
    /// `truncate`.
    ///
    /// ```
    /// let mut o = weft::fs::OpenOptions::new();
    /// o.write(true).create_new(true);
    /// ```
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// Opens `path` with these options (ambient authority, like std).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     // Truncating needs write access, as in std.
    ///     let err = weft::fs::OpenOptions::new().read(true).truncate(true).open("x").unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// });
    /// ```
    #[track_caller]
    pub fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        Dir::AMBIENT.open_with(path, self)
    }

    /// The `open(2)` flags and mode these options stand for, checked as
    /// std checks them.
    pub(crate) fn to_flags(&self) -> io::Result<(libc::c_int, u32)> {
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => {
                return Err(invalid("open options need read, write or append access"))
            }
        };
        if !self.write && !self.append && (self.truncate || self.create || self.create_new) {
            return Err(invalid(
                "creating or truncating a file needs write or append access",
            ));
        }
        if self.append && self.truncate && !self.create_new {
            return Err(invalid("a file cannot be truncated and appended to"));
        }
        let creation = if self.create_new {
            libc::O_CREAT | libc::O_EXCL
        } else {
            (if self.create { libc::O_CREAT } else { 0 })
                | (if self.truncate { libc::O_TRUNC } else { 0 })
        };
        let custom = self.custom_flags & !libc::O_ACCMODE;
        Ok((libc::O_CLOEXEC | access | creation | custom, self.mode))
    }
}

impl std::os::unix::fs::OpenOptionsExt for OpenOptions {
    fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::ffi::CString;
    use std::os::fd::FromRawFd;

    /// A fiber cancelled while a pool thread is blocked reading into its
    /// borrowed stack buffer keeps waiting (uninterruptibly) until the read
    /// lands; the read's bytes are then the caller's (not lost), and the
    /// fiber unwinds at its next cancellation point. A FIFO stands in for
    /// a slow disk: it is opened as if it were a regular file, so the read
    /// takes the lent path, and it blocks until this test writes to it,
    /// after cancelling. (Run under valgrind to check the buffer is never
    /// written after the fiber's stack frame is gone.)
    #[test]
    fn cancelled_lent_read_waits_for_the_pool_and_keeps_its_bytes() {
        let dir = std::env::temp_dir().join(format!("weft-lent-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let c = CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo and open take a NUL-terminated path. Opening a
        // FIFO read-write does not wait for a peer.
        let (reader_fd, writer_fd) = unsafe {
            assert_eq!(libc::mkfifo(c.as_ptr(), 0o600), 0);
            let r = libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            let w = libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            assert!(r >= 0 && w >= 0);
            (OwnedFd::from_raw_fd(r), OwnedFd::from_raw_fd(w))
        };
        // `stream: false`: pretend it is a regular file.
        let file = File::from_parts(reader_fd, false);
        let (go, wait_go) = std::sync::mpsc::channel::<()>();
        let feeder = std::thread::spawn(move || {
            wait_go.recv().unwrap();
            let mut w = std::fs::File::from(writer_fd);
            w.write_all(b"late data").unwrap();
        });
        let returned = Cell::new(None::<usize>);
        let after_next_point = Cell::new(false);
        // What the fiber's buffer held when the fiber unwound.
        let at_unwind = std::cell::RefCell::new(None::<Vec<u8>>);
        // The pool path is the posix backend's (io_uring reads natively).
        let rt = crate::Runtime::builder()
            .backend(crate::BackendKind::Posix)
            .build()
            .unwrap();
        rt.run(|_env| {
            struct Snapshot<'a> {
                buf: *const [u8; 64],
                out: &'a std::cell::RefCell<Option<Vec<u8>>>,
            }
            impl Drop for Snapshot<'_> {
                fn drop(&mut self) {
                    // SAFETY: `buf` points at the fiber's stack buffer,
                    // declared before this guard and so dropped after it;
                    // the read that borrowed it has ended.
                    let bytes = unsafe { (&*self.buf)[..9].to_vec() };
                    *self.out.borrow_mut() = Some(bytes);
                }
            }
            let r = crate::Switch::run(|sw| {
                sw.fork(|| {
                    let mut buf = [0u8; 64];
                    let _snap = Snapshot {
                        buf: &buf,
                        out: &at_unwind,
                    };
                    returned.set((&file).read(&mut buf).ok());
                    // The cancellation comes at the next cancellation point.
                    crate::fiber::yield_now();
                    after_next_point.set(true);
                });
                // The reader is now suspended in the pool read (fork ran it
                // until it blocked). Cancel it, then let the data come.
                sw.fail(crate::Error::msg("cancelled mid-read"));
                go.send(()).unwrap();
                Ok(())
            });
            assert_eq!(r.unwrap_err().to_string(), "cancelled mid-read");
        });
        feeder.join().unwrap();
        // The fiber let go of its buffer only after the pool thread had
        // read into it; the read returned its count, and the fiber unwound
        // at the yield after it.
        assert_eq!(at_unwind.borrow().as_deref(), Some(&b"late data"[..]));
        assert_eq!(
            returned.get(),
            Some(9),
            "the finished read was not returned"
        );
        assert!(
            !after_next_point.get(),
            "the cancellation was never delivered"
        );
        // The read did complete: the FIFO holds nothing any more.
        let mut probe = [0u8; 16];
        // SAFETY: a non-blocking read into a valid buffer.
        let n = unsafe {
            let fd = file.as_raw_fd();
            libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
            libc::read(fd, probe.as_mut_ptr().cast(), probe.len())
        };
        assert_eq!(n, -1, "the data was consumed by the cancelled read");
        drop(file);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn flags(o: &OpenOptions) -> libc::c_int {
        o.to_flags().unwrap().0 & !libc::O_CLOEXEC
    }

    #[test]
    fn flags_follow_std_rules() {
        assert_eq!(flags(OpenOptions::new().read(true)), libc::O_RDONLY);
        assert_eq!(
            flags(OpenOptions::new().write(true).create(true).truncate(true)),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC
        );
        assert_eq!(
            flags(OpenOptions::new().read(true).append(true)),
            libc::O_RDWR | libc::O_APPEND
        );
        assert_eq!(
            flags(
                OpenOptions::new()
                    .write(true)
                    .create(true)
                    .create_new(true)
                    .truncate(true)
            ),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL
        );
        assert!(OpenOptions::new().to_flags().is_err());
        assert!(OpenOptions::new()
            .read(true)
            .create(true)
            .to_flags()
            .is_err());
        assert!(OpenOptions::new()
            .append(true)
            .truncate(true)
            .to_flags()
            .is_err());
        let mut o = OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::custom_flags(
            o.read(true),
            libc::O_NOFOLLOW | libc::O_WRONLY,
        );
        // The access mode bits of custom flags are ignored, as in std.
        assert_eq!(flags(&o), libc::O_RDONLY | libc::O_NOFOLLOW);
    }
}
