//! Which backend a resource's operations go to, chosen once when the
//! resource is created (tokio's resources hold their driver's handle;
//! Eio's flows belong to one backend).
//!
//! A scheduler's backend is per thread, and a resource (`IoSource`,
//! `FileSource`) may be used from fibers on any thread, so a resource
//! cannot hold the driver itself. It holds the choice instead: its ops
//! read this field (no thread-local lookup) and go straight to that
//! backend's path. The choice is a fast path, never a promise:
//!
//! - io_uring chosen, but the fiber's thread has no ring (the resource
//!   was moved to a posix runtime, or is used outside any runtime): the
//!   ring lookup that starts the op finds none, and the op takes the
//!   readiness path, as it does when the kernel answers `EAGAIN`.
//! - posix chosen, on a thread whose scheduler runs io_uring: the
//!   non-blocking system call runs as usual, and waiting for readiness
//!   uses that thread's backend (`IoSource::wait`).
//!
//! Either way, a resource that has to wait on a thread with the other
//! backend adopts it ([`BackendChoice::adopt`]), so its next ops take that
//! backend's fast path. Outside any runtime an op that would wait fails
//! with a clear error ([`outside_runtime`]).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{with_driver, BackendKind};

/// A resource's backend: whether its ops go to the io_uring ring first.
/// Relaxed atomics: any value is correct (see the module docs), so a
/// resource shared by threads with different backends stays correct.
pub(crate) struct BackendChoice {
    ring: AtomicBool,
}

impl BackendChoice {
    /// The backend of this thread's scheduler; posix (the path that works
    /// on every thread) outside a runtime.
    pub(crate) fn here() -> BackendChoice {
        let kind = with_driver(|d| d.kind()).unwrap_or(BackendKind::Posix);
        BackendChoice {
            ring: AtomicBool::new(kind == BackendKind::Uring),
        }
    }

    /// Whether ops go to the io_uring ring first. A field read: no
    /// thread-local lookup.
    #[inline]
    pub(crate) fn on_ring(&self) -> bool {
        self.ring.load(Ordering::Relaxed)
    }

    /// The backend ops take from now on.
    #[inline]
    pub(crate) fn kind(&self) -> BackendKind {
        if self.on_ring() {
            BackendKind::Uring
        } else {
            BackendKind::Posix
        }
    }

    /// Switches to `kind`: the resource waited on a thread whose backend
    /// is `kind`.
    #[inline]
    pub(crate) fn adopt(&self, kind: BackendKind) {
        let ring = kind == BackendKind::Uring;
        if self.on_ring() != ring {
            self.ring.store(ring, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for BackendChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind().fmt(f)
    }
}

/// The error of an op that has to wait on a thread without a weft runtime.
pub(crate) fn outside_runtime() -> io::Error {
    io::Error::other(
        "weft: this I/O would wait, and this thread runs no weft runtime (use the resource inside weft::run or a weft runtime)",
    )
}
