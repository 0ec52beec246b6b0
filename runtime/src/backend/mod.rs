//! The one trait between the scheduler and the operating system.
//!
//! Everything above this module is backend-agnostic: it parks the thread
//! through [`Backend::wait`] and wakes it from other threads through a
//! [`Waker`]. Sockets and files join the trait in the I/O layer. Nothing
//! outside `backend/` names epoll, poll or io_uring.

use std::io;
use std::sync::Arc;
use std::time::Duration;

pub(crate) mod posix;

/// Wakes a parked scheduler from any thread.
pub(crate) trait Waker: Send + Sync {
    /// Makes the scheduler's current or next `wait` return promptly.
    fn wake(&self);
}

/// An I/O driver owned by one scheduler thread.
pub(crate) trait Backend {
    /// Blocks the thread until an I/O event, a wake-up, or the timeout
    /// (`None`: no timeout). Completed I/O resumes its fibers.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// A handle other threads use to interrupt `wait`.
    fn waker(&self) -> Arc<dyn Waker>;

    /// Whether any I/O is registered, so the scheduler should poll even
    /// while fibers are runnable.
    fn has_pending_io(&self) -> bool;
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
    /// Readiness-based I/O on `epoll`/`kqueue` (crate `polling`), portable.
    Posix,
}

impl BackendKind {
    /// The backend named by `WEFT_BACKEND`, or the default.
    pub(crate) fn from_env() -> io::Result<Self> {
        match std::env::var("WEFT_BACKEND") {
            Err(_) => Ok(BackendKind::Posix),
            Ok(v) => match v.as_str() {
                "" | "auto" | "posix" => Ok(BackendKind::Posix),
                other => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("WEFT_BACKEND={other:?} is not a backend this build has (expected \"posix\" or \"auto\")"),
                )),
            },
        }
    }

    pub(crate) fn create(self) -> io::Result<Box<dyn Backend>> {
        match self {
            BackendKind::Posix => Ok(Box::new(posix::PosixBackend::new()?)),
        }
    }
}
