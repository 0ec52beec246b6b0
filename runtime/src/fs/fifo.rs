//! Redoing a FIFO read open on the blocking pool without missing a
//! writer that came and went meanwhile.
//!
//! io_uring's `OPENAT` opens a FIFO for reading without waiting for a
//! writer; `Dir::open_with` then redoes the open on the blocking pool,
//! which waits as `open(2)` does, while it holds the first descriptor
//! (`held`) so that a writer let through by it does not meet a FIFO
//! without readers. But a writer may then open (through `held`), write
//! and close before the redone open starts waiting: that open waits for a
//! *next* writer, perhaps forever, with the data in the pipe.
//!
//! [`WriterWatch`] closes that window. A pool job polls `held`: it turns
//! readable (data) or hung up (a writer has been and gone) only after a
//! writer has opened the FIFO since `held` was opened. Then, unless the
//! redone open has returned, it opens a writer of its own (non-blocking,
//! which succeeds while `held` is a reader) and keeps it until the redone
//! open returns: an open waiting for a writer wakes up, and one not yet
//! started finds a writer there and does not wait. The same kick ends the
//! redone open when the opening fiber is cancelled, so no pool thread is
//! left in `open(2)`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

struct Shared {
    /// The FIFO's read end from the first open.
    held: OwnedFd,
    /// Wakes the polling job when the watch ends.
    stop: OwnedFd,
    state: Mutex<KickState>,
}

#[derive(Default)]
struct KickState {
    /// The redone open has returned (or failed): no kick is needed.
    returned: bool,
    /// Our own writer, kept until the redone open returns.
    kick: Option<OwnedFd>,
}

/// Watches a FIFO's first read end while its open is redone on the pool.
/// Call [`WriterWatch::opened`] on the pool thread right after the redone
/// open returns; dropping the watch ends the polling job (and kicks a
/// redone open still waiting, as when the fiber was cancelled).
pub(crate) struct WriterWatch {
    shared: Option<Arc<Shared>>,
}

impl WriterWatch {
    /// Starts watching `held`. Without an eventfd there is no watch (the
    /// redone open then behaves as before).
    pub(crate) fn start(held: OwnedFd) -> WriterWatch {
        // SAFETY: eventfd takes no pointers; a non-negative result is a
        // new descriptor that we own.
        let stop = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if stop < 0 {
            return WriterWatch { shared: None };
        }
        let shared = Arc::new(Shared {
            held,
            // SAFETY: `stop` was just created and is owned by nobody else.
            stop: unsafe { OwnedFd::from_raw_fd(stop) },
            state: Mutex::new(KickState::default()),
        });
        let watcher = shared.clone();
        crate::blocking::submit_detached(move || watch(&watcher));
        WriterWatch {
            shared: Some(shared),
        }
    }

    /// A handle for the pool job that redoes the open.
    pub(crate) fn opener(&self) -> Opener {
        Opener {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for WriterWatch {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            kick(shared);
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our eventfd.
            unsafe { libc::write(shared.stop.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }
}

/// Given to the pool job that redoes the open.
pub(crate) struct Opener {
    shared: Option<Arc<Shared>>,
}

impl Opener {
    /// The redone open has returned: drop our writer, if we made one.
    pub(crate) fn opened(&self) {
        if let Some(shared) = &self.shared {
            let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
            st.returned = true;
            st.kick = None;
        }
    }
}

/// The polling job: waits until a writer has been seen through `held`, or
/// the watch ends.
fn watch(shared: &Shared) {
    let mut fds = [
        libc::pollfd {
            fd: shared.held.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: shared.stop.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: `fds` is a live array of two pollfd, whose descriptors
        // `shared` keeps open.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n >= 0 {
            break;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
    if fds[0].revents != 0 && fds[1].revents == 0 {
        kick(shared);
    }
}

/// Opens our own writer unless the redone open has returned already.
fn kick(shared: &Shared) {
    let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    if st.returned || st.kick.is_some() {
        return;
    }
    // Reopening the FIFO through /proc (held is one of its readers, so a
    // non-blocking write open succeeds at once).
    let path = format!("/proc/self/fd/{}\0", shared.held.as_raw_fd());
    // SAFETY: `path` is NUL-terminated; a non-negative result is a new
    // descriptor that we own.
    let fd = unsafe {
        libc::open(
            path.as_ptr().cast(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd >= 0 {
        // SAFETY: see above.
        st.kick = Some(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}
