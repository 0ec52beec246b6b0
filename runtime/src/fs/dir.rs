//! [`Dir`]: a directory capability. Paths given to its methods are
//! resolved beneath it and cannot reach anything outside.

use std::fmt;
use std::fs::Metadata;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::annotate;
use super::fifo::WriterWatch;
use super::file::{File, OpenOptions};
use super::read_dir::ReadDir;
use super::resolve::Resolver;
use super::root::Root;
use crate::backend::ops::{self, fsys};

/// A directory handle that grants access to what is beneath it, and
/// nothing else (a capability, like Eio's `Path` or cap-std's `Dir`).
///
/// A sandboxed `Dir` holds an `O_PATH | O_DIRECTORY` descriptor. Its
/// methods take **relative** paths and refuse, with an error of kind
/// `PermissionDenied` carrying an [`EscapeError`](super::EscapeError):
/// absolute paths, `..` components that climb above the directory, and
/// symlinks whose targets lead outside (absolute targets, or relative ones
/// that climb out), also when a symlink is swapped in while the call runs.
/// `..` and symlinks that stay inside work as usual. A path with a NUL
/// byte is `InvalidInput`. See [`Resolver`] for how resolution is done.
///
/// Operations on an entry (`remove_file`, `create_dir`, `rename`,
/// `symlink`, ...) resolve the parent directory beneath the `Dir` and act
/// on the final name there, never following a symlink in that position.
///
/// [`Env::fs`](crate::Env::fs) is the one *ambient* `Dir`: the whole file
/// system, absolute paths allowed and relative ones taken from the current
/// directory, exactly like `std::fs` (and the free functions of
/// [`weft::fs`](super)). [`Dir::open_dir`] on it, as on any `Dir`, returns
/// a sandboxed `Dir`. [`Env::cwd`](crate::Env::cwd) is the current
/// directory, sandboxed.
///
/// Every call suspends only the calling fiber and is a cancellation
/// point. Most run on the blocking pool (a cancelled fiber unwinds at once
/// and the call finishes on the pool), except [`Dir::write`], which lends
/// its buffer and so delivers the cancellation after the write. On the
/// io_uring backend, opening files and metadata are io_uring operations
/// (`OPENAT`, `OPENAT2` with the same `RESOLVE_BENEATH` sandbox, `STATX`)
/// where the kernel has them; a cancelled open that completes anyway has
/// its descriptor closed.
///
/// ```
/// use weft::fs::Dir;
/// weft::run(|_env| {
///     let base = std::env::temp_dir().join(format!("weft-doc-dir-{}", std::process::id()));
///     weft::fs::create_dir_all(&base).unwrap();
///     let dir = Dir::open_ambient(&base).unwrap();
///     dir.create_dir_all("a/b").unwrap();
///     dir.write("a/b/note.txt", "inside").unwrap();
///     assert_eq!(dir.read_to_string("a/b/../b/note.txt").unwrap(), "inside");
///
///     let err = dir.read("../outside.txt").unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
///     assert!(dir.metadata("/etc/passwd").is_err());
///     weft::fs::remove_dir_all(&base).unwrap();
/// });
/// ```
#[derive(Clone)]
pub struct Dir {
    root: Root,
}

impl Dir {
    /// The whole file system, as `std::fs` sees it.
    pub(crate) const AMBIENT: Dir = Dir {
        root: Root::Ambient,
    };

    /// Opens the directory at `path` (ambient authority: any path, like
    /// `std::fs`) as a sandboxed `Dir`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let tmp = weft::fs::Dir::open_ambient(std::env::temp_dir()).unwrap();
    ///     assert!(tmp.is_sandboxed());
    /// });
    /// ```
    #[track_caller]
    pub fn open_ambient(path: impl AsRef<Path>) -> io::Result<Dir> {
        Dir::AMBIENT.open_dir(path)
    }

    /// This `Dir` with paths resolved by `resolver` (inherited by the
    /// `Dir`s [`Dir::open_dir`] returns). No effect on the ambient `Dir`.
    ///
    /// ```
    /// use weft::fs::{Dir, Resolver};
    /// weft::run(|_env| {
    ///     let d = Dir::open_ambient("/").unwrap().with_resolver(Resolver::Userspace);
    ///     assert!(d.metadata("etc").unwrap().is_dir());
    ///     assert_eq!(d.resolver(), Resolver::Userspace);
    /// });
    /// ```
    pub fn with_resolver(self, resolver: Resolver) -> Dir {
        match self.root {
            Root::Ambient => self,
            Root::Beneath(fd, _) => Dir {
                root: Root::Beneath(fd, resolver),
            },
        }
    }

