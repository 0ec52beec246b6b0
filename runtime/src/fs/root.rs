//! What a [`Dir`](super::Dir) stands on: the whole file system (ambient
//! authority, paths resolved by the kernel as usual) or a directory
//! descriptor that paths must stay beneath. Every operation here blocks;
//! `Dir` runs them on the blocking pool.

use std::ffi::CStr;
use std::fs::Metadata;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::read_dir::DirEntry;
use super::resolve::{self, c_path, Resolver};
use crate::backend::ops;
use crate::backend::ops::fsys::{self, Kind};

#[derive(Clone)]
pub(crate) enum Root {
    /// The whole file system, relative paths from the current directory.
    Ambient,
    /// Everything beneath this directory, and nothing else.
    Beneath(Arc<OwnedFd>, Resolver),
}

impl Root {
    /// Opens `path` with `flags` (including `O_CLOEXEC`).
    pub(crate) fn open(&self, path: &Path, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
        match self {
            Root::Ambient => fsys::openat(fsys::CWD, &c_path(path)?, flags, mode),
            Root::Beneath(fd, resolver) => {
                resolve::open_beneath(fd.as_fd(), path, flags, mode, *resolver)
            }
        }
    }

    /// [`Root::open`] in the fiber, through the backend's native
    /// `openat`/`openat2` (io_uring). `None` where that is not available
    /// (another backend, a missing opcode, the userspace resolver, a
    /// kernel without `openat2`): the caller runs `open` on the pool.
    #[track_caller]
    pub(crate) fn open_native(
        &self,
        path: &Path,
        flags: libc::c_int,
        mode: u32,
    ) -> Option<io::Result<OwnedFd>> {
        match self {
            Root::Ambient => match c_path(path) {
                Ok(c) => ops::openat_native(fsys::CWD, &c, flags, mode),
                Err(e) => Some(Err(e)),
            },
            Root::Beneath(fd, resolver) => {
                resolve::open_beneath_native(fd.as_fd(), path, flags, mode, *resolver)
            }
        }
    }

    /// [`Root::metadata`] in the fiber where the backend can (see
    /// [`Root::open_native`]); `None` otherwise.
    #[track_caller]
    pub(crate) fn metadata_native(
        &self,
        path: &Path,
        follow: bool,
    ) -> Option<io::Result<Metadata>> {
        match self {
            Root::Ambient => match c_path(path) {
                Ok(c) => ops::stat_path_native(&c, follow),
                Err(e) => Some(Err(e)),
            },
            Root::Beneath(..) => {
                let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
                let fd = self.open_native(path, libc::O_PATH | libc::O_CLOEXEC | nofollow, 0)?;
                // fstat of an open (O_PATH) descriptor: the inode is in
                // memory, no disk I/O.
                Some(fd.and_then(|fd| fsys::metadata(fd.as_fd())))
            }
        }
    }

    /// Calls `f` with a directory and the name of `path`'s final entry in
    /// it, for the `*at` calls that act on an entry (the final component is
    /// never followed by them). See `resolve::split_parent` for
    /// `keep_slash`.
    pub(crate) fn at_parent<R>(
        &self,
        path: &Path,
        keep_slash: bool,
        f: impl FnOnce(RawFd, &CStr) -> io::Result<R>,
    ) -> io::Result<R> {
        match self {
            Root::Ambient => f(fsys::CWD, &c_path(path)?),
            Root::Beneath(fd, resolver) => {
                let Some((parent, name)) = resolve::split_parent(path, keep_slash)? else {
                    // `a/..`, `.`: no entry to act on. If the path leads out
                    // of the directory, say that instead.
                    resolve::open_beneath(
                        fd.as_fd(),
                        path,
                        libc::O_PATH | libc::O_CLOEXEC,
                        0,
                        *resolver,
                    )?;
                    return Err(resolve::names_no_entry(path));
                };
                let name = c_path(Path::new(std::ffi::OsStr::from_bytes(name)))?;
                match resolve::open_parent(fd.as_fd(), path, parent, *resolver)? {
                    None => f(fd.as_raw_fd(), &name),
                    Some(dir) => f(dir.as_raw_fd(), &name),
                }
            }
        }
    }

    /// Metadata of `path`; `follow`: of a final symlink's target, not the
    /// link.
    pub(crate) fn metadata(&self, path: &Path, follow: bool) -> io::Result<Metadata> {
        match self {
            Root::Ambient => {
                c_path(path)?;
                fsys::stat_path(path, follow)
            }
            Root::Beneath(..) => {
                let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
                let fd = self.open(path, libc::O_PATH | libc::O_CLOEXEC | nofollow, 0)?;
                fsys::metadata(fd.as_fd())
            }
        }
    }

    /// `Ok(false)` if `path` does not exist (or a symlink on it dangles).
    pub(crate) fn try_exists(&self, path: &Path) -> io::Result<bool> {
        match self.metadata(path, true) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.metadata(path, true).is_ok_and(|m| m.is_dir())
    }

    pub(crate) fn create_dir(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.at_parent(path, true, |dir, name| fsys::mkdirat(dir, name, mode))
    }

