//! Multicore, explicitly: an [`ExecutorPool`] runs `Send` jobs on other
//! threads, each with its own scheduler, and [`run_on_cores`] runs one
//! scheduler per thread for thread-per-core servers.
//!
//! Fibers never move between threads (thread-locals stay sound, fiber
//! closures need not be `Send`); what moves is a *job*, a `Send` closure
//! that starts a new fiber on the target thread. Its result comes back
//! through a shared slot (`job.rs`), and cross-thread wake-ups go through
//! the target scheduler's remote queue and its backend's wake mechanism.

mod job;

use std::collections::VecDeque;
use std::io;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::backend_api::scheduler::{self, AwaitedJob, TaskRef};
use crate::cancel::Cancelled;
use crate::runtime::{Builder, Env, Handle};
use crate::switch::Switch;
use crate::sync::{Promise, Resolver, Semaphore};
use job::{Accounting, JobFn, JobOutcome, JobSlot};

/// A worker's whole capacity (weight 1.0), in thousandths.
const FULL_CAPACITY: u32 = 1000;

/// A job's weight in thousandths of a worker; panics outside `0.0..=1.0`.
#[track_caller]
fn weight_units(weight: f64) -> u32 {
    assert!(
        (0.0..=1.0).contains(&weight),
        "weft: an executor job's weight must be between 0.0 and 1.0, not {weight}"
    );
    (weight * f64::from(FULL_CAPACITY)).round() as u32
}

struct Worker {
    handle: Handle,
    /// What is left of the worker's capacity of 1.0, in thousandths:
    /// weighted jobs take their weight from it while they run (Eio's
    /// `Executor_pool` job weights).
    capacity: Arc<Semaphore>,
    stop: Mutex<Option<Resolver<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct PoolInner {
    workers: Vec<Worker>,
    /// Round-robin start of the search for a weighted job's worker.
    next: AtomicUsize,
    /// Unweighted jobs, taken by whichever worker is free first.
    shared: Arc<SharedJobs>,
}

/// The pool's queue of unweighted jobs (tokio's blocking pool has one
/// such queue). Each worker's main fiber takes the next job when it runs,
/// starts it as a fiber and yields, so it takes another only once the
/// jobs it started have finished or blocked: CPU-bound jobs go one at a
/// time to whichever worker is free (a worker whose CPU is taken for a
/// while does not hold back jobs the other could run, as jobs bound to a
/// worker when submitted did), and jobs that block all start at once.
struct SharedJobs {
    queue: Mutex<Queue>,
    /// One permit per queued job.
    queued: Semaphore,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<TaskRef>,
    /// The pool has stopped: a job sent now is abandoned at once.
    closed: bool,
}

impl SharedJobs {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job` for the next free worker, or abandons it (`Lost`) if
    /// the pool has stopped: a submitter on another thread that still
    /// holds the pool must not wait for a job nobody will take.
    fn push(&self, job: TaskRef) {
        let mut queue = self.lock();
        if queue.closed {
            drop(queue);
            drop(job);
            return;
        }
        queue.jobs.push_back(job);
        drop(queue);
        self.queued.add_permits(1);
    }

    /// A worker's main fiber: starts queued jobs on its thread until the
    /// pool stops (this fiber is then cancelled).
    fn serve(&self) {
        loop {
            match self.queued.acquire() {
                Ok(permit) => permit.forget(),
                Err(_) => return,
            }
            let job = self.lock().jobs.pop_front();
            if let Some(job) = job {
                job.start();
                // Let it run (or block) before taking another.
                crate::fiber::yield_now();
            }
        }
    }

    /// Closes the queue and abandons the jobs no worker took (the pool has
    /// stopped): each is reported `Lost` to its submitter, outside the lock.
    fn abandon_all(&self) {
        self.queued.close();
        let left = {
            let mut queue = self.lock();
            queue.closed = true;
            std::mem::take(&mut queue.jobs)
        };
        drop(left);
    }
}

/// A job just sent: what its submitter keeps until it has taken the
/// outcome.
struct Sent<T> {
    slot: Arc<JobSlot<T>>,
    /// Counts the job among those this thread awaits (many awaited make
    /// its scheduler park lazily).
    awaited: AwaitedJob,
}

/// A pool of threads, each running its own weft scheduler, for CPU-heavy
/// or blocking-heavy `Send` jobs (jobs may fork fibers and do I/O there).
/// Get the runtime's pool with [`Env::executor_pool`].
///
/// ```
/// weft::run(|env| {
///     let pool = env.executor_pool();
///     let data = vec![1u64, 2, 3, 4];
///     // The job borrows `data`: submit waits for it, like std::thread::scope.
///     let sum = pool.submit(|| data.iter().sum::<u64>());
///     assert_eq!(sum, 10);
/// });
/// ```
#[derive(Clone)]
pub struct ExecutorPool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for ExecutorPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutorPool")
            .field("threads", &self.inner.workers.len())
            .finish()
    }
}

