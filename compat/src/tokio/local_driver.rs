//! tokio driven on each weft scheduler thread (the default topology of
//! [`super::Builder`]).
//!
//! Every weft thread of the runtime gets a tokio *current_thread* runtime,
//! enters its handle for the whole run (so the fibers' tokio sockets and
//! timers register with it), and installs a weft park hook
//! ([`weft_core::backend_api::ParkHook`]) that drives it:
//! - idle, the scheduler parks inside `block_on` of a future that ends when
//!   the weft backend's park descriptor turns readable (weft I/O, or
//!   another thread waking the scheduler), when tokio's events resumed a
//!   fiber of this thread, or at the scheduler's next timer;
//! - busy, the scheduler gives tokio a turn that does not block at its
//!   maintenance rounds (every 61 fibers, as tokio's own scheduler turns
//!   its driver every 61 tasks), at most one per [`TURN_EVERY`].
//!
//! The hook stays dormant ([`ParkHook::engaged`]) until tokio has
//! something to do on the thread: until a fiber of the thread first waits
//! on a future, or a task is spawned on its runtime. A program whose code
//! no longer uses tokio then parks as a plain weft runtime does.
//!
//! So a tokio socket turning readable resumes its fiber from the same
//! thread, with no cross-thread wake-up. Tasks from `tokio::spawn` run on
//! this thread too, at those parks and turns, as on a tokio current_thread
//! runtime. Everything runs on the scheduler's own stack, never a fiber's:
//! no tokio runtime context is held while a fiber runs.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::runtime::Runtime;
use weft_core::backend_api::{has_runnable_fibers, set_park_hook, ParkHook};

use super::Entered;

thread_local! {
    /// The waker of the park future while the scheduler is parked in tokio.
    static PARK_WAKER: RefCell<Option<Waker>> = const { RefCell::new(None) };
    /// Whether a fiber of this thread has waited on a future (which may be
    /// tokio's, woken by this thread's tokio driver).
    static FOREIGN_WAIT: Cell<bool> = const { Cell::new(false) };
}

/// Notes that a fiber of this thread is about to wait on a future that
/// returned `Pending`: from now on this thread's tokio runtime is driven
/// at every park and turn (see [`TokioPark::engaged`]). One thread-local
/// store.
#[inline]
pub(crate) fn note_foreign_wait() {
    FOREIGN_WAIT.with(|w| w.set(true));
}

/// tokio's park and unpark callbacks (this thread's driver is about to
/// block, or just returned): ends the park if tokio's events (a socket's
/// readiness, a task) resumed a fiber, so it runs without waiting for
/// anything else.
fn end_park_if_fibers_can_run() {
    let waker = PARK_WAKER.with(|w| {
        let mut w = w.borrow_mut();
        if w.is_some() && has_runnable_fibers() {
            w.take()
        } else {
            None
        }
    });
    if let Some(w) = waker {
        w.wake();
    }
}

/// The backend's park descriptor, as tokio sees it (borrowed: the backend
/// owns and closes it, after this thread's context has dropped it).
struct ParkFd(RawFd);

impl AsRawFd for ParkFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// The shortest time between two turns given to tokio while the
/// scheduler is busy. A turn costs about a microsecond (an `epoll_wait`
/// and entering the runtime); offered every maintenance round (61
/// fibers), fibers that only yield would pay it every couple of
/// microseconds. This bounds how long tokio's I/O waits while fibers keep
/// the thread busy, at a few percent of the thread at most.
const TURN_EVERY: Duration = Duration::from_micros(50);

/// How often an idle scheduler whose backend tokio cannot watch (no park
/// descriptor, or registering it failed) looks at the backend.
const UNWATCHED_POLL: Duration = Duration::from_millis(1);

/// The park hook: parks the scheduler in its thread's tokio runtime.
struct TokioPark {
    rt: Arc<Runtime>,
    watched: Option<AsyncFd<ParkFd>>,
    /// When tokio last ran (a park or a turn).
    last_run: Instant,
    /// Whether tokio has had anything to do on this thread (see
    /// [`ParkHook::engaged`]); it stays so.
    engaged: bool,
}

