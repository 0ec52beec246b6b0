//! Files and directories on fibers.
//!
//! Two ways in:
//!
//! - **Ambient**, for familiarity: the free functions here and [`File`]
//!   mirror `std::fs` (same names, same arguments, std's `Metadata`,
//!   `FileType` and `Permissions`), reaching the whole file system.
//! - **Capabilities**: a [`Dir`] grants access beneath one directory and
//!   refuses anything outside it (`..`, absolute paths, symlinks leading
//!   out). Get them from [`Env::cwd`](crate::Env::cwd),
//!   [`Env::fs`](crate::Env::fs) (the whole file system, explicitly) and
//!   [`Dir::open_dir`], so a function handed a `Dir` can touch only that.
//!
//! Nothing blocks the scheduler thread: reads of cached data are served
//! inline with `RWF_NOWAIT`; on the io_uring backend uncached reads,
//! positional writes, opens, metadata and `fsync` are io_uring operations
//! (batched, no thread hop); everything else runs on the blocking pool
//! while only the calling fiber waits (see [`File`] for reads and writes,
//! and for what cancellation does). Errors of path operations name the
//! operation and the path ([`PathError`]); refused escapes are
//! [`EscapeError`]s.
//!
//! ```
//! use std::io::Write;
//!
//! weft::run(|env| {
//!     let base = std::env::temp_dir().join(format!("weft-doc-fs-{}", std::process::id()));
//!     weft::fs::create_dir_all(&base).unwrap();
//!
//!     // Ambient, like std::fs:
//!     let mut f = weft::fs::File::create(base.join("hello.txt")).unwrap();
//!     f.write_all(b"hello").unwrap();
//!     assert_eq!(weft::fs::read_to_string(base.join("hello.txt")).unwrap(), "hello");
//!
//!     // A capability for `base` and what is below it:
//!     let dir = env.fs().open_dir(&base).unwrap();
//!     assert_eq!(dir.read_to_string("hello.txt").unwrap(), "hello");
//!     assert!(dir.read_to_string("../anything").is_err());
//!
//!     weft::fs::remove_dir_all(&base).unwrap();
//! });
//! ```

mod dir;
mod error;
mod fifo;
mod file;
mod read_dir;
mod resolve;
mod root;

use std::io;
use std::path::{Path, PathBuf};

pub use dir::Dir;
pub use error::{EscapeError, EscapeReason, PathError};
pub use file::{File, OpenOptions};
pub use read_dir::{DirEntry, ReadDir};
pub use resolve::Resolver;
pub use std::fs::{FileType, Metadata, Permissions};

use crate::backend::ops;
use error::annotate;

/// Reads a whole file.
///
/// ```
/// weft::run(|_env| {
///     let path = std::env::temp_dir().join(format!("weft-doc-read-{}", std::process::id()));
///     weft::fs::write(&path, [7, 8, 9]).unwrap();
///     assert_eq!(weft::fs::read(&path).unwrap(), [7, 8, 9]);
///     weft::fs::remove_file(&path).unwrap();
/// });
/// ```
#[track_caller]
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    Dir::AMBIENT.read(path)
}

/// Reads a whole file as UTF-8 (`InvalidData` if it is not).
///
/// ```
/// weft::run(|_env| {
///     let path = std::env::temp_dir().join(format!("weft-doc-readstr-{}", std::process::id()));
///     weft::fs::write(&path, "text").unwrap();
///     assert_eq!(weft::fs::read_to_string(&path).unwrap(), "text");
///     weft::fs::remove_file(&path).unwrap();
/// });
/// ```
#[track_caller]
pub fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    Dir::AMBIENT.read_to_string(path)
}

/// Writes `contents` to a file, creating or truncating it. The buffer is
/// lent to a pool thread: a cancelled fiber waits for the write, then
/// unwinds.
///
/// ```
/// weft::run(|_env| {
///     let path = std::env::temp_dir().join(format!("weft-doc-write-{}", std::process::id()));
///     weft::fs::write(&path, "first").unwrap();
///     weft::fs::write(&path, "second").unwrap();
///     assert_eq!(weft::fs::read_to_string(&path).unwrap(), "second");
///     weft::fs::remove_file(&path).unwrap();
/// });
/// ```
#[track_caller]
pub fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    Dir::AMBIENT.write(path, contents)
}

/// Metadata of `path`, following symlinks.
///
/// ```
/// weft::run(|_env| {
///     assert!(weft::fs::metadata("/").unwrap().is_dir());
/// });
/// ```
#[track_caller]
pub fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    Dir::AMBIENT.metadata(path)
}

