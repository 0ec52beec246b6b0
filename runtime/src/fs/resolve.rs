//! Resolving a relative path beneath a directory descriptor so that
//! nothing outside it is ever reached.
//!
//! Two resolvers, one contract: given a directory `root` and a relative
//! path, open the file the path names, or fail; never open (or act on)
//! anything outside `root`. `..` may climb back up to `root` but not above
//! it, and symlinks are followed only while they stay beneath `root`
//! (absolute targets are refused, as are targets that climb out).
//!
//! - The kernel resolver: `openat2(2)` with `RESOLVE_BENEATH |
//!   RESOLVE_NO_MAGICLINKS` (Linux 5.6+). The kernel checks every step,
//!   atomically with the lookup.
//! - The userspace resolver, used where the kernel lacks `openat2` (or when
//!   forced): it walks one component at a time, each step an `openat`
//!   relative to a descriptor it already holds, with `O_NOFOLLOW`, so no
//!   single step can cross a symlink or leave the directory it starts in.
//!   Symlinks are read with `readlinkat` on the link's own descriptor and
//!   their targets queued as further components. `..` pops the stack of
//!   descriptors it has walked (never an `openat(.., "..")`), so it climbs
//!   exactly the directories it came down, and fails at the root. Symlink
//!   hops are capped at 40 (`ELOOP`), like the kernel's.
//!
//! Because every step of the userspace resolver starts from a descriptor
//! and never follows a link in the kernel, swapping a directory for a
//! symlink while a resolution runs can only make it fail or see the
//! symlink (and judge its target); it cannot redirect an open outside.
//! What neither resolver can prevent is someone *moving* a directory the
//! resolver already holds out of the tree (that needs write access on
//! both sides); `openat2` detects such a move under `..` and retries.
//!
//! Everything here blocks: it runs inside blocking-pool jobs.

use std::collections::VecDeque;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use super::error::{nul_in_path, EscapeError, EscapeReason};
use crate::backend::ops;
use crate::backend::ops::fsys::{self, Kind};

/// The most symlinks one resolution follows (the kernel's MAXSYMLINKS).
const MAX_SYMLINK_HOPS: u32 = 40;
/// How often an `openat2` that reports a concurrent rename (`EAGAIN`) is
/// retried before the userspace resolver takes over.
const KERNEL_RETRIES: u32 = 16;

/// How a sandboxed [`Dir`](super::Dir) resolves paths. Both resolvers
/// refuse the same escapes; the choice only matters for testing and for
/// kernels where `openat2` misbehaves.
///
/// The default is `Auto`, or `Userspace` when the environment variable
/// `WEFT_FS_RESOLVER` is `userspace` when the first `Dir` is made.
///
/// ```
/// use weft::fs::{Dir, Resolver};
/// weft::run(|_env| {
///     let dir = Dir::open_ambient(std::env::temp_dir()).unwrap().with_resolver(Resolver::Userspace);
///     assert_eq!(dir.resolver(), Resolver::Userspace);
///     assert!(dir.metadata("..").is_err());
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolver {
    /// `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` where the
    /// kernel has it (Linux 5.6+), the userspace resolver elsewhere.
    #[default]
    Auto,
    /// Component by component in userspace: `openat` with `O_NOFOLLOW` for
    /// each step, symlinks read and resolved here, `..` tracked so it never
    /// climbs above the directory.
    Userspace,
}

impl Resolver {
    /// The process-wide default: `Userspace` if `WEFT_FS_RESOLVER` is
    /// `userspace`, else `Auto` (read once).
    pub(crate) fn process_default() -> Resolver {
        static DEFAULT: OnceLock<Resolver> = OnceLock::new();
        *DEFAULT.get_or_init(|| match std::env::var("WEFT_FS_RESOLVER") {
            Ok(v) if v.eq_ignore_ascii_case("userspace") => Resolver::Userspace,
            _ => Resolver::Auto,
        })
    }
}

