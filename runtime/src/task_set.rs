//! `TaskSet`: a set of spawned tasks joined in completion order (tokio's
//! `JoinSet`). Dropping the set aborts the tasks still running.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use slab::Slab;

use crate::backend_api::suspend_at;
use crate::backend_api::WaitQueue;
use crate::cancel::CancelCtx;
use crate::task::{spawn_root, AbortHandle, JoinError};

struct Shared<T> {
    done: VecDeque<Result<T, JoinError>>,
    running: Slab<Rc<CancelCtx>>,
    waiter: WaitQueue,
}

/// A set of tasks joined as they finish.
///
/// ```
/// weft::run(|_env| {
///     let mut set = weft::TaskSet::new();
///     for i in [3u64, 1, 2] {
///         set.spawn(move || { weft::time::sleep(std::time::Duration::from_millis(i)); i });
///     }
///     let mut order = vec![];
///     while let Some(r) = set.join_next() {
///         order.push(r.unwrap());
///     }
///     assert_eq!(order, [1, 2, 3]);
/// });
/// ```
pub struct TaskSet<T> {
    shared: Rc<RefCell<Shared<T>>>,
}

impl<T: 'static> Default for TaskSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> TaskSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set: weft::TaskSet<u8> = weft::TaskSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> Self {
        TaskSet {
            shared: Rc::new(RefCell::new(Shared {
                done: VecDeque::new(),
                running: Slab::new(),
                waiter: WaitQueue::new(),
            })),
        }
    }

    /// Spawns `f` into the set (like [`crate::spawn`]).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set = weft::TaskSet::new();
    ///     set.spawn(|| 1);
    ///     assert_eq!(set.join_next().unwrap().unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + 'static,
    {
        let slot = Rc::new(std::cell::Cell::new(usize::MAX));
        let finished = Rc::new(std::cell::Cell::new(false));
        let (shared, my_slot, done_flag) = (self.shared.clone(), slot.clone(), finished.clone());
        let ctx = spawn_root(f, move |r| {
            done_flag.set(true);
            let mut s = shared.borrow_mut();
            s.running.try_remove(my_slot.get());
            s.done.push_back(r);
            s.waiter.wake_all();
        });
        if finished.get() {
            // Finished before we could record it: nothing to track.
        } else {
            slot.set(self.shared.borrow_mut().running.insert(ctx.clone()));
        }
        AbortHandle::new(&ctx, Rc::new(move || finished.get()))
    }

    /// Runs `f` on the blocking thread pool ([`crate::blocking`]) as a task
    /// of the set (tokio's `JoinSet::spawn_blocking`). Aborting the task
    /// stops waiting for `f`; `f` itself runs to its end on the pool.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set = weft::TaskSet::new();
    ///     for n in 1..=3u64 {
    ///         set.spawn_blocking(move || (1..=n).product::<u64>());
    ///     }
    ///     let mut all: Vec<u64> = std::iter::from_fn(|| set.join_next()).map(Result::unwrap).collect();
    ///     all.sort();
    ///     assert_eq!(all, [1, 2, 6]);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.spawn(move || crate::blocking(f))
    }

    /// Waits for the next task to finish and returns its outcome; `None`
    /// when the set is empty. A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set: weft::TaskSet<()> = weft::TaskSet::new();
    ///     assert!(set.join_next().is_none());
    /// });
    /// ```
    #[track_caller]
    pub fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        let location = Location::caller();
        loop {
            let mut s = self.shared.borrow_mut();
            if let Some(r) = s.done.pop_front() {
                return Some(r);
            }
            if s.running.is_empty() {
                return None;
            }
            let mut key = None;
            let r = suspend_at(
                location,
                crate::console::events::WaitKind::Join,
                true,
                |resumer| {
                    key = Some(s.waiter.push(resumer));
                    drop(s);
                },
            );
            if let Err(c) = r {
                if let Some(k) = key {
                    self.shared.borrow_mut().waiter.remove(k);
                }
                c.unwind();
            }
        }
    }

    /// The outcome of a finished task, if any, without waiting.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set = weft::TaskSet::new();
    ///     set.spawn(|| 5);
    ///     assert!(set.try_join_next().is_none()); // not run yet
    ///     weft::fiber::yield_now();
    ///     assert_eq!(set.try_join_next().unwrap().unwrap(), 5);
    /// });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.shared.borrow_mut().done.pop_front()
    }

    /// Waits for every task and returns their values in completion order.
    /// As tokio's: a task's panic is re-raised here, and a task that was
    /// cancelled makes this panic too (the others are aborted first).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set = weft::TaskSet::new();
    ///     set.spawn(|| 1);
    ///     set.spawn(|| 2);
    ///     let mut v = set.join_all();
    ///     v.sort();
    ///     assert_eq!(v, [1, 2]);
    /// });
    /// ```
    #[track_caller]
    pub fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(r) = self.join_next() {
            match r {
                Ok(v) => out.push(v),
                Err(e) => {
                    self.shutdown();
                    match e.try_into_panic() {
                        Ok(p) => std::panic::resume_unwind(p),
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }
        out
    }

    /// Aborts every task still running (their outcomes arrive as
    /// cancelled).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set = weft::TaskSet::new();
    ///     set.spawn(|| weft::fiber::await_cancel());
    ///     set.abort_all();
    ///     assert!(set.join_next().unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        let running: Vec<Rc<CancelCtx>> = self
            .shared
            .borrow()
            .running
            .iter()
            .map(|(_, c)| c.clone())
            .collect();
        for ctx in running {
            ctx.cancel(crate::cancel::Cancelled::new(
                crate::cancel::CancelReason::Aborted,
            ));
        }
    }

    /// Aborts every task and waits until all have finished.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set = weft::TaskSet::new();
    ///     set.spawn(|| weft::fiber::await_cancel());
    ///     set.shutdown();
    ///     assert!(set.is_empty());
    /// });
    /// ```
    #[track_caller]
    pub fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().is_some() {}
    }

    /// Lets every task run on, no longer part of the set.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set = weft::TaskSet::new();
    ///     set.spawn(|| weft::time::sleep(std::time::Duration::from_millis(1)));
    ///     set.detach_all();
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn detach_all(&mut self) {
        let mut s = self.shared.borrow_mut();
        s.running.clear();
        s.done.clear();
    }

    /// Tasks in the set (running, or finished and not yet joined).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let mut set = weft::TaskSet::new();
    ///     set.spawn(|| weft::fiber::await_cancel());
    ///     assert_eq!(set.len(), 1);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        let s = self.shared.borrow();
        s.running.len() + s.done.len()
    }

    /// Whether the set has no tasks.
    ///
    /// ```
    /// assert!(weft::TaskSet::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for TaskSet<T> {
    fn drop(&mut self) {
        let running: Vec<Rc<CancelCtx>> = self
            .shared
            .borrow()
            .running
            .iter()
            .map(|(_, c)| c.clone())
            .collect();
        for ctx in running {
            ctx.cancel(crate::cancel::Cancelled::new(
                crate::cancel::CancelReason::Aborted,
            ));
        }
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.shared.borrow();
        f.debug_struct("TaskSet")
            .field("running", &s.running.len())
            .field("finished", &s.done.len())
            .finish()
    }
}