impl ExecutorPool {
    /// Starts `threads` worker threads (at least 1), each running a weft
    /// runtime made from `builder`.
    pub(crate) fn start(threads: usize, builder: &Builder) -> io::Result<ExecutorPool> {
        let mut workers = Vec::new();
        let shared = Arc::new(SharedJobs {
            queue: Mutex::new(Queue::default()),
            queued: Semaphore::new(0),
        });
        for i in 0..threads.max(1) {
            let settings = builder.clone().without_watchdog();
            let (tx, rx) = std::sync::mpsc::channel();
            let queue = shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("weft-executor-{i}"))
                .spawn(move || {
                    let rt = match settings.build() {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    rt.run(|_env| {
                        let (stop, stopper) = Promise::new();
                        let _ = tx.send(Ok((Handle::current(), stopper)));
                        // Take unweighted jobs from the pool's queue until
                        // the pool shuts down; weighted ones arrive through
                        // the handle. Either kind runs as a fiber of the
                        // root scope.
                        crate::fiber::first(
                            || {
                                let _ = stop.try_await();
                            },
                            || queue.serve(),
                        );
                    })
                })?;
            let (handle, stopper) = rx
                .recv()
                .map_err(|_| io::Error::other("an executor thread failed to start"))??;
            workers.push(Worker {
                handle,
                capacity: Arc::new(Semaphore::new(FULL_CAPACITY as usize)),
                stop: Mutex::new(Some(stopper)),
                thread: Mutex::new(Some(thread)),
            });
        }
        Ok(ExecutorPool {
            inner: Arc::new(PoolInner {
                workers,
                next: AtomicUsize::new(0),
                shared,
            }),
        })
    }

    /// How many worker threads the pool has.
    ///
    /// ```
    /// weft::run(|env| assert!(env.executor_pool().threads() >= 1));
    /// ```
    pub fn threads(&self) -> usize {
        self.inner.workers.len()
    }

