//! One executor job between its submitter and its worker: where its
//! outcome arrives, how the submitter waits for it, and how the submitter's
//! cancellation reaches the job's fiber on the worker's thread.
//!
//! Per job this costs one `Arc` (the [`JobSlot`], which also carries the
//! job to the worker as a [`RemoteTask`]), the job closure's box, one
//! lock on each side, and the worker's fiber; no race, no watcher fiber,
//! no promise. Both allocations are made by the submitter and, in the
//! usual order of events, freed by it too: the worker calls the job
//! through a borrow ([`JobFn`]) and drops its reference to the slot right
//! after delivering the outcome, while the submitter takes the outcome
//! later. (Memory freed on another thread than the one that allocated it
//! cost the glibc allocator of both threads about a fifth of an empty
//! job's round trip.)
//!
//! A cancellation is rare and pays for itself: the submitter sets a flag
//! (a job that has not started yet never runs) and hands the worker's
//! scheduler a closure that cancels the job's context, found in a
//! thread-local table of the jobs running on that worker
//! ([`RunningJobs`]).

use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use slab::Slab;

use crate::backend_api::scheduler::RemoteTask;
use crate::backend_api::{Erasable, ShortGuard, ShortLock};
use crate::cancel::{CancelCtx, Cancelled};
use crate::console::events::WaitKind;
use crate::fiber::Resumer;
use crate::runtime::Handle;
use crate::sync::Semaphore;

/// How a job ended on its worker.
pub(super) enum JobOutcome<T> {
    Done(T),
    Panicked(Box<dyn Any + Send>),
    Cancelled,
    /// The job never ran: its worker had shut down.
    Lost,
}

struct SlotState<T> {
    outcome: Option<JobOutcome<T>>,
    /// The submitter's fiber, while it waits for the outcome.
    waiter: Option<Resumer>,
}

/// [`JobSlot::phase`]: a worker took the job.
const STARTED: u8 = 1;
/// [`JobSlot::phase`]: the submitter asked for the job to stop.
const CANCEL: u8 = 2;

/// A job's closure, called through a borrow: its box stays in the slot and
/// is freed by the slot's last owner, normally the submitter that
/// allocated it, not by the worker that ran it.
pub(super) trait JobFn<T>: Send {
    /// Runs the closure; `None` if it already ran or was discarded.
    fn call(&mut self) -> Option<T>;
    /// Drops the closure, and what it borrows, if it has not run.
    fn discard(&mut self);
}

impl<T, F: FnOnce() -> T + Send> JobFn<T> for Option<F> {
    fn call(&mut self) -> Option<T> {
        self.take().map(|f| f())
    }

    fn discard(&mut self) {
        *self = None;
    }
}

// SAFETY: the same trait object but for the lifetime bound.
unsafe impl<'a, T: 'static> Erasable<'a> for Box<dyn JobFn<T> + 'a> {
    type Static = Box<dyn JobFn<T> + 'static>;
}

/// What a job holds of its worker, given back on the worker as soon as it
/// ends (so the next weighted job may start there).
pub(super) struct Accounting {
    /// The worker's capacity and this job's weight in it, if it has one.
    pub(super) capacity: Option<(Arc<Semaphore>, u32)>,
}

impl Accounting {
    fn give_back(&self) {
        if let Some((capacity, weight)) = &self.capacity {
            capacity.add_permits(*weight as usize);
        }
    }
}

/// The meeting point of one job: carries the job to its worker, where the
/// outcome is written once, then read once by the submitter.
pub(super) struct JobSlot<T> {
    /// Held for a few instructions at a time, by the submitter and the
    /// worker: a `ShortLock`, whose unlock is a plain store (this slot is
    /// locked three or four times per job, from two threads).
    state: ShortLock<SlotState<T>>,
    /// The job, taken by the worker (run or discarded) before the outcome
    /// is delivered. Locked by the worker only, so never contended. Its
    /// lifetime is erased: the submitter does not return before the
    /// outcome, and by then the closure (which alone holds the borrows) is
    /// gone; the box left behind is empty.
    job: ShortLock<Box<dyn JobFn<T>>>,
    accounting: Accounting,
    /// [`STARTED`] (set by the worker that takes the job) and [`CANCEL`]
    /// (set by the submitter whose wait was cancelled), each by one
    /// read-modify-write of this word, so exactly one of the two sees the
    /// other: a job whose worker saw `CANCEL` never runs (it is reported
    /// `Cancelled`), and a submitter that saw `STARTED` sends the
    /// cancellation to [`worker`](Self::worker).
    phase: AtomicU8,
    /// The worker that took the job (set before `STARTED`).
    worker: OnceLock<Handle>,
    /// The job's key in its worker's [`RunningJobs`] while it runs
    /// (`usize::MAX` otherwise). Read and written on the worker's thread
    /// only; atomic because the slot is shared.
    running_key: AtomicUsize,
}