    /// std's `create_dir_all`: creates what is missing, fine if it all
    /// exists as directories.
    pub(crate) fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let bytes = path.as_os_str().as_bytes();
        if bytes.is_empty() {
            return Ok(());
        }
        let (parent, last) = lexical_split(bytes);
        let parent = Path::new(std::ffi::OsStr::from_bytes(parent));
        if last.is_empty() || last == b"." || last == b".." {
            // "/" or a path ending in a dot: make sure what it leads to
            // exists; there is no entry of its own to create.
            if !parent.as_os_str().is_empty() {
                self.create_dir_all(parent)?;
            }
            return if self.is_dir(path) {
                Ok(())
            } else {
                self.metadata(path, true)
                    .and_then(|_| Err(io::Error::from_raw_os_error(libc::ENOTDIR)))
            };
        }
        match self.create_dir(path, 0o777) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !parent.as_os_str().is_empty() => {}
            Err(_) if self.is_dir(path) => return Ok(()),
            Err(e) => return Err(e),
        }
        self.create_dir_all(parent)?;
        match self.create_dir(path, 0o777) {
            Ok(()) => Ok(()),
            Err(_) if self.is_dir(path) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Lists `path` with each entry's (symlink) metadata.
    pub(crate) fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let fd = self.open(
            path,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )?;
        let mut entries = Vec::new();
        fsys::read_dir(fd, |dir, entry| {
            if let Some(meta) = fsys::entry_metadata(dir, &entry.name)? {
                let name = fsys::os_string(entry.name);
                entries.push(DirEntry::new(path.join(&name), name, meta));
            }
            Ok(())
        })?;
        Ok(entries)
    }

    /// std's `remove_dir_all`: removes a directory and everything in it,
    /// never following a symlink (a symlink at `path` is itself removed).
    pub(crate) fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.at_parent(path, false, |dir, name| match fsys::kind_at(dir, name)? {
            Kind::Dir => remove_tree(dir, name),
            Kind::Symlink => fsys::unlinkat(dir, name, 0),
            _ => Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
        })
    }

    /// The target of the symlink `path`.
    pub(crate) fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        self.at_parent(path, false, |dir, name| {
            fsys::readlinkat(dir, name)
                .map(|b| PathBuf::from(std::ffi::OsString::from(std::ffi::OsStr::from_bytes(&b))))
        })
    }

    /// std's `copy`: the contents and permission bits of the regular file
    /// `from` to `to` (created or truncated). Returns the bytes copied.
    pub(crate) fn copy(&self, from: &Path, to_root: &Root, to: &Path) -> io::Result<u64> {
        let src = self.open(from, libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
        let meta = fsys::metadata(src.as_fd())?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot copy {from:?}: it is not a regular file"),
            ));
        }
        let mode = meta.permissions().mode();
        let dst = to_root.open(
            to,
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            mode,
        )?;
        if fsys::kind(dst.as_fd())? == Kind::Regular {
            fsys::fchmod(dst.as_fd(), mode)?;
        }
        fsys::copy(src.as_fd(), dst.as_fd())
    }
}

/// Splits at the last `/` (trailing slashes ignored): (parent, last).
fn lexical_split(bytes: &[u8]) -> (&[u8], &[u8]) {
    let end = bytes.iter().rposition(|b| *b != b'/').map_or(0, |i| i + 1);
    let trimmed = &bytes[..end];
    match trimmed.iter().rposition(|b| *b == b'/') {
        Some(i) => {
            let parent = &trimmed[..i];
            // Keep a lone "/" as the parent of "/x".
            let parent = if parent.is_empty() {
                &bytes[..1]
            } else {
                parent
            };
            (parent, &trimmed[i + 1..])
        }
        None => (&[], trimmed),
    }
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r,
    }
}

/// Removes the directory `name` in `dir` and everything in it. Each step
/// is relative to a descriptor and never follows a symlink, so a tree
/// changing meanwhile cannot redirect the removal elsewhere.
fn remove_tree(dir: RawFd, name: &CStr) -> io::Result<()> {
    let fd = match fsys::openat(
        dir,
        name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
    ) {
        Ok(fd) => fd,
        // Replaced by a symlink or file meanwhile: remove that instead.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
            return ignore_missing(fsys::unlinkat(dir, name, 0));
        }
        Err(e) => return Err(e),
    };
    fsys::read_dir(fd, |inner, entry| {
        let is_dir = match entry.d_type {
            libc::DT_DIR => true,
            libc::DT_UNKNOWN => match fsys::kind_at(inner, &entry.name) {
                Ok(k) => k == Kind::Dir,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
                Err(e) => return Err(e),
            },
            _ => false,
        };
        if is_dir {
            remove_tree(inner, &entry.name)
        } else {
            ignore_missing(fsys::unlinkat(inner, &entry.name, 0))
        }
    })?;
    ignore_missing(fsys::unlinkat(dir, name, libc::AT_REMOVEDIR))
}

#[cfg(test)]
mod tests {
    use super::lexical_split;

    #[test]
    fn lexical_split_cases() {
        assert_eq!(lexical_split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(lexical_split(b"a/b/"), (&b"a"[..], &b"b"[..]));
        assert_eq!(lexical_split(b"a"), (&b""[..], &b"a"[..]));
        assert_eq!(lexical_split(b"/a"), (&b"/"[..], &b"a"[..]));
        assert_eq!(lexical_split(b"/"), (&b""[..], &b""[..]));
    }
}
