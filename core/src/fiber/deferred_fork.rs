//! Forks deferred until the running fiber first switches out.
//!
//! `fiber::first` and `fiber::any` run their head branch on the calling
//! fiber and the others in forked fibers, which start as soon as the head
//! blocks. Creating those fibers is deferred to that moment: the race
//! registers "fork the others" here, and the running fiber does it at its
//! next switch out (a blocking call, a yield, or a fork that runs its child
//! first), before anything else runs, so the run queue ends up exactly as
//! if they had been forked at the start. A head that returns without
//! switching out withdraws the registration: its losers are never created,
//! not only never started (one fiber, two switches and a join saved per
//! race, e.g. per executor-pool job, whose job races a cancellation
//! watcher).

use std::cell::RefCell;

use crate::fiber::task::Fiber;

/// The forks a fiber owes before it switches out, oldest first. Each entry
/// points at a closure on the stack of the race that registered it; the
/// race withdraws it (its `Registration` drops) before that frame ends.
#[derive(Default)]
pub(crate) struct DeferredForks(RefCell<Vec<*const (dyn Fn() + 'static)>>);

impl DeferredForks {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// Withdraws its entry (if the forks have not been done yet) when dropped.
pub(crate) struct Registration<'a> {
    fiber: &'a Fiber,
    fork: *const (dyn Fn() + 'static),
}

/// Registers `fork` to run on `fiber` (the running fiber) at its next
/// switch out, unless the returned registration is dropped first.
pub(crate) fn register<'a>(fiber: &'a Fiber, fork: &'a (dyn Fn() + 'a)) -> Registration<'a> {
    let fork: *const (dyn Fn() + 'a) = fork;
    // SAFETY: only the lifetime is erased. The pointer is called only by
    // `run`, on this fiber while it runs code nested inside the race that
    // registered it (the fiber is the only one that runs it, and it does
    // so before it switches out); the `Registration` removes the pointer
    // before 'a ends, including when the race unwinds.
    let fork = unsafe { crate::fiber::erase::erase_lifetime(fork) };
    fiber.local.deferred_forks.0.borrow_mut().push(fork);
    Registration { fiber, fork }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut forks = self.fiber.local.deferred_forks.0.borrow_mut();
        if let Some(i) = forks.iter().rposition(|&f| std::ptr::addr_eq(f, self.fork)) {
            forks.remove(i);
        }
    }
}

/// Does the forks `fiber` (the running fiber, about to switch out) owes,
/// oldest first. One borrow check when there are none.
#[inline]
pub(crate) fn run(fiber: &Fiber) {
    if !fiber.local.deferred_forks.is_empty() {
        run_owed(fiber);
    }
}

#[cold]
fn run_owed(fiber: &Fiber) {
    let mut owed = std::mem::take(&mut *fiber.local.deferred_forks.0.borrow_mut());
    for fork in owed.drain(..) {
        // SAFETY: registered by a race still running on this fiber (its
        // `Registration` would have removed the entry otherwise), so the
        // closure is alive; see `register`.
        unsafe { (*fork)() };
    }
    // Give the (empty) vector back, so the next race does not allocate.
    let mut list = fiber.local.deferred_forks.0.borrow_mut();
    if list.is_empty() {
        *list = owed;
    }
}
