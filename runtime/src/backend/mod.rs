//! The one layer between the scheduler and the operating system; what is
//! public here is [`BackendKind`], the choice of backend.
//!
//! Inside the crate (plain names here, since the items are private):
//! `Driver` is the scheduler's backend (one per thread): it parks the
//! thread (`Backend::wait`), is woken from other threads through a
//! `Waker`, and completes I/O for fibers. `ops` holds every I/O system
//! call the rest of the runtime makes (read, write, accept, connect, ...):
//! each op suspends only the calling fiber, and each backend implements it
//! its own way (readiness + non-blocking syscalls for `posix`). Nothing
//! outside `backend/` names epoll, poll or io_uring.

use std::io;
use std::sync::Arc;
use std::time::Duration;

pub(crate) mod choice;
pub(crate) mod ops;
pub(crate) mod posix;
pub(crate) mod source;
pub(crate) mod unread;
pub(crate) mod uring;

pub(crate) use source::IoSource;

use crate::backend_api::{with_backend, Backend, Waker};

/// The backend of one scheduler, which holds it as a `dyn Backend` (the
/// core's interface); the I/O ops reach it with [`with_driver`]. An enum
/// below that interface, so an op matches on the backend it runs on.
pub(crate) enum Driver {
    Posix(posix::PosixBackend),
    Uring(Box<uring::UringBackend>),
}

/// Runs `f` with this thread's I/O driver (never across a suspension);
/// `None` outside a runtime.
#[inline]
pub(crate) fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> Option<R> {
    with_backend(f)
}

impl Backend for Driver {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Driver::Posix(p) => p.wait(timeout),
            Driver::Uring(u) => u.wait(timeout),
        }
    }

    fn waker(&self) -> Arc<dyn Waker> {
        match self {
            Driver::Posix(p) => p.waker(),
            Driver::Uring(u) => u.waker(),
        }
    }

    fn has_pending_io(&self) -> bool {
        match self {
            Driver::Posix(p) => p.has_pending_io(),
            Driver::Uring(u) => u.has_pending_io(),
        }
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn park_fd(&mut self) -> Option<std::os::fd::RawFd> {
        match self {
            Driver::Posix(p) => p.park_fd(),
            Driver::Uring(u) => u.park_fd(),
        }
    }
}

impl Driver {
    pub(crate) fn kind(&self) -> BackendKind {
        match self {
            Driver::Posix(_) => BackendKind::Posix,
            Driver::Uring(_) => BackendKind::Uring,
        }
    }
}

/// Which backend a runtime uses.
///
/// ```
/// let rt = weft::Runtime::builder().backend(weft::BackendKind::Posix).build().unwrap();
/// assert_eq!(rt.backend(), weft::BackendKind::Posix);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// Readiness-based I/O on `epoll` (crate `polling`) with non-blocking
    /// system calls. Portable.
    Posix,
    /// Linux io_uring: completions, batched submissions. The default where
    /// the kernel allows it (`auto`).
    Uring,
}

impl BackendKind {
    /// The backend forced by `WEFT_BACKEND`, or `None` for `auto`.
    pub(crate) fn from_env() -> io::Result<Option<Self>> {
        match std::env::var("WEFT_BACKEND") {
            Err(_) => Ok(None),
            Ok(v) => match v.as_str() {
                "" | "auto" => Ok(None),
                "posix" => Ok(Some(BackendKind::Posix)),
                "uring" => Ok(Some(BackendKind::Uring)),
                other => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("WEFT_BACKEND={other:?} is not a backend (expected \"uring\", \"posix\" or \"auto\")"),
                )),
            },
        }
    }

    /// `auto`: io_uring where the kernel allows it, else posix, saying why
    /// once through `tracing`. `parked_by_hook`: see
    /// [`crate::runtime::Builder::parked_by_hook`].
    pub(crate) fn auto(parked_by_hook: bool) -> Driver {
        match uring::UringBackend::new(parked_by_hook) {
            Ok(u) => Driver::Uring(Box::new(u)),
            Err(e) => {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| tracing::info!(reason = %e, "weft: io_uring is unavailable, using the posix backend"));
                match posix::PosixBackend::new() {
                    Ok(p) => Driver::Posix(p),
                    Err(e) => panic!("weft: neither io_uring nor epoll can start here: {e}"),
                }
            }
        }
    }

    pub(crate) fn create(self, parked_by_hook: bool) -> io::Result<Driver> {
        match self {
            BackendKind::Posix => Ok(Driver::Posix(posix::PosixBackend::new()?)),
            BackendKind::Uring => uring::UringBackend::new(parked_by_hook)
                .map(|u| Driver::Uring(Box::new(u)))
                .map_err(|e| {
                    io::Error::new(e.kind(), format!("the io_uring backend cannot start: {e}"))
                }),
        }
    }
}