    /// How this `Dir` resolves paths (`Auto` for the ambient one).
    ///
    /// ```
    /// weft::run(|env| assert_eq!(env.fs().resolver(), weft::fs::Resolver::Auto));
    /// ```
    pub fn resolver(&self) -> Resolver {
        match &self.root {
            Root::Ambient => Resolver::Auto,
            Root::Beneath(_, r) => *r,
        }
    }

    /// Whether paths are confined beneath this directory (every `Dir` but
    /// the ambient one from [`Env::fs`](crate::Env::fs)).
    ///
    /// ```
    /// weft::run(|env| {
    ///     assert!(!env.fs().is_sandboxed());
    ///     assert!(env.cwd().unwrap().is_sandboxed());
    /// });
    /// ```
    pub fn is_sandboxed(&self) -> bool {
        matches!(self.root, Root::Beneath(..))
    }

    /// Runs a blocking operation on `path` on the pool, annotating errors
    /// with `op` and the path.
    #[track_caller]
    fn run<T: Send + 'static>(
        &self,
        op: &'static str,
        path: &Path,
        f: impl FnOnce(&Root, &Path) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let root = self.root.clone();
        let path = path.to_path_buf();
        ops::offload(move || f(&root, &path).map_err(|e| annotate(op, &path, None, e)))
    }

    /// Like `run` for operations on two paths, the second under `to_dir`.
    #[track_caller]
    fn run2<T: Send + 'static>(
        &self,
        op: &'static str,
        from: &Path,
        to_dir: &Dir,
        to: &Path,
        f: impl FnOnce(&Root, &Path, &Root, &Path) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let root = self.root.clone();
        let to_root = to_dir.root.clone();
        let from = from.to_path_buf();
        let to = to.to_path_buf();
        ops::offload(move || {
            f(&root, &from, &to_root, &to).map_err(|e| annotate(op, &from, Some(&to), e))
        })
    }

    /// Opens a file for reading.
    ///
    /// ```
    /// use std::io::Read;
    /// weft::run(|env| {
    ///     let root = env.fs();
    ///     let mut f = root.open("/etc/hostname").or_else(|_| root.open("/etc/passwd")).unwrap();
    ///     let mut s = String::new();
    ///     f.read_to_string(&mut s).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        self.open_with(path, OpenOptions::new().read(true))
    }

    /// Opens a file for writing, creating or truncating it.
    ///
    /// ```
    /// use std::io::Write;
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dircreate-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.create("new.txt").unwrap().write_all(b"hi").unwrap();
    ///     assert_eq!(dir.read("new.txt").unwrap(), b"hi");
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn create(&self, path: impl AsRef<Path>) -> io::Result<File> {
        self.open_with(
            path,
            OpenOptions::new().write(true).create(true).truncate(true),
        )
    }

    /// Opens a file with explicit [`OpenOptions`].
    ///
    /// ```
    /// use std::io::Write;
    /// use weft::fs::OpenOptions;
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-openwith-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     let mut f = dir.open_with("log", OpenOptions::new().append(true).create(true)).unwrap();
    ///     f.write_all(b"line\n").unwrap();
    ///     let err = dir.open_with("log", OpenOptions::new().write(true).create_new(true)).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn open_with(&self, path: impl AsRef<Path>, options: &OpenOptions) -> io::Result<File> {
        let (flags, mode) = options.to_flags()?;
        let path = path.as_ref();
        let mut held = None;
        if let Some(r) = self.root.open_native(path, flags, mode) {
            match fifo_open_to_redo(r, flags) {
                Ok(Some(held_fd)) => held = held_fd,
                Ok(None) => {}
                Err(r) => {
                    let opened = r.and_then(|fd| Ok((fsys::is_stream(fd.as_fd())?, fd)));
                    let (stream, fd) = opened.map_err(|e| annotate("open", path, None, e))?;
                    return Ok(File::from_parts(fd, stream));
                }
            }
        }
        // Watches the held read end for a writer that comes and goes before
        // the redone open waits (see `fifo.rs`); dropped after the open.
        let watch = held.map(WriterWatch::start);
        let opener = watch.as_ref().map(WriterWatch::opener);
        let (fd, stream) = self.run("open", path, move |root, path| {
            let fd = root.open(path, flags, mode);
            if let Some(o) = &opener {
                o.opened();
            }
            let fd = fd?;
            let stream = fsys::is_stream(fd.as_fd())?;
            Ok((fd, stream))
        })?;
        drop(watch);
        Ok(File::from_parts(fd, stream))
    }

    /// Opens the directory at `path` as a new sandboxed `Dir` (narrowing:
    /// the new `Dir` cannot reach above `path`).
    ///
    /// ```
    /// weft::run(|env| {
    ///     let etc = env.fs().open_dir("/etc").unwrap();
    ///     assert!(etc.metadata(".").unwrap().is_dir());
    ///     assert!(etc.metadata("../etc").is_err()); // cannot climb out of /etc
    /// });
    /// ```
    #[track_caller]
    pub fn open_dir(&self, path: impl AsRef<Path>) -> io::Result<Dir> {
        let resolver = match &self.root {
            Root::Ambient => Resolver::process_default(),
            Root::Beneath(_, r) => *r,
        };
        let fd: OwnedFd = self.run("open_dir", path.as_ref(), |root, path| {
            root.open(path, libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC, 0)
        })?;
        Ok(Dir {
            root: Root::Beneath(Arc::new(fd), resolver),
        })
    }

    /// Reads a whole file.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let passwd = env.fs().read("/etc/passwd").unwrap();
    ///     assert!(!passwd.is_empty());
    /// });
    /// ```
    #[track_caller]
    pub fn read(&self, path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        self.run("read", path.as_ref(), |root, path| {
            let fd = root.open(path, libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
            let mut out = Vec::new();
            fsys::read_to_end(fd.as_fd(), &mut out)?;
            Ok(out)
        })
    }

    /// Reads a whole file as UTF-8 (`InvalidData` if it is not).
    ///
    /// ```
    /// weft::run(|env| {
    ///     let passwd = env.fs().read_to_string("/etc/passwd").unwrap();
    ///     assert!(passwd.contains("root"));
    /// });
    /// ```
    #[track_caller]
    pub fn read_to_string(&self, path: impl AsRef<Path>) -> io::Result<String> {
        let path = path.as_ref();
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{path:?} is not valid UTF-8"),
            )
        })
    }

    /// Writes `contents` to a file, creating or truncating it. The buffer
    /// is lent to the pool thread: a cancelled fiber waits for the write
    /// to finish, then unwinds.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirwrite-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.write("x", [1, 2, 3]).unwrap();
    ///     assert_eq!(dir.read("x").unwrap(), [1, 2, 3]);
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn write(&self, path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
        let path = path.as_ref();
        let data = contents.as_ref();
        let root = &self.root;
        ops::offload_lent(move || {
            let fd = root.open(
                path,
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
                0o666,
            )?;
            fsys::write_all(fd.as_fd(), data)
        })
        .map_err(|e| annotate("write", path, None, e))
    }

    /// Metadata of `path`, following a final symlink (within the `Dir`).
    ///
    /// ```
    /// weft::run(|env| {
    ///     assert!(env.fs().metadata("/").unwrap().is_dir());
    /// });
    /// ```
    #[track_caller]
    pub fn metadata(&self, path: impl AsRef<Path>) -> io::Result<Metadata> {
        let path = path.as_ref();
        if let Some(r) = self.root.metadata_native(path, true) {
            return r.map_err(|e| annotate("metadata", path, None, e));
        }
        self.run("metadata", path, |root, path| root.metadata(path, true))
    }

    /// Metadata of `path` itself (a final symlink is not followed).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirlmeta-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.symlink("missing", "dangling").unwrap();
    ///     assert!(dir.symlink_metadata("dangling").unwrap().file_type().is_symlink());
    ///     assert!(dir.metadata("dangling").is_err());
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn symlink_metadata(&self, path: impl AsRef<Path>) -> io::Result<Metadata> {
        let path = path.as_ref();
        if let Some(r) = self.root.metadata_native(path, false) {
            return r.map_err(|e| annotate("symlink_metadata", path, None, e));
        }
        self.run("symlink_metadata", path, |root, path| {
            root.metadata(path, false)
        })
    }

    /// Whether `path` exists: `Ok(false)` if it does not (or a symlink on
    /// it dangles), an error if that cannot be told (or it is outside).
    ///
    /// ```
    /// weft::run(|env| {
    ///     assert!(env.fs().try_exists("/").unwrap());
    ///     assert!(!env.fs().try_exists("/no/such/thing").unwrap());
    /// });
    /// ```
    #[track_caller]
    pub fn try_exists(&self, path: impl AsRef<Path>) -> io::Result<bool> {
        self.run("try_exists", path.as_ref(), |root, path| {
            root.try_exists(path)
        })
    }

    /// Lists the directory at `path` (`"."` for this one). Entries'
    /// paths are `path` joined with their names.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let etc = env.fs().open_dir("/etc").unwrap();
    ///     let n = etc.read_dir(".").unwrap().count();
    ///     assert!(n > 0);
    /// });
    /// ```
    #[track_caller]
    pub fn read_dir(&self, path: impl AsRef<Path>) -> io::Result<ReadDir> {
        self.run("read_dir", path.as_ref(), |root, path| root.read_dir(path))
            .map(ReadDir::new)
    }

    /// Creates a directory (its parent must exist).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirmkdir-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.create_dir("d").unwrap();
    ///     assert_eq!(dir.create_dir("d").unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn create_dir(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.run("create_dir", path.as_ref(), |root, path| {
            root.create_dir(path, 0o777)
        })
    }

    /// Creates a directory and any missing parents; fine if it exists.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirmkdirall-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.create_dir_all("x/y/z").unwrap();
    ///     dir.create_dir_all("x/y/z").unwrap();
    ///     assert!(dir.metadata("x/y/z").unwrap().is_dir());
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn create_dir_all(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.run("create_dir_all", path.as_ref(), |root, path| {
            root.create_dir_all(path)
        })
    }

    /// Removes a file (or a symlink, never its target).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirrm-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.write("f", "").unwrap();
    ///     dir.remove_file("f").unwrap();
    ///     assert_eq!(dir.remove_file("f").unwrap_err().kind(), std::io::ErrorKind::NotFound);
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn remove_file(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.run("remove_file", path.as_ref(), |root, path| {
            root.at_parent(path, true, |dir, name| fsys::unlinkat(dir, name, 0))
        })
    }

    /// Removes an empty directory.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirrmdir-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.create_dir("empty").unwrap();
    ///     dir.remove_dir("empty").unwrap();
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn remove_dir(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.run("remove_dir", path.as_ref(), |root, path| {
            root.at_parent(path, true, |dir, name| {
                fsys::unlinkat(dir, name, libc::AT_REMOVEDIR)
            })
        })
    }

    /// Removes a directory and everything in it, never following a
    /// symlink (a symlink at `path` is removed itself).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirrmall-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.create_dir_all("t/u/v").unwrap();
    ///     dir.write("t/u/file", "x").unwrap();
    ///     dir.remove_dir_all("t").unwrap();
    ///     assert!(!dir.try_exists("t").unwrap());
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn remove_dir_all(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.run("remove_dir_all", path.as_ref(), |root, path| {
            root.remove_dir_all(path)
        })
    }

    /// Renames `from` (in this `Dir`) to `to` in `to_dir` (which may be
    /// this `Dir`), replacing what is there as `rename(2)` does.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirrename-{}", std::process::id()));
    ///     weft::fs::create_dir_all(base.join("sub")).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     let sub = dir.open_dir("sub").unwrap();
    ///     dir.write("a", "moved").unwrap();
    ///     dir.rename("a", &dir, "b").unwrap();
    ///     dir.rename("b", &sub, "c").unwrap();
    ///     assert_eq!(sub.read_to_string("c").unwrap(), "moved");
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn rename(
        &self,
        from: impl AsRef<Path>,
        to_dir: &Dir,
        to: impl AsRef<Path>,
    ) -> io::Result<()> {
        self.run2(
            "rename",
            from.as_ref(),
            to_dir,
            to.as_ref(),
            |root, from, to_root, to| {
                root.at_parent(from, true, |fd, fname| {
                    to_root.at_parent(to, true, |td, tname| fsys::renameat(fd, fname, td, tname))
                })
            },
        )
    }

    /// Makes `link` (in `to_dir`) a new name for the file `original` (in
    /// this `Dir`). A symlink at `original` is linked itself.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirhardlink-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.write("one", "same").unwrap();
    ///     dir.hard_link("one", &dir, "two").unwrap();
    ///     assert_eq!(dir.read_to_string("two").unwrap(), "same");
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn hard_link(
        &self,
        original: impl AsRef<Path>,
        to_dir: &Dir,
        link: impl AsRef<Path>,
    ) -> io::Result<()> {
        self.run2(
            "hard_link",
            original.as_ref(),
            to_dir,
            link.as_ref(),
            |root, from, to_root, to| {
                root.at_parent(from, false, |fd, fname| {
                    to_root.at_parent(to, false, |td, tname| fsys::linkat(fd, fname, td, tname))
                })
            },
        )
    }

    /// Creates the symlink `link` holding `original` (any text: a target
    /// outside the `Dir` can be stored, but following it through a
    /// sandboxed `Dir` is refused).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirsymlink-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.write("target", "via link").unwrap();
    ///     dir.symlink("target", "link").unwrap();
    ///     assert_eq!(dir.read_to_string("link").unwrap(), "via link");
    ///     dir.symlink("/etc/passwd", "escape").unwrap();
    ///     assert!(dir.read("escape").is_err());
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn symlink(&self, original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
        let original = super::resolve::c_path(original.as_ref())?;
        self.run("symlink", link.as_ref(), move |root, path| {
            root.at_parent(path, false, |dir, name| {
                fsys::symlinkat(&original, dir, name)
            })
        })
    }

    /// The target a symlink holds (as text; not resolved).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dirreadlink-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.symlink("a/b", "l").unwrap();
    ///     assert_eq!(dir.read_link("l").unwrap(), std::path::Path::new("a/b"));
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn read_link(&self, path: impl AsRef<Path>) -> io::Result<PathBuf> {
        self.run("read_link", path.as_ref(), |root, path| {
            root.read_link(path)
        })
    }

    /// Copies the contents and permissions of the file `from` (in this
    /// `Dir`) to `to` in `to_dir`, creating or truncating it. Returns the
    /// number of bytes copied.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let base = std::env::temp_dir().join(format!("weft-doc-dircopy-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&base).unwrap();
    ///     let dir = weft::fs::Dir::open_ambient(&base).unwrap();
    ///     dir.write("src", "12345").unwrap();
    ///     assert_eq!(dir.copy("src", &dir, "dst").unwrap(), 5);
    ///     assert_eq!(dir.read("dst").unwrap(), b"12345");
    ///     weft::fs::remove_dir_all(&base).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn copy(
        &self,
        from: impl AsRef<Path>,
        to_dir: &Dir,
        to: impl AsRef<Path>,
    ) -> io::Result<u64> {
        self.run2(
            "copy",
            from.as_ref(),
            to_dir,
            to.as_ref(),
            |root, from, to_root, to| root.copy(from, to_root, to),
        )
    }
}