impl TokioPark {
    /// `fd` registered with tokio's reactor, once per thread.
    fn watch(&mut self, fd: RawFd) -> Option<&AsyncFd<ParkFd>> {
        if self.watched.as_ref().map(|w| w.get_ref().0) != Some(fd) {
            self.watched = None;
            let _in = self.rt.enter();
            // SAFETY: `fd` is the scheduler backend's park descriptor,
            // open (and the same descriptor) for the backend's life; the
            // backend outlives this hook, which `ThreadTokio` drops when
            // the thread's weft run ends, before the runtime's scheduler
            // and backend drop. A new descriptor replaces the registration.
            let registered =
                unsafe { AsyncFd::register_with_interest(ParkFd(fd), Interest::READABLE) };
            match registered {
                Ok(w) => self.watched = Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "weft-compat: tokio cannot watch the weft backend; it is polled every millisecond instead");
                }
            }
        }
        self.watched.as_ref()
    }
}

impl ParkHook for TokioPark {
    fn park(
        &mut self,
        fd: Option<RawFd>,
        timeout: Option<Duration>,
        poll_backend: &mut dyn FnMut(),
    ) {
        let rt = self.rt.clone();
        let watched = fd.and_then(|fd| self.watch(fd));
        // Unwatched, the backend is looked at again after a short wait.
        let timeout = match watched {
            Some(_) => timeout,
            None => Some(timeout.map_or(UNWATCHED_POLL, |t| t.min(UNWATCHED_POLL))),
        };
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        rt.block_on(async {
            // tokio's timers tick in milliseconds: a weft timer waited for
            // here fires up to a millisecond late.
            let mut sleep = pin!(deadline.map(tokio::time::sleep_until));
            poll_fn(|cx| {
                if let Some(w) = watched {
                    if let Poll::Ready(ready) = w.poll_read_ready(cx) {
                        poll_backend();
                        // Events that arrived since are seen by tokio's
                        // next turn: clearing keeps them (tokio's ticks).
                        if let Ok(mut guard) = ready {
                            guard.clear_ready();
                        }
                        return Poll::Ready(());
                    }
                }
                if has_runnable_fibers() {
                    return Poll::Ready(());
                }
                if let Some(s) = sleep.as_mut().as_pin_mut() {
                    if s.poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                }
                PARK_WAKER.with(|w| *w.borrow_mut() = Some(cx.waker().clone()));
                Poll::Pending
            })
            .await;
        });
        PARK_WAKER.with(|w| w.borrow_mut().take());
        if watched.is_none() {
            poll_backend();
        }
        self.last_run = Instant::now();
    }

    /// A thread's tokio runtime has nothing to do until a fiber of the
    /// thread waits on a future (it may be tokio's: a socket, a timer, a
    /// join handle) or a task is spawned on it. Until then the scheduler
    /// parks in its own backend: a server whose code was converted
    /// entirely does not pay a tokio turn per park (measured on migrated
    /// mini-redis: about 0.4 us of CPU per request). A task spawned on this
    /// runtime from another thread (through a handle taken from here) is
    /// seen within `DORMANT_RECHECK`.
    fn engaged(&mut self) -> bool {
        if !self.engaged {
            self.engaged = FOREIGN_WAIT.with(Cell::get) || self.rt.metrics().num_alive_tasks() > 0;
        }
        self.engaged
    }

    fn turn(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.last_run) < TURN_EVERY {
            return;
        }
        self.rt.block_on(tokio::task::yield_now());
        self.last_run = now;
    }
}

/// What one weft thread keeps for the length of its run: its tokio
/// runtime, the entered handle and the installed hook.
pub(crate) struct ThreadTokio {
    entered: Option<Entered>,
    rt: Option<Arc<Runtime>>,
    shutdown_timeout: Duration,
}

impl ThreadTokio {
    /// Starts this thread's tokio runtime, enters it and parks in it.
    /// Panics if tokio cannot start.
    pub(crate) fn start(shutdown_timeout: Duration) -> ThreadTokio {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(end_park_if_fibers_can_run)
            .on_thread_unpark(end_park_if_fibers_can_run)
            .build()
            .unwrap_or_else(|e| panic!("weft-compat: cannot start tokio: {e}"));
        let rt = Arc::new(rt);
        let entered = Entered::new(rt.handle().clone());
        let previous = set_park_hook(Some(Box::new(TokioPark {
            rt: rt.clone(),
            watched: None,
            last_run: Instant::now(),
            engaged: false,
        })));
        drop(previous);
        ThreadTokio {
            entered: Some(entered),
            rt: Some(rt),
            shutdown_timeout,
        }
    }
}

impl Drop for ThreadTokio {
    fn drop(&mut self) {
        // The hook (and its registration of the backend's descriptor)
        // first, then the handle, then the runtime itself.
        drop(set_park_hook(None));
        drop(self.entered.take());
        if let Some(rt) = self.rt.take().and_then(Arc::into_inner) {
            rt.shutdown_timeout(self.shutdown_timeout);
        }
    }
}