impl<T> JobSlot<T> {
    /// A slot carrying `job`. The closure's borrows must outlive the wait
    /// for the outcome (see `job`).
    pub(super) fn new(job: Box<dyn JobFn<T>>, accounting: Accounting) -> Arc<Self> {
        Arc::new(JobSlot {
            state: ShortLock::new(SlotState {
                outcome: None,
                waiter: None,
            }),
            job: ShortLock::new(job),
            accounting,
            phase: AtomicU8::new(0),
            worker: OnceLock::new(),
            running_key: AtomicUsize::new(usize::MAX),
        })
    }

    /// Whether the submitter asked for the job to stop (see `phase`).
    fn cancel_requested(&self) -> bool {
        self.phase.load(Ordering::Acquire) & CANCEL != 0
    }

    fn job(&self) -> ShortGuard<'_, Box<dyn JobFn<T>>> {
        self.job.lock()
    }

    fn lock(&self) -> ShortGuard<'_, SlotState<T>> {
        self.state.lock()
    }

    /// Delivers the outcome (worker side, once) and wakes the submitter.
    fn finish(&self, outcome: JobOutcome<T>) {
        let waiter = {
            let mut st = self.lock();
            st.outcome = Some(outcome);
            st.waiter.take()
        };
        if let Some(w) = waiter {
            // A submitter awaiting many jobs collects this one when its
            // scheduler next looks, without a wake-up of its own.
            w.resume_lazy();
        }
    }

    /// Takes the outcome if it is there, else leaves `r` to be woken with
    /// it (the registration of a suspension).
    fn take_or_park(&self, r: Resumer) {
        let mut st = self.lock();
        if st.outcome.is_some() {
            drop(st);
            r.resume();
        } else {
            st.waiter = Some(r);
        }
    }

    fn take(&self) -> Option<JobOutcome<T>> {
        self.lock().outcome.take()
    }

    /// Suspends the calling fiber until the outcome arrives (a
    /// cancellation point: `Err` when the caller was cancelled first).
    #[track_caller]
    pub(super) fn wait(&self) -> Result<JobOutcome<T>, Cancelled> {
        let location = std::panic::Location::caller();
        loop {
            if let Some(o) = self.take() {
                return Ok(o);
            }
            let r = crate::backend_api::suspend_at(location, WaitKind::Promise, true, |r| {
                self.take_or_park(r)
            });
            if let Err(c) = r {
                self.lock().waiter = None;
                return Err(c);
            }
        }
    }

    /// Waits for the outcome whatever happens to the caller meanwhile.
    pub(super) fn wait_protected(&self) -> JobOutcome<T> {
        loop {
            if let Some(o) = self.take() {
                return o;
            }
            crate::backend_api::suspend_protected(WaitKind::Promise, |r| self.take_or_park(r));
        }
    }
}

impl<T: Send + 'static> JobSlot<T> {
    /// Asks the job to stop (submitter side): it does not start if it has
    /// not yet, and its context is cancelled with `reason` if it runs.
    pub(super) fn request_cancel(self: &Arc<Self>, reason: Cancelled) {
        let before = self.phase.fetch_or(CANCEL, Ordering::AcqRel);
        if before & STARTED == 0 {
            // Its worker will see `CANCEL` when it takes the job.
            return;
        }
        let Some(worker) = self.worker.get() else {
            unreachable!("a started job's worker is set before `STARTED`");
        };
        let slot = self.clone();
        worker.run_on_scheduler(move || RunningJobs::cancel(&slot, reason));
    }
}

/// The slot is the job on its way to its worker: started there as a
/// fiber of the worker's root scope.
impl<T: Send + 'static> RemoteTask for JobSlot<T> {
    fn start(self: Arc<Self>) {
        let _ = self.worker.set(Handle::current());
        // A submitter that cancels from now on sends the cancellation here;
        // one that did before is seen by the job's fiber as it starts.
        self.phase.fetch_or(STARTED, Ordering::AcqRel);
        let run = JobRun(Some(self));
        crate::task::spawn_from_scheduler(move || run.run());
    }

    fn abandon(self: Arc<Self>) {
        drop(JobRun(Some(self)));
    }
}

