//! [`run_server`]: an accept loop with a fiber per connection, a
//! connection limit, and recovery from accept errors.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::time::Duration;

use crate::backend_api::suspend_at;
use crate::cancel::{self, CancelCtx, CancelReason, Cancelled};
use crate::fiber::Resumer;
use crate::switch::{FiberOutput, Switch};
use crate::sync::Promise;
use crate::Error;

use super::{TcpListener, TcpStream, UnixListener, UnixStream};

/// Something [`run_server`] can accept connections from:
/// [`TcpListener`](super::TcpListener) and
/// [`UnixListener`](super::UnixListener).
///
/// ```
/// fn first_peer<L: weft::net::Listener>(l: &L) -> std::io::Result<L::Addr> {
///     l.accept().map(|(_stream, addr)| addr)
/// }
/// weft::run(|_env| {
///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let _c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
///     assert!(first_peer(&l).unwrap().ip().is_loopback());
/// });
/// ```
pub trait Listener {
    /// A connection.
    type Stream;
    /// The peer's address.
    type Addr;
    /// Waits for the next connection. A cancellation point.
    ///
    /// ```
    /// use weft::net::Listener;
    /// weft::run(|_env| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let _c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (_stream, peer) = Listener::accept(&l).unwrap();
    ///     assert!(peer.ip().is_loopback());
    /// });
    /// ```
    fn accept(&self) -> io::Result<(Self::Stream, Self::Addr)>;
}

impl Listener for TcpListener {
    type Stream = TcpStream;
    type Addr = std::net::SocketAddr;

    #[track_caller]
    fn accept(&self) -> io::Result<(TcpStream, std::net::SocketAddr)> {
        TcpListener::accept(self)
    }
}

impl Listener for UnixListener {
    type Stream = UnixStream;
    type Addr = std::os::unix::net::SocketAddr;

    #[track_caller]
    fn accept(&self) -> io::Result<(UnixStream, std::os::unix::net::SocketAddr)> {
        UnixListener::accept(self)
    }
}

/// Settings for [`run_server`].
///
/// ```
/// let errors = std::cell::Cell::new(0);
/// let opts = weft::net::ServerOptions::new()
///     .max_connections(100)
///     .on_error(|_e| errors.set(errors.get() + 1));
/// ```
#[derive(Default)]
pub struct ServerOptions<'a> {
    max_connections: Option<usize>,
    on_error: Option<Box<dyn Fn(Error) + 'a>>,
    stop: Option<Promise<()>>,
}

impl fmt::Debug for ServerOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("max_connections", &self.max_connections)
            .field("on_error", &self.on_error.as_ref().map(|_| "<callback>"))
            .field("stop", &self.stop.as_ref().map(Promise::is_resolved))
            .finish()
    }
}

impl<'a> ServerOptions<'a> {
    /// The defaults: no connection limit, errors logged with
    /// `tracing::warn!`, no stop signal.
    ///
    /// ```
    /// let opts = weft::net::ServerOptions::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `n` connections are handled at once; while `n` handlers
    /// run, the server accepts nothing more (new clients wait in the
    /// kernel's backlog). Panics if `n` is 0.
    ///
    /// ```
    /// let opts = weft::net::ServerOptions::new().max_connections(64);
    /// ```
    #[track_caller]
    pub fn max_connections(mut self, n: usize) -> Self {
        assert!(n > 0, "ServerOptions::max_connections must be at least 1");
        self.max_connections = Some(n);
        self
    }

    /// Called with the failure of each connection handler (an `Err` it
    /// returned, or a panic it raised) instead of the default
    /// `tracing::warn!`. The server keeps running either way.
    ///
    /// ```
    /// let opts = weft::net::ServerOptions::new().on_error(|e| eprintln!("connection failed: {e}"));
    /// ```
    pub fn on_error(mut self, f: impl Fn(Error) + 'a) -> Self {
        self.on_error = Some(Box::new(f));
        self
    }

    /// A graceful stop signal: once `stop` is resolved, the server stops
    /// accepting, lets the connections in progress finish on their own,
    /// and then [`run_server`] returns `Ok(())`.
    ///
    /// ```
    /// let (stop, _resolver) = weft::Promise::new();
    /// let opts = weft::net::ServerOptions::new().stop(stop);
    /// ```
    pub fn stop(mut self, stop: Promise<()>) -> Self {
        self.stop = Some(stop);
        self
    }
}