/// Metadata of `path` itself (a final symlink is not followed).
///
/// ```
/// weft::run(|_env| {
///     let link = std::env::temp_dir().join(format!("weft-doc-lmeta-{}", std::process::id()));
///     weft::fs::symlink("/", &link).unwrap();
///     assert!(weft::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
///     assert!(weft::fs::metadata(&link).unwrap().is_dir());
///     weft::fs::remove_file(&link).unwrap();
/// });
/// ```
#[track_caller]
pub fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    Dir::AMBIENT.symlink_metadata(path)
}

/// Lists a directory (see [`ReadDir`]).
///
/// ```
/// weft::run(|_env| {
///     assert!(weft::fs::read_dir("/").unwrap().count() > 0);
/// });
/// ```
#[track_caller]
pub fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    Dir::AMBIENT.read_dir(path)
}

/// Creates a directory (its parent must exist).
///
/// ```
/// weft::run(|_env| {
///     let d = std::env::temp_dir().join(format!("weft-doc-mkdir-{}", std::process::id()));
///     weft::fs::create_dir(&d).unwrap();
///     assert!(weft::fs::create_dir(&d).is_err());
///     weft::fs::remove_dir(&d).unwrap();
/// });
/// ```
#[track_caller]
pub fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    Dir::AMBIENT.create_dir(path)
}

/// Creates a directory and any missing parents; fine if it exists.
///
/// ```
/// weft::run(|_env| {
///     let d = std::env::temp_dir().join(format!("weft-doc-mkdirall-{}", std::process::id()));
///     weft::fs::create_dir_all(d.join("a/b/c")).unwrap();
///     assert!(weft::fs::metadata(d.join("a/b/c")).unwrap().is_dir());
///     weft::fs::remove_dir_all(&d).unwrap();
/// });
/// ```
#[track_caller]
pub fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    Dir::AMBIENT.create_dir_all(path)
}

/// Removes a file (a symlink is removed itself).
///
/// ```
/// weft::run(|_env| {
///     let f = std::env::temp_dir().join(format!("weft-doc-rm-{}", std::process::id()));
///     weft::fs::write(&f, "").unwrap();
///     weft::fs::remove_file(&f).unwrap();
///     assert!(!weft::fs::exists(&f).unwrap());
/// });
/// ```
#[track_caller]
pub fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    Dir::AMBIENT.remove_file(path)
}

/// Removes an empty directory.
///
/// ```
/// weft::run(|_env| {
///     let d = std::env::temp_dir().join(format!("weft-doc-rmdir-{}", std::process::id()));
///     weft::fs::create_dir(&d).unwrap();
///     weft::fs::remove_dir(&d).unwrap();
/// });
/// ```
#[track_caller]
pub fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    Dir::AMBIENT.remove_dir(path)
}

/// Removes a directory and everything in it, without following symlinks.
///
/// ```
/// weft::run(|_env| {
///     let d = std::env::temp_dir().join(format!("weft-doc-rmall-{}", std::process::id()));
///     weft::fs::create_dir_all(d.join("x/y")).unwrap();
///     weft::fs::write(d.join("x/file"), "z").unwrap();
///     weft::fs::remove_dir_all(&d).unwrap();
///     assert!(!weft::fs::exists(&d).unwrap());
/// });
/// ```
#[track_caller]
pub fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    Dir::AMBIENT.remove_dir_all(path)
}

/// Renames a file or directory, replacing `to` as `rename(2)` does.
///
/// ```
/// weft::run(|_env| {
///     let a = std::env::temp_dir().join(format!("weft-doc-mv-a-{}", std::process::id()));
///     let b = std::env::temp_dir().join(format!("weft-doc-mv-b-{}", std::process::id()));
///     weft::fs::write(&a, "x").unwrap();
///     weft::fs::rename(&a, &b).unwrap();
///     assert_eq!(weft::fs::read_to_string(&b).unwrap(), "x");
///     weft::fs::remove_file(&b).unwrap();
/// });
/// ```
#[track_caller]
pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    Dir::AMBIENT.rename(from, &Dir::AMBIENT, to)
}

