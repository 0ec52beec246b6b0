//! `Lazy`: a value computed on first use, once, even when many fibers (on
//! several threads) ask at the same time (Eio's `Lazy` with `Restart`).

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::fiber::task::suspend_at;
use crate::sync::wait_queue::WaitQueue;

enum Phase {
    Idle,
    Running,
    Failed(String),
}

struct State {
    phase: Phase,
    waiters: WaitQueue,
}

/// A lazily computed value.
///
/// - Concurrent callers of [`Lazy::force`] run the initializer once; the
///   others wait for its value.
/// - If the fiber running the initializer is cancelled, nothing is
///   recorded and the next caller (a waiter, or a later one) runs it again.
/// - If the initializer panics, the panic is recorded: that caller gets
///   the panic, and so does every later one (the message says so).
///
/// ```
/// weft::run(|_env| {
///     let runs = std::cell::Cell::new(0);
///     let config = weft::sync::Lazy::new(|| {
///         runs.set(runs.get() + 1);
///         weft::fiber::yield_now(); // others arrive meanwhile
///         "loaded"
///     });
///     let all = weft::fiber::all((0..5).map(|_| || *config.force()));
///     assert_eq!(all, ["loaded"; 5]);
///     assert_eq!(runs.get(), 1);
/// });
/// ```
pub struct Lazy<T, F = fn() -> T> {
    value: OnceLock<T>,
    init: F,
    state: Mutex<State>,
}

impl<T, F: Fn() -> T> Lazy<T, F> {
    /// A value to be computed by `init` on first use. `init` is `Fn`
    /// because a cancelled run is retried.
    ///
    /// ```
    /// let l = weft::sync::Lazy::new(|| 1 + 1);
    /// assert!(l.get().is_none());
    /// ```
    pub const fn new(init: F) -> Self {
        Lazy {
            value: OnceLock::new(),
            init,
            state: Mutex::new(State {
                phase: Phase::Idle,
                waiters: WaitQueue::new_const(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value, computing it first if needed. A cancellation point while
    /// waiting for another caller's run.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::sync::Lazy::new(|| vec![1, 2]);
    ///     assert_eq!(l.force().len(), 2);
    ///     assert!(l.get().is_some());
    /// });
    /// ```
    #[track_caller]
    pub fn force(&self) -> &T {
        let location = Location::caller();
        loop {
            if let Some(v) = self.value.get() {
                return v;
            }
            let mut st = self.lock();
            if let Some(v) = self.value.get() {
                return v;
            }
            match &st.phase {
                Phase::Failed(msg) => {
                    panic!("weft::sync::Lazy: the initializer panicked earlier: {msg}")
                }
                Phase::Idle => {
                    st.phase = Phase::Running;
                    drop(st);
                    return self.run_init();
                }
                Phase::Running => {
                    let mut key = None;
                    let r = suspend_at(
                        location,
                        crate::console::events::WaitKind::Once,
                        true,
                        |resumer| {
                            let mut st = st;
                            key = Some(st.waiters.push(resumer));
                        },
                    );
                    if let Err(c) = r {
                        if let Some(k) = key {
                            self.lock().waiters.remove(k);
                        }
                        c.unwind();
                    }
                }
            }
        }
    }

    fn run_init(&self) -> &T {
        let out = catch_unwind(AssertUnwindSafe(|| (self.init)()));
        let mut st = self.lock();
        match out {
            Ok(v) => {
                let _ = self.value.set(v);
                st.phase = Phase::Idle;
                st.waiters.wake_all();
                drop(st);
                self.value.get().expect("set just above")
            }
            Err(p) if crate::cancel::is_cancellation(p.as_ref()) => {
                // Let someone else try: wake one waiter to take over.
                st.phase = Phase::Idle;
                st.waiters.wake_one();
                drop(st);
                resume_unwind(p)
            }
            Err(p) => {
                st.phase = Phase::Failed(crate::error::panic_message(p.as_ref()));
                st.waiters.wake_all();
                drop(st);
                resume_unwind(p)
            }
        }
    }

    /// The value if it has been computed.
    ///
    /// ```
    /// let l = weft::sync::Lazy::new(|| 3);
    /// assert_eq!(l.get(), None);
    /// ```
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }
}

impl<T: fmt::Debug, F> fmt::Debug for Lazy<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value.get() {
            Some(v) => f.debug_tuple("Lazy").field(v).finish(),
            None => f.write_str("Lazy(<not yet computed>)"),
        }
    }
}