/// What the accept loop does after an accept error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterError {
    /// The connection went away before it was accepted, or a transient
    /// network error: accept again at once.
    Retry,
    /// Out of descriptors or memory: pause, then try again.
    Backoff,
    /// The listener itself is broken: give up.
    Fatal,
}

fn classify(e: &io::Error) -> AfterError {
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => AfterError::Backoff,
        // accept(2): "Linux accept() passes already-pending network errors
        // on the new socket as an error code from accept()"; treat them
        // like a connection that went away.
        Some(
            libc::ECONNABORTED
            | libc::EPROTO
            | libc::ENETDOWN
            | libc::ENOPROTOOPT
            | libc::EHOSTDOWN
            | libc::ENONET
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH,
        ) => AfterError::Retry,
        _ => AfterError::Fatal,
    }
}

const BACKOFF_START: Duration = Duration::from_millis(1);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Connection slots: the accept loop (the only waiter) waits for one.
struct Slots {
    limit: usize,
    active: Cell<usize>,
    waiter: RefCell<Option<Resumer>>,
}

impl Slots {
    fn wait_for_free(&self, location: &'static Location<'static>) {
        while self.active.get() >= self.limit {
            let r = suspend_at(
                location,
                crate::console::events::WaitKind::Slot,
                true,
                |resumer| {
                    *self.waiter.borrow_mut() = Some(resumer);
                },
            );
            if let Err(c) = r {
                self.waiter.borrow_mut().take();
                c.unwind();
            }
        }
    }

    fn take(&self) -> SlotGuard<'_> {
        self.active.set(self.active.get() + 1);
        SlotGuard(self)
    }
}

/// Frees its slot when the connection's fiber ends, also by unwinding.
struct SlotGuard<'a>(&'a Slots);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let slots = self.0;
        slots.active.set(slots.active.get() - 1);
        let waiter = slots.waiter.borrow_mut().take();
        if let Some(r) = waiter {
            r.resume();
        }
    }
}

/// Accepts connections from `listener` in a loop and runs
/// `handler(stream, peer)` for each in its own fiber, like Eio's
/// `Net.run_server`.
///
/// - **Concurrency**: connection fibers live in a switch of the server's
///   own. With [`ServerOptions::max_connections`], the loop waits for a
///   free slot before accepting the next connection.
/// - **Handler failures** (an `Err` the handler returns, or a panic) go
///   to [`ServerOptions::on_error`] (default: `tracing::warn!`); they
///   never stop the server or touch the other connections.
/// - **Accept errors**: running out of descriptors or memory (`EMFILE`,
///   `ENFILE`, `ENOBUFS`, `ENOMEM`) pauses accepting with a backoff of 1 ms
///   doubling up to 1 s, logged once per episode with `tracing::warn!`
///   (the waiting connections stay in the backlog and are served once
///   resources free up). A connection aborted before it was accepted
///   (`ECONNABORTED`, and the network errors Linux reports the same way)
///   is skipped at once. Any other error is fatal: the connection fibers
///   are cancelled and awaited, and the error is returned.
/// - **Cancellation**: cancelling the caller (the server runs as a daemon
///   fiber, under `fiber::first`, a timeout, ...) stops the accept loop
///   and cancels every connection fiber; `run_server` waits until all of
///   them have finished unwinding (their destructors ran, their sockets
///   are closed) and only then unwinds itself. Handlers that must finish
///   some last work can wrap it in `weft::cancel::protect`.
/// - **Graceful stop**: with [`ServerOptions::stop`], resolving the
///   promise stops accepting, waits for the connections in progress to
///   finish on their own, and returns `Ok(())`.
///
/// Returns only on a fatal accept error (an `io::Error` inside the
/// [`Error`]; see [`Error::downcast_ref`]) or a graceful stop, so it can
/// be the body of a daemon fiber as it is.
///
/// ```
/// use std::io::{Read, Write};
/// use weft::net::{run_server, ServerOptions, TcpListener, TcpStream};
///
/// weft::run(|_env| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     weft::Switch::run(|sw| {
///         sw.fork_daemon(|| {
///             run_server(&listener, ServerOptions::new(), |mut conn, _peer| -> weft::Result<()> {
///                 let mut req = String::new();
///                 conn.read_to_string(&mut req)?;
///                 conn.write_all(req.to_uppercase().as_bytes())?;
///                 Ok(())
///             })
///         });
///         let mut c = TcpStream::connect(addr)?;
///         c.write_all(b"hello")?;
///         c.shutdown(std::net::Shutdown::Write)?;
///         let mut reply = String::new();
///         c.read_to_string(&mut reply)?;
///         assert_eq!(reply, "HELLO");
///         Ok(())
///     })
///     .unwrap(); // the daemon (the server) is cancelled here
/// });
/// ```
#[track_caller]
pub fn run_server<L, H, R>(
    listener: &L,
    options: ServerOptions<'_>,
    handler: H,
) -> crate::Result<()>
where
    L: Listener,
    H: Fn(L::Stream, L::Addr) -> R,
    R: FiberOutput,
{
    let location = Location::caller();
    let ServerOptions {
        max_connections,
        on_error,
        stop,
    } = options;
    let report = |e: Error| {
        // A handler that passes on the cancellation it got is not failing.
        if e.is_cancelled() || e.downcast_ref::<Cancelled>().is_some() {
            return;
        }
        match &on_error {
            Some(f) => f(e),
            None => tracing::warn!(error = %e, "weft: connection handler failed"),
        }
    };
    let slots = Slots {
        limit: max_connections.unwrap_or(usize::MAX),
        active: Cell::new(0),
        waiter: RefCell::new(None),
    };
    let serve = |stream: L::Stream, peer: L::Addr| {
        let _slot = slots.take();
        match catch_unwind(AssertUnwindSafe(|| handler(stream, peer))) {
            Ok(r) => {
                if let Some(e) = r.into_failure() {
                    report(e);
                }
            }
            Err(payload) if cancel::is_cancellation(payload.as_ref()) => resume_unwind(payload),
            Err(payload) => report(Error::from_panic(payload.as_ref())),
        }
    };
    Switch::run(|conns| {
        let (fiber, conns_ctx) = cancel::current();
        let accept_ctx = CancelCtx::child(&conns_ctx);
        let stopped = Rc::new(Cell::new(false));
        if let Some(stop) = stop {
            let (ctx, stopped) = (accept_ctx.clone(), stopped.clone());
            conns.fork_daemon(move || {
                stop.await_();
                stopped.set(true);
                ctx.cancel(Cancelled::new(CancelReason::Other(
                    "the server was stopped".into(),
                )));
            });
        }
        let guard = cancel::enter_ctx(&fiber, &accept_ctx);
        let accepted = cancel::catch_cancelled(|| {
            accept_loop(listener, &slots, location, |stream, peer| {
                let serve = &serve;
                conns.fork(move || serve(stream, peer));
            })
        });
        drop(guard);
        match accepted {
            Ok(Err(fatal)) => Err(Error::new(fatal)),
            Ok(Ok(never)) => match never {},
            Err(c) if stopped.get() && !conns_ctx.is_cancelled() => {
                drop(c);
                Ok(())
            }
            Err(c) => c.unwind(),
        }
    })
}