const UNKNOWN: u8 = 0;
const MISSING: u8 = 2;
/// Whether the kernel has `openat2` (learnt from the first `ENOSYS`).
static OPENAT2: AtomicU8 = AtomicU8::new(UNKNOWN);

/// The path's bytes as a C string, or `InvalidInput` if it has a NUL.
pub(crate) fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| nul_in_path(path))
}

fn os_err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// Checks what both resolvers refuse up front: NUL bytes, absolute paths.
fn precheck(path: &Path) -> io::Result<&[u8]> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.contains(&0) {
        return Err(nul_in_path(path));
    }
    if bytes.first() == Some(&b'/') {
        return Err(EscapeError::new(path, EscapeReason::AbsolutePath).into());
    }
    Ok(bytes)
}

/// Opens `path` beneath `root` with `flags` (which include `O_CLOEXEC`).
/// The final component is followed if it is a symlink unless `flags` has
/// `O_NOFOLLOW` (an `O_PATH | O_NOFOLLOW` open returns the link itself).
pub(crate) fn open_beneath(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: libc::c_int,
    mode: u32,
    resolver: Resolver,
) -> io::Result<OwnedFd> {
    let bytes = precheck(path)?;
    open_bytes(root, path, bytes, flags, mode, resolver)
}

fn open_bytes(
    root: BorrowedFd<'_>,
    display: &Path,
    bytes: &[u8],
    flags: libc::c_int,
    mode: u32,
    resolver: Resolver,
) -> io::Result<OwnedFd> {
    if bytes.is_empty() {
        return Err(os_err(libc::ENOENT));
    }
    if resolver == Resolver::Auto && OPENAT2.load(Ordering::Relaxed) != MISSING {
        if let Some(r) = kernel_open(root, display, bytes, flags, mode) {
            return r;
        }
    }
    userspace_open(root, display, bytes, flags, mode)
}

/// `openat2` beneath `root`. `None` when the userspace resolver must take
/// over (no `openat2`, or endless concurrent renames).
fn kernel_open(
    root: BorrowedFd<'_>,
    display: &Path,
    bytes: &[u8],
    flags: libc::c_int,
    mode: u32,
) -> Option<io::Result<OwnedFd>> {
    let c = match CString::new(bytes) {
        Ok(c) => c,
        Err(_) => return Some(Err(nul_in_path(display))),
    };
    for _ in 0..KERNEL_RETRIES {
        match fsys::openat2(root.as_raw_fd(), &c, flags, mode, fsys::RESOLVE_SANDBOX) {
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) => continue,
                Some(libc::ENOSYS) => {
                    OPENAT2.store(MISSING, Ordering::Relaxed);
                    return None;
                }
                Some(libc::EXDEV) => return Some(Err(diagnose(root, display, bytes, flags))),
                _ => return Some(Err(e)),
            },
            ok => return Some(ok),
        }
    }
    None
}

/// [`open_beneath`] in the fiber through the backend's native `openat2`
/// (io_uring `OPENAT2` with the same `RESOLVE_*` flags, so the kernel
/// enforces the same sandbox). `None` where the caller must take the
/// pool path instead: another backend or no `OPENAT2` opcode, the
/// userspace resolver, a kernel without `openat2`, or endless concurrent
/// renames.
#[track_caller]
pub(crate) fn open_beneath_native(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: libc::c_int,
    mode: u32,
    resolver: Resolver,
) -> Option<io::Result<OwnedFd>> {
    if resolver != Resolver::Auto || OPENAT2.load(Ordering::Relaxed) == MISSING {
        return None;
    }
    let bytes = match precheck(path) {
        Ok(b) => b,
        Err(e) => return Some(Err(e)),
    };
    if bytes.is_empty() {
        return Some(Err(os_err(libc::ENOENT)));
    }
    let c = match CString::new(bytes) {
        Ok(c) => c,
        Err(_) => return Some(Err(nul_in_path(path))),
    };
    for _ in 0..KERNEL_RETRIES {
        match ops::openat2_native(root.as_raw_fd(), &c, flags, mode, fsys::RESOLVE_SANDBOX)? {
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) => continue,
                Some(libc::ENOSYS) => {
                    OPENAT2.store(MISSING, Ordering::Relaxed);
                    return None;
                }
                Some(libc::EXDEV) => {
                    // Naming the culprit walks the path with blocking
                    // calls: on the pool (bounded work, so lent).
                    return Some(Err(ops::offload_lent(move || {
                        diagnose(root, path, bytes, flags)
                    })));
                }
                _ => return Some(Err(e)),
            },
            ok => return Some(ok),
        }
    }
    None
}