    /// Waits (suspending the calling fiber; a cancellation point) until a
    /// worker has `weight` of its capacity free, takes it, and returns that
    /// worker: the one with the most free capacity, so jobs spread out.
    fn reserve(&self, weight: u32) -> &Worker {
        let n = self.inner.workers.len();
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed) % n;
        let worker = (0..n)
            .map(|k| &self.inner.workers[(start + k) % n])
            .max_by_key(|w| w.capacity.available_permits())
            .expect("a pool has at least one worker");
        match worker.capacity.acquire_many(weight) {
            Ok(permit) => permit.forget(),
            Err(_) => unreachable!("a worker's capacity is never closed"),
        }
        worker
    }

    /// Sends `job` to the pool: an unweighted one to its shared queue, a
    /// weighted one to the worker whose capacity it took. Returns the slot
    /// its outcome arrives in (which also carries a cancellation request
    /// to the worker that took the job). What `job` borrows must outlive
    /// the wait for the outcome (see `JobSlot`).
    fn send<T: Send + 'static>(&self, job: Box<dyn JobFn<T>>, weight: u32) -> Sent<T> {
        let worker = (weight > 0).then(|| self.reserve(weight));
        let accounting = Accounting {
            capacity: worker.map(|w| (w.capacity.clone(), weight)),
        };
        let slot = JobSlot::new(job, accounting);
        let awaited = scheduler::await_job();
        match worker {
            Some(w) => w.handle.start_task(slot.clone()),
            None => self.inner.shared.push(TaskRef::new(slot.clone())),
        }
        Sent { slot, awaited }
    }

    /// Runs `job` on a worker thread and suspends the calling fiber until
    /// it returns its value. A panic in the job is re-raised here (so it
    /// fails the caller's switch). Cancelling the caller cancels the job
    /// and waits for it to finish before unwinding; that is why the job
    /// may borrow from the caller's stack.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let squares: Vec<u64> = (1..=4).collect();
    ///     let total = env.executor_pool().submit(|| squares.iter().map(|x| x * x).sum::<u64>());
    ///     assert_eq!(total, 30);
    /// });
    /// ```
    #[track_caller]
    pub fn submit<'a, T, F>(&self, job: F) -> T
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'static,
    {
        self.submit_weighted(0.0, job)
    }

    /// [`submit`](Self::submit) for a job that takes `weight` (between 0.0
    /// and 1.0) of a worker while it runs, as Eio's `Executor_pool.submit
    /// ~weight`: a worker runs jobs at once only while their weights add
    /// up to at most 1.0, so a job of weight 1.0 has a worker to itself
    /// (CPU-bound work) and ten of weight 0.1 share one (jobs that mostly
    /// wait). The caller waits, as a cancellation point, until some worker
    /// has the room. Weight 0.0 (what `submit` uses) takes nothing and is
    /// never held back. Panics if `weight` is outside `0.0..=1.0`.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let pool = env.executor_pool();
    ///     let v = weft::fiber::all((0..4u64).map(|i| {
    ///         let pool = pool.clone();
    ///         move || pool.submit_weighted(1.0, move || i * i)
    ///     }));
    ///     assert_eq!(v, [0, 1, 4, 9]);
    /// });
    /// ```
    #[track_caller]
    pub fn submit_weighted<'a, T, F>(&self, weight: f64, job: F) -> T
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'static,
    {
        let weight = weight_units(weight);
        let job: Box<dyn JobFn<T> + 'a> = Box::new(Some(job));
        // SAFETY: the job (and what it borrows for 'a) is only used until
        // its outcome is delivered, and this function does not return or
        // unwind before that: on cancellation it cancels the job and then
        // waits for the outcome uninterruptibly. A job that never runs is
        // dropped (with its borrows) before the outcome `Lost` is sent;
        // what outlives the wait is the emptied box (see `JobSlot`).
        let job = unsafe { crate::backend_api::erase_lifetime(job) };
        // Kept until the outcome is taken (`..` would drop it here).
        let Sent {
            slot,
            awaited: _awaited,
        } = self.send(job, weight);
        match slot.wait() {
            Ok(JobOutcome::Done(v)) => v,
            Ok(JobOutcome::Panicked(p)) => resume_unwind(p),
            Ok(JobOutcome::Cancelled | JobOutcome::Lost) => {
                panic!(
                    "weft: an executor job was cancelled or lost because the pool is shutting down"
                )
            }
            Err(c) => {
                slot.request_cancel(c.clone());
                // Whatever the job did, its borrows end before we unwind.
                drop(slot.wait_protected());
                c.unwind()
            }
        }
    }

    /// Runs `job` on a worker and returns a promise of its result at once.
    /// A panic becomes an `Err`. Jobs still running when the pool shuts
    /// down (when `weft::run` ends) are cancelled.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let p = env.executor_pool().submit_promise(|| 6 * 7);
    ///     assert_eq!(*p.await_().as_ref().unwrap(), 42);
    /// });
    /// ```
    pub fn submit_promise<T, F>(&self, job: F) -> Promise<Result<T, crate::Error>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (out, resolver) = Promise::new();
        let Sent { slot, awaited } = self.send(Box::new(Some(job)), 0);
        // Translate the outcome on a fiber of the caller's thread.
        crate::spawn(move || {
            let _awaited = awaited;
            let outcome = match slot.wait() {
                Ok(o) => o,
                Err(c) => c.unwind(),
            };
            resolver.resolve(match outcome {
                JobOutcome::Done(v) => Ok(v),
                JobOutcome::Panicked(p) => Err(crate::Error::from_panic(p.as_ref())),
                JobOutcome::Cancelled | JobOutcome::Lost => Err(crate::Error::cancelled(
                    Cancelled::new(crate::cancel::CancelReason::Shutdown),
                )),
            });
        });
        out
    }

    /// Runs `job` on a worker as a fiber of `sw` (Eio's
    /// `Executor_pool.submit_fork`): returns its promise at once, the
    /// switch does not finish before the job has, and cancelling the switch
    /// (it failed, or finished with this as a daemon-like task) cancels the
    /// job. The job may borrow what `sw`'s fibers may. `weight` as for
    /// [`submit_weighted`](Self::submit_weighted).
    ///
    /// ```
    /// weft::run(|env| {
    ///     let pool = env.executor_pool();
    ///     let words = ["a", "bb", "ccc"];
    ///     weft::Switch::run(|sw| {
    ///         let total = pool.submit_fork(sw, 0.5, || words.iter().map(|w| w.len()).sum::<usize>());
    ///         assert_eq!(*total.await_().as_ref().unwrap(), 6);
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn submit_fork<'s, T, F>(
        &self,
        sw: &Switch<'s, '_>,
        weight: f64,
        job: F,
    ) -> Promise<Result<T, crate::Error>>
    where
        F: FnOnce() -> T + Send + 's,
        T: Send + 's + 'static,
    {
        weight_units(weight);
        let pool = self.clone();
        sw.fork_promise(move || pool.submit_weighted(weight, job))
    }

    /// For each worker, how many times its scheduler has parked: an idle
    /// worker parks once and stays parked (it uses no CPU).
    ///
    /// ```
    /// weft::run(|env| assert_eq!(env.executor_pool().park_counts().len(), env.executor_pool().threads()));
    /// ```
    pub fn park_counts(&self) -> Vec<u64> {
        self.inner
            .workers
            .iter()
            .map(|w| w.handle.parks())
            .collect()
    }

    /// Stops every worker (cancelling jobs still running) and joins the
    /// threads. Called when the owning runtime's `run` ends.
    pub(crate) fn shutdown(&self) {
        for w in &self.inner.workers {
            if let Some(stop) = w.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
                stop.resolve(());
            }
        }
        for w in &self.inner.workers {
            if let Some(t) = w.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
                if let Err(p) = t.join() {
                    tracing::error!(panic = %crate::backend_api::panic_message(p.as_ref()), "weft: an executor thread panicked");
                }
            }
        }
        self.inner.shared.abandon_all();
    }
}