/// Accepts until an unrecoverable error; `spawn` starts each connection.
fn accept_loop<L: Listener>(
    listener: &L,
    slots: &Slots,
    location: &'static Location<'static>,
    spawn: impl Fn(L::Stream, L::Addr),
) -> io::Result<std::convert::Infallible> {
    let mut backoff: Option<Duration> = None;
    loop {
        slots.wait_for_free(location);
        match listener.accept() {
            Ok((stream, peer)) => {
                if backoff.take().is_some() {
                    tracing::info!("weft: run_server is accepting connections again");
                }
                spawn(stream, peer);
            }
            Err(e) => match classify(&e) {
                AfterError::Retry => {
                    tracing::debug!(error = %e, "weft: a connection was aborted before accept");
                }
                AfterError::Backoff => {
                    let pause = match backoff {
                        None => {
                            tracing::warn!(
                                error = %e,
                                "weft: run_server cannot accept (out of resources); \
                                 retrying with backoff up to {BACKOFF_MAX:?}"
                            );
                            BACKOFF_START
                        }
                        Some(d) => (d * 2).min(BACKOFF_MAX),
                    };
                    backoff = Some(pause);
                    crate::time::sleep(pause);
                }
                AfterError::Fatal => return Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_are_classified() {
        let os = io::Error::from_raw_os_error;
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert_eq!(classify(&os(code)), AfterError::Backoff, "errno {code}");
        }
        for code in [libc::ECONNABORTED, libc::EPROTO, libc::ENETUNREACH] {
            assert_eq!(classify(&os(code)), AfterError::Retry, "errno {code}");
        }
        for code in [libc::EBADF, libc::EINVAL, libc::ENOTSOCK, libc::EOPNOTSUPP] {
            assert_eq!(classify(&os(code)), AfterError::Fatal, "errno {code}");
        }
        assert_eq!(classify(&io::Error::other("x")), AfterError::Fatal);
    }
}