/// The kernel said the path leaves `root` (`EXDEV`) but not how: walk it
/// again in userspace, opening nothing but `O_PATH` descriptors, to name
/// the culprit.
fn diagnose(root: BorrowedFd<'_>, display: &Path, bytes: &[u8], flags: libc::c_int) -> io::Error {
    let probe = libc::O_PATH | libc::O_CLOEXEC | (flags & libc::O_NOFOLLOW);
    match userspace_open(root, display, bytes, probe, 0) {
        Err(e) if is_escape(&e) => e,
        _ => EscapeError::new(display, EscapeReason::Resolution).into(),
    }
}

pub(crate) fn is_escape(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<EscapeError>())
}

/// One pending step of a userspace resolution.
struct Step {
    name: Vec<u8>,
    /// The symlink (name, target) whose expansion produced this step.
    via: Option<Rc<(PathBuf, PathBuf)>>,
}

fn components(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

/// Whether a path's last component must be a directory: a trailing `/`,
/// or a final `.` (a final `..` is a directory anyway).
fn dir_tail(bytes: &[u8]) -> bool {
    bytes.ends_with(b"/") || bytes == b"." || bytes.ends_with(b"/.")
}

fn escape(display: &Path, via: Option<&Rc<(PathBuf, PathBuf)>>) -> io::Error {
    let reason = match via {
        None => EscapeReason::ParentDir,
        Some(v) => EscapeReason::Symlink {
            link: v.0.clone(),
            target: v.1.clone(),
        },
    };
    EscapeError::new(display, reason).into()
}

/// Queues the components of a symlink's `target` in front of the rest.
fn expand(
    queue: &mut VecDeque<Step>,
    hops: &mut u32,
    display: &Path,
    link: &CStr,
    target: Vec<u8>,
) -> io::Result<()> {
    *hops += 1;
    if *hops > MAX_SYMLINK_HOPS {
        return Err(os_err(libc::ELOOP));
    }
    if target.is_empty() {
        return Err(os_err(libc::ENOENT));
    }
    let link = PathBuf::from(std::ffi::OsStr::from_bytes(link.to_bytes()));
    let target_path = PathBuf::from(std::ffi::OsStr::from_bytes(&target));
    let via = Rc::new((link, target_path));
    if target[0] == b'/' {
        return Err(escape(display, Some(&via)));
    }
    let steps: Vec<Step> = components(&target)
        .map(|c| Step {
            name: c.to_vec(),
            via: Some(via.clone()),
        })
        .collect();
    for s in steps.into_iter().rev() {
        queue.push_front(s);
    }
    Ok(())
}

/// The userspace resolver (see the module docs).
fn userspace_open(
    root: BorrowedFd<'_>,
    display: &Path,
    bytes: &[u8],
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    let tail_is_dir = dir_tail(bytes);
    let mut queue: VecDeque<Step> = components(bytes)
        .map(|c| Step {
            name: c.to_vec(),
            via: None,
        })
        .collect();
    // Directories walked below `root`, innermost last.
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut hops = 0;
    loop {
        let here = stack.last().map_or(root.as_raw_fd(), |f| f.as_raw_fd());
        let Some(step) = queue.pop_front() else {
            // The path named a directory we now hold ("." , "a/..", "a/").
            return fsys::openat(here, c".", flags, mode);
        };
        if step.name == b".." {
            if stack.pop().is_none() {
                return Err(escape(display, step.via.as_ref()));
            }
            continue;
        }
        let name = CString::new(step.name).map_err(|_| nul_in_path(display))?;
        let last = queue.is_empty() && !tail_is_dir;
        if !last {
            // A directory to step into, or a symlink to expand.
            let fd = fsys::openat(
                here,
                &name,
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0,
            )?;
            match fsys::kind(fd.as_fd())? {
                Kind::Dir => stack.push(fd),
                Kind::Symlink => {
                    let target = fsys::readlinkat(fd.as_raw_fd(), c"")?;
                    expand(&mut queue, &mut hops, display, &name, target)?;
                }
                _ => return Err(os_err(libc::ENOTDIR)),
            }
            continue;
        }
        let follow = flags & libc::O_NOFOLLOW == 0;
        if flags & libc::O_PATH != 0 {
            let fd = fsys::openat(
                here,
                &name,
                (flags | libc::O_NOFOLLOW) & !libc::O_DIRECTORY,
                0,
            )?;
            let kind = fsys::kind(fd.as_fd())?;
            if kind == Kind::Symlink && follow {
                let target = fsys::readlinkat(fd.as_raw_fd(), c"")?;
                expand(&mut queue, &mut hops, display, &name, target)?;
                continue;
            }
            if flags & libc::O_DIRECTORY != 0 && kind != Kind::Dir {
                return Err(os_err(libc::ENOTDIR));
            }
            return Ok(fd);
        }
        match fsys::openat(here, &name, flags | libc::O_NOFOLLOW, mode) {
            Ok(fd) => return Ok(fd),
            Err(e)
                if follow
                    && matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) =>
            {
                // Maybe a symlink (O_NOFOLLOW refused it): read and follow.
                match fsys::readlinkat(here, &name) {
                    Ok(target) => expand(&mut queue, &mut hops, display, &name, target)?,
                    Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Splits `path` into the directory part and the final component, for
/// operations on an entry (unlink, mkdir, rename, link). `Ok(None)` when
/// the final component is `.` or `..`, which name no entry. With
/// `keep_slash`, a trailing `/` stays on the name (the kernel then
/// requires a directory, without following a symlink there).
pub(crate) fn split_parent(path: &Path, keep_slash: bool) -> io::Result<Option<(&[u8], &[u8])>> {
    let bytes = precheck(path)?;
    let trimmed_len = bytes.iter().rposition(|b| *b != b'/').map_or(0, |i| i + 1);
    if trimmed_len == 0 {
        return Err(os_err(libc::ENOENT));
    }
    let trimmed = &bytes[..trimmed_len];
    let start = trimmed
        .iter()
        .rposition(|b| *b == b'/')
        .map_or(0, |i| i + 1);
    let last = &trimmed[start..];
    if last == b"." || last == b".." {
        return Ok(None);
    }
    let parent = &bytes[..start];
    let name = if keep_slash { &bytes[start..] } else { last };
    Ok(Some((parent, name)))
}

/// The error for an entry operation on a path ending in `.` or `..`.
pub(crate) fn names_no_entry(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("path {path:?} ends in `.` or `..`, which does not name an entry of a directory"),
    )
}

/// Opens the directory part of a split path beneath `root` (`None` when it
/// is `root` itself).
pub(crate) fn open_parent(
    root: BorrowedFd<'_>,
    display: &Path,
    parent: &[u8],
    resolver: Resolver,
) -> io::Result<Option<OwnedFd>> {
    if components(parent).next().is_none() {
        return Ok(None);
    }
    open_bytes(
        root,
        display,
        parent,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
        resolver,
    )
    .map(Some)
}
