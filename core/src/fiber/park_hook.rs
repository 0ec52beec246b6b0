//! Parking an idle scheduler inside another event loop on the same thread
//! (weft-compat parks in a tokio current_thread runtime), so that loop's
//! events wake fibers here with a same-thread resume instead of a wake-up
//! from another thread.
//!
//! A hook belongs to a thread and is installed with [`set_park_hook`]
//! (before the thread runs a scheduler, or from one of its fibers). With a
//! hook installed, an idle scheduler calls [`ParkHook::park`] instead of
//! sleeping in its backend or on its futex, handing it the backend's park
//! descriptor ([`Backend::park_fd`](crate::backend_api::Backend::park_fd)),
//! which turns readable on weft I/O and on wake-ups from other threads; a
//! busy scheduler calls [`ParkHook::turn`] at each maintenance round (every
//! few dozen fibers), so the other loop's I/O and timers never starve.
//! A hook that says its loop has nothing to do yet
//! ([`ParkHook::engaged`]) is left alone: the scheduler parks in its own
//! backend, and asks again at each park. Without a hook the scheduler pays
//! one thread-local read per maintenance round and per park.

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::time::Duration;

/// Another event loop an idle scheduler parks in (see the module docs).
///
/// The scheduler calls both methods from its own stack, never from a
/// fiber's: what the hook enters for the call (a tokio runtime context)
/// is left before any fiber runs again.
///
/// ```
/// use std::os::fd::RawFd;
/// use std::time::Duration;
/// use weft_core::backend_api::{set_park_hook, ParkHook};
///
/// /// Parks in poll(2) on the backend's descriptor: what the scheduler
/// /// would do by itself, written as a hook.
/// struct PollHook;
///
/// impl ParkHook for PollHook {
///     fn park(&mut self, fd: Option<RawFd>, timeout: Option<Duration>, poll_backend: &mut dyn FnMut()) {
///         let Some(fd) = fd else {
///             // Nothing to wait on: look at the backend again soon.
///             std::thread::sleep(timeout.unwrap_or(Duration::MAX).min(Duration::from_millis(1)));
///             return poll_backend();
///         };
///         let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
///         let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
///         // SAFETY: one valid pollfd, borrowed for the call.
///         if unsafe { libc::poll(&mut pfd, 1, ms) } > 0 {
///             poll_backend();
///         }
///     }
///     fn turn(&mut self) {}
/// }
///
/// let before = set_park_hook(Some(Box::new(PollHook)));
/// assert!(before.is_none());
/// assert!(set_park_hook(None).is_some());
/// ```
pub trait ParkHook {
    /// Blocks until `backend_fd` turns readable (then calls `poll_backend`,
    /// which delivers the backend's events without blocking), until the
    /// other loop's events make a fiber of this thread runnable (see
    /// [`has_runnable_fibers`]), or until `timeout` (`None`: none) passes.
    /// Returning early is allowed: the scheduler looks again and parks
    /// again if nothing can run. `backend_fd` is `None` when the backend
    /// has no park descriptor: nothing then tells the hook of weft I/O or
    /// of wake-ups from other threads, so it must call `poll_backend`
    /// again within a short time (a millisecond) rather than wait long.
    fn park(
        &mut self,
        backend_fd: Option<RawFd>,
        timeout: Option<Duration>,
        poll_backend: &mut dyn FnMut(),
    );

    /// Drives the other loop once without blocking (the scheduler is busy).
    fn turn(&mut self);

    /// Whether the other loop may have anything to do on this thread yet.
    /// While it says no, the scheduler parks in its own backend as if no
    /// hook were installed (a park in the other loop costs a turn of it),
    /// calls neither [`park`](Self::park) nor [`turn`](Self::turn), and
    /// asks again at every park and at least every [`DORMANT_RECHECK`].
    /// A hook that once says yes should keep saying it. The default is
    /// always yes.
    ///
    /// ```
    /// use std::os::fd::RawFd;
    /// use std::time::Duration;
    /// use weft_core::backend_api::ParkHook;
    ///
    /// /// A hook whose loop has nothing until something registers with it.
    /// struct Lazy {
    ///     registered: bool,
    /// }
    ///
    /// impl ParkHook for Lazy {
    ///     fn park(&mut self, _: Option<RawFd>, _: Option<Duration>, poll_backend: &mut dyn FnMut()) {
    ///         poll_backend();
    ///     }
    ///     fn turn(&mut self) {}
    ///     fn engaged(&mut self) -> bool {
    ///         self.registered
    ///     }
    /// }
    ///
    /// assert!(!Lazy { registered: false }.engaged());
    /// ```
    fn engaged(&mut self) -> bool {
        true
    }
}

/// How often a scheduler whose hook is not [engaged](ParkHook::engaged)
/// asks it again while idle: work that reaches the other loop from another
/// thread (a task spawned there through a handle) starts within this.
///
/// ```
/// assert!(weft_core::backend_api::DORMANT_RECHECK.as_millis() <= 100);
/// ```
pub const DORMANT_RECHECK: Duration = Duration::from_millis(10);

/// What this thread's park hook is, for the scheduler's park.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HookState {
    /// No hook (or the hook is running: a park from inside it).
    Absent,
    /// A hook whose loop has nothing to do yet.
    Dormant,
    /// A hook to park in.
    Engaged,
}

thread_local! {
    static HOOK: RefCell<Option<Box<dyn ParkHook>>> = const { RefCell::new(None) };
}

/// Installs `hook` as this thread's park hook (`None` removes it) and
/// returns the one it replaces.
///
/// ```
/// let previous = weft_core::backend_api::set_park_hook(None);
/// assert!(previous.is_none());
/// ```
pub fn set_park_hook(hook: Option<Box<dyn ParkHook>>) -> Option<Box<dyn ParkHook>> {
    HOOK.with(|h| std::mem::replace(&mut *h.borrow_mut(), hook))
}

/// Whether this thread's scheduler has fibers ready to run: what a
/// [`ParkHook`] checks to end its park when the other loop's events (run
/// on this thread) resumed a fiber.
///
/// ```
/// assert!(!weft_core::backend_api::has_runnable_fibers());
/// ```
pub fn has_runnable_fibers() -> bool {
    super::scheduler::with(|s| s.has_runnable()).unwrap_or(false)
}

/// Whether this thread has a hook, and whether to park in it.
#[inline]
pub(crate) fn state() -> HookState {
    HOOK.with(|h| match h.try_borrow_mut().as_deref_mut() {
        Ok(Some(hook)) => {
            if hook.engaged() {
                HookState::Engaged
            } else {
                HookState::Dormant
            }
        }
        _ => HookState::Absent,
    })
}

/// Parks in this thread's hook; `false` if it has none (or is already
/// inside it), and then nothing happened.
pub(crate) fn park(
    fd: Option<RawFd>,
    timeout: Option<Duration>,
    poll_backend: &mut dyn FnMut(),
) -> bool {
    HOOK.with(|h| match h.try_borrow_mut().as_deref_mut() {
        Ok(Some(hook)) => {
            hook.park(fd, timeout, poll_backend);
            true
        }
        _ => false,
    })
}

/// Gives this thread's hook, if any, a turn that does not block.
#[inline]
pub(crate) fn turn() {
    HOOK.with(|h| {
        if let Ok(Some(hook)) = h.try_borrow_mut().as_deref_mut() {
            if hook.engaged() {
                hook.turn();
            }
        }
    });
}
