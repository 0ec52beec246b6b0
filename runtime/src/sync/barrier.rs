//! `Barrier`: `n` fibers wait for each other, then all go on; one of them
//! is the leader. Reusable, as tokio's.

use std::fmt;
use std::panic::Location;
use std::sync::{Mutex, MutexGuard};

use crate::fiber::task::suspend_at;
use crate::sync::wait_queue::WaitQueue;

struct State {
    arrived: usize,
    generation: u64,
    waiters: WaitQueue,
}

/// A barrier for `n` fibers (on one thread or several).
///
/// Cancellation: a fiber cancelled while waiting withdraws, as if it had
/// not arrived, so the generation still needs `n` arrivals (tokio leaves
/// this unspecified).
///
/// ```
/// weft::run(|_env| {
///     let b = weft::sync::Barrier::new(3);
///     let leaders = weft::fiber::all((0..3).map(|_| || b.wait().is_leader()));
///     assert_eq!(leaders.iter().filter(|l| **l).count(), 1);
/// });
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
}

/// What [`Barrier::wait`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this fiber was the leader (exactly one per generation: the
    /// last to arrive).
    ///
    /// ```
    /// weft::run(|_env| assert!(weft::sync::Barrier::new(1).wait().is_leader()));
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` fibers (0 behaves as 1).
    ///
    /// ```
    /// let b = weft::sync::Barrier::new(2);
    /// ```
    pub fn new(n: usize) -> Self {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
                waiters: WaitQueue::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `n` fibers have called `wait` in this generation. A
    /// cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let b = weft::sync::Barrier::new(2);
    ///     let (a, c) = weft::fiber::both(|| b.wait(), || b.wait());
    ///     assert!(a.is_leader() != c.is_leader());
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        let location = Location::caller();
        let mut st = self.lock();
        st.arrived += 1;
        if st.arrived == self.n {
            st.arrived = 0;
            st.generation += 1;
            st.waiters.wake_all();
            return BarrierWaitResult(true);
        }
        let generation = st.generation;
        let mut key = None;
        let r = suspend_at(location, true, |resumer| {
            let mut st = st;
            key = Some(st.waiters.push(resumer));
        });
        if let Err(c) = r {
            let mut st = self.lock();
            if let Some(k) = key {
                st.waiters.remove(k);
            }
            if st.generation == generation {
                st.arrived -= 1;
            }
            drop(st);
            c.unwind();
        }
        BarrierWaitResult(false)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("n", &self.n).finish()
    }
}
