//! Listeners for any catchable Unix signal (tokio's
//! `tokio::signal::unix`): [`signal`], [`Signal`], [`SignalKind`].

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use signal_hook_registry::SigId;

use crate::backend::{ops, IoSource};

/// Which signal to listen for.
///
/// ```
/// use weft::signal::unix::SignalKind;
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal by its number (`libc::SIGRTMIN() + 1`, say).
    ///
    /// ```
    /// let k = weft::signal::unix::SignalKind::from_raw(libc::SIGWINCH);
    /// assert_eq!(k, weft::signal::unix::SignalKind::window_change());
    /// ```
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal's number.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::hangup().as_raw_value(), libc::SIGHUP);
    /// ```
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// `SIGALRM`.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::alarm().as_raw_value(), libc::SIGALRM);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGCHLD`: a child process stopped or ended.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::child().as_raw_value(), libc::SIGCHLD);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGHUP`: the terminal went away; daemons take it as "reload".
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::hangup().as_raw_value(), libc::SIGHUP);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINT`: Ctrl-C in a terminal.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::interrupt().as_raw_value(), libc::SIGINT);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGIO`: I/O is possible on a descriptor set up for it.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::io().as_raw_value(), libc::SIGIO);
    /// ```
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// `SIGPIPE`: a write to a pipe with no reader.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::pipe().as_raw_value(), libc::SIGPIPE);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGQUIT`: Ctrl-\ in a terminal.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::quit().as_raw_value(), libc::SIGQUIT);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGTERM`: the polite request to end (what `kill` and service
    /// managers send).
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::terminate().as_raw_value(), libc::SIGTERM);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGUSR1`.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::user_defined1().as_raw_value(), libc::SIGUSR1);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::user_defined2().as_raw_value(), libc::SIGUSR2);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGWINCH`: the terminal changed size.
    ///
    /// ```
    /// assert_eq!(weft::signal::unix::SignalKind::window_change().as_raw_value(), libc::SIGWINCH);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for libc::c_int {
    fn from(kind: SignalKind) -> libc::c_int {
        kind.0
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignalKind({})", self.0)
    }
}

/// A listener for one signal, from [`signal`]. Dropping it removes the
/// listener (the signal's default action stays replaced).
///
/// ```
/// use std::time::Duration;
/// use weft::signal::unix::{signal, SignalKind};
///
/// weft::run(|_env| {
///     let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
///     // SAFETY: raise only sends a signal to this process.
///     unsafe { libc::raise(libc::SIGUSR1) };
///     assert_eq!(usr1.recv(), Some(()));
/// });
/// ```
pub struct Signal {
    kind: SignalKind,
    /// Read end of the pipe the handler writes one byte to per signal.
    pipe: IoSource,
    /// The handler's registration; the handler owns the write end, which
    /// closes when the registry drops it after `unregister`.
    id: SigId,
}

/// Starts listening for `kind`. Signals that arrive from now on are kept
/// until [`Signal::recv`] takes them.
///
/// Signals the process cannot catch, or that mean a fault in the program
/// itself (`SIGKILL`, `SIGSTOP`, `SIGILL`, `SIGFPE`, `SIGSEGV`), and
/// numbers that are no signal, are an `InvalidInput` error.
///
/// ```
/// use weft::signal::unix::{signal, SignalKind};
/// let e = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
/// assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.0;
    if signal_hook_registry::FORBIDDEN.contains(&signum)
        || !(1..=libc::SIGRTMAX()).contains(&signum)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be listened for"),
        ));
    }
    let (read_end, write_end) = nonblocking_pipe()?;
    let raw_write = write_end.as_raw_fd();
    let handler = move || {
        // Keeps the write end open as long as the handler exists.
        let _owner = &write_end;
        // SAFETY: write(2) is async-signal-safe, the descriptor is open
        // (owned by this closure) and non-blocking; a full pipe (EAGAIN)
        // already holds an unread signal, so the byte is not needed.
        unsafe { libc::write(raw_write, [1u8].as_ptr().cast(), 1) };
    };
    // SAFETY: the handler only calls write(2) on a descriptor it owns,
    // which is async-signal-safe, and touches no lock or allocation.
    let id = unsafe { signal_hook_registry::register(signum, handler) }?;
    Ok(Signal {
        kind,
        pipe: IoSource::new_nonblocking(read_end),
        id,
    })
}

fn nonblocking_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by no one.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Signal {
    /// Suspends the fiber until the signal has arrived at least once since
    /// the last `recv` (or since [`signal`]); several arrivals in between
    /// count as one. Returns `None` only if the listener broke (its pipe
    /// failed), which does not happen in practice.
    ///
    /// It is a cancellation point: a cancelled fiber unwinds from it, and
    /// a signal that arrives meanwhile waits for the next `recv`.
    ///
    /// ```
    /// use weft::signal::unix::{signal, SignalKind};
    /// weft::run(|_env| {
    ///     let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
    ///     for _ in 0..3 {
    ///         // SAFETY: raise only sends a signal to this process.
    ///         unsafe { libc::raise(libc::SIGUSR2) };
    ///     }
    ///     assert_eq!(usr2.recv(), Some(())); // three arrivals, one recv
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&mut self) -> Option<()> {
        let mut buf = [0u8; 64];
        match ops::read(&self.pipe, &mut buf) {
            Ok(n) if n > 0 => {}
            _ => return None,
        }
        // Take every arrival that is already there: they coalesce.
        // SAFETY: `buf` is writable for its length; the pipe is ours and
        // non-blocking, so this stops at EAGAIN.
        while unsafe { libc::read(self.pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {
        }
        Some(())
    }

    /// The signal this listener waits for.
    ///
    /// ```
    /// use weft::signal::unix::{signal, SignalKind};
    /// let s = signal(SignalKind::hangup()).unwrap();
    /// assert_eq!(s.kind(), SignalKind::hangup());
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        signal_hook_registry::unregister(self.id);
    }
}