/// Runs `f` on `n` threads at once, each with its own weft runtime, and
/// returns their results in core order: the thread-per-core model (bind
/// one listener per core with `reuse_port`). Call it instead of
/// `weft::run`, outside any runtime.
///
/// ```
/// let ids = weft::run_on_cores(2, |_env, core| {
///     weft::fiber::yield_now();
///     core
/// });
/// assert_eq!(ids, [0, 1]);
/// ```
pub fn run_on_cores<T, F>(n: usize, f: F) -> Vec<T>
where
    F: Fn(&Env, usize) -> T + Send + Sync,
    T: Send,
{
    crate::Runtime::builder().run_on_cores(n, f)
}

impl Builder {
    /// [`run_on_cores`] with these settings on every thread.
    ///
    /// ```
    /// let v = weft::Runtime::builder().mock_clock(true).run_on_cores(2, |_env, core| core * 10);
    /// assert_eq!(v, [0, 10]);
    /// ```
    pub fn run_on_cores<T, F>(self, n: usize, f: F) -> Vec<T>
    where
        F: Fn(&Env, usize) -> T + Send + Sync,
        T: Send,
    {
        let f = &f;
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..n.max(1))
                .map(|core| {
                    let b = self.clone();
                    std::thread::Builder::new()
                        .name(format!("weft-core-{core}"))
                        .spawn_scoped(scope, move || {
                            let rt = b.build().unwrap_or_else(|e| {
                                panic!("weft: cannot start the runtime on core {core}: {e}")
                            });
                            rt.run(|env| f(env, core))
                        })
                        .unwrap_or_else(|e| {
                            panic!("weft: cannot start thread for core {core}: {e}")
                        })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| match t.join() {
                    Ok(v) => v,
                    Err(p) => resume_unwind(p),
                })
                .collect()
        })
    }
}