/// A job on its worker: runs as the body of a fiber, and reports `Lost` if
/// it is dropped without running (its worker shut down).
struct JobRun<T>(Option<Arc<JobSlot<T>>>);

impl<T> JobRun<T> {
    /// Runs the job in the calling fiber (on the worker), gives back its
    /// share of the worker, and delivers the outcome. The job, and what it
    /// borrows, is gone before the submitter wakes.
    fn run(mut self) {
        let slot = self.0.take().expect("a job runs once");
        let outcome = if slot.cancel_requested() {
            slot.job().discard();
            JobOutcome::Cancelled
        } else {
            let _running = RunningJobs::enter(&slot);
            let mut job = slot.job();
            match catch_unwind(AssertUnwindSafe(|| job.call())) {
                Ok(Some(v)) => JobOutcome::Done(v),
                Ok(None) => JobOutcome::Lost,
                Err(p) if crate::cancel::is_cancellation(p.as_ref()) => JobOutcome::Cancelled,
                Err(p) => JobOutcome::Panicked(p),
            }
        };
        slot.accounting.give_back();
        slot.finish(outcome);
    }
}

impl<T> Drop for JobRun<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            // The borrows go before the submitter is told.
            slot.job().discard();
            slot.accounting.give_back();
            slot.finish(JobOutcome::Lost);
        }
    }
}

thread_local! {
    /// The cancellation contexts of the jobs running on this thread's
    /// worker, each with the address of its slot (so a late request for a
    /// finished job never reaches a later one that reused its key).
    static RUNNING: RefCell<Slab<(usize, Rc<CancelCtx>)>> = const { RefCell::new(Slab::new()) };
}

/// The table of jobs running on this worker thread.
struct RunningJobs;

/// A running job's entry in [`RunningJobs`], removed when the job ends.
struct Entered {
    key: usize,
}

impl RunningJobs {
    /// Registers the job running in the calling fiber (whose context is
    /// the job's own: `Handle::spawn` made it for this fiber).
    fn enter<T>(slot: &Arc<JobSlot<T>>) -> Entered {
        let (_, ctx) = crate::cancel::current();
        let key = RUNNING.with(|r| r.borrow_mut().insert((slot_addr(slot), ctx)));
        slot.running_key.store(key, Ordering::Relaxed);
        Entered { key }
    }

    /// Cancels the job of `slot` if it is running here (on the worker's
    /// scheduler stack, after the request was handed over).
    fn cancel<T>(slot: &Arc<JobSlot<T>>, reason: Cancelled) {
        let key = slot.running_key.load(Ordering::Relaxed);
        let ctx = RUNNING.with(|r| {
            r.borrow()
                .get(key)
                .filter(|(addr, _)| *addr == slot_addr(slot))
                .map(|(_, ctx)| ctx.clone())
        });
        if let Some(ctx) = ctx {
            ctx.cancel(reason);
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let entry = RUNNING.with(|r| r.borrow_mut().try_remove(self.key));
        drop(entry);
    }
}

fn slot_addr<T>(slot: &Arc<JobSlot<T>>) -> usize {
    Arc::as_ptr(slot) as *const () as usize
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::time::Duration;

    use crate::runtime::Handle;

    /// Many jobs awaited that take long: the caller's lazy parks stop once
    /// one found nothing, so the idle caller does not wake every 50 µs.
    #[test]
    fn an_idle_caller_awaiting_long_jobs_stays_parked() {
        crate::Runtime::builder()
            .executor_threads(1)
            .build()
            .unwrap()
            .run(|env| {
                let pool = env.executor_pool();
                // The first job holds the only worker until released; the
                // other fifteen wait behind it.
                let (release, held) = std::sync::mpsc::channel::<()>();
                let parks_while_idle = crate::Switch::run(|sw| {
                    sw.fork(|| pool.submit(move || held.recv().unwrap()));
                    for i in 0..15u32 {
                        let pool = &pool;
                        sw.fork(move || assert_eq!(pool.submit(move || i), i));
                    }
                    let before = Handle::current().parks();
                    crate::time::sleep(Duration::from_millis(100));
                    let parks = Handle::current().parks() - before;
                    release.send(()).unwrap();
                    Ok(parks)
                })
                .unwrap();
                // Waking every 50 µs would be about 2,000 parks; a lazy
                // park that found nothing turns the next ones plain (woken
                // by the timer or a completion only).
                assert!(
                    parks_while_idle < 50,
                    "{parks_while_idle} parks in 100 ms of idleness"
                );
            });
    }
}