/// Copies the contents and permissions of a file; returns the bytes
/// copied.
///
/// ```
/// weft::run(|_env| {
///     let a = std::env::temp_dir().join(format!("weft-doc-cp-a-{}", std::process::id()));
///     let b = std::env::temp_dir().join(format!("weft-doc-cp-b-{}", std::process::id()));
///     weft::fs::write(&a, "copy me").unwrap();
///     assert_eq!(weft::fs::copy(&a, &b).unwrap(), 7);
///     assert_eq!(weft::fs::read(&b).unwrap(), b"copy me");
///     weft::fs::remove_file(&a).unwrap();
///     weft::fs::remove_file(&b).unwrap();
/// });
/// ```
#[track_caller]
pub fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    Dir::AMBIENT.copy(from, &Dir::AMBIENT, to)
}

/// The absolute path with every symlink, `.` and `..` resolved.
///
/// ```
/// weft::run(|_env| {
///     assert_eq!(weft::fs::canonicalize("/etc/../etc/.").unwrap(), std::path::Path::new("/etc"));
/// });
/// ```
#[track_caller]
pub fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_path_buf();
    ops::offload(move || {
        ops::fsys::canonicalize(&path).map_err(|e| annotate("canonicalize", &path, None, e))
    })
}

/// Makes `link` a new name for the file `original`.
///
/// ```
/// weft::run(|_env| {
///     let a = std::env::temp_dir().join(format!("weft-doc-ln-a-{}", std::process::id()));
///     let b = std::env::temp_dir().join(format!("weft-doc-ln-b-{}", std::process::id()));
///     weft::fs::write(&a, "shared").unwrap();
///     weft::fs::hard_link(&a, &b).unwrap();
///     assert_eq!(weft::fs::read_to_string(&b).unwrap(), "shared");
///     weft::fs::remove_file(&a).unwrap();
///     weft::fs::remove_file(&b).unwrap();
/// });
/// ```
#[track_caller]
pub fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    Dir::AMBIENT.hard_link(original, &Dir::AMBIENT, link)
}

/// Creates the symlink `link` pointing at `original` (Unix
/// `std::os::unix::fs::symlink`).
///
/// ```
/// weft::run(|_env| {
///     let l = std::env::temp_dir().join(format!("weft-doc-symlink-{}", std::process::id()));
///     weft::fs::symlink("/etc", &l).unwrap();
///     assert_eq!(weft::fs::read_link(&l).unwrap(), std::path::Path::new("/etc"));
///     weft::fs::remove_file(&l).unwrap();
/// });
/// ```
#[track_caller]
pub fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    Dir::AMBIENT.symlink(original, link)
}

/// The target a symlink holds.
///
/// ```
/// weft::run(|_env| {
///     let l = std::env::temp_dir().join(format!("weft-doc-readlink-{}", std::process::id()));
///     weft::fs::symlink("some/where", &l).unwrap();
///     assert_eq!(weft::fs::read_link(&l).unwrap(), std::path::Path::new("some/where"));
///     weft::fs::remove_file(&l).unwrap();
/// });
/// ```
#[track_caller]
pub fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    Dir::AMBIENT.read_link(path)
}

/// Changes the permissions of `path` (following symlinks).
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// weft::run(|_env| {
///     let f = std::env::temp_dir().join(format!("weft-doc-chmod-{}", std::process::id()));
///     weft::fs::write(&f, "").unwrap();
///     weft::fs::set_permissions(&f, weft::fs::Permissions::from_mode(0o640)).unwrap();
///     assert_eq!(weft::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o640);
///     weft::fs::remove_file(&f).unwrap();
/// });
/// ```
#[track_caller]
pub fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_path_buf();
    ops::offload(move || {
        ops::fsys::chmod_path(&path, perm).map_err(|e| annotate("set_permissions", &path, None, e))
    })
}

/// Whether `path` exists, like `std::fs::exists`: `Ok(false)` if it does
/// not (or a symlink on it dangles), an error if that cannot be told
/// (say, a permission problem).
///
/// ```
/// weft::run(|_env| {
///     assert!(weft::fs::exists("/").unwrap());
///     assert!(!weft::fs::exists("/no/such/path").unwrap());
/// });
/// ```
#[track_caller]
pub fn exists(path: impl AsRef<Path>) -> io::Result<bool> {
    Dir::AMBIENT.try_exists(path)
}

/// The same as [`exists`], under the name tokio (and `Path::try_exists`)
/// use, for code moving over from there.
///
/// ```
/// weft::run(|_env| assert!(weft::fs::try_exists("/").unwrap()));
/// ```
#[track_caller]
pub fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    Dir::AMBIENT.try_exists(path)
}
