//! A fiber of its own for a thread that runs none: a scheduler without
//! I/O, started for one closure (the `blocking_*` waits of `sync`, called
//! from a `std::thread` or a blocking-pool thread). The closure's waits
//! suspend its fiber and so park the thread; fibers on other threads wake
//! it as they would any waiter.

use std::cell::RefCell;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::backend_api::{Backend, Waker};
use crate::cancel::CancelCtx;
use crate::fiber::scheduler::{Scheduler, SchedulerConfig};

/// Runs `f` as the only fiber of a new scheduler on this thread and
/// returns its result (a panic in `f` is re-raised here). Starting one
/// costs a stack from the thread's pool and a few allocations; no
/// descriptor is opened.
///
/// Panics when the thread already runs a scheduler.
pub(crate) fn run_alone<T>(f: impl FnOnce() -> T) -> T {
    run_alone_with(SchedulerConfig::from_env(), f)
}

/// [`run_alone`] on a scheduler built from `config` (the core's own tests
/// use it where `weft`'s tests use a `Runtime`).
pub(crate) fn run_alone_with<T>(config: SchedulerConfig, f: impl FnOnce() -> T) -> T {
    let sched = Scheduler::new(config, Box::new(NoIo::default()));
    let _entered = sched.enter();
    let root = CancelCtx::root();
    let result: RefCell<Option<std::thread::Result<T>>> = RefCell::new(None);
    let body = || {
        let r = catch_unwind(AssertUnwindSafe(f));
        *result.borrow_mut() = Some(r);
    };
    // SAFETY: `run_until` below does not return before the fiber has
    // finished, so what `body` borrows (`result`) outlives it.
    let fiber = unsafe { sched.create(Some("main".into()), &root, body) }
        .unwrap_or_else(|e| panic!("weft: cannot start a fiber to wait on this thread: {e}"));
    sched.push_back(fiber);
    sched.run_until(&|| result.borrow().is_some());
    sched.drain_remote();
    match result.into_inner().expect("the fiber finished") {
        Ok(v) => v,
        Err(p) => resume_unwind(p),
    }
}

/// The backend of a scheduler that does no I/O: nothing is ever in
/// flight, so the scheduler parks on its remote queue's futex, and `wait`
/// (reached only for a zero-timeout poll, or if that ever changes) sleeps
/// until the timeout or a wake-up.
#[derive(Default)]
struct NoIo {
    woken: Arc<Wakeup>,
}

#[derive(Default)]
struct Wakeup {
    pending: Mutex<bool>,
    ring: Condvar,
}

impl Waker for Wakeup {
    fn wake(&self) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.ring.notify_one();
    }
}

impl Backend for NoIo {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut pending = self.woken.pending.lock().unwrap_or_else(|p| p.into_inner());
        match timeout {
            Some(t) => {
                if !*pending && !t.is_zero() {
                    pending = self
                        .woken
                        .ring
                        .wait_timeout(pending, t)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            None => {
                while !*pending {
                    pending = self
                        .woken
                        .ring
                        .wait(pending)
                        .unwrap_or_else(|p| p.into_inner());
                }
            }
        }
        *pending = false;
        Ok(())
    }

    fn waker(&self) -> Arc<dyn Waker> {
        self.woken.clone()
    }

    fn has_pending_io(&self) -> bool {
        false
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::run_alone;

    #[test]
    fn a_wait_on_a_plain_thread_is_woken_from_another_thread() {
        let (tx, rx) = crate::sync::oneshot::channel::<u32>();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(5));
            tx.send(7).unwrap();
        });
        assert_eq!(run_alone(|| rx.recv().unwrap()), 7);
        sender.join().unwrap();
    }

    #[test]
    fn a_panic_in_the_fiber_is_raised_on_the_thread() {
        let r = std::panic::catch_unwind(|| run_alone(|| panic!("boom")));
        assert!(r.is_err());
    }
}
