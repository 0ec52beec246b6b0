//! The interface between the fiber core and an I/O backend (Eio's split:
//! the core knows nothing of the operating system).
//!
//! A backend gives its scheduler three things, through [`Backend`]: wait
//! for events with an optional deadline, a [`Waker`] other threads use to
//! interrupt that wait, and whether operations are in flight. Its
//! operations follow one protocol with the core, [`await_op`]: an
//! operation is keyed by the waiting fiber's [`Resumer`], and a cancelled
//! fiber asks the backend to cancel it, then waits uninterruptibly for its
//! completion (so memory the kernel may still write is never freed early).
//!
//! Arrows go from the backend to the core only: the scheduler holds its
//! backend as a `dyn Backend`, and a backend reaches its own state with
//! [`with_backend`], naming its own type.

use std::any::Any;
use std::io;
use std::os::fd::RawFd;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

pub use crate::console::events::WaitKind;
pub use crate::console::{op_completed, op_submitted};
pub use crate::error::panic_message;
pub use crate::fiber::erase::{erase_lifetime, Erasable};
pub use crate::fiber::park_hook::{has_runnable_fibers, set_park_hook, ParkHook, DORMANT_RECHECK};
pub use crate::fiber::scheduler::{io_budget, Remote, RemoteTask, RemoteWork, TaskRef};
pub use crate::fiber::task::{cancelled_since_wake, suspend_at, suspend_protected, Fiber};
pub use crate::fiber::Resumer;
pub use crate::sync::short_lock::{ShortGuard, ShortLock};
pub use crate::sync::wait_queue::{WaitKey, WaitQueue};

use crate::cancel::Cancelled;

/// The per-thread scheduler, for the runtime that builds and drives one
/// (`fiber/scheduler.rs`).
pub mod scheduler {
    pub use crate::fiber::scheduler::*;
}

/// Wakes a parked scheduler from any thread.
pub trait Waker: Send + Sync {
    /// Makes the scheduler's current or next `wait` return promptly.
    fn wake(&self);
}

/// What every backend provides to its scheduler (one backend per thread).
pub trait Backend: Any {
    /// Blocks the thread until an I/O event, a wake-up, or the timeout
    /// (`None`: no timeout). Completed I/O resumes its fibers.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// A handle other threads use to interrupt `wait`.
    fn waker(&self) -> Arc<dyn Waker>;

    /// Whether fibers wait for I/O, so the scheduler should poll even while
    /// other fibers are runnable.
    fn has_pending_io(&self) -> bool;

    /// The backend as `Any`, so that [`with_backend`] can name its type.
    fn as_any_mut(&mut self) -> &mut dyn Any;

    /// For a scheduler about to park in a [`ParkHook`] instead of in
    /// [`wait`](Self::wait): hands queued work to the kernel, arms what a
    /// [`Waker`] needs, and returns a descriptor that turns readable when
    /// `wait(Some(Duration::ZERO))` has events to deliver or a `Waker` was
    /// woken. `None` (the default): the backend has no such descriptor, and
    /// the scheduler parks in `wait` as usual.
    fn park_fd(&mut self) -> Option<RawFd> {
        None
    }
}

/// Runs `f` with this thread's backend when it is a `B` (never across a
/// suspension). `None` outside a runtime, or when the thread's backend is
/// of another type.
#[inline]
pub fn with_backend<B: Backend, R>(f: impl FnOnce(&mut B) -> R) -> Option<R> {
    scheduler::with(|s| s.with_backend(|b| b.as_any_mut().downcast_mut::<B>().map(f))).flatten()
}

/// The id of this thread's scheduler; panics outside a runtime, naming
/// `what` needed one.
#[inline]
#[track_caller]
pub fn scheduler_id(what: &str) -> u64 {
    scheduler::expect(what, |s| s.remote.id)
}

/// The id of this thread's scheduler, if it runs one.
#[inline]
pub fn current_scheduler_id() -> Option<u64> {
    scheduler::with(|s| s.remote.id)
}

/// The handle other threads use to reach this thread's scheduler
/// ([`Remote::push`]), if it runs one.
pub fn current_remote() -> Option<Arc<Remote>> {
    scheduler::with(|s| s.remote.clone())
}

/// One in-flight backend operation, as far as the core must know it: it
/// wakes a resumer when it completes, and it can be asked to stop.
pub trait InFlightOp {
    /// What a completion carries.
    type Completion;

    /// Stores the resumer the completion will wake (replacing any earlier
    /// one). If the completion has arrived already, resumes it at once.
    fn wake_on_completion(&mut self, resumer: Resumer);

    /// Whether the completion has arrived.
    fn is_complete(&mut self) -> bool;

    /// Asks the backend to cancel the operation; its completion still
    /// comes (possibly a success that beat the cancel).
    fn request_cancel(&mut self);

    /// Takes the completion and frees the operation's key.
    fn finish(&mut self) -> Option<Self::Completion>;
}

/// What a cancelled operation left: the cancellation to deliver, and the
/// completion that arrived once the backend was done with the op (`None`
/// if it had none to give).
pub struct CancelledOp<C> {
    /// The cancellation that interrupted the wait.
    pub cancelled: Cancelled,
    /// The operation's completion, reaped after the cancel.
    pub completion: Option<C>,
}

/// The op protocol: suspends the running fiber until `op` completes.
///
/// A cancellation point that returns or fails only once the backend is
/// done with the op: a fiber cancelled while waiting asks the backend to
/// cancel the op and then waits, uninterruptibly, for its completion, and
/// returns it beside the cancellation ([`CancelledOp`]), so the caller
/// decides whether the op's result (one that beat the cancel) is kept.
pub fn await_op<O: InFlightOp>(
    op: &mut O,
    location: &'static Location<'static>,
    kind: WaitKind,
) -> Result<O::Completion, CancelledOp<O::Completion>> {
    match suspend_at(location, kind, true, |r| op.wake_on_completion(r)) {
        Ok(()) => Ok(op
            .finish()
            .expect("an op is resumed only after its completion")),
        Err(cancelled) => {
            if !op.is_complete() {
                op.request_cancel();
            }
            while !op.is_complete() {
                suspend_protected(WaitKind::CancelOp, |r| op.wake_on_completion(r));
            }
            Err(CancelledOp {
                cancelled,
                completion: op.finish(),
            })
        }
    }
}