impl fmt::Debug for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            Root::Ambient => f.write_str("Dir(<ambient: the whole file system>)"),
            Root::Beneath(fd, r) => f
                .debug_struct("Dir")
                .field("fd", &fd.as_raw_fd())
                .field("resolver", r)
                .finish(),
        }
    }
}

/// io_uring's `OPENAT` first tries without blocking (the kernel adds
/// `O_NONBLOCK` for that try), which skips the wait `open(2)` does on a
/// FIFO: opened for reading with no writer it comes back at once (the
/// first read then sees end-of-file), and for writing with no reader it
/// fails with `ENXIO`. std and tokio wait for the other end, so such an
/// open is redone on the blocking pool, which does wait.
///
/// `Err(result)`: keep the native result. `Ok(Some(held))`: redo, holding
/// `held` (a FIFO's read end) open until the redone open returns, so a
/// writer our first open let through does not meet a FIFO without
/// readers (`EPIPE`); `fifo::WriterWatch` makes sure such a writer, if it
/// also closes before the redone open waits, still ends that wait.
/// `Ok(None)`: redo.
#[allow(clippy::type_complexity)]
fn fifo_open_to_redo(
    r: io::Result<OwnedFd>,
    flags: libc::c_int,
) -> Result<Option<Option<OwnedFd>>, io::Result<OwnedFd>> {
    let waits = flags & (libc::O_NONBLOCK | libc::O_PATH) == 0;
    let access = flags & libc::O_ACCMODE;
    match r {
        Ok(fd) if waits && access == libc::O_RDONLY && is_fifo(&fd) => Ok(Some(Some(fd))),
        Err(e) if waits && access == libc::O_WRONLY && e.raw_os_error() == Some(libc::ENXIO) => {
            Ok(None)
        }
        r => Err(r),
    }
}

fn is_fifo(fd: &OwnedFd) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fsys::metadata(fd.as_fd()).is_ok_and(|m| m.file_type().is_fifo())
}
