//! Opening a running program's console file, read-only.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

use weft::console::layout::{self, View};

use crate::ConsoleError;

/// A read-only mapping of process `pid`'s console file.
///
/// ```no_run
/// let attached = weft_console::Attached::open(1234)?;
/// println!("{} threads", attached.view().geometry().slots);
/// # Ok::<(), weft_console::ConsoleError>(())
/// ```
pub struct Attached {
    words: *const AtomicU64,
    len: usize,
    pid: u32,
    path: PathBuf,
}

impl Attached {
    /// Maps process `pid`'s console file. Fails (see [`ConsoleError`]) when
    /// there is no such process, it exited (its stale file is removed), it
    /// runs without monitoring, or the file is not a console file.
    ///
    /// ```
    /// let me = std::process::id(); // not monitoring
    /// assert!(matches!(
    ///     weft_console::Attached::open(me),
    ///     Err(weft_console::ConsoleError::NotMonitored(_))
    /// ));
    /// ```
    pub fn open(pid: u32) -> Result<Attached, ConsoleError> {
        let candidates = [
            layout::path_for(pid),
            PathBuf::from("/tmp").join(layout::file_name(pid)),
        ];
        let alive = layout::process_alive(pid);
        let Some(path) = candidates.into_iter().find(|p| p.exists()) else {
            return Err(if alive {
                ConsoleError::NotMonitored(pid)
            } else {
                ConsoleError::NoSuchProcess(pid)
            });
        };
        if !alive {
            let _ = std::fs::remove_file(&path);
            return Err(ConsoleError::Exited(pid));
        }
        let file = std::fs::File::open(&path)
            .map_err(|e| ConsoleError::io(path.display().to_string(), e))?;
        let len = file
            .metadata()
            .map_err(|e| ConsoleError::io(path.display().to_string(), e))?
            .len() as usize;
        let bad = |source| ConsoleError::BadFile {
            path: path.display().to_string(),
            source,
        };
        if len == 0 || len % 8 != 0 {
            return Err(bad(layout::LayoutError::NotConsole));
        }
        // SAFETY: a read-only shared mapping of a file we opened; unmapped
        // in `drop`. The writer may truncate it only by removing it, which
        // keeps the pages of this mapping.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(ConsoleError::io(
                path.display().to_string(),
                std::io::Error::last_os_error(),
            ));
        }
        let attached = Attached {
            words: ptr as *const AtomicU64,
            len: len / 8,
            pid,
            path: path.clone(),
        };
        let view = View::open(attached.words()).map_err(bad)?;
        if view.pid() != pid as u64 {
            return Err(bad(layout::LayoutError::Corrupt));
        }
        Ok(attached)
    }

    fn words(&self) -> &[AtomicU64] {
        // SAFETY: `words` is a live page-aligned mapping of `len` words
        // (until drop); only atomic loads read it (a load of read-only
        // memory is sound for lock-free atomics).
        unsafe { std::slice::from_raw_parts(self.words, self.len) }
    }

    /// The file's contents.
    ///
    /// ```no_run
    /// let a = weft_console::Attached::open(1234)?;
    /// assert_eq!(a.view().pid(), 1234);
    /// # Ok::<(), weft_console::ConsoleError>(())
    /// ```
    pub fn view(&self) -> View<'_> {
        View::open(self.words()).expect("checked when opened")
    }

    /// The PID.
    ///
    /// ```no_run
    /// assert_eq!(weft_console::Attached::open(1234)?.pid(), 1234);
    /// # Ok::<(), weft_console::ConsoleError>(())
    /// ```
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process still runs (and has not removed its file).
    ///
    /// ```no_run
    /// assert!(weft_console::Attached::open(1234)?.is_alive());
    /// # Ok::<(), weft_console::ConsoleError>(())
    /// ```
    pub fn is_alive(&self) -> bool {
        layout::process_alive(self.pid) && self.path.exists()
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, not used after this.
        unsafe { libc::munmap(self.words as *mut libc::c_void, self.len * 8) };
    }
}
