//! `weft::blocking`: run a blocking call on a small thread pool and
//! suspend only the calling fiber until it returns.
//!
//! This is the analogue of tokio's `spawn_blocking` and Eio's
//! `run_in_systhread`: for C libraries, blocking syscalls (DNS resolution,
//! `fsync` on some file systems) and CPU-heavy work that must not stall
//! the scheduler. The pool grows on demand up to 512 threads and idle
//! threads exit after 10 seconds.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::backend_api::suspend_at;

const MAX_THREADS: usize = 512;
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

static POOL: Pool = Pool {
    state: Mutex::new(PoolState {
        queue: VecDeque::new(),
        threads: 0,
        idle: 0,
    }),
    work: Condvar::new(),
};

fn submit(job: Job) {
    let mut st = POOL.state.lock().unwrap_or_else(|p| p.into_inner());
    st.queue.push_back(job);
    // Every queued job needs a thread of its own: an idle thread that was
    // notified still counts as idle until it wakes, so compare with the
    // queue rather than with zero (else a second job waits behind a first
    // one that may block for long, such as a FIFO open).
    if st.idle >= st.queue.len() {
        POOL.work.notify_one();
        return;
    }
    if st.threads < MAX_THREADS {
        let spawned = std::thread::Builder::new()
            .name("weft-blocking".into())
            .spawn(worker);
        match spawned {
            Ok(_) => st.threads += 1,
            Err(e) => {
                tracing::error!(error = %e, "weft: cannot start a blocking-pool thread; the job waits for a free one")
            }
        }
    }
}

/// Runs `job` on the pool without waiting for it.
pub(crate) fn submit_detached(job: impl FnOnce() + Send + 'static) {
    submit(Box::new(job));
}

fn worker() {
    let mut st = POOL.state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            // A panicking job is reported through its own result slot.
            job();
            st = POOL.state.lock().unwrap_or_else(|p| p.into_inner());
            continue;
        }
        st.idle += 1;
        let (next, timeout) = POOL
            .work
            .wait_timeout(st, IDLE_TIMEOUT)
            .unwrap_or_else(|p| p.into_inner());
        st = next;
        st.idle -= 1;
        if timeout.timed_out() && st.queue.is_empty() {
            st.threads -= 1;
            return;
        }
    }
}

/// Runs `f` on the blocking thread pool and suspends the fiber until it
/// returns its value. A panic in `f` is re-raised in the fiber.
///
/// Cancellation: the fiber unwinds at once, and `f` keeps running to its
/// end on the pool; its result is dropped there. (A thread cannot be
/// interrupted safely, so `f` takes only owned data.)
///
/// ```
/// weft::run(|_env| {
///     let n = weft::blocking(|| {
///         std::thread::sleep(std::time::Duration::from_millis(5)); // blocks a pool thread, not the fiber's
///         40 + 2
///     });
///     assert_eq!(n, 42);
/// });
/// ```
#[track_caller]
pub fn blocking<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let location = std::panic::Location::caller();
    crate::console::blocking_job(location);
    let slot: Arc<Mutex<Option<std::thread::Result<T>>>> = Arc::new(Mutex::new(None));
    let result_slot = slot.clone();
    let r = suspend_at(
        location,
        crate::console::events::WaitKind::Blocking,
        true,
        move |resumer| {
            submit(Box::new(move || {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                *result_slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
                resumer.resume();
            }));
        },
    );
    crate::console::blocking_done(location);
    if let Err(c) = r {
        c.unwind();
    }
    let out = slot
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .expect("the job stores its result before resuming the fiber");
    match out {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Runs `f` on the blocking pool and suspends the fiber until it returns,
/// **uninterruptibly**; `f` may borrow from the caller (a buffer to read
/// into, a descriptor owned by a `&File`).
///
/// If the fiber is cancelled meanwhile, it keeps waiting for `f` to finish
/// and then returns its result all the same: what `f` did (bytes read,
/// the file position moved) is not lost, and the cancellation is
/// delivered at the next cancellation point, as with an io_uring op that
/// completed before its cancel. A fiber already cancelled does not start
/// `f` (it unwinds here), so a loop of such calls still ends. A panic in
/// `f` is re-raised in the fiber. Used by I/O ops that lend a borrowed
/// buffer to a pool thread; only bounded work (a read or write of a
/// regular file) belongs here, since nothing can interrupt the wait.
#[track_caller]
pub(crate) fn blocking_lent<'a, T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    let location = std::panic::Location::caller();
    // Panics outside a fiber before anything is submitted; a cancelled
    // fiber unwinds before starting anything.
    crate::fiber::check();
    crate::console::blocking_job(location);
    let slot: Mutex<Option<std::thread::Result<T>>> = Mutex::new(None);
    {
        let slot_ref = &slot;
        let job: Box<dyn FnOnce(crate::fiber::Resumer) + Send + '_> = Box::new(move |resumer| {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            *slot_ref.lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
            // Nothing borrowed is touched after this point: `f` is consumed,
            // the slot guard is dropped, and `resumer` owns what it uses.
            resumer.resume();
        });
        // SAFETY: the job borrows the caller's data (for 'a) and `slot` on
        // this fiber's stack. We erase that lifetime to hand the job to a
        // pool thread, which is sound because this function does not return
        // (nor unwind) before the job has finished with every borrow:
        // - the wait below is `suspend_protected`, which cancellation cannot
        //   interrupt; only the job's own `resume` ends it, and the job calls
        //   it after its last use of a borrow;
        // - the pool runs every submitted job (it never drops one unrun), so
        //   the resume does come;
        // - nothing between `submit` and the wait can unwind (`submit` only
        //   pushes to a queue; a failed thread spawn is logged, not raised).
        // Cancellation is delivered only after the wait, by `check` below.
        let job = unsafe { crate::backend_api::erase_lifetime(job) };
        suspend_protected_at(location, move |resumer| {
            submit(Box::new(move || job(resumer)));
        });
        crate::console::blocking_done(location);
    }
    let out = slot
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .expect("the job stores its result before resuming the fiber");
    match out {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}

fn suspend_protected_at(
    location: &'static std::panic::Location<'static>,
    register: impl FnOnce(crate::fiber::Resumer),
) {
    let _ = suspend_at(
        location,
        crate::console::events::WaitKind::Blocking,
        false,
        register,
    );
}
